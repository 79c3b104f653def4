//! The plan holds in the cloud, not only in the planner's world: objects made outside
//! nicplan, addresses the cloud assigns, resizes the platform allows only when stopped,
//! changes the platform finishes later. Each case is refused at plan time, before any
//! call, with a located finding, or applies cleanly and leaves the next plan empty; run
//! as a user runs it (the `nicplan` binary in a temporary folder, the simulator file
//! shared by the commands), except the large network, planned and applied through the
//! library against an in-memory simulator.

mod common;

use std::fmt::Write;
use std::process::Output;
use std::time::Duration;

use common::nicplan::Workdir;
use nicplan::cloud::sim::{Delays, Sim};
use nicplan::state::memory::MemoryStore;
use nicplan::{apply, ops};

/// What these cases ask of a folder besides running `nicplan` in it.
impl Workdir {
    fn write_file(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).expect("write file");
    }

    fn run_with(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        self.command()
            .envs(env.iter().copied())
            .args(args)
            .output()
            .expect("runs")
    }

    /// A command that must be refused with exit 1; its standard output.
    fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "nicplan {args:?} was not refused:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    fn converged(&self, args: &[&str]) {
        let mut plan = vec!["plan", "--detailed-exitcode"];
        plan.extend_from_slice(args);
        let again = self.run(&plan);
        assert_eq!(
            again.status.code(),
            Some(0),
            "not converged:\n{}",
            String::from_utf8_lossy(&again.stdout)
        );
    }

    /// The simulated cloud now: its file, with the changes that are due finished.
    fn sim(&self) -> serde_json::Value {
        let sim =
            nicplan::cloud::sim::Sim::open(self.path(".nicplan/sim.json"), true).expect("sim");
        serde_json::to_value(sim.world().expect("world")).expect("json")
    }

    fn count(&self, kind: &str) -> usize {
        self.sim()[kind].as_object().map_or(0, serde_json::Map::len)
    }
}

const NETWORK: &str = "version: 1
vpcs:
  main: { cidr_block: 10.0.0.0/16 }
subnets:
  app-a: { vpc: main, cidr_block: 10.0.1.0/24, availability_zone: kr-central-2-a }
  db-a: { vpc: main, cidr_block: 10.0.2.0/24, availability_zone: kr-central-2-a }
security_groups:
  web-sg: {}
instances:
  web-1:
    type: m2a.large
    image: ubuntu-22.04
    primary_interface: web-1-eth0
network_interfaces:
  web-1-eth0: { subnet: app-a, private_ip: 10.0.1.10, security_groups: [web-sg] }
  web-1-eth1: { subnet: db-a, security_groups: [web-sg], attach_to: web-1 }
";

fn applied(text: &str) -> Workdir {
    let w = Workdir::new();
    w.write(text);
    w.ok(&["apply", "--auto-approve"]);
    w.converged(&[]);
    w
}

/// The steps of a text plan, in order, without their reasons.
fn steps(plan: &str) -> Vec<String> {
    plan.lines()
        .filter_map(|l| {
            let t = l.trim_start();
            let (n, rest) = t.split_once(". ")?;
            n.parse::<usize>().ok().map(|_| rest.to_string())
        })
        .collect()
}

#[test]
fn a_pinned_address_is_taken_before_the_cloud_assigns_one() {
    // The lowest usable address is pinned; the other NIC lets the cloud choose, and the
    // cloud gives the lowest free address.
    let w = Workdir::new();
    w.write(
        "version: 1
vpcs:
  main: { cidr_block: 10.0.0.0/16 }
subnets:
  app-a: { vpc: main, cidr_block: 10.0.1.0/24, availability_zone: kr-central-2-a }
security_groups:
  web-sg: {}
network_interfaces:
  alpha-0: { subnet: app-a, security_groups: [web-sg] }
  beta-0: { subnet: app-a, private_ip: 10.0.1.2, security_groups: [web-sg] }
",
    );
    let plan = w.ok(&["plan"]);
    let s = steps(&plan);
    let at = |prefix: &str| s.iter().position(|x| x.starts_with(prefix)).expect(prefix);
    assert!(
        at("create network_interface.beta-0") < at("create network_interface.alpha-0"),
        "{plan}"
    );
    assert!(
        plan.contains("network_interface.beta-0 takes its pinned address in subnet app-a before the cloud assigns one"),
        "{plan}"
    );
    w.ok(&["apply", "--auto-approve"]);
    w.converged(&[]);
    let shown = w.ok(&["state", "show", "network_interface.alpha-0"]);
    assert!(shown.contains("private_ip = \"10.0.1.3\""), "{shown}");
}

