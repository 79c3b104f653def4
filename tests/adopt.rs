//! Adopting an existing network: `import --all` from what the cloud holds (objects made
//! outside any state with the simulator's operator commands, or by another state), and
//! `import --from-terraform` from the JSON of `terraform show -json`. After either, the
//! plan of the written file is empty, `validate` reports what the network already
//! breaks, and a change to the file plans only that change.

mod common;

use std::collections::BTreeSet;

use common::nicplan::{Workdir, kakaocloud, serve, succeeded};
use serde_json::Value;

fn sim(w: &Workdir, args: &[&str]) {
    let mut all = vec!["sim"];
    all.extend_from_slice(args);
    w.ok(&all);
}

/// A network made in the console: two zones' subnets, security groups, instances with
/// pinned and assigned addresses, secondary NICs, public IPs, one of them free. One
/// instance has two NICs in one subnet (a warning); names need cleaning up.
fn console_network(w: &Workdir, instances: usize) {
    sim(w, &["create-vpc", "Prod VPC", "--cidr", "10.9.0.0/16"]);
    sim(
        w,
        &[
            "create-subnet",
            "App A",
            "--vpc",
            "Prod VPC",
            "--cidr",
            "10.9.1.0/24",
            "--zone",
            "kr-central-2-a",
        ],
    );
    sim(
        w,
        &[
            "create-subnet",
            "db-a",
            "--vpc",
            "Prod VPC",
            "--cidr",
            "10.9.2.0/24",
            "--zone",
            "kr-central-2-a",
        ],
    );
    sim(
        w,
        &[
            "create-subnet",
            "app-b",
            "--vpc",
            "Prod VPC",
            "--cidr",
            "10.9.3.0/24",
            "--zone",
            "kr-central-2-b",
        ],
    );
    sim(w, &["create-security-group", "Web SG"]);
    sim(w, &["create-security-group", "db"]);
    for i in 0..instances {
        let name = format!("web-{i}");
        let (subnet, zone_db) = if i % 2 == 0 {
            ("App A", true)
        } else {
            ("app-b", false)
        };
        let ip = format!("10.9.{}.{}", if i % 2 == 0 { 1 } else { 3 }, 10 + i);
        let mut args = vec![
            "create-instance",
            &name,
            "--type",
            "m2a.xlarge",
            "--subnet",
            subnet,
            "--security-group",
            "Web SG",
        ];
        // Every third one pinned, the others assigned.
        if i % 3 == 0 {
            args.extend_from_slice(&["--ip", &ip]);
        }
        sim(w, &args);
        if zone_db {
            let nic = format!("{name}-db");
            sim(
                w,
                &[
                    "create-nic",
                    &nic,
                    "--subnet",
                    "db-a",
                    "--security-group",
                    "db",
                    "--attach",
                    &name,
                ],
            );
        }
    }
    sim(
        w,
        &[
            "create-nic",
            "web-0-second",
            "--subnet",
            "App A",
            "--security-group",
            "Web SG",
            "--attach",
            "web-0",
        ],
    );
    sim(
        w,
        &[
            "create-nic",
            "spare",
            "--subnet",
            "db-a",
            "--security-group",
            "db",
        ],
    );
    sim(w, &["create-public-ip", "--nic", "web-0-eth0"]);
    sim(w, &["create-public-ip"]);
}

