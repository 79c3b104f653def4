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

fn id_of(w: &Workdir, address: &str) -> String {
    let shown = w.ok(&["state", "show", address]);
    let first = shown.lines().next().unwrap_or_default();
    first
        .split_once(" (")
        .map(|(_, id)| id.trim_end_matches(')').to_string())
        .unwrap_or_else(|| panic!("no ID in {shown}"))
}

#[test]
fn replace_recreates_an_unchanged_instance_with_everything_a_replacement_takes() {
    let w = applied();
    let old = id_of(&w, "instance.web-1");
    let out = w.run(&[
        "plan",
        "--replace",
        "instance.web-1",
        "--detailed-exitcode",
        "--out",
        "r.plan",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let plan = stdout(&out);
    assert!(
        plan.contains("instance.web-1 is replaced, as --replace asked"),
        "{plan}"
    );
    let s = steps(&plan);
    // Its secondary NICs leave the old instance and join the new one, its public IP
    // leaves the primary NIC that goes with it and comes back.
    assert!(
        position(
            &s,
            "detach network_interface.web-1-eth1 from instance.web-1"
        ) < position(&s, "delete instance.web-1")
    );
    assert!(
        position(&s, "create instance.web-1")
            < position(&s, "attach network_interface.web-1-eth1 to instance.web-1")
    );
    assert!(
        position(&s, "disassociate public_ip.web-public") < position(&s, "delete instance.web-1")
    );
    assert!(position(&s, "create instance.web-1") < position(&s, "associate public_ip.web-public"));
    assert!(!plan.contains("instance.web-2 is replaced"), "{plan}");
    // Terraform's spelling is the same plan.
    assert_eq!(
        stdout(&w.run(&["plan", "-replace=instance.web-1"])),
        stdout(&w.run(&["plan", "--replace", "instance.web-1"]))
    );
    // The saved plan carries it.
    let out = w.ok(&["apply", "r.plan"]);
    assert!(out.contains("Apply complete"), "{out}");
    assert_ne!(id_of(&w, "instance.web-1"), old, "a new instance");
    let (plan, code) = w.plan();
    assert_eq!(code, Some(0), "{plan}");
}

#[test]
fn replacing_a_primary_nic_replaces_its_instance_and_says_why() {
    let w = applied();
    let plan = w.ok(&["plan", "--replace", "network_interface.web-2-eth0"]);
    assert!(
        plan.contains("network_interface.web-2-eth0 is replaced, as --replace asked"),
        "{plan}"
    );
    assert!(
        plan.contains(
            "instance.web-2 is replaced because its primary interface network_interface.web-2-eth0 is replaced, as --replace asked"
        ),
        "{plan}"
    );
    assert!(plan.contains("2 to replace"), "{plan}");
}

#[test]
fn replace_recreates_an_instance_stuck_in_error() {
    let w = Workdir::new();
    // web-2 with its primary NIC only.
    let text = base()
        .replace("    attach_to: web-2\n", "")
        .replace(
            "  web-2-eth1:\n    subnet: db-a\n    security_groups: [db-sg]\n",
            "",
        )
        .replace(
            "  web-2-eth2:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n",
            "",
        );
    assert!(!text.contains("web-2-eth1"), "{text}");
    w.write(&text);
    w.converge();
    w.ok(&["sim", "set-instance-status", "web-2", "error"]);
    let old = id_of(&w, "instance.web-2");
    let out = w.ok(&["apply", "--auto-approve", "--replace", "instance.web-2"]);
    assert!(
        out.contains("instance.web-2 is replaced, as --replace asked"),
        "{out}"
    );
    assert!(out.contains("Apply complete"), "{out}");
    assert_ne!(id_of(&w, "instance.web-2"), old);
    let shown = w.ok(&["state", "show", "instance.web-2"]);
    assert!(shown.contains("status = \"active\""), "{shown}");
    w.converge();
}

#[test]
fn replace_is_refused_for_what_cannot_be_replaced() {
    let w = Workdir::new();
    let protected = base().replacen(
        "    primary_interface: web-1-eth0\n",
        "    primary_interface: web-1-eth0\n    lifecycle: { prevent_destroy: true }\n",
        1,
    );
    w.write(&protected);
    // Nothing in state yet: nothing to replace.
    let out = w.run(&["plan", "--replace", "instance.web-2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--replace instance.web-2: the state holds no instance.web-2, so there is nothing to replace"),
        "{}",
        stderr(&out)
    );
    w.converge();
    let out = w.run(&["plan", "--replace", "instance.web-1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("nicplan::prevent_destroy"),
        "{}",
        stdout(&out)
    );
    let out = w.run(&["apply", "--auto-approve", "--replace", "instance.web-1"]);
    assert_eq!(out.status.code(), Some(1));
    let out = w.run(&["plan", "--replace", "instance.wbe-2"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(
            "--replace instance.wbe-2: the file declares no instance.wbe-2 and the state holds none"
        ) && err.contains("did you mean `instance.web-2`"),
        "{err}"
    );
    let out = w.run(&["plan", "--replace", "public_ip.web-public"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("never a public IP"),
        "{}",
        stderr(&out)
    );
    assert!(!stdout(&out).contains("No changes"));
    let (plan, code) = w.plan();
    assert_eq!(code, Some(0), "nothing was replaced: {plan}");
}