#[test]
fn a_nic_made_outside_nicplan_holds_its_address() {
    let w = applied(NETWORK);
    let made = w.ok(&[
        "sim",
        "create-nic",
        "legacy-eth0",
        "--subnet",
        "app-a",
        "--ip",
        "10.0.1.20",
        "--security-group",
        "web-sg",
    ]);
    let id = made
        .split_whitespace()
        .nth(3)
        .expect("the new NIC's ID")
        .to_string();
    let text = format!(
        "{NETWORK}  spare-eth0: {{ subnet: app-a, private_ip: 10.0.1.20, security_groups: [web-sg] }}\n"
    );
    w.write(&text);
    let before = w.sim();
    let plan = w.refused(&["plan"]);
    assert!(plan.contains("nicplan::ip_conflict"), "{plan}");
    assert!(
        plan.contains(&format!(
            "10.0.1.20 is still held by network interface {id} (legacy-eth0), which nicplan does not manage"
        )),
        "{plan}"
    );
    // Located on the pinned address, with the import that adopts the NIC.
    assert!(plan.contains("nicplan.yaml:17:"), "{plan}");
    assert!(
        plan.contains(&format!(
            "`nicplan import network_interface.legacy-eth0 {id}`"
        )),
        "{plan}"
    );
    let apply = w.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.status.code(), Some(1));
    assert_eq!(w.sim(), before, "a refused plan touches nothing");
}

#[test]
fn a_nic_made_outside_nicplan_fills_its_instance() {
    let w = applied(NETWORK);
    // web-1 (m2a.large, 3 NICs) holds its two and one attached by hand.
    w.ok(&[
        "sim",
        "create-nic",
        "debug-eth2",
        "--subnet",
        "db-a",
        "--security-group",
        "web-sg",
        "--attach",
        "web-1",
    ]);
    w.converged(&[]);
    let text = format!(
        "{NETWORK}  web-1-eth3: {{ subnet: db-a, security_groups: [web-sg], attach_to: web-1 }}\n"
    );
    w.write(&text);
    // The file alone is valid: 3 NICs on an m2a.large.
    w.ok(&["validate"]);
    let plan = w.refused(&["plan"]);
    assert!(plan.contains("nicplan::capacity"), "{plan}");
    assert!(
        plan.contains("instance.web-1 would hold 4 network interfaces (1 of them outside nicplan's state: network interface"),
        "{plan}"
    );
    assert!(plan.contains("(debug-eth2) at 10.0.2."), "{plan}");
}

