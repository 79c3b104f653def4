//! The binary as a user runs it: exit codes, where output goes, JSON shape.

mod common;

use assert_cmd::Command;
use common::tree;

fn nicplan() -> Command {
    let mut cmd = Command::cargo_bin("nicplan").expect("binary built");
    cmd.env_remove("NICPLAN_BACKEND").env("NO_COLOR", "1");
    cmd
}

fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).expect("stdout is JSON")
}

const SEVERAL_MISTAKES: &str = "\
version: 1
vpcs:
  main:
    cidr_block: 10.0.0.0/16
subnets:
  app-a:
    vpc: main
    cidr_block: 10.0.1.0/24
    availability_zone: kr-central-2-a
  app-b:
    vpc: mian
    cidr_block: 10.0.2.0/24
    availability_zone: kr-central-2-b
security_groups:
  web-sg: {}
instances:
  web-1:
    type: t1i.nano
    image: ubuntu-22.04
    primary_interface: web-1-eth0
network_interfaces:
  web-1-eth0:
    subnet: app-a
    private_ip: 10.0.1.1
    security_groups: [web-sg]
  web-1-eth1:
    subnet: app-b
    private_ip: 10.0.3.5
    attach_to: web-1
  web-1-eth2:
    subnet: app-a
    private_ip: 10.0.1.300
    security_groups: [web-sg]
    attach_to: web-1
";

#[test]
fn several_mistakes_are_reported_in_one_run() {
    let out = nicplan()
        .args(["validate", "-f", "-", "--format", "json"])
        .write_stdin(SEVERAL_MISTAKES)
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(out.stderr.is_empty(), "json output keeps stderr clean");
    let doc = json(&out.stdout);
    let codes: Vec<&str> = doc["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .map(|d| d["code"].as_str().expect("code"))
        .collect();
    for expected in [
        "nicplan::schema",
        "nicplan::reference",
        "nicplan::capacity",
        "nicplan::zone",
        "nicplan::ip_outside_subnet",
        "nicplan::ip_reserved",
        "nicplan::security_group_required",
        "nicplan::same_subnet",
    ] {
        assert!(
            codes.contains(&expected),
            "{expected} missing from {codes:?}"
        );
    }
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["format_version"], "1");
    let reserved = doc["diagnostics"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["code"] == "nicplan::ip_reserved"))
        .expect("ip_reserved present");
    assert_eq!(reserved["file"], "<stdin>");
    assert_eq!(reserved["line"], 24);
    assert_eq!(reserved["column"], 17);
    assert_eq!(reserved["severity"], "error");
    assert!(
        reserved["help"]
            .as_str()
            .is_some_and(|h| h.contains("10.0.1.2"))
    );
}