fn validate_codes(w: &Workdir, file: &str) -> BTreeSet<(String, String)> {
    let out = w.run(&["validate", "-f", file, "--format", "json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("validate JSON");
    doc["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["severity"] != "advice")
        .map(|d| {
            (
                d["code"].as_str().unwrap_or("").to_string(),
                d["severity"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn detailed(w: &Workdir, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["plan", "--detailed-exitcode"];
    all.extend_from_slice(args);
    let out = w.run(&all);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn import_all_adopts_a_console_network_and_the_next_plan_is_empty() {
    let w = Workdir::new();
    console_network(&w, 40);
    let out = w.ok(&["import", "--all", "--write", "net.yaml"]);
    assert!(out.contains("Imported 110 objects"), "{out}");
    assert!(out.contains("note: VPC \"Prod VPC\""), "{out}");
    assert!(out.contains("is named prod-vpc in the file"), "{out}");
    let text = std::fs::read_to_string(w.path("net.yaml")).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema="),
        "{text}"
    );
    for wanted in [
        "  prod-vpc:\n    cidr_block: 10.9.0.0/16\n",
        "  app-a:\n    vpc: prod-vpc\n",
        "  web-sg: {}\n",
        "  web-0:\n    type: m2a.xlarge\n",
        "  web-0-db:\n    subnet: db-a\n",
        "    attach_to: web-0\n",
        "  web-0-eth0-public: { network_interface: web-0-eth0 }\n",
        "  ip-203-0-113-2: {}\n",
        "  web-0-eth0:\n    subnet: app-a\n    private_ip: 10.9.1.10\n",
    ] {
        assert!(text.contains(wanted), "{wanted:?} not in\n{text}");
    }
    assert!(
        !text.contains("source_dest_check"),
        "only non-default values:\n{text}"
    );

    let (code, plan) = detailed(&w, &["-f", "net.yaml"]);
    assert_eq!(code, Some(0), "{plan}");
    // What the network already breaks: web-0 has two NICs in one subnet, and the
    // group `db` has a name shorter than the platform's API takes.
    assert_eq!(
        validate_codes(&w, "net.yaml"),
        BTreeSet::from([
            ("nicplan::name".to_string(), "warning".to_string()),
            ("nicplan::same_subnet".to_string(), "warning".to_string()),
        ])
    );
    assert!(
        out.contains("breaks rules: 0 errors and 2 warnings"),
        "{out}"
    );

    // A change to the file plans that change and nothing else.
    let edited = text.replacen(
        "  web-1-eth0:\n    subnet: app-b\n",
        "  web-1-eth0:\n    subnet: app-b\n    description: front\n",
        1,
    );
    assert_ne!(edited, text);
    std::fs::write(w.path("net.yaml"), &edited).unwrap();
    let (code, plan) = detailed(&w, &["-f", "net.yaml"]);
    assert_eq!(code, Some(2), "{plan}");
    assert!(
        plan.contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to destroy"),
        "{plan}"
    );
    assert!(plan.contains("network_interface.web-1-eth0"), "{plan}");
}

#[test]
fn import_all_refuses_to_overwrite_and_keeps_names_when_forced() {
    let w = Workdir::new();
    console_network(&w, 4);
    w.ok(&["import", "--all", "--write", "net.yaml"]);
    let first = std::fs::read(w.path("net.yaml")).unwrap();
    let state = std::fs::read(w.path("nicplan.state.json")).unwrap();

    let again = w.run(&["import", "--all", "--write", "net.yaml"]);
    assert_eq!(again.status.code(), Some(1));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("net.yaml exists"), "{err}");
    // Another file, the same state: the state manages these objects already.
    let other = w.run(&["import", "--all", "--write", "other.yaml"]);
    assert_eq!(other.status.code(), Some(1));
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(err.contains("already manages"), "{err}");
    assert!(!w.path("other.yaml").exists());
    assert_eq!(std::fs::read(w.path("nicplan.state.json")).unwrap(), state);

    // Forced, the same cloud gives the same bytes.
    w.ok(&["import", "--all", "--write", "net.yaml", "--force"]);
    assert_eq!(std::fs::read(w.path("net.yaml")).unwrap(), first);
    let (code, plan) = detailed(&w, &["-f", "net.yaml"]);
    assert_eq!(code, Some(0), "{plan}");
}

#[test]
fn import_all_by_vpc_takes_that_vpc_and_what_it_refers_to() {
    let w = Workdir::new();
    console_network(&w, 2);
    sim(&w, &["create-vpc", "lab", "--cidr", "10.20.0.0/16"]);
    sim(
        &w,
        &[
            "create-subnet",
            "lab-a",
            "--vpc",
            "lab",
            "--cidr",
            "10.20.1.0/24",
            "--zone",
            "kr-central-2-a",
        ],
    );
    sim(&w, &["create-security-group", "lab-sg"]);
    sim(
        &w,
        &[
            "create-instance",
            "lab-1",
            "--type",
            "m2a.large",
            "--subnet",
            "lab-a",
            "--security-group",
            "lab-sg",
        ],
    );

    let missing = w.run(&["import", "--all", "--vpc", "nope", "--write", "lab.yaml"]);
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("no VPC named or with the ID \"nope\""),
        "{err}"
    );
    assert!(err.contains("Prod VPC, lab"), "{err}");

    let out = w.ok(&[
        "import", "--all", "--vpc", "lab", "--write", "lab.yaml", "--state", "lab.json",
    ]);
    assert!(out.contains("unassociated public IP is left out"), "{out}");
    let text = std::fs::read_to_string(w.path("lab.yaml")).unwrap();
    assert!(text.contains("  lab-1:\n"), "{text}");
    assert!(text.contains("  lab-sg: {}\n"), "{text}");
    assert!(
        !text.contains("prod-vpc") && !text.contains("web-sg"),
        "{text}"
    );
    // The file names its state, so the next plan finds it without the flag.
    assert!(
        text.contains("state: { kind: local, path: lab.json }"),
        "{text}"
    );
    let (code, plan) = detailed(&w, &["-f", "lab.yaml"]);
    assert_eq!(code, Some(0), "{plan}");

    // The rest into a state that manages lab already is refused: the file would not
    // declare lab, and the next plan would delete it.
    let mixed = w.run(&[
        "import", "--all", "--write", "all.yaml", "--state", "lab.json", "--force",
    ]);
    assert_eq!(
        mixed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&mixed.stderr)
    );
    let prod = w.run(&[
        "import",
        "--all",
        "--vpc",
        "Prod VPC",
        "--write",
        "prod.yaml",
        "--state",
        "lab.json",
        "--force",
    ]);
    assert_eq!(prod.status.code(), Some(1));
    let err = String::from_utf8_lossy(&prod.stderr);
    assert!(err.contains("does not cover"), "{err}");
    assert!(err.contains("instance.lab-1"), "{err}");
}

#[test]
fn objects_of_another_state_are_taken_over_only_when_asked() {
    let w = Workdir::new();
    w.write(&std::fs::read_to_string("examples/web-tier.yaml").unwrap());
    w.ok(&["apply", "--auto-approve"]);
    let refused = w.run(&[
        "import", "--all", "--write", "net.yaml", "--state", "new.json",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("carry the marker of another state"), "{err}");
    assert!(!w.path("net.yaml").exists() && !w.path("new.json").exists());

    w.ok(&[
        "import",
        "--all",
        "--write",
        "net.yaml",
        "--state",
        "new.json",
        "--take-over",
    ]);
    let text = std::fs::read_to_string(w.path("net.yaml")).unwrap();
    // The names the markers carry come back.
    for name in [
        "  web-1:\n",
        "  web-1-eth1:\n",
        "  web-1-public: {",
        "  web-sg: {",
    ] {
        assert!(text.contains(name), "{name:?} not in\n{text}");
    }
    let (code, plan) = detailed(&w, &["-f", "net.yaml"]);
    assert_eq!(code, Some(0), "{plan}");
}

#[test]
fn import_all_through_the_platform_api() {
    let w = Workdir::new();
    let served = serve(&w, &[]);
    std::fs::copy("tests/e2e/base.yaml", w.path("made.yaml")).unwrap();
    let run = |args: &[&str]| kakaocloud(&w, &served, "ci-secret-value", args);
    let made = run(&[
        "apply",
        "-f",
        "made.yaml",
        "--auto-approve",
        "--state",
        "made.json",
    ]);
    succeeded("apply", &made);
    // Made in the console, beside the state's: an instance with a second NIC in its
    // primary's subnet.
    for args in [
        &[
            "create-instance",
            "console-1",
            "--type",
            "m2a.large",
            "--subnet",
            "db-a",
            "--security-group",
            "db-sg",
        ][..],
        &[
            "create-nic",
            "console-1-extra",
            "--subnet",
            "db-a",
            "--security-group",
            "db-sg",
            "--attach",
            "console-1",
        ][..],
    ] {
        let mut all = vec!["sim"];
        all.extend_from_slice(args);
        w.ok(&all);
    }
    let out = run(&[
        "import",
        "--all",
        "--write",
        "net.yaml",
        "--state",
        "adopted.json",
        "--take-over",
    ]);
    let out = succeeded("import", &out);
    assert!(out.contains("Imported"), "{out}");
    let text = std::fs::read_to_string(w.path("net.yaml")).unwrap();
    assert!(text.contains("backend: { kind: kakaocloud }"), "{text}");
    assert!(
        text.contains("state: { kind: local, path: adopted.json }"),
        "{text}"
    );
    assert!(text.contains("  console-1:\n"), "{text}");
    assert!(
        text.contains("  console-1-extra:\n    subnet: db-a\n"),
        "{text}"
    );
    let validated = run(&["validate", "-f", "net.yaml", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&validated.stdout).expect("validate JSON");
    let found: BTreeSet<(String, String)> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] != "advice")
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    let (code, message) = found.iter().next().unwrap();
    assert_eq!(code, "nicplan::same_subnet");
    assert!(
        message.contains("console-1-extra") && message.contains("console-1-eth0"),
        "{message}"
    );
    let plan = run(&["plan", "-f", "net.yaml", "--detailed-exitcode"]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&plan.stdout),
        String::from_utf8_lossy(&plan.stderr)
    );
}

/// The fixture's objects made in the simulator, and the fixture with every ID, address
/// and image replaced by the simulator's own: the same network, as Terraform would have
/// recorded it had it made it there.
fn terraform_network(w: &Workdir) -> String {
    sim(w, &["create-vpc", "tf-net", "--cidr", "10.0.0.0/16"]);
    sim(
        w,
        &[
            "create-subnet",
            "tf-net-app",
            "--vpc",
            "tf-net",
            "--cidr",
            "10.0.1.0/24",
            "--zone",
            "kr-central-2-a",
        ],
    );
    sim(
        w,
        &[
            "create-subnet",
            "tf-net-data",
            "--vpc",
            "tf-net",
            "--cidr",
            "10.0.2.0/24",
            "--zone",
            "kr-central-2-a",
        ],
    );
    sim(w, &["create-security-group", "sg-web"]);
    sim(w, &["create-security-group", "sg-db"]);
    sim(
        w,
        &[
            "create-instance",
            "web-1",
            "--type",
            "m2a.large",
            "--subnet",
            "tf-net-app",
            "--ip",
            "10.0.1.10",
            "--security-group",
            "sg-web",
        ],
    );
    sim(
        w,
        &[
            "create-instance",
            "web-2",
            "--type",
            "m2a.xlarge",
            "--subnet",
            "tf-net-app",
            "--ip",
            "10.0.1.11",
            "--security-group",
            "sg-web",
        ],
    );
    sim(
        w,
        &[
            "create-instance",
            "db-1",
            "--type",
            "c2a.large",
            "--subnet",
            "tf-net-app",
            "--ip",
            "10.0.1.23",
            "--security-group",
            "sg-db",
        ],
    );
    sim(
        w,
        &[
            "create-nic",
            "db-1-eth1",
            "--subnet",
            "tf-net-data",
            "--ip",
            "10.0.2.20",
            "--security-group",
            "sg-db",
            "--attach",
            "db-1",
        ],
    );
    sim(w, &["create-public-ip", "--nic", "web-1-eth0"]);

    let fixture = std::fs::read_to_string("tests/fixtures/terraform/show.json").unwrap();
    let doc: Value = serde_json::from_str(&fixture).unwrap();
    let sim_path = w.path(".nicplan/sim.json");
    let mut world = common::sim_world(&sim_path);
    let by_name = |world: &Value, kind: &str, name: &str| -> Value {
        world[kind]
            .as_object()
            .unwrap()
            .values()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
            .clone()
    };
    // The descriptions the console was given, as Terraform recorded them.
    let mut swaps: Vec<(String, String)> = Vec::new();
    for r in doc["values"]["root_module"]["resources"]
        .as_array()
        .unwrap()
    {
        let v = &r["values"];
        let id = v["id"].as_str().unwrap().to_string();
        let (kind, name) = match r["type"].as_str().unwrap() {
            "kakaocloud_vpc" => ("vpcs", v["name"].as_str().unwrap()),
            "kakaocloud_subnet" => ("subnets", v["name"].as_str().unwrap()),
            "kakaocloud_security_group" => ("security_groups", v["name"].as_str().unwrap()),
            "kakaocloud_network_interface" => ("nics", v["name"].as_str().unwrap()),
            "kakaocloud_instance" => ("instances", v["name"].as_str().unwrap()),
            "kakaocloud_public_ip" => {
                let ip = world["public_ips"]
                    .as_object()
                    .unwrap()
                    .values()
                    .next()
                    .unwrap()
                    .clone();
                swaps.push((id, ip["id"].as_str().unwrap().to_string()));
                swaps.push((
                    v["public_ip"].as_str().unwrap().to_string(),
                    ip["address"].as_str().unwrap().to_string(),
                ));
                continue;
            }
            _ => continue,
        };
        let object = by_name(&world, kind, name);
        swaps.push((id, object["id"].as_str().unwrap().to_string()));
        if kind == "instances" {
            swaps.push((
                v["image_id"].as_str().unwrap().to_string(),
                object["image"].as_str().unwrap().to_string(),
            ));
            let primary = v["subnets"][0]["network_interface_id"].as_str().unwrap();
            let sim_primary = object["primary_nic_id"].as_str().unwrap().to_string();
            if !swaps.iter().any(|(from, _)| from == primary) {
                swaps.push((primary.to_string(), sim_primary.clone()));
            }
        }
        if let Some(description) = v["description"].as_str()
            && matches!(kind, "security_groups" | "nics")
        {
            let sim_id = object["id"].as_str().unwrap().to_string();
            world[kind][&sim_id]["description"] = Value::String(description.to_string());
        }
        if kind == "nics" {
            swaps.push((
                v["mac_address"].as_str().unwrap().to_string(),
                object["mac_address"].as_str().unwrap().to_string(),
            ));
        }
    }
    common::write_sim_world(&sim_path, &world);
    let mut text = fixture;
    for (from, to) in swaps {
        text = text.replace(&from, &to);
    }
    text
}

#[test]
fn a_terraform_state_is_adopted_and_the_next_plan_is_empty() {
    let w = Workdir::new();
    let fixture = terraform_network(&w);
    std::fs::write(w.path("tf.json"), &fixture).unwrap();
    let out = w.ok(&[
        "import",
        "--from-terraform",
        "tf.json",
        "--write",
        "net.yaml",
    ]);
    for wanted in [
        "Imported 13 objects into nicplan.state.json from the Terraform state tf.json",
        "kakaocloud_keypair.ops left out: kakaocloud_keypair is not a network object nicplan manages",
        "1 data source left out",
        "kakaocloud_security_group.web: 4 rules left out",
        "kakaocloud_instance.db1: key_name, volumes",
        "the cloud matches the Terraform state",
    ] {
        assert!(out.contains(wanted), "{wanted:?} not in\n{out}");
    }
    assert!(!out.contains("PRIVATE KEY"), "{out}");
    let text = std::fs::read_to_string(w.path("net.yaml")).unwrap();
    for wanted in [
        "  sg-web: { description: \"web tier: http/https/ssh\" }\n",
        "  db-1-eth1:\n    subnet: tf-net-data\n",
        "    attach_to: db-1\n",
        "  web-1-eth0-public: { network_interface: web-1-eth0 }\n",
    ] {
        assert!(text.contains(wanted), "{wanted:?} not in\n{text}");
    }
    let (code, plan) = detailed(&w, &["-f", "net.yaml"]);
    assert_eq!(code, Some(0), "{plan}");
}

#[test]
fn a_terraform_state_that_drifted_from_the_cloud_shows_the_drift() {
    let w = Workdir::new();
    let fixture = terraform_network(&w);
    // Terraform last saw db-1's secondary NIC in sg-web too; the cloud has it in sg-db
    // only.
    let doc: Value = serde_json::from_str(&fixture).unwrap();
    let web = doc["values"]["root_module"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "kakaocloud_security_group.web")
        .unwrap()["values"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let drifted = fixture.replacen(
        "\"security_groups\": [\n              {",
        &format!("\"security_groups\": [\n              {{\n                \"id\": \"{web}\",\n                \"name\": \"sg-web\"\n              }},\n              {{"),
        1,
    );
    assert_ne!(
        drifted, fixture,
        "the fixture's NIC security groups are where expected"
    );
    std::fs::write(w.path("tf.json"), &drifted).unwrap();
    let out = w.ok(&[
        "import",
        "--from-terraform",
        "tf.json",
        "--write",
        "net.yaml",
    ]);
    assert!(
        out.contains("the cloud differs from the Terraform state"),
        "{out}"
    );
    assert!(out.contains("security_groups"), "{out}");
    // The file says what Terraform had: the plan puts it back.
    let (code, plan) = detailed(&w, &["-f", "net.yaml"]);
    assert_eq!(code, Some(2), "{plan}");
    assert!(plan.contains("1 to update"), "{plan}");
}

#[test]
fn a_terraform_state_of_the_platform_is_not_read_against_the_simulator() {
    let w = Workdir::new();
    let out = w.run(&[
        "import",
        "--from-terraform",
        &std::fs::canonicalize("tests/fixtures/terraform/show.json")
            .unwrap()
            .display()
            .to_string(),
        "--write",
        "net.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("could not have made"), "{err}");
    assert!(err.contains("--backend kakaocloud"), "{err}");
    assert!(!w.path("net.yaml").exists() && !w.path("nicplan.state.json").exists());

    for (text, wanted) in [
        ("{", "not the JSON of `terraform show -json`"),
        (
            "{\"version\": 4, \"resources\": []}",
            "terraform show -json terraform.tfstate",
        ),
    ] {
        std::fs::write(w.path("bad.json"), text).unwrap();
        let out = w.run(&[
            "import",
            "--from-terraform",
            "bad.json",
            "--write",
            "net.yaml",
        ]);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(wanted), "{wanted:?} not in {err}");
    }
}

#[test]
fn importing_one_object_says_how_to_import_what_it_refers_to() {
    let w = Workdir::new();
    sim(&w, &["create-vpc", "Prod VPC", "--cidr", "10.9.0.0/16"]);
    sim(
        &w,
        &[
            "create-subnet",
            "app-a",
            "--vpc",
            "Prod VPC",
            "--cidr",
            "10.9.1.0/24",
            "--zone",
            "kr-central-2-a",
        ],
    );
    w.write("version: 1\nvpcs:\n  prod-vpc: { cidr_block: 10.9.0.0/16 }\nsubnets:\n  app-a: { vpc: prod-vpc, cidr_block: 10.9.1.0/24, availability_zone: kr-central-2-a }\n");
    let world = common::sim_world(&w.path(".nicplan/sim.json"));
    let id = |kind: &str| {
        world[kind]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone()
    };
    let (vpc, subnet) = (id("vpcs"), id("subnets"));
    let out = w.ok(&["import", "subnet.app-a", &subnet]);
    assert!(
        out.contains(&format!(
            "note: it refers to VPC {vpc}, which nicplan does not manage yet"
        )),
        "{out}"
    );
    let command = format!("`nicplan import vpc.prod-vpc {vpc}`");
    assert!(out.contains(&command), "{out}");
    // The command it gives works, and then the plan is empty.
    w.ok(&["import", "vpc.prod-vpc", &vpc]);
    let (code, plan) = detailed(&w, &[]);
    assert_eq!(code, Some(0), "{plan}");
}
