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
