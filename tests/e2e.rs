//! End to end, as a user runs it: the `nicplan` binary against the simulator in a
//! temporary folder, one scenario per step kind and per ordering case. The text plan of
//! each scenario is a snapshot (`tests/snapshots/`); each scenario then applies and
//! checks that the next plan is empty.

mod common;

use std::process::Output;

use common::nicplan::{
    Served, Workdir, held, kakaocloud, kakaocloud_command, names_through_the_api, serve, succeeded,
};

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

fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in file");
    text.replacen(from, to, 1)
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

#[test]
fn create_from_nothing() {
    let w = Workdir::new();
    w.write(&base());
    let (plan, code) = w.plan();
    assert_eq!(code, Some(2));
    insta::assert_snapshot!("create_from_nothing", plan);
    w.converge();
    let shown = w.ok(&["show"]);
    assert!(
        shown.contains("network_interface.web-1-eth1 (nic-"),
        "{shown}"
    );
    assert_eq!(w.ok(&["state", "list"]).lines().count(), 16);
}

#[test]
fn a_full_instance_exchanges_a_nic() {
    let w = applied();
    let text = edit(
        &base(),
        "    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-1\n",
        "    subnet: mgmt-a\n    security_groups: [db-sg]\n",
    );
    let text = edit(
        &text,
        "  spare:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n",
        "  spare:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-1\n",
    );
    w.write(&text);
    let (plan, code) = w.plan();
    assert_eq!(code, Some(2), "{plan}");
    insta::assert_snapshot!("a_full_instance_exchanges_a_nic", plan);
    let s = steps(&plan);
    assert!(
        position(&s, "detach network_interface.web-1-eth2")
            < position(&s, "attach network_interface.spare")
    );
    w.converge();
}

#[test]
fn two_full_instances_swap_nics() {
    let w = applied();
    let text = base()
        .replace(
            "  web-1-eth2:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-1",
            "  web-1-eth2:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-2x",
        )
        .replace(
            "  web-2-eth2:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-2",
            "  web-2-eth2:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-1",
        )
        .replace("attach_to: web-2x", "attach_to: web-2");
    w.write(&text);
    let (plan, code) = w.plan();
    assert_eq!(code, Some(2), "{plan}");
    insta::assert_snapshot!("two_full_instances_swap_nics", plan);
    let s = steps(&plan);
    let last_detach = position(&s, "detach network_interface.web-2-eth2")
        .max(position(&s, "detach network_interface.web-1-eth2"));
    let first_attach = position(&s, "attach network_interface.web-2-eth2")
        .min(position(&s, "attach network_interface.web-1-eth2"));
    assert!(last_detach < first_attach, "{s:#?}");
    w.converge();
}

#[test]
fn a_growing_resize_comes_before_the_attach_that_needs_it() {
    let w = applied();
    let text = edit(
        &base(),
        "    type: m2a.large\n    image: ubuntu-22.04\n    primary_interface: web-1-eth0",
        "    type: m2a.xlarge\n    image: ubuntu-22.04\n    primary_interface: web-1-eth0\n    lifecycle: { allow_stop: true }",
    );
    let text = edit(
        &text,
        "  spare:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n",
        "  spare:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-1\n",
    );
    w.write(&text);
    let (plan, code) = w.plan();
    assert_eq!(code, Some(2), "{plan}");
    insta::assert_snapshot!(
        "a_growing_resize_comes_before_the_attach_that_needs_it",
        plan
    );
    let s = steps(&plan);
    assert!(position(&s, "stop instance.web-1") < position(&s, "resize instance.web-1"));
    assert!(position(&s, "resize instance.web-1") < position(&s, "start instance.web-1"));
    assert!(position(&s, "resize instance.web-1") < position(&s, "attach network_interface.spare"));
    w.converge();
}

#[test]
fn a_shrinking_resize_comes_after_the_detach_that_makes_room() {
    let w = applied();
    let text = edit(
        &base(),
        "    type: m2a.large\n    image: ubuntu-22.04\n    primary_interface: web-1-eth0",
        "    type: t1i.nano\n    image: ubuntu-22.04\n    primary_interface: web-1-eth0\n    lifecycle: { allow_stop: true }",
    );
    let text = edit(
        &text,
        "    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-1\n",
        "    subnet: mgmt-a\n    security_groups: [db-sg]\n",
    );
    w.write(&text);
    let (plan, code) = w.plan();
    assert_eq!(code, Some(2), "{plan}");
    insta::assert_snapshot!(
        "a_shrinking_resize_comes_after_the_detach_that_makes_room",
        plan
    );
    let s = steps(&plan);
    assert!(
        position(&s, "detach network_interface.web-1-eth2") < position(&s, "stop instance.web-1")
    );
    assert!(position(&s, "stop instance.web-1") < position(&s, "resize instance.web-1"));
    assert!(position(&s, "resize instance.web-1") < position(&s, "start instance.web-1"));
    w.converge();
}

#[test]
fn a_primary_nic_moving_subnet_replaces_its_instance() {
    let w = applied();
    let text = edit(
        &base(),
        "  web-2-eth0:\n    subnet: app-a\n    private_ip: 10.0.1.11",
        "  web-2-eth0:\n    subnet: db-a\n    private_ip: 10.0.2.11",
    );
    w.write(&text);
    let (plan, code) = w.plan();
    assert_eq!(code, Some(2), "{plan}");
    assert!(plan.contains("instance.web-2 is replaced because its primary interface network_interface.web-2-eth0 is replaced: it moves to subnet db-a"), "{plan}");
    insta::assert_snapshot!("a_primary_nic_moving_subnet_replaces_its_instance", plan);
    let s = steps(&plan);
    assert!(
        position(&s, "detach network_interface.web-2-eth1") < position(&s, "delete instance.web-2")
    );
    assert!(
        position(&s, "create instance.web-2") < position(&s, "attach network_interface.web-2-eth1")
    );
    w.converge();
}

#[test]
fn in_place_updates_change_only_what_changed() {
    let w = applied();
    let text = edit(
        &base(),
        "  web-2-eth1:\n    subnet: db-a\n    security_groups: [db-sg]",
        "  web-2-eth1:\n    subnet: db-a\n    description: replica link\n    source_dest_check: false\n    security_groups: [db-sg, web-sg]",
    );
    let text = edit(
        &text,
        "web-sg: { description: web tier }",
        "web-sg: { description: web servers }",
    );
    w.write(&text);
    let (plan, code) = w.plan();
    assert_eq!(code, Some(2), "{plan}");
    insta::assert_snapshot!("in_place_updates_change_only_what_changed", plan);
    assert!(
        plan.contains("Plan: 0 to create, 2 to update, 0 to replace, 0 to destroy"),
        "{plan}"
    );
    w.converge();
}

#[test]
fn a_public_ip_moves_between_interfaces() {
    let w = applied();
    w.write(&edit(
        &base(),
        "    network_interface: web-1-eth0",
        "    network_interface: web-2-eth0",
    ));
    let (plan, code) = w.plan();
    assert_eq!(code, Some(2), "{plan}");
    insta::assert_snapshot!("a_public_ip_moves_between_interfaces", plan);
    let s = steps(&plan);
    assert!(
        position(&s, "disassociate public_ip.web-public")
            < position(&s, "associate public_ip.web-public")
    );
    w.converge();
}

