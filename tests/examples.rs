//! Every desired-state file in `examples/` is validated as a user would run it:
//! `nicplan validate --format json -f examples/NAME.yaml`.
//!
//! The directory is read at test time, so a new example is covered without touching this
//! file. Every example must be valid (warnings and advice allowed), except
//! `mistakes.yaml`, which must fail and show every rule `validate` checks. Files whose
//! name starts with `github-` are not desired-state files (CI workflows) and are skipped.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// The example that is wrong on purpose.
const MISTAKES: &str = "mistakes.yaml";

/// Every code the offline validator reports; `mistakes.yaml` must show each one.
const OFFLINE_CODES: &[&str] = &[
    "nicplan::schema",
    "nicplan::reference",
    "nicplan::instance_type",
    "nicplan::capacity",
    "nicplan::zone",
    "nicplan::attachment_conflict",
    "nicplan::ip_outside_subnet",
    "nicplan::ip_reserved",
    "nicplan::ip_conflict",
    "nicplan::security_group_required",
    "nicplan::public_ip",
    "nicplan::multi_ip_unsupported",
    "nicplan::subnet",
    "nicplan::same_subnet",
    "nicplan::source_dest_check_disabled",
    "nicplan::static_routing",
    "nicplan::bandwidth",
];

/// Examples the documentation refers to by name; the directory scan must find them.
const DOCUMENTED: &[&str] = &[
    "web-tier.yaml",
    "nat-instance.yaml",
    "bare-metal.yaml",
    "multi-zone.yaml",
    "full-instance.yaml",
    MISTAKES,
];

const MODELINE: &str = "# yaml-language-server: $schema=../schemas/nicplan.schema.json";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The desired-state files of `examples/`, by file name, sorted.
fn examples() -> Vec<String> {
    let dir = root().join("examples");
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut names: Vec<String> = entries
        .map(|entry| entry.expect("a directory entry").file_name())
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.ends_with(".yaml") && !name.starts_with("github-"))
        .collect();
    names.sort();
    names
}

/// The outcome of `nicplan validate --format json` on one example.
struct Run {
    code: Option<i32>,
    json: Value,
    stderr: String,
}

fn validate(name: &str) -> Run {
    let path = Path::new("examples").join(name);
    let output = Command::cargo_bin("nicplan")
        .expect("the nicplan binary")
        .current_dir(root())
        // The file's own settings decide the backend, whatever the caller's environment.
        .env_remove("NICPLAN_BACKEND")
        .env("NO_COLOR", "1")
        .arg("validate")
        .arg("--format")
        .arg("json")
        .arg("-f")
        .arg(&path)
        .output()
        .expect("nicplan runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{name}: stdout is not JSON ({e}):\n{stdout}"));
    Run {
        code: output.status.code(),
        json,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn diagnostics(json: &Value) -> &[Value] {
    json["diagnostics"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// `code: message (line N)` for each diagnostic of a severity, for failure messages.
fn describe(json: &Value, severity: &str) -> Vec<String> {
    diagnostics(json)
        .iter()
        .filter(|d| d["severity"] == severity)
        .map(|d| {
            format!(
                "{}: {} (line {})",
                d["code"].as_str().unwrap_or("?"),
                d["message"].as_str().unwrap_or("?"),
                d["line"]
            )
        })
        .collect()
}

#[test]
fn the_documented_examples_exist() {
    let found = examples();
    for name in DOCUMENTED {
        assert!(
            found.iter().any(|f| f == name),
            "examples/{name} is missing; found {found:?}"
        );
    }
}

#[test]
fn every_example_starts_with_the_schema_modeline() {
    for name in examples() {
        let path = root().join("examples").join(&name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        assert_eq!(
            text.lines().next(),
            Some(MODELINE),
            "examples/{name} must start with the yaml-language-server modeline"
        );
    }
}

#[test]
fn every_example_but_mistakes_is_valid() {
    let mut failures = Vec::new();
    for name in examples().into_iter().filter(|n| n != MISTAKES) {
        let run = validate(&name);
        let errors = describe(&run.json, "error");
        let ok = run.code == Some(0)
            && run.json["format_version"] == "1"
            && run.json["valid"] == Value::Bool(true)
            && run.json["summary"]["errors"] == 0
            && errors.is_empty();
        if !ok {
            failures.push(format!(
                "examples/{name}: exit {:?}, valid {}, errors {errors:#?}, stderr {:?}",
                run.code, run.json["valid"], run.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "examples that should be valid are not:\n{}",
        failures.join("\n")
    );
}

#[test]
fn mistakes_shows_every_offline_rule() {
    let run = validate(MISTAKES);
    assert_eq!(
        run.code,
        Some(1),
        "mistakes.yaml must exit 1: {}",
        run.stderr
    );
    assert_eq!(run.json["valid"], Value::Bool(false));
    let reported: Vec<&str> = diagnostics(&run.json)
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    let missing: Vec<&&str> = OFFLINE_CODES
        .iter()
        .filter(|code| !reported.contains(code))
        .collect();
    assert!(
        missing.is_empty(),
        "mistakes.yaml does not trigger {missing:?}; it reports {reported:?}"
    );
    // Every finding points at a line of the file, so a reader can find the mistake.
    for d in diagnostics(&run.json) {
        assert!(
            d["line"].as_u64().is_some_and(|l| l > 0),
            "no line for {}: {}",
            d["code"],
            d["message"]
        );
        assert_eq!(d["file"], "examples/mistakes.yaml");
    }
}
