//! Memory that runs out is a message and exit code 1, never an abort: the binary is
//! run under an address-space limit (`ulimit -v`) that a small file fits in and a file
//! of forty thousand instances does not, by far. And memory is spent by the resource,
//! a bounded amount each: a realistic network of 20,000 instances diffs under a limit
//! of about 2.3 KB of address space per resource, program and libraries included.

mod common;

use clap::Parser;
use common::nicplan::Workdir;
use common::tree;

#[allow(dead_code)]
#[path = "../examples/generate.rs"]
mod generate;

/// The address space the runs below may take, in KiB.
const LIMIT_KIB: u64 = 80_000;

/// A file of `instances` instances, each with a primary NIC and two secondaries, over
/// four subnets and a hundred security groups.
fn file(instances: usize) -> String {
    let mut out = format!(
        "version: 1\nsettings:\n  quotas: {{ vpcs: 1, subnets: 4, instances: {instances} }}\nvpcs:\n  main:\n    cidr_block: 10.0.0.0/16\nsubnets:\n"
    );
    for s in 0..4 {
        out.push_str(&format!(
            "  s{s}:\n    vpc: main\n    cidr_block: 10.0.{}.0/18\n    availability_zone: kr-central-2-a\n",
            s * 64
        ));
    }
    out.push_str("security_groups:\n");
    for g in 0..100 {
        out.push_str(&format!("  sg-{g}: {{}}\n"));
    }
    out.push_str("instances:\n");
    for i in 0..instances {
        out.push_str(&format!(
            "  vm-{i}:\n    type: m2a.large\n    image: ubuntu-22.04\n    primary_interface: vm-{i}-eth0\n"
        ));
    }
    out.push_str("network_interfaces:\n");
    for i in 0..instances {
        out.push_str(&format!(
            "  vm-{i}-eth0:\n    subnet: s0\n    security_groups: [sg-{}]\n",
            i % 100
        ));
        for n in 1..3 {
            out.push_str(&format!(
                "  vm-{i}-eth{n}:\n    subnet: s{n}\n    security_groups: [sg-{}]\n    attach_to: vm-{i}\n",
                (i + n) % 100
            ));
        }
    }
    out
}

/// `nicplan ARGS` in `w` under an address-space limit of `kib` KiB.
fn limited(w: &Workdir, kib: u64, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
        .arg(assert_cmd::cargo::cargo_bin("nicplan"))
        .args(args)
        .current_dir(w.dir.path())
        .env("NO_COLOR", "1")
        .env_remove("NICPLAN_STATE")
        .env_remove("NICPLAN_BACKEND");
    command.output().expect("runs")
}

#[test]
fn a_large_network_diffs_within_a_bound_per_resource() {
    // 20,000 instances of every family: about 65,000 resources, 7 MB of YAML. The diff
    // needed about 90 MB of address space when this test was written; before memory
    // was counted by the resource it needed more than 200 MB.
    const INSTANCES: &str = "20000";
    const LIMIT_KIB: u64 = 150_000;
    let args = generate::Args::parse_from(["generate", "--instances", INSTANCES]);
    let net = generate::file(&args).expect("the arguments are valid");
    let w = Workdir::new();
    std::fs::write(w.path("empty.yaml"), "version: 1\n").expect("write");
    std::fs::write(w.path("net.yaml"), &net).expect("write");
    let out = limited(
        &w,
        LIMIT_KIB,
        &["diff", "empty.yaml", "net.yaml", "--detailed-exitcode"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ran out of memory"),
        "{INSTANCES} instances did not fit in {LIMIT_KIB} KiB: {stderr}"
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "the diff creates them: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.lines().last().unwrap_or_default();
    let created: usize = summary
        .strip_prefix("Plan: ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        created > 60_000,
        "the whole plan is written, every resource created: {summary}"
    );
}

/// `nicplan plan` in `w` under the limit.
fn plan_limited(w: &Workdir) -> std::process::Output {
    limited(w, LIMIT_KIB, &["plan"])
}

#[test]
fn memory_that_runs_out_is_a_message_and_exit_1_and_nothing_is_written() {
    // Within the limit, a small file plans: the limit leaves room to work.
    let small = Workdir::new();
    small.write(&file(10));
    let out = plan_limited(&small);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a small file plans under the limit: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let large = Workdir::new();
    large.write(&file(40_000));
    let before = tree(large.dir.path());
    let out = plan_limited(&large);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit 1, not a signal: {stderr}");
    assert!(
        stderr.contains("error: nicplan ran out of memory"),
        "the message says what happened: {stderr}"
    );
    assert!(
        stderr.contains("help: allow nicplan more memory"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("memory allocation of"),
        "not the runtime's abort message: {stderr}"
    );
    assert_eq!(
        tree(large.dir.path()),
        before,
        "a plan that ran out wrote nothing"
    );
}