#[test]
fn text_output_names_the_line_and_the_fix() {
    let out = nicplan()
        .args(["validate", "-f", "-"])
        .write_stdin(SEVERAL_MISTAKES)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(
        text.contains("× 10.0.1.1 is the gateway address of subnet app-a"),
        "{text}"
    );
    assert!(text.contains("<stdin>:24:17"), "{text}");
    assert!(text.contains("help: did you mean `main`?"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour when not on a terminal");
    assert!(
        text.ends_with("<stdin> is not valid: 7 errors, 1 warning, 2 advice notes.\n"),
        "{text}"
    );
}

#[test]
fn warnings_alone_exit_zero() {
    let file = "version: 1\nnetwork_interfaces:\n  nat-eth0:\n    subnet: edge\n    source_dest_check: false\nsubnets:\n  edge:\n    vpc: main\n    cidr_block: 10.0.0.0/24\n    availability_zone: kr-central-2-a\nvpcs:\n  main:\n    cidr_block: 10.0.0.0/16\n";
    let out = nicplan()
        .args(["validate", "-f", "-", "--format", "json"])
        .write_stdin(file)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let doc = json(&out.stdout);
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["summary"]["warnings"], 1);
    assert_eq!(
        doc["diagnostics"][0]["code"],
        "nicplan::source_dest_check_disabled"
    );
}

#[test]
fn the_backend_flag_and_variable_set_capabilities() {
    let file = "version: 1\nnetwork_interfaces:\n  n:\n    subnet: s\n    secondary_private_ips: [10.0.0.9]\n    private_ip: 10.0.0.8\nsubnets:\n  s:\n    vpc: v\n    cidr_block: 10.0.0.0/24\n    availability_zone: kr-central-2-a\nvpcs:\n  v:\n    cidr_block: 10.0.0.0/16\n";
    nicplan()
        .args(["validate", "-f", "-"])
        .write_stdin(file)
        .assert()
        .code(0);
    nicplan()
        .args(["validate", "-f", "-", "--backend", "kakaocloud"])
        .write_stdin(file)
        .assert()
        .code(1)
        .stdout(predicates::str::contains("nicplan::multi_ip_unsupported"));
    nicplan()
        .env("NICPLAN_BACKEND", "kakaocloud")
        .args(["validate", "-f", "-"])
        .write_stdin(file)
        .assert()
        .code(1);
}

#[test]
fn a_missing_file_is_an_error_on_stderr() {
    nicplan()
        .args(["validate", "-f", "does-not-exist.yaml"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::starts_with(
            "error: cannot read does-not-exist.yaml",
        ));
}

#[test]
fn usage_errors_exit_one_not_two() {
    nicplan()
        .args(["validate", "--format", "yaml"])
        .assert()
        .code(1);
    nicplan().args(["frobnicate"]).assert().code(1);
    nicplan().arg("--help").assert().code(0);
}

#[test]
fn output_is_the_same_bytes_every_run() {
    let run = || {
        nicplan()
            .args([
                "validate",
                "-f",
                "examples/mistakes.yaml",
                "--format",
                "json",
            ])
            .output()
            .expect("runs")
            .stdout
    };
    let first = run();
    assert!(!first.is_empty());
    for _ in 0..3 {
        assert_eq!(run(), first);
    }
}

#[test]
fn instance_types_lists_the_catalogue() {
    let out = nicplan()
        .args(["instance-types"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(text.lines().count(), 56, "header and 55 types");
    assert!(text.lines().any(
        |l| l.split_whitespace().collect::<Vec<_>>() == ["r2a.baremetal", "memory", "2", "yes"]
    ));
    let out = nicplan()
        .args(["instance-types", "--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let doc = json(&out.stdout);
    let types = doc["instance_types"].as_array().expect("array");
    assert_eq!(types.len(), 55);
    assert_eq!(types[0]["name"], "m2a.large");
    assert_eq!(types[0]["max_network_interfaces"], 3);
}

#[test]
fn schema_prints_the_checked_in_schema() {
    let out = nicplan()
        .arg("schema")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let checked_in = std::fs::read("schemas/nicplan.schema.json").expect("checked in");
    assert_eq!(out.stdout, checked_in);
}

#[test]
fn a_state_url_password_never_shows_whatever_it_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    for url in [
        "postgres://u:SECRETX#X@127.0.0.1:1/db",
        "postgres://u:SECRETX@127.0.0.1:1/db#prod",
        "postgres://u:SE%23CRETX@127.0.0.1:1/db?sslmode=disable",
        "postgres://127.0.0.1:1/db?password=SECRETX",
        "postgres://u:SECRETX",
    ] {
        let out = nicplan()
            .current_dir(dir.path())
            .args(["refresh", "--backend", "sim", "--state", url])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{url}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all.contains("error:"), "{url}: {all}");
        assert!(
            !all.contains("SECRET") && !all.contains("CRETX"),
            "{url}: {all}"
        );
    }
}

#[test]
fn a_plan_file_that_is_a_device_a_folder_or_too_large_is_refused_unread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let huge = dir.path().join("huge.plan");
    // Sparse: its size says it all, and nothing of it is read.
    std::fs::File::create(&huge)
        .and_then(|f| f.set_len(600 * 1024 * 1024))
        .expect("sparse file");
    let huge = huge.display().to_string();
    for (path, words) in [
        ("/dev/zero", "is not a plan file: not a regular file"),
        (".", "is not a plan file: not a regular file"),
        (huge.as_str(), "is larger than any plan file"),
    ] {
        for command in ["show", "apply"] {
            let started = std::time::Instant::now();
            let out = nicplan()
                .current_dir(dir.path())
                .args([command, path])
                .output()
                .expect("runs");
            assert_eq!(out.status.code(), Some(1), "{command} {path}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(words), "{command} {path}: {err}");
            assert!(started.elapsed() < std::time::Duration::from_secs(10));
        }
    }
    assert!(!dir.path().join("nicplan.state.json").exists());
}

const NESTED_SETTINGS: &str = "\
version: 1
settings:
  backend: { kind: sim, path: deep/nested/sim.json }
  state: { kind: local, path: states/here/nicplan.state.json }
vpcs:
  main: { cidr_block: 10.0.0.0/16 }
subnets:
  app-a: { vpc: main, cidr_block: 10.0.1.0/24, availability_zone: kr-central-2-a }
network_interfaces:
  spare: { subnet: app-a, private_ip: 10.0.1.10, security_groups: [] }
";

#[test]
fn reading_commands_change_nothing_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("nicplan.yaml"), NESTED_SETTINGS).expect("write");
    let old = NESTED_SETTINGS.replace("10.0.1.10", "10.0.1.11");
    std::fs::write(dir.path().join("old.yaml"), old).expect("write");
    let before = tree(dir.path());
    let mut runs: Vec<Vec<&str>> = vec![
        vec!["validate"],
        vec!["plan"],
        vec!["plan", "--refresh=false"],
        vec!["show"],
        vec!["state", "list"],
        vec!["diff", "old.yaml", "nicplan.yaml"],
        vec!["graph", "--plan"],
    ];
    for format in ["json", "markdown", "sarif", "github"] {
        runs.push(vec!["diff", "old.yaml", "nicplan.yaml", "--format", format]);
    }
    for args in runs {
        let out = nicplan()
            .current_dir(dir.path())
            .args(&args)
            .output()
            .expect("run");
        assert!(
            out.status.code().is_some_and(|c| c <= 2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(tree(dir.path()), before, "{args:?} changed the folder");
    }
}

#[test]
fn an_invalid_file_stops_every_command_before_it_opens_what_the_file_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A state URL whose port nothing listens on, and a simulator in a folder that does
    // not exist: a command that opened either would say so, or make the folder.
    let invalid = NESTED_SETTINGS
        .replace(
            "state: { kind: local, path: states/here/nicplan.state.json }",
            "state: { kind: postgres, url: \"postgres://u@127.0.0.1:9/db\" }",
        )
        .replace("10.0.1.10", "10.0.9.10");
    std::fs::write(dir.path().join("nicplan.yaml"), invalid).expect("write");
    let before = tree(dir.path());
    for args in [
        vec!["plan"],
        vec!["plan", "--format", "json"],
        vec!["apply", "--auto-approve"],
        vec!["destroy", "--auto-approve"],
        vec!["refresh"],
        vec!["state", "list"],
        vec!["show"],
        vec!["graph"],
    ] {
        let out = nicplan()
            .current_dir(dir.path())
            .args(&args)
            .output()
            .expect("run");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stdout}{stderr}");
        assert!(
            stdout.contains("nicplan::ip_outside_subnet"),
            "{args:?}: {stdout}{stderr}"
        );
        assert!(
            !stderr.contains("postgres") && !stderr.contains("connect"),
            "{args:?} opened the state: {stderr}"
        );
        assert_eq!(tree(dir.path()), before, "{args:?} changed the folder");
    }
}

/// `n` instances with a secondary interface each (advice for every one of them), and
/// `bad` NICs pinned outside their subnet (an error each).
fn many_alike(n: usize, bad: usize) -> String {
    let mut out = String::from(
        "version: 1\nvpcs:\n  main:\n    cidr_block: 10.0.0.0/16\nsubnets:\n  app-a:\n    vpc: main\n    cidr_block: 10.0.1.0/24\n    availability_zone: kr-central-2-a\n  db-a:\n    vpc: main\n    cidr_block: 10.0.2.0/24\n    availability_zone: kr-central-2-a\nsecurity_groups:\n  web-sg: {}\ninstances:\n",
    );
    for i in 0..n {
        out.push_str(&format!(
            "  web-{i}:\n    type: m2a.xlarge\n    image: ubuntu-22.04\n    primary_interface: web-{i}-eth0\n"
        ));
    }
    out.push_str("network_interfaces:\n");
    for i in 0..n {
        out.push_str(&format!(
            "  web-{i}-eth0:\n    subnet: app-a\n    security_groups: [web-sg]\n  web-{i}-eth1:\n    subnet: db-a\n    security_groups: [web-sg]\n    attach_to: web-{i}\n"
        ));
    }
    for i in 0..bad {
        out.push_str(&format!(
            "  stray-{i}:\n    subnet: app-a\n    private_ip: 10.0.9.{}\n    security_groups: [web-sg]\n",
            i + 10
        ));
    }
    out
}

/// The standard output of `nicplan ARGS` on `input`, which must exit 1.
fn refused_stdout(args: &[&str], input: &str) -> String {
    let out = nicplan()
        .args(args)
        .write_stdin(input.to_string())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn repeated_advice_is_summed_up_in_text_while_every_error_and_every_json_finding_stays() {
    let file = many_alike(12, 5);
    let text = refused_stdout(&["validate", "-f", "-"], &file);
    // Every error is drawn.
    assert_eq!(text.matches("  × ").count(), 5, "{text}");
    // One of the twelve static_routing notes, then one line for the other eleven.
    let drawn = text
        .matches("network interfaces: static routes must be configured")
        .count();
    assert_eq!(drawn, 1, "{text}");
    assert_eq!(
        text.matches("☞ 11 more advice notes like those above are not shown (lines ")
            .count(),
        2,
        "{text}"
    );
    assert!(text.contains("`--verbose` shows every one"), "{text}");
    // The closing line still counts them all.
    assert!(
        text.ends_with("<stdin> is not valid: 5 errors, 0 warnings, 24 advice notes.\n"),
        "{text}"
    );

    let verbose = refused_stdout(&["validate", "-f", "-", "--verbose"], &file);
    assert_eq!(
        verbose
            .matches("network interfaces: static routes must be configured")
            .count(),
        12
    );
    assert!(!verbose.contains("not shown"), "{verbose}");

    let doc = json(refused_stdout(&["validate", "-f", "-", "--format", "json"], &file).as_bytes());
    let findings = doc["diagnostics"].as_array().expect("diagnostics");
    let of = |code: &str| findings.iter().filter(|d| d["code"] == code).count();
    assert_eq!(of("nicplan::static_routing"), 12);
    assert_eq!(of("nicplan::bandwidth"), 12);
    assert_eq!(of("nicplan::ip_outside_subnet"), 5);

    let github = refused_stdout(&["validate", "-f", "-", "--format", "github"], &file);
    let lines: Vec<&str> = github.lines().collect();
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("::error ")).count(),
        5
    );
    let routing: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("title=nicplan%3A%3Astatic_routing"))
        .collect();
    assert_eq!(routing.len(), 2, "{github}");
    assert!(
        routing[1].starts_with("::notice file=<stdin>,title=nicplan%3A%3Astatic_routing (11 more)::11 more advice notes of nicplan::static_routing like those above (lines "),
        "{}",
        routing[1]
    );
    let every = refused_stdout(
        &["validate", "-f", "-", "--format", "github", "--verbose"],
        &file,
    );
    assert_eq!(
        every.lines().count(),
        5 + 12 + 12,
        "`--verbose` annotates each finding: {every}"
    );

    let sarif =
        json(refused_stdout(&["validate", "-f", "-", "--format", "sarif"], &file).as_bytes());
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let of = |code: &str| results.iter().filter(|r| r["ruleId"] == code).count();
    assert_eq!(
        of("nicplan::ip_outside_subnet"),
        5,
        "every error is a result"
    );
    assert_eq!(
        of("nicplan::static_routing"),
        2,
        "one and one summing up eleven"
    );
    let sarif = json(
        refused_stdout(
            &["validate", "-f", "-", "--format", "sarif", "--verbose"],
            &file,
        )
        .as_bytes(),
    );
    assert_eq!(
        sarif["runs"][0]["results"].as_array().map(Vec::len),
        Some(5 + 12 + 12)
    );
}