#[test]
fn removing_an_instance_deletes_it_with_its_nics() {
    let w = applied();
    let mut text = base();
    for block in [
        "  web-2:\n    type: m2a.large\n    image: ubuntu-22.04\n    primary_interface: web-2-eth0\n",
        "  web-2-eth0:\n    subnet: app-a\n    private_ip: 10.0.1.11\n    security_groups: [web-sg]\n",
        "  web-2-eth1:\n    subnet: db-a\n    security_groups: [db-sg]\n    attach_to: web-2\n",
        "  web-2-eth2:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-2\n",
    ] {
        text = edit(&text, block, "");
    }
    w.write(&text);
    let (plan, code) = w.plan();
    assert_eq!(code, Some(2), "{plan}");
    insta::assert_snapshot!("removing_an_instance_deletes_it_with_its_nics", plan);
    assert!(
        plan.contains("0 to create, 0 to update, 0 to replace, 4 to destroy"),
        "{plan}"
    );
    w.converge();
}

#[test]
fn an_attach_to_an_instance_in_error_is_refused_at_plan_time() {
    let w = applied();
    assert!(
        w.ok(&["sim", "set-instance-status", "web-2", "error"])
            .contains("error")
    );
    let text = edit(
        &base(),
        "    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-2\n",
        "    subnet: mgmt-a\n    security_groups: [db-sg]\n",
    );
    let text = edit(
        &text,
        "  spare:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n",
        "  spare:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-2\n",
    );
    w.write(&text);
    let (plan, code) = w.plan();
    assert_eq!(code, Some(1), "{plan}");
    assert!(plan.contains("nicplan::instance_status"), "{plan}");
    insta::assert_snapshot!(
        "an_attach_to_an_instance_in_error_is_refused_at_plan_time",
        plan
    );
    let out = w.run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    // Nothing was touched: back to active, the original file plans nothing.
    w.ok(&["sim", "set-instance-status", "web-2", "active"]);
    w.write(&base());
    assert_eq!(w.plan().1, Some(0));
}

#[test]
fn prevent_destroy_refuses_a_replacement() {
    let w = Workdir::new();
    let protected = edit(
        &base(),
        "    primary_interface: web-1-eth0\n",
        "    primary_interface: web-1-eth0\n    lifecycle: { prevent_destroy: true }\n",
    );
    w.write(&protected);
    w.converge();
    w.write(&edit(
        &protected,
        "    type: m2a.large\n    image: ubuntu-22.04\n    primary_interface: web-1-eth0",
        "    type: m2a.large\n    image: ubuntu-24.04\n    primary_interface: web-1-eth0",
    ));
    let (plan, code) = w.plan();
    assert_eq!(code, Some(1), "{plan}");
    insta::assert_snapshot!("prevent_destroy_refuses_a_replacement", plan);
    let destroy = w.run(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&destroy.stdout).contains("nicplan::prevent_destroy"));
    // Without the file, the protection recorded in the state still holds.
    std::fs::remove_file(w.path("nicplan.yaml")).expect("remove");
    let destroy = w.run(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.status.code(), Some(1));
    let out = String::from_utf8_lossy(&destroy.stdout);
    assert!(
        out.contains("which has prevent_destroy (recorded in the state)"),
        "{out}"
    );
    assert!(
        w.ok(&["state", "list"]).contains("instance.web-1"),
        "nothing was destroyed"
    );
}

#[test]
fn destroy_removes_everything() {
    let w = applied();
    let out = w.ok(&["destroy", "--auto-approve"]);
    assert!(out.contains("16 to destroy"), "{out}");
    assert_eq!(w.ok(&["state", "list"]), "");
    let sim = common::sim_world(&w.path(".nicplan/sim.json"));
    for kind in [
        "vpcs",
        "subnets",
        "security_groups",
        "instances",
        "nics",
        "public_ips",
    ] {
        let objects = sim
            .get(kind)
            .and_then(|v| v.as_object())
            .map_or(0, serde_json::Map::len);
        assert_eq!(objects, 0, "{kind} left in the simulator");
    }
}

