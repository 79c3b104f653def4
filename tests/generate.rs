//! The benchmark generator (`examples/generate.rs`): the same instances and seed give the
//! same bytes and another seed another file; the file validates with no error, holds
//! every family of the catalogue, and `--change-percent 5` changes some instances, not
//! all.

use std::collections::BTreeSet;

use assert_cmd::Command;
use clap::Parser;
use nicplan::catalogue::CATALOGUE;
use serde_json::Value;

#[allow(dead_code)]
#[path = "../examples/generate.rs"]
mod generate;

const N: usize = 200;

fn generated(args: &[&str]) -> String {
    let args = generate::Args::parse_from(std::iter::once("generate").chain(args.iter().copied()));
    generate::file(&args).expect("the arguments are valid")
}

fn nicplan(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("nicplan")
        .expect("binary")
        .current_dir(dir)
        .args(args)
        .env_remove("NICPLAN_BACKEND")
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn one_seed_gives_the_same_bytes_and_another_seed_another_file() {
    let n = N.to_string();
    let first = generated(&["--instances", &n, "--seed", "7"]);
    let again = generated(&["--instances", &n, "--seed", "7"]);
    assert_eq!(first, again);
    let other = generated(&["--instances", &n, "--seed", "8"]);
    assert_ne!(first, other);
    // The change leaves the network it changes as it was drawn.
    let changed = generated(&["--instances", &n, "--seed", "7", "--change-percent", "5"]);
    assert_ne!(first, changed);
    assert_eq!(
        changed,
        generated(&["--instances", &n, "--seed", "7", "--change-percent", "5"])
    );
}

#[test]
fn the_file_validates_and_holds_every_family() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = generated(&["--instances", &N.to_string(), "--seed", "1"]);
    std::fs::write(dir.path().join("net.yaml"), &text).expect("write");
    for backend in ["sim", "kakaocloud"] {
        let (code, out) = nicplan(
            dir.path(),
            &[
                "validate",
                "-f",
                "net.yaml",
                "--format",
                "json",
                "--backend",
                backend,
            ],
        );
        let report: Value = serde_json::from_str(&out).expect("json");
        assert_eq!(code, 0, "{backend}: {:#}", report["diagnostics"]);
        assert_eq!(report["summary"]["errors"], 0);
    }
    let types: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("    type: "))
        .collect();
    let families: BTreeSet<&str> = types
        .iter()
        .map(|t| t.split_once('.').expect("FAMILY.SIZE").0)
        .collect();
    let catalogue: BTreeSet<&str> = CATALOGUE.iter().map(|t| t.family).collect();
    assert_eq!(families, catalogue);
    // With more instances than types, every type is there.
    assert_eq!(types.len(), CATALOGUE.len());
    assert!(text.contains("baremetal"));
    assert!(text.contains("bonding: true"));
    assert!(text.contains("    private_ip: "));
    assert!(text.contains("public_ips:\n"));
    for zone in ["a", "b", "c"] {
        assert!(text.contains(&format!("availability_zone: kr-central-2-{zone}\n")));
    }
}

#[test]
fn a_five_percent_change_changes_some_instances_not_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = N.to_string();
    std::fs::write(
        dir.path().join("old.yaml"),
        generated(&["--instances", &n, "--seed", "3"]),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("new.yaml"),
        generated(&["--instances", &n, "--seed", "3", "--change-percent", "5"]),
    )
    .expect("write");
    let (code, out) = nicplan(
        dir.path(),
        &["diff", "old.yaml", "new.yaml", "--format", "json"],
    );
    let plan: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(code, 0, "{:#}", plan["diagnostics"]);
    assert_eq!(plan["applicable"], true);
    // The instances a change touches: itself, its NICs (`NAME-ethK`), its public IP
    // (`NAME-pip`).
    let touched: BTreeSet<String> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            let address = c["address"].as_str().expect("address");
            let name = address.split_once('.').expect("KIND.NAME").1;
            let name = name.rsplit_once("-eth").map_or(name, |(i, _)| i);
            name.strip_suffix("-pip").unwrap_or(name).to_string()
        })
        .collect();
    // 5% of 200, one change each.
    assert_eq!(touched.len(), N / 20, "{touched:?}");
    let (code, _) = nicplan(dir.path(), &["diff", "old.yaml", "old.yaml"]);
    assert_eq!(code, 0);
}