#[test]
fn a_file_that_cannot_be_read_still_gets_its_json_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    for format in ["json", "sarif", "github"] {
        let out = nicplan()
            .current_dir(dir.path())
            .args(["validate", "--format", format, "-f", "missing.yaml"])
            .assert()
            .code(1)
            .get_output()
            .clone();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("cannot read missing.yaml"),
            "{format}: {stdout}"
        );
        if format == "json" {
            let doc = json(&out.stdout);
            assert_eq!(doc["valid"], false);
            assert_eq!(doc["diagnostics"][0]["code"], "nicplan::schema");
        }
    }
    // Text keeps the error on standard error.
    nicplan()
        .current_dir(dir.path())
        .args(["validate", "-f", "missing.yaml"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::contains("cannot read missing.yaml"));
}

/// Line and column of the first finding `validate --format json` gives for a file.
fn first_finding(text: &str) -> (String, u64, u64) {
    let out = nicplan()
        .args(["validate", "-f", "-", "--format", "json"])
        .write_stdin(text)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let doc = json(&out.stdout);
    let d = &doc["diagnostics"][0];
    (
        d["message"].as_str().unwrap_or_default().to_string(),
        d["line"].as_u64().unwrap_or(0),
        d["column"].as_u64().unwrap_or(0),
    )
}