#[test]
fn a_lock_left_by_a_process_that_is_gone_is_taken_over_with_a_note() {
    let w = applied();
    // What a killed apply leaves: the holder's record, and no process holding the lock.
    let lock = serde_json::json!({"id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "who": "alice@ci", "when": "2026-11-26T10:00:00Z", "command": "apply", "pid": 4_000_000});
    std::fs::write(w.path("nicplan.state.json.lock"), lock.to_string()).expect("lock");
    std::fs::write(w.path(".nicplan-state-left.tmp"), "{\"half\": ").expect("leftover");
    let out = w.run(&["refresh"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("note: took over the lock of alice@ci (PID 4000000) running `nicplan apply` since 2026-11-26T10:00:00Z"),
        "{err}"
    );
    assert!(!w.path("nicplan.state.json.lock").exists());
    assert!(
        !w.path(".nicplan-state-left.tmp").exists(),
        "a killed writer's leftover stays"
    );
    w.converge();
}

#[test]
fn a_second_writer_is_told_who_holds_the_lock_and_may_wait_for_it() {
    let w = Workdir::new();
    w.write(&base());
    // An apply through a slow platform holds the lock for a few seconds.
    let served = serve(&w, &["--latency-ms", "150"]);
    let mut first = kakaocloud_command(&w, &served, "ci-secret-value")
        .args(["apply", "--auto-approve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let lock = w.path("nicplan.state.json.lock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&lock).is_ok_and(|t| t.contains("\"pid\"")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the apply never locked"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let held: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&lock).expect("lock")).expect("json");
    let out = kakaocloud(&w, &served, "ci-secret-value", &["refresh"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("(PID {}) running `nicplan apply`", first.id())),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "nicplan force-unlock {}",
            held["id"].as_str().expect("id")
        )),
        "{err}"
    );
    // Waiting for it: the refresh runs once the apply is done.
    let out = kakaocloud(
        &w,
        &served,
        "ci-secret-value",
        &["refresh", "--lock-timeout", "2m"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(first.wait().expect("waits").success());
    assert!(!lock.exists());
    let bad = w.run(&["refresh", "--lock-timeout", "soon"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("\"soon\" is not a duration"));
}

#[test]
fn a_corrupted_or_newer_state_is_refused_and_left_alone() {
    let w = applied();
    let state = w.path("nicplan.state.json");
    for bad in [
        b"{\"version\": 1, \"lineage\": ".to_vec(),
        br#"{"version": 7, "lineage": "x", "serial": 1, "resources": {}}"#.to_vec(),
    ] {
        std::fs::write(&state, &bad).expect("write");
        for args in [
            &["plan"][..],
            &["apply", "--auto-approve"],
            &["refresh"],
            &["state", "list"],
        ] {
            let out = w.run(args);
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("nicplan.state.json"), "{args:?}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
        assert_eq!(
            std::fs::read(&state).expect("state"),
            bad,
            "the state file was touched"
        );
    }
}

#[test]
fn drift_is_reported_and_repaired() {
    let w = applied();
    // Someone deletes the spare NIC by hand.
    let sim_path = w.path(".nicplan/sim.json");
    let mut sim = common::sim_world(&sim_path);
    let nics = sim
        .get_mut("nics")
        .and_then(|v| v.as_object_mut())
        .expect("nics");
    let spare = nics
        .iter()
        .find(|(_, n)| n["name"] == "spare")
        .map(|(id, _)| id.clone())
        .expect("spare in sim");
    nics.remove(&spare);
    common::write_sim_world(&sim_path, &sim);
    let (plan, code) = w.plan();
    assert_eq!(code, Some(2));
    assert!(
        plan.contains("network_interface.spare no longer exists; it leaves the state"),
        "{plan}"
    );
    assert!(plan.contains("Plan: 1 to create"), "{plan}");
    w.converge();
}

#[test]
fn state_surgery_and_import() {
    let w = applied();
    let shown = w.ok(&["state", "show", "network_interface.spare"]);
    let id = shown
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(id, _)| id.to_string())
        .expect("id in state show");
    w.ok(&["state", "rm", "network_interface.spare"]);
    assert!(!w.ok(&["state", "list"]).contains("spare"));
    // Forgotten for good: a refresh does not adopt it again by its marker.
    w.ok(&["refresh"]);
    assert!(!w.ok(&["state", "list"]).contains("spare"));
    let out = w.ok(&["import", "network_interface.spare", &id]);
    assert!(
        out.contains(&format!("Imported network_interface.spare ({id})")),
        "{out}"
    );
    assert_eq!(w.plan().1, Some(0));
    // Rename in the file and in state: no change planned.
    w.ok(&[
        "state",
        "mv",
        "network_interface.spare",
        "network_interface.reserve",
    ]);
    w.write(&base().replace("  spare:", "  reserve:"));
    assert_eq!(w.plan().1, Some(0));
    assert_eq!(
        w.run(&[
            "state",
            "mv",
            "network_interface.reserve",
            "instance.reserve"
        ])
        .status
        .code(),
        Some(1)
    );
}

#[test]
fn the_resource_and_plan_graphs_are_dot() {
    let w = Workdir::new();
    w.write(&base());
    let dot = w.ok(&["graph"]);
    assert!(dot.starts_with("digraph resources {"));
    assert!(
        dot.contains(
            "\"network_interface.web-1-eth1\" -> \"instance.web-1\" [label = \"attached to\"];"
        ),
        "{dot}"
    );
    let plan = w.ok(&["graph", "--plan"]);
    assert!(plan.starts_with("digraph plan {"));
    assert!(plan.contains("[label = \"needs vpc.main\"]"), "{plan}");
}

#[test]
fn the_resource_and_plan_graphs_are_mermaid_on_demand() {
    let w = Workdir::new();
    w.write(&base());
    // DOT stays the default, byte for byte.
    assert_eq!(w.ok(&["graph", "--format", "dot"]), w.ok(&["graph"]));
    let chart = w.ok(&["graph", "--format", "mermaid"]);
    assert!(chart.starts_with("flowchart LR\n"), "{chart}");
    for line in [
        "  subgraph vpc_main[\"vpc.main 10.0.0.0/16\"]",
        "    subgraph zone_main_kr_central_2_a[\"zone kr-central-2-a\"]",
        "      subgraph subnet_app_a[\"subnet.app-a 10.0.1.0/24\"]",
        "  nic_web_1_eth1 -->|secondary| instance_web_1",
        "  nic_web_1_eth0 -->|primary| instance_web_1",
    ] {
        assert!(chart.lines().any(|l| l == line), "{line:?} not in\n{chart}");
    }
    // The whole file, nothing marked.
    assert!(
        !chart.contains("classDef") && !chart.contains("\"+ "),
        "{chart}"
    );
    assert_eq!(chart.matches("(\"network_interface.").count(), 7, "{chart}");
    // With --plan, the steps, marked, and their constraints.
    let steps = w.ok(&["graph", "--plan", "--format", "mermaid"]);
    assert!(steps.starts_with("flowchart LR\n"), "{steps}");
    assert!(steps.contains("  step_1[\"1. create "), "{steps}");
    assert!(steps.contains("-->|\"needs vpc.main\"|"), "{steps}");
    assert!(steps.contains(" created\n"), "{steps}");
    let help = w.ok(&["graph", "--help"]);
    assert!(help.contains("mermaid"), "{help}");
}

#[test]
fn a_killed_apply_loses_nothing_and_the_next_converges() {
    let w = Workdir::new();
    w.write(&base());
    let mut child = w
        .command()
        // Instances build for a minute: the apply waits on them before any attach,
        // and is killed while it waits.
        .env("NICPLAN_SIM_DELAYS", "build=60000")
        .args(["apply", "--auto-approve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let text = w.recorded();
        // Every step that does not wait on a building instance is done: only the
        // attaches are left, waiting.
        let created = [
            "\"instance.web-1\"",
            "\"instance.web-2\"",
            "\"network_interface.spare\"",
            "\"public_ip.web-public\"",
        ];
        if created.iter().all(|a| text.contains(a)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the apply never created its instances"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("kill");
    let _ = child.wait();
    // The state is readable and holds what was done.
    let listed = w.ok(&["state", "list"]);
    assert!(
        listed.contains("instance.web-1") && listed.contains("network_interface.spare"),
        "{listed}"
    );
    // An operator finishes the builds instead of waiting a minute.
    w.ok(&["sim", "set-instance-status", "web-1", "active"]);
    w.ok(&["sim", "set-instance-status", "web-2", "active"]);
    // The killed run's lock died with it: the record it left names it, and the next
    // apply takes it over with a note, no force-unlock.
    let lock: serde_json::Value = serde_json::from_slice(
        &std::fs::read(w.path("nicplan.state.json.lock")).expect("the killed run's record"),
    )
    .expect("json");
    assert_eq!(lock["pid"], child.id(), "{lock}");
    let out = w.run(&["apply", "--auto-approve"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "note: took over the lock of {} (PID {}) running `nicplan apply`",
            lock["who"].as_str().expect("who"),
            child.id()
        )),
        "{err}"
    );
    assert!(!w.path("nicplan.state.json.lock").exists());
    assert_eq!(w.plan().1, Some(0), "converged");
    let sim = common::sim_world(&w.path(".nicplan/sim.json"));
    let count = |kind: &str| sim[kind].as_object().map_or(0, serde_json::Map::len);
    assert_eq!(count("instances"), 2, "no duplicate instance");
    assert_eq!(count("nics"), 7, "no duplicate or orphaned NIC");
    assert_eq!(count("public_ips"), 1);
}

#[test]
fn target_plans_an_address_and_what_it_needs() {
    let w = Workdir::new();
    w.write(&base());
    let out = w.run(&["plan", "--target", "instance.web-1"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: --target"));
    let plan = String::from_utf8(out.stdout).expect("UTF-8");
    let s = steps(&plan);
    assert_eq!(
        s,
        [
            "create vpc.main",
            "create subnet.app-a",
            "create security_group.web-sg",
            "create network_interface.web-1-eth0",
            "create instance.web-1",
        ],
        "{plan}"
    );
    assert_eq!(
        w.run(&["plan", "--target", "nic.web-1"]).status.code(),
        Some(1),
        "a malformed address is a usage error"
    );
    // A well-formed address the file does not declare and the state does not hold
    // plans nothing, so it is refused rather than reported as "No changes".
    let out = w.run(&["plan", "--target", "instance.wbe-1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "--target instance.wbe-1: the file declares no instance.wbe-1 and the state holds none"
        ) && err.contains("did you mean `instance.web-1`"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("No changes"));
    let out = w.run(&["apply", "--auto-approve", "--target", "instance.nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !w.path("nicplan.state.json").exists(),
        "nothing was applied"
    );
    // What only the state holds is a target too: destroying it by its address.
    w.converge();
    w.write(&base().replace("web-1", "web-9"));
    let out = w.run(&["plan", "--target", "instance.web-1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("declares no"), "{err}");
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(plan.contains("instance.web-1"), "{plan}");
}

#[test]
fn a_team_state_in_postgresql() {
    let Some(url) = common::nicplan::postgres_url() else {
        return;
    };
    let w = Workdir::new();
    w.write(&base());
    let name = format!("e2e-{}", uuid::Uuid::new_v4());
    let state = format!("{url}#{name}");
    let out = w.ok(&["apply", "--auto-approve", "--state", &state]);
    assert!(out.contains("Apply complete"), "{out}");
    // Each step was a journal row; the final write took them all in.
    let mut db = postgres::Client::connect(&url, postgres::NoTls).expect("connects");
    let rows: i64 = db
        .query_one(
            "SELECT count(*) FROM nicplan_journal WHERE name = $1",
            &[&name],
        )
        .expect("counts")
        .get(0);
    assert_eq!(rows, 0);
    let serial: i64 = db
        .query_one("SELECT serial FROM nicplan_state WHERE name = $1", &[&name])
        .expect("a state row")
        .get(0);
    assert!(serial > 2, "one serial per step: {serial}");
    assert!(
        !w.path("nicplan.state.json").exists(),
        "the state went to PostgreSQL"
    );
    let again = w.run(&["plan", "--detailed-exitcode", "--state", &state]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(
        w.ok(&["state", "list", "--state", &state]).lines().count(),
        16
    );
    // The same URL through the environment variable.
    let listed = w
        .command()
        .env("NICPLAN_STATE", &state)
        .args(["state", "list"])
        .output()
        .expect("runs");
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().count(), 16);
}

#[test]
fn the_kakaocloud_backend_end_to_end_through_sim_serve() {
    let w = Workdir::new();
    w.write(&base());
    // A flaky platform: every 4th call fails, every 7th is throttled.
    let served = serve(&w, &["--fail-every", "4", "--throttle-every", "7"]);
    let out = kakaocloud(&w, &served, "ci-secret-value", &["apply", "--auto-approve"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .ends_with(&format!("steps done on kakaocloud {}.\n", served.url)),
        "the last line names the platform: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Each repeated call is told, as it happens, in the log.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.lines().any(|l| l.starts_with("KakaoCloud ")
            && l.contains(" answered 429 to ")
            && l.contains("; trying again in ")),
        "{log}"
    );
    let again = kakaocloud(
        &w,
        &served,
        "ci-secret-value",
        &["plan", "--detailed-exitcode"],
    );
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    // Secondary IPs: the platform supports one IP per NIC, known offline.
    w.write(&base().replace(
        "    private_ip: 10.0.1.10\n",
        "    private_ip: 10.0.1.10\n    secondary_private_ips: [10.0.1.20]\n",
    ));
    let refused = kakaocloud(&w, &served, "ci-secret-value", &["plan"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stdout).contains("nicplan::multi_ip_unsupported"));
    // A wrong secret: a clear error that never repeats the secret.
    w.write(&base());
    let denied = kakaocloud(&w, &served, "not-the-secret", &["plan"]);
    assert_eq!(denied.status.code(), Some(1));
    let err = String::from_utf8_lossy(&denied.stderr);
    assert!(err.contains("error:"), "{err}");
    assert!(
        !err.contains("not-the-secret") && !err.contains("ci-secret-value"),
        "{err}"
    );
}

#[test]
fn the_kakaocloud_backend_converges_under_lost_answers_with_no_duplicate() {
    let changed = edit(
        &edit(
            &edit(
                &base(),
                "    network_interface: web-1-eth0",
                "    network_interface: web-2-eth0",
            ),
            "  web-sg: { description: web tier }",
            "  web-sg: { description: public web tier }",
        ),
        "  spare:\n    subnet: mgmt-a\n",
        "  extra:\n    subnet: app-a\n    private_ip: 10.0.1.30\n",
    )
    // A resize: stop, resize, start, each of which may lose its answer.
    .replace(
        "  web-2:\n    type: m2a.large\n",
        "  web-2:\n    type: m2a.xlarge\n    lifecycle: { allow_stop: true }\n",
    );
    assert!(changed.contains("m2a.xlarge"));
    let ok = |w: &Workdir, served: &Served, args: &[&str]| {
        let out = kakaocloud_tuned(w, served, args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "nicplan {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (mut lost_changes, mut injected) = (0, 0);
    for seed in ["1", "2", "3"] {
        let w = Workdir::new();
        // A tenth of the calls fail, a tenth are throttled, and a tenth are carried out
        // with their answer lost.
        let served = serve(
            &w,
            &[
                "--drop-rate",
                "0.1",
                "--fail-rate",
                "0.1",
                "--throttle-rate",
                "0.1",
                "--seed",
                seed,
            ],
        );
        w.write(&base());
        ok(&w, &served, &["apply", "--auto-approve"]);
        ok(&w, &served, &["plan", "--detailed-exitcode"]);
        let want_base = [
            ("vpcs", names(&["main"])),
            ("subnets", names(&["app-a", "db-a", "mgmt-a"])),
            ("security_groups", names(&["db-sg", "web-sg"])),
            (
                "network_interfaces",
                names(&[
                    "spare",
                    "web-1-eth0",
                    "web-1-eth1",
                    "web-1-eth2",
                    "web-2-eth0",
                    "web-2-eth1",
                    "web-2-eth2",
                ]),
            ),
            ("instances", names(&["web-1", "web-2"])),
        ];
        let now = held(&served.url);
        assert_eq!(now[..5], want_base[..], "seed {seed}");
        assert_eq!(now[5].1.len(), 1, "seed {seed}: {now:?}");

        w.write(&changed);
        ok(&w, &served, &["apply", "--auto-approve"]);
        ok(&w, &served, &["plan", "--detailed-exitcode"]);
        let now = held(&served.url);
        let nics = &now[3].1;
        assert!(
            nics.contains(&"extra".to_string()) && !nics.contains(&"spare".to_string()),
            "seed {seed}: {nics:?}"
        );
        assert_eq!(nics.len(), 7, "seed {seed}: {nics:?}");
        assert_eq!(now[0].1, names(&["main"]), "seed {seed}");
        assert_eq!(now[5].1.len(), 1, "seed {seed}: {now:?}");

        ok(&w, &served, &["destroy", "--auto-approve"]);
        for (plural, left) in held(&served.url) {
            assert!(left.is_empty(), "seed {seed}: {plural} left: {left:?}");
        }
        let log = std::fs::read_to_string(w.path("serve.log")).expect("log");
        for line in log.lines() {
            if line.ends_with("(carried out; answer lost)") && !line.starts_with("GET ") {
                lost_changes += 1;
            } else if line.ends_with("(injected)") {
                injected += 1;
            }
        }
    }
    // Some 15 to 20 changes lose their answer over the three runs, and some 120
    // calls meet a 503 or a 429: with none, the test would have tried nothing.
    assert!(
        lost_changes > 0 && injected > 0,
        "{lost_changes} {injected}"
    );
}

/// As [`kakaocloud`] with the right secret, repeating calls more often and sooner than
/// the defaults, for a platform that fails three calls in ten.
fn kakaocloud_tuned(w: &Workdir, served: &Served, args: &[&str]) -> Output {
    kakaocloud_command(w, served, "ci-secret-value")
        .env("KAKAOCLOUD_MAX_RETRIES", "12")
        .env("KAKAOCLOUD_RETRY_BACKOFF_MS", "5")
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn a_saved_plan_runs_only_against_the_cloud_it_was_made_for() {
    let w = Workdir::new();
    w.write(&base());
    let served = serve(&w, &[]);
    let out = kakaocloud(&w, &served, "ci-secret-value", &["plan", "--out", "p.plan"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Named otherwise on the command line: refused, nothing done anywhere.
    let out = w.run(&["apply", "p.plan", "--backend", "sim"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "p.plan was made against kakaocloud {}",
            served.url
        )) && err.contains("would apply it to sim "),
        "{err}"
    );
    assert!(!w.path("nicplan.state.json").exists());
    assert!(
        !w.path(".nicplan/sim.json").exists()
            && !common::sim_journal(&w.path(".nicplan/sim.json")).exists(),
        "the embedded simulator was touched"
    );
    // Not named: the plan's own backend.
    let out = kakaocloud_command(&w, &served, "ci-secret-value")
        .env_remove("NICPLAN_BACKEND")
        .args(["apply", "p.plan"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = kakaocloud(
        &w,
        &served,
        "ci-secret-value",
        &["plan", "--detailed-exitcode"],
    );
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        names_through_the_api(&served.url, "/instances", "instances"),
        ["web-1", "web-2"]
    );
}

#[test]
fn a_state_that_cannot_be_true_is_refused_naming_the_entry() {
    let w = applied();
    let path = w.path("nicplan.state.json");
    let good = std::fs::read_to_string(&path).expect("state");
    let doc: serde_json::Value = serde_json::from_str(&good).expect("json");
    let id_of = |address: &str| {
        doc["resources"][address]["id"]
            .as_str()
            .expect("an id")
            .to_string()
    };
    let (web1, web2) = (id_of("instance.web-1"), id_of("instance.web-2"));
    let vpc = id_of("vpc.main");
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut d = doc.clone();
        edit(&mut d);
        serde_json::to_string_pretty(&d).expect("json")
    };
    let cases: Vec<(String, String)> = vec![
        (
            with(&|d| d["version"] = 0.into()),
            "`version` is 0".to_string(),
        ),
        (
            with(&|d| d["lineage"] = "".into()),
            "its `lineage` is empty".to_string(),
        ),
        // Two addresses, one cloud object: a plan would act on the wrong one.
        (
            with(&|d| d["resources"]["instance.web-2"]["id"] = web1.clone().into()),
            format!("instance.web-1 and instance.web-2 both have ID {web1}"),
        ),
        (
            with(&|d| d["resources"]["instance.web-2"]["id"] = "i 0002; rm".into()),
            "holds characters no cloud ID has".to_string(),
        ),
        // An instance's ID on a VPC: not an ID the simulator could have made for one.
        (
            with(&|d| {
                d["resources"]["vpc.main"]["id"] = web2.clone().into();
                d["resources"]["instance.web-2"]["id"] = vpc.clone().into();
            }),
            format!(
                "the state holds vpc.main with ID {web2}, which the sim backend could not have made (the simulator names a vpc `vpc-NNNNNN`"
            ),
        ),
    ];
    let sim_before = common::sim_bytes(&w.path(".nicplan/sim.json"));
    assert!(sim_before.0.is_some(), "the simulator's snapshot");
    for (bad, words) in cases {
        std::fs::write(&path, &bad).expect("write");
        for args in [&["plan"][..], &["apply", "--auto-approve"], &["refresh"]] {
            let out = w.run(args);
            assert_eq!(out.status.code(), Some(1), "{args:?} {words}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(&words), "{args:?}: {err}");
        }
        assert_eq!(
            std::fs::read_to_string(&path).expect("state"),
            bad,
            "state touched"
        );
    }
    assert_eq!(
        common::sim_bytes(&w.path(".nicplan/sim.json")),
        sim_before,
        "the cloud was touched"
    );
    std::fs::write(&path, good).expect("restore");
    assert_eq!(w.plan().1, Some(0), "the restored state plans nothing");
}

#[test]
fn an_interrupted_apply_finishes_what_is_in_flight_writes_the_state_and_lets_go() {
    let w = Workdir::new();
    w.write(&base());
    // Slow enough that the interrupt lands mid-apply.
    let served = serve(&w, &["--latency-ms", "100"]);
    let apply = apply_until_a_step_is_recorded(&w, &served);
    interrupt(&apply);
    let out = apply.wait_with_output().expect("waits");
    let err = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{err}");
    assert!(err.contains("Interrupted: no new step starts"), "{err}");
    assert!(err.contains("apply interrupted: "), "{err}");
    assert!(err.contains("Run the command again to finish"), "{err}");
    assert!(!stdout.contains("Apply complete"), "{stdout}");
    // Let go of the lock, state readable, and the next apply converges from it.
    assert!(!w.path("nicplan.state.json.lock").exists());
    let listed = kakaocloud(&w, &served, "ci-secret-value", &["state", "list"]);
    assert_eq!(listed.status.code(), Some(0));
    let recorded = String::from_utf8_lossy(&listed.stdout).lines().count();
    assert!((1..16).contains(&recorded), "{recorded} recorded");
    let out = kakaocloud(&w, &served, "ci-secret-value", &["apply", "--auto-approve"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = kakaocloud(
        &w,
        &served,
        "ci-secret-value",
        &["plan", "--detailed-exitcode"],
    );
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        names_through_the_api(&served.url, "/vpcs", "vpcs"),
        ["main"]
    );
    assert_eq!(
        names_through_the_api(&served.url, "/network-interfaces", "network_interfaces").len(),
        7
    );
}

/// `nicplan apply` through `served`, returned once its first steps are in the state.
fn apply_until_a_step_is_recorded(w: &Workdir, served: &Served) -> std::process::Child {
    let apply = kakaocloud_command(w, served, "ci-secret-value")
        .args(["apply", "--auto-approve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !w.recorded().contains("security_group.") {
        assert!(std::time::Instant::now() < deadline, "no step was recorded");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    apply
}

/// Sends SIGINT, as Ctrl-C does.
fn interrupt(child: &std::process::Child) {
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
}

#[test]
fn a_second_interrupt_stops_at_once_and_the_next_apply_still_converges() {
    let w = Workdir::new();
    w.write(&base());
    let served = serve(&w, &["--latency-ms", "100"]);
    let apply = apply_until_a_step_is_recorded(&w, &served);
    // Killed at once, an apply loses the answer of every call in flight, the VPC's
    // and subnets' creates among them, likely: what those calls made is found again
    // (by marker, or for a VPC or subnet by the intent written before the call).
    interrupt(&apply);
    std::thread::sleep(std::time::Duration::from_millis(20));
    interrupt(&apply);
    let out = apply.wait_with_output().expect("waits");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The state parses; the lock died with the process and is taken over.
    let listed = kakaocloud(&w, &served, "ci-secret-value", &["state", "list"]);
    assert_eq!(listed.status.code(), Some(0));
    let out = kakaocloud(&w, &served, "ci-secret-value", &["apply", "--auto-approve"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("note: took over the lock of"));
    let again = kakaocloud(
        &w,
        &served,
        "ci-secret-value",
        &["plan", "--detailed-exitcode"],
    );
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        names_through_the_api(&served.url, "/vpcs", "vpcs"),
        ["main"]
    );
    assert_eq!(
        names_through_the_api(&served.url, "/network-interfaces", "network_interfaces").len(),
        7
    );
}

#[test]
fn an_interrupt_at_the_prompt_cancels_and_lets_go_of_the_lock() {
    use std::io::Read;
    let w = Workdir::new();
    w.write(&base());
    // The prompt needs a terminal: `script` gives the apply one.
    let bin = assert_cmd::cargo::cargo_bin("nicplan");
    let mut script = std::process::Command::new("script")
        .args(["-qfec", &format!("{} apply", bin.display()), "/dev/null"])
        .current_dir(w.dir.path())
        .env("SHELL", "/bin/sh")
        .env("NO_COLOR", "1")
        .env("NICPLAN_SIM_BUILD_MS", "0")
        .env_remove("NICPLAN_BACKEND")
        .env_remove("NICPLAN_STATE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script runs");
    let mut stdout = script.stdout.take().expect("stdout");
    let (send, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut chunk) {
            if n == 0 || send.send(chunk[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut text = String::new();
    while !text.contains("Only 'yes' will be accepted") {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let chunk = seen.recv_timeout(left).expect("the prompt shows");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let lock: serde_json::Value = serde_json::from_slice(
        &std::fs::read(w.path("nicplan.state.json.lock")).expect("the apply holds the lock"),
    )
    .expect("lock record");
    let pid = lock["pid"].as_u64().expect("pid").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    while let Ok(chunk) = seen.recv_timeout(std::time::Duration::from_secs(10)) {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let status = script.wait().expect("script ends");
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(
        text.contains("apply cancelled by an interrupt; nothing was changed."),
        "{text}"
    );
    assert!(
        !w.path("nicplan.state.json.lock").exists(),
        "the lock record is gone"
    );
    assert!(
        !w.path("nicplan.state.json").exists(),
        "nothing was applied"
    );
    let out = w.run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("took over"),
        "the next command finds no lock to take over"
    );
}

#[test]
fn a_saved_plan_refuses_a_state_edited_since_even_at_the_same_serial() {
    let w = applied();
    w.write(&base().replace("  spare:\n", "  spare-renamed:\n"));
    w.ok(&["plan", "--out", "p.plan"]);
    let path = w.path("nicplan.state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("state")).expect("json");
    let serial = state["serial"].clone();
    // An edit the plan would not show: the recorded status of an instance, which the
    // next refresh overwrites anyway.
    state["resources"]["instance.web-2"]["attributes"]["status"] = "error".into();
    assert_eq!(state["serial"], serial);
    std::fs::write(&path, serde_json::to_vec_pretty(&state).expect("encode")).expect("write");
    let edited = std::fs::read(&path).expect("state");
    let out = w.run(&["apply", "p.plan"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("was made from another state") && err.contains("its digest differs"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&path).expect("state"),
        edited,
        "state untouched"
    );
}

#[test]
fn two_applies_at_once_with_a_lock_timeout_run_one_after_the_other() {
    let w = Workdir::new();
    w.write(&base());
    let start = || {
        w.command()
            // Long enough that the second starts while the first holds the lock.
            .env("NICPLAN_SIM_BUILD_MS", "30")
            .args(["apply", "--auto-approve", "--lock-timeout", "2m"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (first, second) = (start(), start());
    let said: Vec<String> = [first, second]
        .map(|c| {
            succeeded(
                "apply --lock-timeout",
                &c.wait_with_output().expect("waits"),
            )
        })
        .into();
    // One made the network; the other waited, planned from what it made and found
    // nothing to do.
    assert_eq!(
        said.iter().filter(|s| s.contains("Apply complete")).count(),
        1,
        "{said:?}"
    );
    assert_eq!(
        said.iter()
            .filter(|s| s.contains("No changes. The cloud matches the file."))
            .count(),
        1,
        "{said:?}"
    );
    let sim = nicplan::cloud::sim::Sim::open(w.path(".nicplan/sim.json"), true).expect("sim");
    let world = sim.world().expect("world");
    assert_eq!(world.vpcs.len(), 1);
    assert_eq!(world.instances.len(), 2);
    assert_eq!(world.nics.len(), 7);
}

#[test]
fn a_plan_gives_advice_only_about_the_instances_it_changes() {
    // Six instances with two NICs each: `validate` advises on every one of them.
    let mut file = String::from(
        "version: 1\nvpcs:\n  main: { cidr_block: 10.0.0.0/16 }\nsubnets:\n  app-a: { vpc: main, cidr_block: 10.0.1.0/24, availability_zone: kr-central-2-a }\n  db-a: { vpc: main, cidr_block: 10.0.2.0/24, availability_zone: kr-central-2-a }\nsecurity_groups:\n  web-sg: {}\ninstances:\n",
    );
    for i in 0..6 {
        file.push_str(&format!(
            "  web-{i}: {{ type: m2a.xlarge, image: ubuntu-22.04, primary_interface: web-{i}-eth0 }}\n"
        ));
    }
    file.push_str("network_interfaces:\n");
    for i in 0..6 {
        file.push_str(&format!(
            "  web-{i}-eth0: {{ subnet: app-a, security_groups: [web-sg] }}\n  web-{i}-eth1: {{ subnet: db-a, security_groups: [web-sg], attach_to: web-{i} }}\n"
        ));
    }
    let w = Workdir::new();
    w.write(&file);
    let advice = |args: &[&str]| -> Vec<(String, String)> {
        let out = w.run(args);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        doc["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .filter(|d| d["severity"] == "advice")
            .map(|d| {
                (
                    d["code"].as_str().unwrap_or_default().to_string(),
                    d["message"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let everywhere = advice(&["validate", "--format", "json"]);
    assert_eq!(
        everywhere
            .iter()
            .filter(|(code, _)| code == "nicplan::static_routing")
            .count(),
        6,
        "{everywhere:?}"
    );
    // The first plan adds every NIC: the advice holds for every instance.
    let first = advice(&["plan", "--format", "json"]);
    assert_eq!(first.len(), everywhere.len(), "{first:?}");
    w.converge();
    assert_eq!(
        advice(&["plan", "--format", "json"]),
        vec![],
        "no change, no advice"
    );

    // A third NIC on web-2 only: advice about web-2 alone.
    w.write(&format!(
        "{file}  web-2-eth2: {{ subnet: db-a, security_groups: [web-sg], attach_to: web-2 }}\n"
    ));
    let changed = advice(&["plan", "--format", "json"]);
    assert!(!changed.is_empty(), "the growing instance is advised on");
    for (code, message) in &changed {
        assert!(
            message.contains("web-2"),
            "{code}: {message} is about an instance the plan leaves alone"
        );
    }
}

#[test]
fn terraform_spellings_of_the_long_options_work() {
    let w = Workdir::new();
    w.write(&base());
    let out = w.run(&["plan", "-out=p.plan", "-detailed-exitcode"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(w.path("p.plan").exists(), "-out=FILE saved the plan");
    let out = w.run(&["apply", "-auto-approve"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with(
            "steps done on the embedded simulator (.nicplan/sim.json), which touches nothing real.\n"
        ),
        "the last line names the backend: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A Terraform option nicplan does not have is still refused.
    assert_eq!(w.run(&["plan", "-compact-warnings"]).status.code(), Some(1));
}

#[test]
fn a_refused_plan_leaves_no_older_plan_file_behind() {
    let w = Workdir::new();
    w.write(&base());
    let out = w.run(&["plan", "--out", "p.plan"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(w.path("p.plan").exists());
    // The same file with a NIC outside its subnet: refused, and the older plan goes.
    w.write(&base().replace(
        "network_interfaces:\n",
        "network_interfaces:\n  stray:\n    subnet: app-a\n    private_ip: 10.9.9.9\n    security_groups: [web-sg]\n",
    ));
    let out = w.run(&["plan", "--out", "p.plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !w.path("p.plan").exists(),
        "a stale plan could be applied for this one"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("removed p.plan, an older plan"));
}

/// The `name = value` lines of the block `show` prints for `address`, headed
/// `ADDRESS (ID)`: its ID and its values by name.
fn shown_block(shown: &str, address: &str) -> (String, std::collections::BTreeMap<String, String>) {
    let block = shown
        .split("\n\n")
        .find(|b| b.starts_with(&format!("{address} (")))
        .unwrap_or_else(|| panic!("no block for {address} in {shown}"));
    let mut lines = block.lines();
    let head = lines.next().expect("a head line");
    let id = head[address.len() + 2..head.len() - 1].to_string();
    let values = lines
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (id, values)
}

/// The NICs the simulator holds, by name.
fn sim_nics(w: &Workdir) -> std::collections::BTreeMap<String, serde_json::Value> {
    let sim = common::sim_world(&w.path(".nicplan/sim.json"));
    sim["nics"]
        .as_object()
        .expect("nics")
        .values()
        .map(|n| (n["name"].as_str().expect("name").to_string(), n.clone()))
        .collect()
}

#[test]
fn show_prints_the_addresses_and_macs_the_simulator_assigned() {
    let w = Workdir::new();
    w.write(&std::fs::read_to_string("examples/web-tier.yaml").expect("example"));
    w.converge();
    let nics = sim_nics(&w);
    let text = w.ok(&["show"]);
    let json: serde_json::Value =
        serde_json::from_str(&w.ok(&["show", "--format", "json"])).expect("show prints JSON");
    assert_eq!(json["format_version"], "1");
    let resources = json["resources"].as_array().expect("resources");
    let addresses: Vec<&str> = resources
        .iter()
        .map(|r| r["address"].as_str().expect("address"))
        .collect();
    let listed = w.ok(&["state", "list"]);
    assert_eq!(addresses, listed.lines().collect::<Vec<_>>());
    let mut seen = 0;
    for (name, nic) in &nics {
        let address = format!("network_interface.{name}");
        let (id, values) = shown_block(&text, &address);
        assert_eq!(id, nic["id"].as_str().expect("id"), "{address}");
        assert_eq!(
            values["private_ip"],
            nic["private_ip"].as_str().expect("ip")
        );
        assert_eq!(
            values["mac_address"],
            nic["mac_address"].as_str().expect("mac")
        );
        let device = nic["device_id"].as_str();
        assert_eq!(
            values["status"],
            if device.is_some() {
                "in_use"
            } else {
                "available"
            },
            "{address}"
        );
        match device {
            Some(instance) => assert!(
                values["attachment"].contains(&format!("({instance})")),
                "{address}: {values:?}"
            ),
            None => assert_eq!(values["attachment"], "(none)"),
        }
        let entry = resources
            .iter()
            .find(|r| r["address"] == address.as_str())
            .unwrap_or_else(|| panic!("no {address} in {json}"));
        assert_eq!(entry["id"], nic["id"]);
        assert_eq!(entry["private_ip"], nic["private_ip"]);
        assert_eq!(entry["mac_address"], nic["mac_address"]);
        assert_eq!(entry["attachment"]["instance"]["id"], nic["device_id"]);
        seen += 1;
    }
    assert_eq!(seen, 4, "{nics:?}");
    let (_, web1) = shown_block(&text, "instance.web-1");
    assert!(
        web1["network_interfaces"].contains("network_interface.web-1-eth0")
            && web1["network_interfaces"].contains("primary"),
        "{web1:?}"
    );
    assert_eq!(web1["status"], "active");
    let (_, public) = shown_block(&text, "public_ip.web-1-public");
    assert!(
        public["public_ip"].parse::<std::net::Ipv4Addr>().is_ok(),
        "{public:?}"
    );
    assert!(
        public["maps_to"].starts_with("network_interface.web-1-eth0 (nic-"),
        "{public:?}"
    );
    assert_eq!(
        w.ok(&["show", "--format", "json"]),
        w.ok(&["show", "--format", "json"])
    );
}

#[test]
fn a_state_written_before_nic_statuses_loads_shows_them_unrecorded_and_refresh_learns_them() {
    let w = Workdir::new();
    w.write(&std::fs::read_to_string("examples/web-tier.yaml").expect("example"));
    w.converge();
    // The state as an older nicplan wrote it: no NIC status, and one MAC never seen.
    let path = w.path("nicplan.state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("state")).expect("JSON");
    for (address, entry) in state["resources"].as_object_mut().expect("resources") {
        if address.starts_with("network_interface.") {
            let attributes = entry["attributes"].as_object_mut().expect("attributes");
            assert!(
                attributes.remove("status").is_some(),
                "{address} records its status"
            );
            if address == "network_interface.web-2-eth1" {
                attributes.remove("mac_address");
            }
        }
    }
    std::fs::write(&path, serde_json::to_string_pretty(&state).expect("JSON")).expect("write");
    let _ = std::fs::remove_file(w.path("nicplan.state.json.journal"));

    let text = w.ok(&["show"]);
    let (_, eth1) = shown_block(&text, "network_interface.web-2-eth1");
    assert_eq!(eth1["status"], "(not recorded; run nicplan refresh)");
    assert_eq!(eth1["mac_address"], "(not recorded; run nicplan refresh)");
    let (_, eth0) = shown_block(&text, "network_interface.web-1-eth0");
    assert_eq!(eth0["status"], "(not recorded; run nicplan refresh)");
    let json: serde_json::Value =
        serde_json::from_str(&w.ok(&["show", "--format", "json"])).expect("JSON");
    let entry = |json: &serde_json::Value, address: &str| {
        json["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["address"] == address)
            .cloned()
            .expect("the address")
    };
    let nic = entry(&json, "network_interface.web-2-eth1");
    assert!(
        nic["status"].is_null() && nic["mac_address"].is_null(),
        "{nic}"
    );

    // A plan does not take the values learned for changes.
    assert_eq!(w.plan().1, Some(0));
    let refreshed = w.ok(&["refresh"]);
    assert!(
        refreshed.contains("No changes outside nicplan."),
        "{refreshed}"
    );
    assert!(refreshed.contains("State updated"), "{refreshed}");
    let nics = sim_nics(&w);
    let json: serde_json::Value =
        serde_json::from_str(&w.ok(&["show", "--format", "json"])).expect("JSON");
    for name in ["web-1-eth0", "web-2-eth1"] {
        let nic = entry(&json, &format!("network_interface.{name}"));
        assert_eq!(nic["status"], "in_use", "{nic}");
        assert_eq!(nic["mac_address"], nics[name]["mac_address"], "{nic}");
    }
    assert_eq!(w.ok(&["refresh"]), "No changes outside nicplan.\n");
}

/// The serial of the state file in `w`.
fn serial(w: &Workdir) -> u64 {
    let text = std::fs::read_to_string(w.path("nicplan.state.json")).expect("a state");
    let state: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    state["serial"].as_u64().expect("a serial")
}

#[test]
fn every_plan_says_first_which_backend_and_which_state_it_reads() {
    let w = Workdir::new();
    w.write(&base());
    let text = w.ok(&["plan"]);
    assert!(
        text.starts_with(
            "Backend: the embedded simulator (.nicplan/sim.json), which touches nothing real. State: nicplan.state.json (none yet: the first apply creates it).\n\n"
        ),
        "{text}"
    );
    std::fs::create_dir(w.path("envs")).expect("mkdir");
    std::fs::write(w.path("envs/prod.yaml"), base()).expect("write");
    w.ok(&["apply", "-f", "./envs/prod.yaml", "--auto-approve"]);
    let n = serial(&w);
    let line = format!(
        "Backend: the embedded simulator (.nicplan/sim.json), which touches nothing real. State: nicplan.state.json (serial {n}), last applied from envs/prod.yaml.\n"
    );
    let text = w.ok(&["plan", "-f", "envs/prod.yaml"]);
    assert!(text.starts_with(&line), "{text}");

    let json: serde_json::Value =
        serde_json::from_str(&w.ok(&["plan", "-f", "envs/prod.yaml", "--format", "json"]))
            .expect("JSON");
    assert_eq!(
        json["context"],
        serde_json::json!({
            "backend": "the embedded simulator (.nicplan/sim.json), which touches nothing real",
            "state": "nicplan.state.json",
            "serial": n,
            "last_applied_from": "envs/prod.yaml",
            "warnings": [],
        })
    );

    let changed = base().replacen("10.0.1.10", "10.0.1.20", 1);
    std::fs::write(w.path("envs/prod.yaml"), &changed).expect("write");
    let md = w.ok(&["plan", "-f", "envs/prod.yaml", "--format", "markdown"]);
    let mut lines = md.lines();
    assert_eq!(lines.next(), Some("### nicplan plan"), "{md}");
    assert_eq!(lines.next(), Some(""));
    assert!(
        lines.next().is_some_and(|l| l.starts_with("**Plan: ")),
        "{md}"
    );
    assert_eq!(lines.next(), Some(""));
    assert_eq!(lines.next(), Some(line.trim_end()), "{md}");

    // `diff` reads no state and no cloud, and names neither.
    let diff = w.ok(&["diff", "nicplan.yaml", "envs/prod.yaml"]);
    assert!(!diff.contains("Backend:"), "{diff}");
    let json: serde_json::Value = serde_json::from_str(&w.ok(&[
        "diff",
        "nicplan.yaml",
        "envs/prod.yaml",
        "--format",
        "json",
    ]))
    .expect("JSON");
    assert!(json.get("context").is_none(), "{json}");
}

#[test]
fn a_plan_through_the_platform_names_its_endpoint() {
    let w = Workdir::new();
    w.write(&base());
    let served = serve(&w, &[]);
    let out = kakaocloud(&w, &served, "ci-secret-value", &["plan"]);
    let text = succeeded("plan", &out);
    assert!(
        text.starts_with(&format!(
            "Backend: kakaocloud {}. State: nicplan.state.json (none yet: the first apply creates it).\n",
            served.url
        )),
        "{text}"
    );
    assert!(!text.contains("ci-secret-value"));
}

#[test]
fn a_plan_from_another_file_than_the_state_was_applied_from_is_warned_of() {
    let w = Workdir::new();
    std::fs::create_dir(w.path("envs")).expect("mkdir");
    std::fs::write(w.path("envs/prod.yaml"), base()).expect("write");
    std::fs::write(w.path("envs/staging.yaml"), base()).expect("write");
    w.ok(&["apply", "-f", "envs/prod.yaml", "--auto-approve"]);
    let warning = "this state was last applied from envs/prod.yaml, not envs/staging.yaml: the plan below would change what that file made";

    let out = w.run(&["plan", "-f", "envs/staging.yaml", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "a warning, not an error");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().nth(1) == Some(&format!("warning: {warning}")),
        "{text}"
    );
    assert!(!w.ok(&["plan", "-f", "envs/prod.yaml"]).contains("warning:"));

    let json: serde_json::Value =
        serde_json::from_str(&w.ok(&["plan", "-f", "envs/staging.yaml", "--format", "json"]))
            .expect("JSON");
    assert_eq!(json["context"]["warnings"], serde_json::json!([warning]));
    let md = w.ok(&["plan", "-f", "envs/staging.yaml", "--format", "markdown"]);
    assert!(md.contains(&format!("> [!WARNING]\n> {warning}")), "{md}");

    // Applying the other file on purpose records it: the warning is not repeated.
    let text = w.ok(&["apply", "-f", "envs/staging.yaml", "--auto-approve"]);
    assert!(text.contains(warning), "{text}");
    let state = std::fs::read_to_string(w.path("nicplan.state.json")).expect("state");
    assert!(
        state.contains("\"applied_from\": \"envs/staging.yaml\""),
        "{state}"
    );
    assert!(
        !w.ok(&["plan", "-f", "envs/staging.yaml"])
            .contains("warning:")
    );
}

#[test]
fn a_new_state_beside_objects_another_state_made_is_warned_of() {
    let w = applied();
    let text = std::fs::read_to_string(w.path("nicplan.state.json")).expect("state");
    let state: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let lineage: String = state["lineage"]
        .as_str()
        .expect("lineage")
        .chars()
        .take(8)
        .collect();
    // It fails too (the addresses are taken), but it says why first.
    let out = w.run(&["plan", "--state", "typo.json"]);
    let plan = String::from_utf8_lossy(&out.stdout);
    let warning = plan
        .lines()
        .find(|l| l.starts_with("warning: "))
        .unwrap_or_else(|| panic!("no warning: {plan}"));
    let count: usize = warning
        .strip_prefix("warning: the state typo.json does not exist yet, but the cloud holds ")
        .and_then(|rest| rest.split_once(' '))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{warning}"));
    // Every object but the subnets, which carry no marker.
    assert!(count >= 10, "{warning}");
    assert!(
        warning.ends_with(&format!(
            " objects made by another state (lineage {lineage}...): this new state would build a second copy beside them. If that state is the one meant, give it with --state"
        )),
        "{warning}"
    );
    assert!(!w.path("typo.json").exists());
    // The state that made them hears nothing of the sort.
    assert!(!w.ok(&["plan"]).contains("warning:"));
}

#[test]
fn a_state_in_a_folder_that_does_not_exist_is_refused_before_anything_is_touched() {
    let w = Workdir::new();
    w.write(&base());
    let state = w.path("missing/dir/s.json");
    let state = state.to_str().expect("UTF-8");
    for args in [
        &["plan", "--state", state][..],
        &["apply", "--auto-approve", "--state", state][..],
    ] {
        let out = w.run(args);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "the folder {} does not exist",
                w.path("missing/dir").display()
            )),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
    }
    assert!(!w.path("missing").exists());
    assert!(!w.path(".nicplan").exists(), "the simulator was not opened");
}

/// The `[n/N]` counts of a log's `done` lines, in order; every line counts to `total`.
fn counts(log: &str, total: usize) -> Vec<usize> {
    log.lines()
        .filter_map(|l| {
            let (count, rest) = l.strip_prefix('[')?.split_once("] ")?;
            let (n, of) = count.split_once('/')?;
            assert_eq!(of.parse::<usize>().ok(), Some(total), "{l}");
            rest.contains(": done (")
                .then(|| n.parse().expect("a count"))
        })
        .collect()
}

#[test]
fn a_log_without_a_terminal_counts_the_steps_settled_and_says_what_it_waits_for() {
    let w = Workdir::new();
    w.write(&base());
    let plan = w.ok(&["plan"]);
    let total = steps(&plan).len();
    // Instances that take a moment to build, as on the platform.
    let out = w
        .command()
        .env("NICPLAN_SIM_BUILD_MS", "150")
        .args(["apply", "--auto-approve"])
        .output()
        .expect("runs");
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    // Every line opens with how many steps have settled, counting up to the total.
    assert_eq!(
        counts(&log, total),
        (1..=total).collect::<Vec<_>>(),
        "{log}"
    );
    // A wait says what it waits for as it begins, so the log never goes silent.
    assert!(
        log.lines().any(
            |l| l.contains(" to instance.web-1: waiting for instance web-1 (")
                && l.ends_with(") to finish building")
        ),
        "{log}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with(&format!(
            "Apply complete: {total} steps done on the embedded simulator (.nicplan/sim.json), which touches nothing real.\n"
        )),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // One step is one step.
    w.write(&edit(
        &base(),
        "{ description: web tier }",
        "{ description: web }",
    ));
    let one = w.ok(&["apply", "--auto-approve"]);
    assert!(one.contains("Apply complete: 1 step done on"), "{one}");
}

#[test]
fn a_rename_is_hinted_and_the_state_mv_it_gives_leaves_nothing_to_do() {
    let w = applied();
    w.write(&base().replace("web-1-eth1", "web-1-db"));
    let (plan, code) = w.plan();
    assert_eq!(code, Some(2), "{plan}");
    let hint = "Hint: network_interface.web-1-eth1 is destroyed and network_interface.web-1-db created with the same attributes. If it was only renamed, `nicplan state mv network_interface.web-1-eth1 network_interface.web-1-db` keeps the object";
    assert!(plan.contains(hint), "{plan}");
    w.ok(&[
        "state",
        "mv",
        "network_interface.web-1-eth1",
        "network_interface.web-1-db",
    ]);
    let (plan, code) = w.plan();
    assert_eq!(code, Some(0), "{plan}");
}
