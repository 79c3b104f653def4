//! The checked-in JSON Schema matches the one the binary generates, and every example
//! (and every clean golden case) validates against it, so editors using it never flag a
//! file nicplan accepts.

use std::fs;
use std::path::Path;

fn checked_in() -> serde_json::Value {
    let text = fs::read_to_string("schemas/nicplan.schema.json").expect("schema checked in");
    serde_json::from_str(&text).expect("schema is JSON")
}

#[test]
fn checked_in_schema_matches_the_generated_one() {
    let generated = serde_json::to_value(nicplan::spec::json_schema()).expect("serialises");
    assert!(
        checked_in() == generated,
        "schemas/nicplan.schema.json is stale: run `cargo run -- schema > schemas/nicplan.schema.json`"
    );
}

fn validator() -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(&checked_in())
        .expect("schema compiles")
}

fn yaml_files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(dir).to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("readable dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml")
                && !path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("github-"))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn examples_and_clean_cases_validate_against_the_schema_as_nicplan_does() {
    let validator = validator();
    let mut files = yaml_files("examples");
    assert!(files.len() >= 5, "expected at least five examples");
    files.extend(yaml_files("tests/cases").into_iter().filter(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("good"))
    }));
    for file in files {
        let text = fs::read_to_string(&file).expect("readable");
        let nicplan = nicplan::validate("x.yaml", text.as_bytes().to_vec(), None);
        if nicplan
            .diagnostics
            .iter()
            .any(|d| d.code == nicplan::Code::Schema)
        {
            // Deliberate format mistakes; some (a CIDR with host bits set) are beyond
            // what a JSON Schema can say.
            continue;
        }
        let value: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML");
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
    }
}

#[test]
fn the_schema_rejects_what_nicplan_rejects() {
    let validator = validator();
    let bad = [
        "version: 2\n",
        "version: 1\nvpcs:\n  Main:\n    cidr_block: 10.0.0.0/16\n",
        "version: 1\nvpcs:\n  main:\n    cidr_blok: 10.0.0.0/16\n",
        "version: 1\nnetwork_interfaces:\n  n:\n    subnet: s\n    private_ip: 10.0.1.300\n",
    ];
    for text in bad {
        let value: serde_json::Value = serde_saphyr::from_str(text).expect("YAML");
        assert!(!validator.is_valid(&value), "schema accepted {text:?}");
        let nicplan = nicplan::validate("x.yaml", text.as_bytes().to_vec(), None);
        assert!(nicplan.has_errors(), "nicplan accepted {text:?}");
    }
}

#[test]
fn checked_in_output_schemas_match_the_generated_ones() {
    for (path, generated) in [
        (
            "schemas/plan.schema.json",
            nicplan::render::plan_json::schema(),
        ),
        (
            "schemas/validate.schema.json",
            nicplan::render::plan_json::validate_schema(),
        ),
        (
            "schemas/show.schema.json",
            nicplan::render::state_view::schema(),
        ),
    ] {
        let text = fs::read_to_string(path).expect("schema checked in");
        let checked_in: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let generated = serde_json::to_value(generated).expect("serialises");
        assert!(
            checked_in == generated,
            "{path} is stale: run `cargo run -- schema {}` into it",
            if path.contains("plan") {
                "plan"
            } else if path.contains("show") {
                "show"
            } else {
                "validate"
            }
        );
    }
}

#[test]
fn validate_json_matches_its_schema_for_every_example() {
    let schema: serde_json::Value =
        serde_json::from_str(&fs::read_to_string("schemas/validate.schema.json").expect("schema"))
            .expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    let mut files = yaml_files("examples");
    files.extend(yaml_files("tests/cases"));
    for file in files {
        let name = file.to_string_lossy().to_string();
        let v = nicplan::validate(&name, fs::read(&file).expect("readable"), None);
        let out = nicplan::render::json::diagnostics(&v.source, &v.diagnostics);
        let value: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}
