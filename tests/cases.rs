//! Golden tests of every rule: `tests/cases/<code>/` holds files that trigger the rule
//! (`bad*.yaml`) and near-identical files that do not (`good*.yaml`). Each file's rendered
//! report (no colour, 100 columns) is compared with the `.out` beside it, so the span
//! landing on the right line is tested, not assumed. `NICPLAN_BLESS=1 cargo test` rewrites
//! the `.out` files; review the diff before committing.

use std::fs;
use std::path::{Path, PathBuf};

use nicplan::render::text::{self, Style};

fn case_files() -> Vec<PathBuf> {
    let root = Path::new("tests/cases");
    let mut files = Vec::new();
    for dir in fs::read_dir(root).expect("tests/cases exists") {
        let dir = dir.expect("readable dir entry").path();
        for file in fs::read_dir(&dir).expect("readable case dir") {
            let file = file.expect("readable entry").path();
            if file.extension().is_some_and(|e| e == "yaml") {
                files.push(file);
            }
        }
    }
    files.sort();
    files
}

fn code_of(path: &Path) -> String {
    let dir = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .expect("case dir name");
    format!("nicplan::{dir}")
}

#[test]
fn every_rule_has_a_triggering_and_a_clean_case() {
    let files = case_files();
    for code in nicplan::Code::ALL {
        let planner_only = matches!(
            code,
            nicplan::Code::PrimaryDetach
                | nicplan::Code::InstanceStatus
                | nicplan::Code::PreventDestroy
                | nicplan::Code::StopRequired
                | nicplan::Code::Ordering
        );
        if planner_only {
            continue;
        }
        let has = |prefix: &str| {
            files.iter().any(|f| {
                code_of(f) == code.as_str()
                    && f.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(prefix))
            })
        };
        assert!(has("bad"), "no bad case for {code}");
        assert!(has("good"), "no good case for {code}");
    }
}

#[test]
fn rendered_reports_match_golden_files() {
    let bless = std::env::var_os("NICPLAN_BLESS").is_some();
    let mut failures = Vec::new();
    for file in case_files() {
        let name = file.to_string_lossy().replace('\\', "/");
        let bytes = fs::read(&file).expect("case file readable");
        let validation = nicplan::validate(&name, bytes, None);
        let code = code_of(&file);
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let fired = validation
            .diagnostics
            .iter()
            .any(|d| d.code.as_str() == code);
        if stem.starts_with("bad") && !fired {
            failures.push(format!("{name}: expected {code}, it did not fire"));
        }
        if stem.starts_with("good") && fired {
            failures.push(format!("{name}: {code} fired on the clean file"));
        }
        let rendered = text::diagnostics(
            &validation.source,
            &validation.diagnostics,
            Style::default(),
        );
        let golden = file.with_extension("out");
        if bless {
            fs::write(&golden, &rendered).expect("golden file writable");
            continue;
        }
        match fs::read_to_string(&golden) {
            Ok(expected) if expected == rendered => {}
            Ok(expected) => failures.push(format!(
                "{name}: output differs from {}\n--- expected\n{expected}\n--- actual\n{rendered}",
                golden.display()
            )),
            Err(_) => failures.push(format!(
                "{name}: no golden file {} (run with NICPLAN_BLESS=1)",
                golden.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
