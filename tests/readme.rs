//! The README's command table against the CLI: every command it names exists and takes
//! every option its row spells, and every command of the CLI has a row.

use std::collections::BTreeSet;
use std::process::Command;

/// `nicplan ARGS --help`, which must succeed.
fn help(path: &[&str]) -> String {
    let out = Command::new(assert_cmd::cargo::cargo_bin("nicplan"))
        .args(path)
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "`nicplan {} --help` failed: {}",
        path.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The commands a help text lists under `Commands:`, without `help`.
fn commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// The first cell of each row of the command table.
fn rows(readme: &str) -> Vec<String> {
    readme
        .lines()
        .filter(|l| l.starts_with("| `nicplan ") && !l.starts_with("| `nicplan::"))
        .map(|l| {
            l[2..]
                .split(" | ")
                .next()
                .expect("a first cell")
                .to_string()
        })
        .collect()
}

/// The code spans of a cell (with `\|` read as `|`).
fn spans(cell: &str) -> Vec<String> {
    cell.replace("\\|", "|")
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The command path a span names: `nicplan sim settings [--quota-vpcs N]` is
/// `sim settings`; a bare `create-subnet` is a sibling of the command before it, and a
/// span of options alone gives more options of it.
fn path(span: &str, before: &[String]) -> Vec<String> {
    let words: Vec<&str> = span.split_whitespace().collect();
    let (mut path, rest): (Vec<String>, &[&str]) = match words.split_first() {
        Some((&"nicplan", rest)) => (Vec::new(), rest),
        // More options of the command before.
        Some((first, _)) if first.starts_with(['-', '[']) => (before.to_vec(), &[]),
        // A sibling of the command before.
        _ => (
            before[..before.len().saturating_sub(1)].to_vec(),
            &words[..],
        ),
    };
    for word in rest {
        let is_command =
            word.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !word.starts_with('-');
        if !is_command {
            break;
        }
        path.push((*word).to_string());
    }
    path
}

/// The options a span spells: `--format`, `-f`, `--refresh` (of `--refresh=false`).
fn options(span: &str) -> Vec<String> {
    span.split(|c: char| c.is_whitespace() || c == '[' || c == ']' || c == '=')
        .filter(|w| w.starts_with('-') && w.len() > 1 && w != &"-")
        .map(|w| w.trim_end_matches(['.', ',']).to_string())
        .collect()
}

/// Whether a help text lists `option` as a whole word (`--format` is not `--formats`).
fn lists(help: &str, option: &str) -> bool {
    help.match_indices(option).any(|(at, _)| {
        let before = help[..at].chars().next_back();
        let after = help[at + option.len()..].chars().next();
        before.is_none_or(|c| c.is_whitespace() || c == ',')
            && after.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-'))
    })
}

#[test]
fn the_command_table_matches_the_cli() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let mut documented: BTreeSet<Vec<String>> = BTreeSet::new();
    for cell in rows(&readme) {
        let mut before: Vec<String> = Vec::new();
        for span in spans(&cell) {
            let path = path(&span, &before);
            assert!(!path.is_empty(), "no command in `{span}` of {cell}");
            let args: Vec<&str> = path.iter().map(String::as_str).collect();
            let text = help(&args);
            for option in options(&span) {
                assert!(
                    lists(&text, &option),
                    "the README gives `nicplan {}` the option {option}, which its --help does not list:\n{text}",
                    path.join(" ")
                );
            }
            documented.insert(path.clone());
            before = path;
        }
    }
    let mut missing = Vec::new();
    for command in commands(&help(&[])) {
        let sub = commands(&help(&[&command]));
        if sub.is_empty() {
            if !documented.contains(&vec![command.clone()]) {
                missing.push(command);
            }
            continue;
        }
        for s in sub {
            if !documented.contains(&vec![command.clone(), s.clone()]) {
                missing.push(format!("{command} {s}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "commands without a row in the README's command table: {missing:?}"
    );
}
