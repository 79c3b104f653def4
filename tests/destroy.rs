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
    // Destroying what it depends on destroys it: refused too.
    let out = w.run(&["destroy", "--auto-approve", "--target", "subnet.app-a"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("nicplan::prevent_destroy"),
        "{}",
        stdout(&out)
    );
    assert_eq!(state_list(&w).len(), 16, "nothing was destroyed");
    // What does not reach it is destroyed.
    let out = w.ok(&["destroy", "--auto-approve", "--target", "subnet.db-a"]);
    assert!(out.contains("Destroy complete"), "{out}");
}

#[test]
fn destroy_target_takes_its_dependents_and_detaches_from_surviving_instances() {
    let w = applied();
    // The secondary NICs in db-a go with it; their instances stay, so they are detached
    // first.
    let planned = w.ok(&["plan", "--destroy", "--target", "subnet.db-a"]);
    assert!(
        planned.contains(
            "Plan: 0 to create, 0 to update, 0 to replace, 3 to destroy; 0 attach, 2 detach"
        ),
        "{planned}"
    );
    let s = steps(&planned);
    assert!(
        position(
            &s,
            "detach network_interface.web-1-eth1 from instance.web-1"
        ) < position(&s, "delete network_interface.web-1-eth1")
    );
    assert!(
        position(&s, "delete network_interface.web-2-eth1") < position(&s, "delete subnet.db-a")
    );
    let out = w.ok(&["destroy", "--auto-approve", "--target", "subnet.db-a"]);
    assert!(out.contains("Destroy complete"), "{out}");
    let left = state_list(&w);
    for gone in [
        "subnet.db-a",
        "network_interface.web-1-eth1",
        "network_interface.web-2-eth1",
    ] {
        assert!(!left.iter().any(|a| a == gone), "{gone} in {left:?}");
    }
    assert_eq!(left.len(), 13, "{left:?}");
    assert!(left.iter().any(|a| a == "instance.web-1"), "{left:?}");
    // The file still declares them: the next plan makes them again.
    let (plan, code) = w.plan();
    assert_eq!(code, Some(2), "{plan}");
    assert!(plan.contains("3 to create"), "{plan}");
    w.converge();
}

#[test]
fn destroying_a_subnet_destroys_the_instances_whose_primary_nic_is_there() {
    let w = applied();
    w.ok(&[
        "plan",
        "--destroy",
        "--target",
        "subnet.app-a",
        "--out",
        "d.plan",
    ]);
    let shown = w.ok(&["show", "d.plan"]);
    assert!(shown.contains("6 to destroy"), "{shown}");
    let out = w.ok(&["apply", "d.plan"]);
    assert!(out.contains("Apply complete"), "{out}");
    let left = state_list(&w);
    for gone in [
        "subnet.app-a",
        "network_interface.web-1-eth0",
        "network_interface.web-2-eth0",
        "instance.web-1",
        "instance.web-2",
        "public_ip.web-public",
    ] {
        assert!(!left.iter().any(|a| a == gone), "{gone} in {left:?}");
    }
    // The secondary NICs of the destroyed instances stay, detached.
    assert!(
        left.iter().any(|a| a == "network_interface.web-1-eth1"),
        "{left:?}"
    );
    assert_eq!(left.len(), 10, "{left:?}");
    let shown = w.ok(&["state", "show", "network_interface.web-1-eth1"]);
    assert!(!shown.contains("attach_to"), "{shown}");
    w.converge();
}

#[test]
fn a_destroy_target_nothing_holds_is_refused_with_the_closest_addresses() {
    let w = applied();
    for args in [
        &["destroy", "--auto-approve", "--target", "subnet.ap-a"][..],
        &["plan", "--destroy", "--target", "subnet.ap-a"][..],
    ] {
        let out = w.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(
                "--target subnet.ap-a: the file declares no subnet.ap-a and the state holds none"
            ) && err.contains("did you mean `subnet.app-a`"),
            "{err}"
        );
    }
    assert_eq!(state_list(&w).len(), 16, "nothing was destroyed");
}
