//! Destroying on purpose, as a user runs it against the simulator: a reviewable,
//! savable destroy plan (`plan --destroy`), destroying part of a network with its
//! dependents (`destroy --target`), and forced replacement (`--replace`).

mod common;

use common::nicplan::Workdir;

fn base() -> String {
    std::fs::read_to_string("tests/e2e/base.yaml").expect("base file")
}

/// A workdir with the base network applied.
fn applied() -> Workdir {
    let w = Workdir::new();
    w.write(&base());
    w.converge();
    w
}

/// Steps of a text plan, in order, without their reasons.
fn steps(plan: &str) -> Vec<String> {
    plan.lines()
        .filter_map(|l| {
            let t = l.trim_start();
            let (n, rest) = t.split_once(". ")?;
            n.parse::<usize>().ok().map(|_| rest.to_string())
        })
        .collect()
}

fn position(steps: &[String], prefix: &str) -> usize {
    steps
        .iter()
        .position(|s| s.starts_with(prefix))
        .unwrap_or_else(|| panic!("no step {prefix:?} in {steps:#?}"))
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn state_list(w: &Workdir) -> Vec<String> {
    w.ok(&["state", "list"])
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn plan_destroy_shows_what_destroy_runs_in_every_format_and_saves_it() {
    let w = applied();
    let before = state_list(&w);
    let out = w.run(&["plan", "--destroy", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Plan: 0 to create, 0 to update, 0 to replace, 16 to destroy"),
        "{text}"
    );
    // The order is safe: a public IP leaves its NIC before the NIC goes, NICs before
    // their subnet, subnets before their VPC.
    let s = steps(&text);
    assert!(
        position(&s, "disassociate public_ip.web-public")
            < position(&s, "delete network_interface.web-1-eth0")
    );
    assert!(position(&s, "delete network_interface.spare") < position(&s, "delete subnet.mgmt-a"));
    assert!(position(&s, "delete subnet.app-a") < position(&s, "delete vpc.main"));
    // Terraform's spelling is the same plan.
    assert_eq!(stdout(&w.run(&["plan", "-destroy"])), text);

    let json: serde_json::Value =
        serde_json::from_str(&w.ok(&["plan", "--destroy", "--format", "json"])).expect("json");
    let planned = json["steps"].as_array().expect("steps");
    assert!(!planned.is_empty());
    assert!(
        planned
            .iter()
            .all(|s| ["delete", "detach", "disassociate"]
                .contains(&s["action"].as_str().unwrap_or(""))),
        "{json:#}"
    );
    assert_eq!(json["summary"]["destroy"], 16, "{json:#}");
    let markdown = w.ok(&["plan", "--destroy", "--format", "markdown"]);
    assert!(markdown.contains("16 to destroy"), "{markdown}");

    // Planning changed nothing.
    assert_eq!(state_list(&w), before);

    // Saved, it is applied as a destroy plan: the same steps, everything gone.
    let saved = w.ok(&["plan", "--destroy", "--out", "d.plan"]);
    assert!(saved.contains("Saved the plan to d.plan"), "{saved}");
    let shown = w.ok(&["show", "d.plan"]);
    assert!(shown.contains("16 to destroy"), "{shown}");
    let applied = w.ok(&["apply", "d.plan"]);
    assert!(applied.contains("Apply complete"), "{applied}");
    assert!(state_list(&w).is_empty(), "{:?}", state_list(&w));
    // Nothing left: an empty destroy plan.
    let out = w.run(&["plan", "--destroy", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn plan_destroy_respects_prevent_destroy_and_saves_nothing() {
    let w = Workdir::new();
    let protected = base().replacen(
        "    primary_interface: web-1-eth0\n",
        "    primary_interface: web-1-eth0\n    lifecycle: { prevent_destroy: true }\n",
        1,
    );
    w.write(&protected);
    w.converge();
    let out = w.run(&["plan", "--destroy", "--out", "d.plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("nicplan::prevent_destroy"),
        "{}",
        stdout(&out)
    );
    assert!(!w.path("d.plan").exists(), "a refused plan is not saved");
}
