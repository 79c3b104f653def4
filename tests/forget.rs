//! `state rm` forgets without touching the cloud: what follows must not be blamed on a
//! change made outside nicplan.

mod common;

use common::nicplan::Workdir;

#[test]
fn after_state_rm_the_refresh_blames_no_outside_change() {
    let w = Workdir::new();
    w.write(&std::fs::read_to_string("examples/web-tier.yaml").unwrap());
    w.ok(&["apply", "--auto-approve"]);
    w.ok(&["state", "rm", "security_group.db-sg"]);
    let out = w.run(&["plan"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Changes outside nicplan"), "{text}");
    // The plan still shows what the forgetting means, with the way back.
    assert!(text.contains("security_groups: [\"id:"), "{text}");
    assert!(
        text.contains("nicplan import security_group.db-sg"),
        "{text}"
    );
    let refreshed = w.ok(&["refresh"]);
    assert!(
        refreshed.contains("No changes outside nicplan."),
        "{refreshed}"
    );
}

#[test]
fn a_destroyed_public_ip_shows_the_address_it_gives_up_and_a_new_one_is_known_after_apply() {
    let w = Workdir::new();
    let file = std::fs::read_to_string("examples/web-tier.yaml").unwrap();
    let (kept, _) = file
        .split_once("\npublic_ips:")
        .expect("the example has public IPs");
    w.write(&file);
    let first = w.ok(&["plan"]);
    assert!(
        first.contains("      address = (known after apply)\n"),
        "{first}"
    );
    w.ok(&["apply", "--auto-approve"]);
    w.write(&format!("{kept}\n"));
    let out = w.ok(&["plan"]);
    let destroyed = out
        .split_once("- public_ip.web-1-public\n")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("{out}"));
    let block = destroyed.split("\n\n").next().unwrap();
    assert!(block.contains("      address = \"203.0.113."), "{out}");
}