#[test]
fn yaml_syntax_errors_are_named_and_placed_where_they_are() {
    let (message, line, column) =
        first_finding("version: 1\nvpcs:\n  main:\n\t  cidr_block: 10.0.0.0/16\n");
    assert!(message.contains("a tab indents this line"), "{message}");
    assert_eq!((line, column), (4, 1));
    let (message, line, column) = first_finding("version: 1\nvpcs: [\n");
    assert_eq!(message, "the `[` opened here is never closed");
    assert_eq!((line, column), (2, 7));
    let (message, line, column) =
        first_finding("version: 1\nsubnets:\n  a: {vpc: [x, cidr_block: 1}\n");
    assert_eq!(message, "the `[` opened here is closed by `}`");
    assert_eq!((line, column), (3, 12));
}

#[test]
fn a_finding_far_along_a_very_long_line_is_placed_without_a_drawing() {
    let text = format!(
        "version: 1\nvpcs: {{{}main: {{cidr_blok: 10.0.0.0/16}}}}\n",
        " ".repeat(70_000)
    );
    let out = nicplan()
        .args(["validate", "-f", "-"])
        .write_stdin(text)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("unknown field `cidr_blok`"), "{stdout}");
    assert!(
        stdout.contains("at <stdin>:2:70015: not a field of VPC main"),
        "{stdout}"
    );
}

#[test]
fn help_says_the_file_s_settings_come_before_the_defaults() {
    let out = nicplan()
        .args(["plan", "--help"])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let help = String::from_utf8(out.stdout).unwrap();
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    // A file's settings.state or settings.backend wins over the built-in default, so
    // the help must not promise the default.
    assert!(
        flat.contains("[default: the file's settings.state, else nicplan.state.json]"),
        "{help}"
    );
    assert!(
        flat.contains("[default: the file's settings.backend, else sim]"),
        "{help}"
    );
    assert!(!flat.contains("[default: sim]"), "{help}");
}
