//! Plans for review: saved plans and their guards, the JSON document against its
//! schema, the offline diff between files and git revisions, stable bytes.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;

fn nicplan(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("nicplan")
        .expect("binary")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("NICPLAN_SIM_BUILD_MS", "0")
        .env_remove("NICPLAN_STATE")
        .env_remove("NICPLAN_BACKEND")
        .args(args)
        .output()
        .expect("runs")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn err(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn base() -> String {
    std::fs::read_to_string("tests/e2e/base.yaml").expect("base")
}

/// The base network applied in a fresh folder, one step at a time so that the cloud's
/// IDs, MACs and assigned IPs (which appear in JSON plans) are the same on every run.
fn applied() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("nicplan.yaml"), base()).expect("write");
    let out = nicplan(
        dir.path(),
        &["apply", "--auto-approve", "--parallelism", "1"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    dir
}

/// Every step kind: a replacement, a deletion, an in-place update, a resize, moves of a
/// NIC and of a public IP, creations, and warnings.
fn everything() -> String {
    base()
        .replace(
            "  web-2-eth0:\n    subnet: app-a\n    private_ip: 10.0.1.11",
            "  web-2-eth0:\n    subnet: db-a\n    private_ip: 10.0.2.11",
        )
        .replace(
            "    type: m2a.large\n    image: ubuntu-22.04\n    primary_interface: web-1-eth0",
            "    type: m2a.xlarge\n    image: ubuntu-22.04\n    primary_interface: web-1-eth0\n    lifecycle: { allow_stop: true }",
        )
        .replace(
            "  spare:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n",
            "  spare:\n    subnet: mgmt-a\n    security_groups: [db-sg, web-sg]\n    source_dest_check: false\n    attach_to: web-1\n  extra:\n    subnet: db-a\n    security_groups: [db-sg]\n",
        )
        .replace("    network_interface: web-1-eth0", "    network_interface: web-2-eth0")
        .replace("  db-sg: {}\n", "  db-sg: {}\n  ops-sg: { description: operators }\n")
}

fn plan_schema() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/plan.schema.json").expect("schema"))
            .expect("JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("compiles")
}

fn assert_valid_plan_json(out: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(out).expect("stdout is one JSON document");
    let errors: Vec<String> = plan_schema()
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "plan JSON does not match its schema: {errors:#?}"
    );
    value
}

#[test]
fn the_plan_of_every_step_kind_in_text_and_json() {
    let dir = applied();
    std::fs::write(dir.path().join("nicplan.yaml"), everything()).expect("write");
    let out = nicplan(dir.path(), &["plan"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    insta::assert_snapshot!("every_step_kind_text", text(&out));

    let json = nicplan(
        dir.path(),
        &["plan", "--format", "json", "--detailed-exitcode"],
    );
    assert_eq!(json.status.code(), Some(2));
    assert!(
        json.stderr.is_empty(),
        "json output keeps stderr clean: {}",
        err(&json)
    );
    let doc = assert_valid_plan_json(&text(&json));
    insta::assert_snapshot!("every_step_kind_json", text(&json));
    let actions: std::collections::BTreeSet<&str> = doc["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["action"].as_str().expect("action"))
        .collect();
    for action in [
        "create",
        "update",
        "delete",
        "resize",
        "attach",
        "detach",
        "associate",
        "disassociate",
    ] {
        assert!(actions.contains(action), "no {action} step: {actions:?}");
    }
    assert_eq!(doc["summary"]["replace"], 2);
    // What the cloud will choose is marked, as Terraform's after_unknown.
    let unknown = |address: &str| {
        doc["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .find(|c| c["address"] == address)
            .unwrap_or_else(|| panic!("no change of {address}"))["after_unknown"]
            .clone()
    };
    assert_eq!(
        unknown("network_interface.extra"),
        serde_json::json!(["private_ip"])
    );
    assert_eq!(unknown("security_group.ops-sg"), serde_json::json!([]));
    assert_eq!(unknown("network_interface.spare"), serde_json::json!([]));
    assert_eq!(doc["format_version"], "1");
    assert!(doc["steps"][0]["depends_on"].is_array());
    // Same bytes on every run.
    let again = nicplan(dir.path(), &["plan", "--format", "json"]);
    assert_eq!(again.stdout, json.stdout);
}

#[test]
fn no_changes_in_every_format() {
    let dir = applied();
    let out = nicplan(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out).ends_with("No changes. The cloud matches the file.\n"),
        "{}",
        text(&out)
    );
    let json = nicplan(dir.path(), &["plan", "--format", "json"]);
    let doc = assert_valid_plan_json(&text(&json));
    assert_eq!(doc["steps"].as_array().map(Vec::len), Some(0));
    assert_eq!(doc["applicable"], true);
}

#[test]
fn an_invalid_file_gives_a_plan_document_with_its_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("nicplan.yaml"),
        base().replace("m2a.large", "m2a.huge"),
    )
    .expect("write");
    let json = nicplan(dir.path(), &["plan", "--format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let doc = assert_valid_plan_json(&text(&json));
    assert_eq!(doc["applicable"], false);
    assert_eq!(doc["diagnostics"][0]["code"], "nicplan::instance_type");
}

fn save_plan(dir: &Path) -> Vec<u8> {
    std::fs::write(dir.join("nicplan.yaml"), everything()).expect("write");
    let out = nicplan(dir, &["plan", "--out", "change.plan"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("Saved the plan to change.plan"));
    std::fs::read(dir.join("change.plan")).expect("plan file")
}

/// The state, the simulator's snapshot and its journal (if any), as bytes.
fn snapshot(dir: &Path) -> (Vec<u8>, Vec<u8>, Option<Vec<u8>>) {
    (
        std::fs::read(dir.join("nicplan.state.json")).expect("state"),
        std::fs::read(dir.join(".nicplan/sim.json")).expect("sim"),
        std::fs::read(dir.join(".nicplan/sim.json.journal")).ok(),
    )
}

#[test]
fn a_saved_plan_applies_exactly_its_steps_once() {
    let dir = applied();
    save_plan(dir.path());
    // The file on disk changes after the plan: the saved plan still applies what was
    // reviewed, not the new file.
    std::fs::write(dir.path().join("nicplan.yaml"), base()).expect("write");
    let shown = nicplan(dir.path(), &["show", "change.plan"]);
    assert_eq!(shown.status.code(), Some(0), "{}", err(&shown));
    assert!(text(&shown).contains("2 to replace"), "{}", text(&shown));
    let md = nicplan(dir.path(), &["show", "change.plan", "--format", "markdown"]);
    assert_eq!(md.status.code(), Some(0));
    let json = nicplan(dir.path(), &["show", "change.plan", "--format", "json"]);
    assert_valid_plan_json(&text(&json));

    let out = nicplan(dir.path(), &["apply", "change.plan"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out), err(&out));
    assert!(text(&out).contains("Apply complete"), "{}", text(&out));
    // Applied once, it is stale.
    let again = nicplan(dir.path(), &["apply", "change.plan"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(err(&again).contains("is stale"), "{}", err(&again));
    // The cloud now matches the plan's file.
    std::fs::write(dir.path().join("nicplan.yaml"), everything()).expect("write");
    assert_eq!(
        nicplan(dir.path(), &["plan", "--detailed-exitcode"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn a_stale_plan_is_refused_and_touches_nothing() {
    let dir = applied();
    save_plan(dir.path());
    // Someone else applies in between.
    std::fs::write(
        dir.path().join("nicplan.yaml"),
        base().replace("[web-sg]\n  web-1-eth1", "[web-sg, db-sg]\n  web-1-eth1"),
    )
    .expect("write");
    assert_eq!(
        nicplan(dir.path(), &["apply", "--auto-approve"])
            .status
            .code(),
        Some(0)
    );
    let before = snapshot(dir.path());
    let out = nicplan(dir.path(), &["apply", "change.plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).contains("change.plan is stale: the state nicplan.state.json moved on"),
        "{}",
        err(&out)
    );
    assert_eq!(snapshot(dir.path()), before, "nothing touched");
}

#[test]
fn an_altered_plan_is_refused_and_touches_nothing() {
    let dir = applied();
    let bytes = save_plan(dir.path());
    let before = snapshot(dir.path());
    let text_plan = String::from_utf8(bytes).expect("UTF-8");
    // Sneak a different instance type into the reviewed plan.
    let altered = text_plan.replacen("m2a.xlarge", "m2a.24xlarge", 1);
    assert_ne!(altered, text_plan);
    std::fs::write(dir.path().join("change.plan"), altered).expect("write");
    let out = nicplan(dir.path(), &["apply", "change.plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).contains("change.plan was altered after it was written"),
        "{}",
        err(&out)
    );
    std::fs::write(dir.path().join("change.plan"), b"garbage").expect("write");
    let out = nicplan(dir.path(), &["apply", "change.plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).contains("is not a nicplan plan file"),
        "{}",
        err(&out)
    );
    assert_eq!(snapshot(dir.path()), before, "nothing touched");
}

#[test]
fn a_plan_for_another_state_or_another_cloud_is_refused_and_touches_nothing() {
    let dir = applied();
    save_plan(dir.path());
    // Another state on the same simulated cloud.
    std::fs::write(
        dir.path().join("other.yaml"),
        "version: 1\nsecurity_groups:\n  other-sg: {}\n",
    )
    .expect("write");
    let out = nicplan(
        dir.path(),
        &[
            "apply",
            "--auto-approve",
            "-f",
            "other.yaml",
            "--state",
            "other.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    let before = snapshot(dir.path());
    let out = nicplan(
        dir.path(),
        &["apply", "change.plan", "--state", "other.json"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).contains("was made for another state"),
        "{}",
        err(&out)
    );
    assert_eq!(snapshot(dir.path()), before, "nothing touched");
    // The same plan in another folder would reach another simulated cloud.
    let other = applied();
    std::fs::copy(
        dir.path().join("change.plan"),
        other.path().join("change.plan"),
    )
    .expect("copy");
    let before = snapshot(other.path());
    let out = nicplan(other.path(), &["apply", "change.plan"]);
    assert_eq!(out.status.code(), Some(1));
    let message = err(&out);
    assert!(
        message.contains(&format!(
            "was made against sim {}",
            dir.path().join(".nicplan/sim.json").display()
        )) && message.contains("nothing was applied"),
        "{message}"
    );
    assert_eq!(snapshot(other.path()), before, "nothing touched");
}

#[test]
fn a_plan_the_cloud_outgrew_is_refused_and_touches_nothing() {
    let dir = applied();
    save_plan(dir.path());
    // Made outside nicplan after the plan: a NIC on the address the plan pins for the
    // replacement of web-2-eth0.
    let made = nicplan(
        dir.path(),
        &[
            "sim",
            "create-nic",
            "legacy-eth0",
            "--subnet",
            "db-a",
            "--ip",
            "10.0.2.11",
            "--security-group",
            "db-sg",
        ],
    );
    assert_eq!(made.status.code(), Some(0), "{}", err(&made));
    let before = snapshot(dir.path());
    let out = nicplan(dir.path(), &["apply", "change.plan"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        err(&out).contains(
            "change.plan no longer holds: planned again against the cloud now, it breaks a rule: "
        ) && err(&out).contains("10.0.2.11"),
        "{}",
        err(&out)
    );
    assert!(err(&out).contains("nothing was applied"), "{}", err(&out));
    assert_eq!(snapshot(dir.path()), before, "nothing touched");
}

#[test]
fn diff_between_two_files_needs_no_backend() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("old.yaml"), base()).expect("write");
    std::fs::write(dir.path().join("new.yaml"), everything()).expect("write");
    let out = nicplan(
        dir.path(),
        &["diff", "old.yaml", "new.yaml", "--detailed-exitcode"],
    );
    assert_eq!(out.status.code(), Some(2), "{}{}", text(&out), err(&out));
    assert!(text(&out).contains("2 to replace"), "{}", text(&out));
    assert!(
        !dir.path().join(".nicplan").exists(),
        "no backend was opened"
    );
    assert!(
        !dir.path().join("nicplan.state.json").exists(),
        "no state was written"
    );
    let json = nicplan(
        dir.path(),
        &["diff", "old.yaml", "new.yaml", "--format", "json"],
    );
    assert_valid_plan_json(&text(&json));
    let same = nicplan(
        dir.path(),
        &["diff", "old.yaml", "old.yaml", "--detailed-exitcode"],
    );
    assert_eq!(same.status.code(), Some(0), "{}", text(&same));
    // A mistake in the new file: findings for the pull request, exit 1.
    std::fs::write(
        dir.path().join("bad.yaml"),
        everything().replace("attach_to: web-1\n  extra", "attach_to: web-2\n  extra"),
    )
    .expect("write");
    let github = nicplan(
        dir.path(),
        &["diff", "old.yaml", "bad.yaml", "--format", "github"],
    );
    assert_eq!(github.status.code(), Some(1));
    assert!(
        text(&github)
            .lines()
            .any(|l| l.starts_with("::error file=bad.yaml,line=")
                && l.contains("title=nicplan%3A%3Acapacity::")),
        "{}",
        text(&github)
    );
    let sarif = nicplan(
        dir.path(),
        &["diff", "old.yaml", "bad.yaml", "--format", "sarif"],
    );
    let log: serde_json::Value = serde_json::from_slice(&sarif.stdout).expect("SARIF is JSON");
    assert_eq!(log["version"], "2.1.0");
    assert!(
        log["runs"][0]["results"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["ruleId"] == "nicplan::capacity"))
    );
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn diff_against_a_git_revision() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git(repo, &["init", "-q"]);
    std::fs::create_dir_all(repo.join("net")).expect("mkdir");
    std::fs::write(repo.join("net/nicplan.yaml"), base()).expect("write");
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "base"]);
    std::fs::write(repo.join("net/nicplan.yaml"), everything()).expect("write");
    git(repo, &["commit", "-q", "-am", "change"]);
    // From the repository root, naming the file.
    let out = nicplan(
        repo,
        &[
            "diff",
            "--base",
            "HEAD~1",
            "-f",
            "net/nicplan.yaml",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}{}", text(&out), err(&out));
    let from_root = text(&out);
    assert!(from_root.contains("2 to replace"), "{from_root}");
    // From the file's folder, with the default file name: the same plan.
    let inner = nicplan(
        &repo.join("net"),
        &["diff", "--base", "HEAD~1", "--detailed-exitcode"],
    );
    assert_eq!(inner.status.code(), Some(2), "{}", err(&inner));
    assert_eq!(
        text(&inner).replace("net/nicplan.yaml", "nicplan.yaml"),
        from_root.replace("net/nicplan.yaml", "nicplan.yaml")
    );
    // Against the revision itself: nothing changes.
    let none = nicplan(
        repo,
        &[
            "diff",
            "--base",
            "HEAD",
            "-f",
            "net/nicplan.yaml",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(none.status.code(), Some(0), "{}", text(&none));
    // An absolute path, and one through `..` from another folder, name the same blob.
    std::fs::create_dir_all(repo.join("ci")).expect("mkdir");
    let absolute = repo.join("net/nicplan.yaml").display().to_string();
    for (folder, file) in [
        (repo.to_path_buf(), absolute.as_str()),
        (repo.join("ci"), "../net/nicplan.yaml"),
        (repo.join("net"), "./nicplan.yaml"),
    ] {
        let out = nicplan(
            &folder,
            &[
                "diff",
                "--base",
                "HEAD~1",
                "-f",
                file,
                "--detailed-exitcode",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{file}: {}", err(&out));
        assert!(
            text(&out).contains("2 to replace"),
            "{file}: {}",
            text(&out)
        );
        assert!(
            !text(&out).contains("16 to create"),
            "{file}: {}",
            text(&out)
        );
        assert!(
            !err(&out).contains("does not exist at"),
            "{file}: {}",
            err(&out)
        );
    }
    // A file outside the repository is refused, not compared with nothing.
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("nicplan.yaml"), base()).expect("write");
    let out = nicplan(
        repo,
        &[
            "diff",
            "--base",
            "HEAD",
            "-f",
            &outside.path().join("nicplan.yaml").display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(err(&out).contains("git repository"), "{}", err(&out));
    // A file that did not exist at the base is compared with an empty file, and the
    // diff says so.
    std::fs::write(repo.join("net/new.yaml"), base()).expect("write");
    let new = nicplan(repo, &["diff", "--base", "HEAD", "-f", "net/new.yaml"]);
    assert_eq!(new.status.code(), Some(0), "{}", err(&new));
    assert!(text(&new).contains("Plan: 16 to create"), "{}", text(&new));
    assert!(
        err(&new).contains("net/new.yaml does not exist at HEAD"),
        "{}",
        err(&new)
    );
    // A revision that does not exist is an error.
    let bad = nicplan(
        repo,
        &["diff", "--base", "no-such-rev", "-f", "net/nicplan.yaml"],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(err(&bad).contains("not a git revision"), "{}", err(&bad));
}

#[test]
fn completions_are_generated_for_common_shells() {
    let dir = tempfile::tempdir().expect("tempdir");
    for shell in ["bash", "zsh", "fish"] {
        let out = nicplan(dir.path(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out).contains("force-unlock"), "{shell}");
    }
}

#[test]
fn the_example_workflow_runs_the_review_commands() {
    let text = std::fs::read_to_string("examples/github-actions.yml").expect("workflow");
    let workflow: serde_json::Value = serde_saphyr::from_str(&text).expect("valid YAML");
    assert!(
        workflow["on"]["pull_request"].is_object(),
        "runs on pull requests"
    );
    let runs: Vec<String> = workflow["jobs"]["plan"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["run"].as_str().map(str::to_string))
        .collect();
    let all = runs.join("\n");
    for format in ["markdown", "github", "sarif"] {
        assert!(
            all.contains(&format!("--format {format}")),
            "no {format} run"
        );
    }
    assert!(all.contains("nicplan diff --base"));
    // The commands it runs parse: try them here against a real base revision.
    let dir = tempfile::tempdir().expect("tempdir");
    git(dir.path(), &["init", "-q"]);
    std::fs::write(dir.path().join("nicplan.yaml"), base()).expect("write");
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    for format in ["markdown", "github", "sarif"] {
        let out = nicplan(
            dir.path(),
            &[
                "diff",
                "--base",
                "HEAD",
                "-f",
                "nicplan.yaml",
                "--format",
                format,
                "--detailed-exitcode",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{format}: {}", err(&out));
    }
}

#[test]
fn a_diff_input_without_end_is_read_no_further_than_the_size_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("new.yaml"), base()).expect("write");
    for args in [
        ["diff", "/dev/zero", "new.yaml"],
        ["diff", "new.yaml", "/dev/zero"],
    ] {
        let out = nicplan(dir.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", err(&out));
        let all = text(&out) + &err(&out);
        assert!(
            all.contains("more than the 67108864 bytes a desired-state file may have"),
            "{args:?}: {all}"
        );
    }
}

#[allow(dead_code)]
#[path = "../examples/generate.rs"]
mod generate;

/// The generated network of `instances` instances (seed 1), changed by `percent`% when
/// given.
fn generated(instances: usize, percent: Option<u32>) -> String {
    let mut args = vec![
        "generate".to_string(),
        "--instances".to_string(),
        instances.to_string(),
    ];
    if let Some(p) = percent {
        args.extend(["--change-percent".to_string(), p.to_string()]);
    }
    let args = <generate::Args as clap::Parser>::parse_from(args);
    generate::file(&args).expect("the arguments are valid")
}

/// The pull-request comment the example workflow posts: `diff --base` of the file
/// committed as `old` and changed to `new`, in Markdown, with the exit code.
fn pr_comment(old: &str, new: &str) -> (String, Option<i32>) {
    let dir = tempfile::tempdir().expect("tempdir");
    git(dir.path(), &["init", "-q"]);
    std::fs::write(dir.path().join("nicplan.yaml"), old).expect("write");
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    std::fs::write(dir.path().join("nicplan.yaml"), new).expect("write");
    let workflow = std::fs::read_to_string("examples/github-actions.yml").expect("workflow");
    assert!(workflow.contains(
        "nicplan diff --base \"origin/${{ github.base_ref }}\" -f \"$NICPLAN_FILE\" \\\n            --format markdown --detailed-exitcode > plan.md"
    ));
    let out = nicplan(
        dir.path(),
        &[
            "diff",
            "--base",
            "HEAD",
            "-f",
            "nicplan.yaml",
            "--format",
            "markdown",
            "--detailed-exitcode",
        ],
    );
    (text(&out), out.status.code())
}

/// The addresses the plan from `old` to `new` changes, from the JSON plan.
fn changed_addresses(old: &str, new: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("old.yaml"), old).expect("write");
    std::fs::write(dir.path().join("new.yaml"), new).expect("write");
    let out = nicplan(
        dir.path(),
        &["diff", "old.yaml", "new.yaml", "--format", "json"],
    );
    let plan: serde_json::Value = serde_json::from_str(&text(&out)).expect("json");
    plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["address"].as_str().expect("address").to_string())
        .collect()
}

#[test]
fn the_comment_on_a_change_to_thirty_instances_holds_every_diff_and_the_diagram() {
    let (old, new) = (generated(30, None), generated(30, Some(100)));
    let (md, code) = pr_comment(&old, &new);
    assert_eq!(code, Some(2), "{md}");
    assert!(
        md.chars().count() <= 60_000,
        "{} characters",
        md.chars().count()
    );
    assert!(!md.contains("did not fit"), "{md}");
    assert!(!md.contains("Diagram skipped"), "{md}");
    let changes = changed_addresses(&old, &new);
    assert!(changes.len() >= 30, "{changes:?}");
    let diagram = md
        .split("<details><summary>Diagram</summary>\n\n")
        .nth(1)
        .and_then(|rest| rest.split("```mermaid\n").nth(1))
        .and_then(|rest| rest.split("\n```\n").next())
        .expect("a diagram");
    assert!(diagram.starts_with("flowchart LR\n"), "{diagram}");
    for address in &changes {
        assert!(
            md.contains(&format!(" {address}</code> will be ")),
            "no diff of {address}"
        );
        assert!(
            diagram.contains(&format!(" {address}")),
            "{address} not in the diagram"
        );
    }
    // Every changed resource carries a class.
    let classed: usize = diagram
        .lines()
        .filter_map(|l| l.strip_prefix("  class "))
        .map(|l| l.split(' ').next().unwrap_or("").split(',').count())
        .sum();
    assert!(classed >= changes.len(), "{diagram}");
}

#[test]
fn the_comment_on_two_hundred_new_instances_skips_the_diagram_with_a_note() {
    let (md, code) = pr_comment("version: 1\n", &generated(200, None));
    assert_eq!(code, Some(2), "{md}");
    assert!(md.chars().count() <= 60_000);
    assert!(!md.contains("```mermaid"), "{md}");
    let note = md
        .lines()
        .find(|l| l.starts_with("> Diagram skipped: the plan touches "))
        .expect("the note");
    assert!(
        note.ends_with(
            " resources (limit 150). Run `nicplan graph --format mermaid` to see the whole network."
        ),
        "{note}"
    );
}