#[test]
fn a_forgotten_subnet_is_not_created_again_over_itself() {
    let w = applied(NETWORK);
    let listed = w.ok(&["state", "show", "subnet.db-a"]);
    let id = listed
        .split(['(', ')'])
        .nth(1)
        .expect("the subnet's ID")
        .to_string();
    w.ok(&["state", "rm", "subnet.db-a"]);
    let plan = w.refused(&["plan"]);
    assert!(plan.contains("nicplan::subnet"), "{plan}");
    assert!(
        plan.contains(&format!(
            "10.0.2.0/24 overlaps 10.0.2.0/24 of subnet {id} (db-a), which nicplan does not manage"
        )),
        "{plan}"
    );
    assert!(
        plan.contains(&format!("`nicplan import subnet.db-a {id}`")),
        "{plan}"
    );
    // The NIC in it would be replaced only because its subnet is forgotten: said so.
    assert!(
        plan.contains("is outside nicplan's state (forgotten with `state rm`?)"),
        "{plan}"
    );
    // Import refuses an address the file does not declare, as Terraform does.
    let out = w.run(&["import", "subnet.elsewhere", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("subnet.elsewhere is not declared"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    w.ok(&["import", "subnet.db-a", &id]);
    w.converged(&[]);
}

#[test]
fn a_running_instance_is_resized_only_when_it_may_stop() {
    let w = applied(NETWORK);
    let grown = NETWORK.replace("type: m2a.large", "type: m2a.xlarge");
    w.write(&grown);
    let plan = w.refused(&["plan"]);
    assert!(plan.contains("nicplan::stop_required"), "{plan}");
    assert!(
        plan.contains("instance.web-1 is active, and the platform resizes only a stopped instance"),
        "{plan}"
    );
    assert!(
        plan.contains("nicplan.yaml:11:11"),
        "located on the type: {plan}"
    );
    assert!(plan.contains("lifecycle: { allow_stop: true }"), "{plan}");

    let allowed = grown.replace(
        "    primary_interface: web-1-eth0\n",
        "    primary_interface: web-1-eth0\n    lifecycle: { allow_stop: true }\n",
    );
    w.write(&allowed);
    let plan = w.ok(&["plan"]);
    assert_eq!(
        steps(&plan),
        [
            "stop instance.web-1",
            "resize instance.web-1 to m2a.xlarge",
            "start instance.web-1"
        ],
        "{plan}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&w.ok(&["plan", "--format", "json"])).expect("json");
    let actions: Vec<&str> = json["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["action"].as_str())
        .collect();
    assert_eq!(actions, ["stop", "resize", "start"]);
    w.ok(&["apply", "--auto-approve"]);
    w.converged(&[]);
    let shown = w.ok(&["state", "show", "instance.web-1"]);
    assert!(shown.contains("status = \"active\""), "{shown}");

    // A stopped instance is resized without a stop, and stays stopped.
    w.ok(&["sim", "set-instance-status", "web-1", "stopped"]);
    let shrunk = NETWORK.to_string();
    w.write(&shrunk);
    let plan = w.ok(&["plan"]);
    assert_eq!(
        steps(&plan),
        ["resize instance.web-1 to m2a.large"],
        "{plan}"
    );
    w.ok(&["apply", "--auto-approve"]);
    w.converged(&[]);
    let shown = w.ok(&["state", "show", "instance.web-1"]);
    assert!(shown.contains("status = \"stopped\""), "{shown}");

    // To or from bare metal or a GPU flavor is a replacement, said in words.
    let gpu = NETWORK.replace("type: m2a.large", "type: gn1i.xlarge");
    w.write(&gpu);
    let plan = w.ok(&["plan"]);
    assert!(
        plan.contains("its type changes from m2a.large to gn1i.xlarge (from a virtual machine to an accelerated (GPU) flavor), and the platform resizes only between virtual machine flavors"),
        "{plan}"
    );
}

#[test]
fn two_states_in_one_cloud_see_each_other_as_objects_outside() {
    let w = applied(NETWORK);
    // A second team's file and state in the same simulated cloud.
    let other = "version: 1
vpcs:
  other-a: { cidr_block: 10.1.0.0/16 }
  other-b: { cidr_block: 10.2.0.0/16 }
  other-c: { cidr_block: 10.3.0.0/16 }
security_groups:
  web-sg: {}
";
    w.write_file("other.yaml", other);
    let state = ["--state", "other.state.json", "-f", "other.yaml"];
    let mut plan = vec!["plan"];
    plan.extend_from_slice(&state);
    let out = w.refused(&plan);
    // Three VPCs are the project's quota, and the first team holds one.
    assert!(out.contains("nicplan::quota"), "{out}");
    assert!(
        out.contains("the project would hold 4 VPCs, more than its quota of 3; 1 of them outside nicplan's state: VPC vpc-"),
        "{out}"
    );
    assert!(out.contains(" (main) 10.0.0.0/16"), "{out}");
    // Security group names are unique in a project.
    assert!(out.contains("nicplan::name"), "{out}");
    assert!(
        out.contains("the project already has a security group named web-sg"),
        "{out}"
    );
    // With the quota raised (in the platform and in the file) and its own group name,
    // the second state applies beside the first, which still has nothing to change.
    w.ok(&["sim", "settings", "--quota-vpcs", "4"]);
    let other = other.replace("web-sg: {}", "edge-sg: {}").replace(
        "version: 1\n",
        "version: 1\nsettings:\n  quotas: { vpcs: 4 }\n",
    );
    w.write_file("other.yaml", &other);
    let mut apply = vec!["apply", "--auto-approve"];
    apply.extend_from_slice(&state);
    w.ok(&apply);
    w.converged(&state);
    w.converged(&[]);
    assert_eq!(w.count("vpcs"), 4);
}

#[test]
fn the_executor_waits_for_the_platform_and_says_so() {
    let w = Workdir::new();
    w.write(NETWORK);
    let out = w.run_with(
        &[
            // Long enough that no step can miss the wait, even on a loaded machine.
            ("NICPLAN_SIM_BUILD_MS", "400"),
            ("NICPLAN_SIM_DELAYS", "build=1500,attach=800"),
        ],
        &["apply", "--auto-approve"],
    );
    assert_eq!(out.status.code(), Some(0));
    let progress = String::from_utf8_lossy(&out.stderr);
    for waited in [
        "create vpc.main: waiting for VPC vpc-",
        " to turn ACTIVE (it is PENDING_CREATE)",
        "create subnet.app-a: waiting for subnet",
        "attach network_interface.web-1-eth1 to instance.web-1: waiting for instance web-1",
        "to finish building",
        "to show on instance web-1",
    ] {
        assert!(progress.contains(waited), "no {waited:?} in\n{progress}");
    }
    w.converged(&[]);
    // Deletes finish later too: destroy waits for each object to go.
    let out = w.run_with(
        &[("NICPLAN_SIM_BUILD_MS", "400")],
        &["destroy", "--auto-approve"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("to go away"));
    assert_eq!(w.count("vpcs") + w.count("nics") + w.count("instances"), 0);
}

#[test]
fn a_wait_that_times_out_fails_its_step_only_and_the_next_apply_finishes() {
    let w = Workdir::new();
    let text = NETWORK.replace(
        "version: 1\n",
        "version: 1\nsettings:\n  timeouts: { instance: 300ms }\n",
    );
    w.write(&text);
    let out = w.run_with(
        &[("NICPLAN_SIM_DELAYS", "build=60000")],
        &["apply", "--auto-approve"],
    );
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(
        report.contains("timed out after 300 ms: still waiting for instance web-1"),
        "{report}"
    );
    assert!(
        report.contains("settings.timeouts.instance sets the bound"),
        "{report}"
    );
    // Everything that did not wait on the build is done and recorded.
    let listed = w.ok(&["state", "list"]);
    assert!(listed.contains("instance.web-1"), "{listed}");
    // The build finishes; the next apply attaches and nothing is made twice.
    w.ok(&["sim", "set-instance-status", "web-1", "active"]);
    if w.path("nicplan.state.json.lock").exists() {
        std::fs::remove_file(w.path("nicplan.state.json.lock")).expect("unlock");
    }
    w.ok(&["apply", "--auto-approve"]);
    w.converged(&[]);
    assert_eq!(w.count("instances"), 1);
    assert_eq!(w.count("nics"), 2);
}

#[test]
fn a_primary_nic_the_platform_keeps_is_deleted_after_its_instance() {
    let w = applied(NETWORK);
    w.ok(&["sim", "settings", "--keep-primary-nic", "true"]);
    w.ok(&["destroy", "--auto-approve"]);
    assert_eq!(w.count("instances"), 0);
    assert_eq!(w.count("nics"), 0, "no NIC is left behind");
    assert_eq!(w.count("vpcs"), 0);
}

#[test]
fn diff_says_what_it_cannot_know() {
    let w = Workdir::new();
    w.write_file("old.yaml", "version: 1\n");
    w.write_file("new.yaml", NETWORK);
    let out = w.ok(&["diff", "old.yaml", "new.yaml"]);
    assert!(
        out.contains(
            "Note: The cloud was not read for this plan: objects outside the file and its state"
        ),
        "{out}"
    );
    let md = w.ok(&["diff", "old.yaml", "new.yaml", "--format", "markdown"]);
    assert!(md.contains("> [!NOTE]\n> The cloud was not read"), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&w.ok(&["diff", "old.yaml", "new.yaml", "--format", "json"]))
            .expect("json");
    assert_eq!(json["outside_checked"], false);
    w.write(NETWORK);
    let json: serde_json::Value =
        serde_json::from_str(&w.ok(&["plan", "--format", "json"])).expect("json");
    assert_eq!(json["outside_checked"], true);
}

/// A network like a real one: `n` instances of every family across three zones, each
/// primary NIC pinned, four in five with a secondary NIC in another subnet of its zone
/// (a third of them pinned, the rest assigned by the cloud), a public IP on every fifth.
fn large(n: usize) -> String {
    const TYPES: [&str; 10] = [
        "m2a.large",
        "m2a.xlarge",
        "m2a.4xlarge",
        "t1i.small",
        "t1i.medium",
        "r2a.xlarge",
        "c2a.2xlarge",
        "r2a.baremetal",
        "gn1i.xlarge",
        "m3az.large",
    ];
    let mut y = String::from(
        "version: 1\nsettings:\n  quotas: { instances: 1000 }\nvpcs:\n  main:\n    cidr_block: 10.0.0.0/16\nsubnets:\n",
    );
    // Per zone, a home subnet and a data subnet, /22 each.
    let zones = ["a", "b", "c"];
    for (z, zone) in zones.iter().enumerate() {
        for (k, role) in ["home", "data"].iter().enumerate() {
            let third = (2 * z + k) * 4;
            let _ = write!(
                y,
                "  {role}-{zone}:\n    vpc: main\n    cidr_block: 10.0.{third}.0/22\n    availability_zone: kr-central-2-{zone}\n"
            );
        }
    }
    y.push_str("security_groups:\n  web-sg: {}\n  data-sg: {}\ninstances:\n");
    let mut nics = String::from("network_interfaces:\n");
    let mut pips = String::from("public_ips:\n");
    let mut next = [0usize; 6];
    let mut pin = |subnet: usize| {
        let k = next[subnet] + 2;
        next[subnet] += 1;
        format!("10.0.{}.{}", subnet * 4 + k / 256, k % 256)
    };
    for i in 0..n {
        let z = i % 3;
        let t = TYPES[(i * 7) % TYPES.len()];
        let bare = t.ends_with("baremetal");
        let _ = write!(
            y,
            "  vm-{i:04}:\n    type: {t}\n    image: ubuntu-22.04\n    primary_interface: vm-{i:04}-eth0\n"
        );
        let _ = write!(
            nics,
            "  vm-{i:04}-eth0:\n    subnet: home-{}\n    private_ip: {}\n    security_groups: [web-sg]\n",
            zones[z],
            pin(2 * z)
        );
        if i % 5 != 4 {
            let _ = write!(
                nics,
                "  vm-{i:04}-eth1:\n    subnet: data-{}\n    attach_to: vm-{i:04}\n",
                zones[z]
            );
            if !bare || i % 2 == 0 {
                nics.push_str("    security_groups: [data-sg]\n");
            }
            if i % 3 == 0 {
                let _ = writeln!(nics, "    private_ip: {}", pin(2 * z + 1));
            }
        }
        if i % 5 == 0 {
            let _ = write!(
                pips,
                "  vm-{i:04}-public:\n    network_interface: vm-{i:04}-eth0\n"
            );
        }
    }
    y.push_str(&nics);
    y.push_str(&pips);
    y
}

#[test]
fn several_hundred_instances_with_pinned_and_assigned_addresses_converge() {
    let text = large(400);
    let validation = nicplan::validate("large.yaml", text.clone().into_bytes(), None);
    assert!(!validation.has_errors(), "{:#?}", validation.diagnostics);
    let model = validation.model.expect("model");
    let mut sim = Sim::in_memory(true);
    sim.set_delays(Delays::all(1));
    let store = MemoryStore::new();
    let options = apply::Options {
        poll_interval: Duration::from_millis(1),
        ..apply::Options::default()
    };
    let planned = ops::plan(&model, &store, &sim, true, &Default::default()).expect("plans");
    assert!(
        !planned.plan.has_errors(),
        "{:#?}",
        planned.plan.diagnostics
    );
    let total = planned.plan.steps.len();
    let (_, outcome) = ops::apply(planned, &store, &sim, &options, &|_| {}).expect("applies");
    assert!(outcome.succeeded(), "{outcome:#?}");
    assert_eq!(outcome.done.len(), total);
    let again = ops::plan(&model, &store, &sim, true, &Default::default()).expect("plans");
    assert!(again.plan.steps.is_empty(), "{:#?}", again.plan.steps);
    assert!(again.drift.is_empty());
    // The cloud gave out the addresses above the pinned ones of each subnet.
    let world = sim.world().expect("world");
    assert_eq!(world.instances.len(), 400);
    assert_eq!(world.nics.len(), 400 + 320);
}

#[test]
fn a_group_used_outside_nicplan_is_not_deleted_from_under_it() {
    let with_group = NETWORK.replace("  web-sg: {}\n", "  web-sg: {}\n  spare-sg: {}\n");
    let w = applied(&with_group);
    // Elsewhere in the project, someone puts a NIC of their own in the group.
    w.ok(&["sim", "create-vpc", "other", "--cidr", "10.7.0.0/16"]);
    w.ok(&[
        "sim",
        "create-subnet",
        "other-a",
        "--vpc",
        "other",
        "--cidr",
        "10.7.1.0/24",
    ]);
    w.ok(&[
        "sim",
        "create-nic",
        "theirs-eth0",
        "--subnet",
        "other-a",
        "--security-group",
        "spare-sg",
    ]);
    w.write(NETWORK);
    let plan = w.refused(&["plan"]);
    assert!(plan.contains("nicplan::reference"), "{plan}");
    assert!(
        plan.contains("security_group.spare-sg is still in use by network interface"),
        "{plan}"
    );
    assert!(
        plan.contains("(theirs-eth0) at 10.7.1.2, which nicplan does not manage"),
        "{plan}"
    );
}

#[test]
fn a_state_never_takes_objects_another_state_marked_unless_told_to() {
    let w = applied(NETWORK);
    let text = std::fs::read_to_string(w.path("nicplan.state.json")).expect("state");
    let state: serde_json::Value = serde_json::from_str(&text).expect("json");
    let lineage = state["lineage"].as_str().expect("lineage").to_string();
    let nic_id = state["resources"]["network_interface.web-1-eth1"]["id"]
        .as_str()
        .expect("the NIC's ID")
        .to_string();

    // A copy of the state under another lineage: every object it holds carries the
    // first state's marker, so two states would manage them.
    let copy = text.replace(&lineage, "0badc0de-0000-4000-8000-000000000000");
    w.write_file("copy.state.json", &copy);
    let cloud = w.sim();
    for args in [
        vec!["plan", "--state", "copy.state.json"],
        vec!["apply", "--auto-approve", "--state", "copy.state.json"],
        vec!["refresh", "--state", "copy.state.json"],
    ] {
        let out = w.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "carries the marker of another state (lineage {}...",
                &lineage[..8]
            )),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("more entries of this state are so marked"),
            "{stderr}"
        );
        assert!(stderr.contains("nicplan import --take-over"), "{stderr}");
    }
    assert_eq!(w.sim(), cloud, "nothing was changed in the cloud");
    assert_eq!(
        std::fs::read_to_string(w.path("copy.state.json")).expect("copy"),
        copy,
        "nor in the copy"
    );
    // The state that made them is not disturbed.
    w.converged(&[]);

    // Importing one of them into another state is refused, unless it is taken over.
    let out = w.run(&[
        "import",
        "--state",
        "other.state.json",
        "network_interface.web-1-eth1",
        &nic_id,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("carries the marker of another state"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!w.path("other.state.json").exists(), "nothing was written");
    w.ok(&[
        "import",
        "--take-over",
        "--state",
        "other.state.json",
        "network_interface.web-1-eth1",
        &nic_id,
    ]);
    let plan = w.run(&["plan", "--state", "other.state.json"]);
    let stderr = String::from_utf8_lossy(&plan.stderr);
    assert!(!stderr.contains("carries the marker"), "{stderr}");
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("network_interface.web-1-eth1"),
        "the NIC taken over is planned as this state's: {}",
        String::from_utf8_lossy(&plan.stdout)
    );
}

#[test]
fn the_backends_own_quota_holds_whatever_the_file_says() {
    let w = Workdir::new();
    let mut text = String::from(
        "version: 1
settings:
  quotas: { instances: 10 }
vpcs:
  main: { cidr_block: 10.0.0.0/16 }
subnets:
  app-a: { vpc: main, cidr_block: 10.0.1.0/24, availability_zone: kr-central-2-a }
security_groups:
  web-sg: {}
instances:
",
    );
    for i in 1..=3 {
        let _ = writeln!(
            text,
            "  web-{i}: {{ type: m2a.large, image: ubuntu-22.04, primary_interface: web-{i}-eth0 }}"
        );
    }
    text.push_str("network_interfaces:\n");
    for i in 1..=3 {
        let _ = writeln!(
            text,
            "  web-{i}-eth0: {{ subnet: app-a, security_groups: [web-sg] }}"
        );
    }
    w.write(&text);
    // The simulated project allows two instances; the file believes in ten.
    w.ok(&["sim", "settings", "--quota-instances", "2"]);
    let plan = w.refused(&["plan"]);
    assert!(plan.contains("nicplan::quota"), "{plan}");
    assert!(
        plan.contains(
            "the project would hold 3 instances, more than its quota of 2 (the backend's; settings.quotas says 10)"
        ),
        "{plan}"
    );
    assert!(
        plan.contains("nicplan sim settings --quota-instances N"),
        "{plan}"
    );
    let out = w.run(&["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(w.count("instances"), 0, "nothing was created");
    // Raised on the platform, the same file applies.
    w.ok(&["sim", "settings", "--quota-instances", "10"]);
    w.ok(&["apply", "--auto-approve"]);
    w.converged(&[]);
    assert_eq!(w.count("instances"), 3);
}
