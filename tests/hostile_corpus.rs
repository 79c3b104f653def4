//! The hostile-input corpus of `tests/hostile/`: desired-state files, state files and
//! saved plans that are each bad in their own way. Every file is given to the real
//! binary in its role, in a working folder holding an applied simulator and its state
//! (`tests/hostile-workspace/`), and must be refused: exit 1 (never 101, never a
//! signal), the message `tests/hostile/EXPECT` names for it, no panic, within a time and
//! a memory bound, and not one byte changed or added in the folder. Adding a file to the
//! corpus adds a case; a file without an expectation, or an expectation without a
//! file, fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod common;

use common::tree;

/// The fewest files the corpus may hold.
const MIN_CORPUS: usize = 40;
/// How long one command may take.
const WALL: Duration = Duration::from_secs(10);
/// The address space one command may take, in KiB (`ulimit -v`): 1 GiB.
const MEMORY_KIB: u64 = 1 << 20;
/// Commands run at once.
const WORKERS: usize = 3;

const KINDS: [&str; 3] = ["desired", "state", "plans"];

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/hostile-workspace")
        .join(name)
}

/// What one command must do with one file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Expect {
    exit: i32,
    fragment: String,
}

/// `EXPECT`: per corpus path, the expectation for every command, and overrides per
/// command.
#[derive(Default)]
struct Expectations {
    all: BTreeMap<String, Expect>,
    per_command: BTreeMap<(String, String), Expect>,
}

impl Expectations {
    fn read() -> Expectations {
        let text = std::fs::read_to_string(corpus_root().join("EXPECT")).expect("EXPECT");
        let mut out = Expectations::default();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, fragment) = line
                .split_once(": ")
                .unwrap_or_else(|| panic!("EXPECT line {}: no `: `", n + 1));
            assert!(!fragment.trim().is_empty(), "EXPECT line {}: empty", n + 1);
            let (path, command) = match key.split_once(" [") {
                Some((path, rest)) => (path, Some(rest.trim_end_matches(']'))),
                None => (key, None),
            };
            let fragment = fragment.to_string();
            match command {
                None => {
                    let old = out
                        .all
                        .insert(path.to_string(), Expect { exit: 1, fragment });
                    assert!(old.is_none(), "EXPECT names {path} twice");
                }
                Some(command) => {
                    let mut words = command.split(' ');
                    let name = words.next().expect("command").to_string();
                    let exit = match (words.next(), words.next()) {
                        (Some("exit"), Some(code)) => code.parse().expect("exit code"),
                        (None, None) => 1,
                        _ => panic!("EXPECT line {}: `[COMMAND exit N]`", n + 1),
                    };
                    out.per_command
                        .insert((path.to_string(), name), Expect { exit, fragment });
                }
            }
        }
        out
    }

    fn get(&self, path: &str, command: &str) -> Expect {
        if let Some(e) = self
            .per_command
            .get(&(path.to_string(), command.to_string()))
        {
            return e.clone();
        }
        self.all
            .get(path)
            .unwrap_or_else(|| panic!("EXPECT says nothing of {path}"))
            .clone()
    }
}

/// Every corpus file, as `KIND/NAME`, sorted.
fn corpus() -> Vec<String> {
    let mut files = Vec::new();
    for kind in KINDS {
        let dir = corpus_root().join(kind);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let entry = entry.expect("entry");
            assert!(
                entry.file_type().expect("type").is_file(),
                "{:?}",
                entry.path()
            );
            files.push(format!("{kind}/{}", entry.file_name().to_string_lossy()));
        }
    }
    files.sort();
    files
}

/// A working folder like one `apply` left: the fixture's file, state and simulator.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = |from: &str, to: &str| {
        std::fs::copy(fixture(from), dir.path().join(to)).expect("copy fixture");
    };
    std::fs::create_dir(dir.path().join(".nicplan")).expect("mkdir");
    copy("nicplan.yaml", "nicplan.yaml");
    copy("state.json", "nicplan.state.json");
    copy("sim.json", ".nicplan/sim.json");
    std::fs::write(dir.path().join(".nicplan/sim.json.lock"), b"").expect("lock file");
    dir
}

/// A plan file's bytes for a working folder: a plan whose checksum holds and that holds
/// `@WORKDIR@` gets the folder in its place and a new checksum; any other file is
/// given as it is.
fn plan_for(bytes: &[u8], workdir: &Path) -> Vec<u8> {
    const PLACEHOLDER: &[u8] = b"@WORKDIR@";
    let Some(newline) = bytes.iter().position(|&b| b == b'\n') else {
        return bytes.to_vec();
    };
    let (header, body) = (&bytes[..newline], &bytes[newline + 1..]);
    let sealed = format!("nicplan-plan 1 sha256:{}", nicplan::saved::sha256_hex(body));
    if header != sealed.as_bytes() || !body.windows(PLACEHOLDER.len()).any(|w| w == PLACEHOLDER) {
        return bytes.to_vec();
    }
    let body = String::from_utf8(body.to_vec())
        .expect("a sealed plan is UTF-8")
        .replace("@WORKDIR@", &workdir.display().to_string());
    let mut out = format!(
        "nicplan-plan 1 sha256:{}\n",
        nicplan::saved::sha256_hex(body.as_bytes())
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// The outcome of one run of the binary.
struct Run {
    code: Option<i32>,
    output: String,
    elapsed: Duration,
}

/// Runs nicplan in `dir` under the memory bound, killed past the time bound.
fn nicplan(dir: &Path, args: &[&str]) -> Run {
    let binary = assert_cmd::cargo::cargo_bin("nicplan");
    let start = Instant::now();
    let out = assert_cmd::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\""))
        .arg(&binary)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("NICPLAN_SIM_BUILD_MS", "0")
        .env_remove("NICPLAN_SIM_DELAYS")
        .env_remove("NICPLAN_STATE")
        .env_remove("NICPLAN_BACKEND")
        .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_ID")
        .env_remove("KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET")
        .env_remove("KAKAOCLOUD_ENDPOINT")
        .timeout(WALL + Duration::from_secs(5))
        .output()
        .expect("runs");
    Run {
        code: out.status.code(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        elapsed: start.elapsed(),
    }
}

/// What is wrong with one run, if anything.
fn judge(case: &str, command: &str, run: &Run, expect: &Expect) -> Vec<String> {
    let mut problems = Vec::new();
    if run.code != Some(expect.exit) {
        problems.push(format!(
            "exit {:?} (a signal when None), not {}",
            run.code, expect.exit
        ));
    }
    if !run.output.contains(&expect.fragment) {
        problems.push(format!("no `{}` in its output", expect.fragment));
    }
    if run.output.contains("panicked") {
        problems.push("it panicked".to_string());
    }
    if run.elapsed > WALL {
        problems.push(format!("it took {:?}", run.elapsed));
    }
    problems
        .into_iter()
        .map(|p| {
            let shown: String = run.output.chars().take(1500).collect();
            format!("{case} ({command}): {p}\n--- output ---\n{shown}\n")
        })
        .collect()
}

/// Runs every command of one case; the problems found.
fn check_case(case: &str, expectations: &Expectations) -> Vec<String> {
    let (kind, name) = case.split_once('/').expect("KIND/NAME");
    let bytes = std::fs::read(corpus_root().join(case)).expect("corpus file");
    let dir = workspace();
    let commands: Vec<(&str, Vec<&str>)> = match kind {
        "desired" => {
            std::fs::write(dir.path().join(name), &bytes).expect("write");
            vec![
                ("validate", vec!["validate", "-f", name]),
                ("plan", vec!["plan", "-f", name]),
            ]
        }
        "state" => {
            std::fs::write(dir.path().join("nicplan.state.json"), &bytes).expect("write");
            vec![("plan", vec!["plan"])]
        }
        "plans" => {
            std::fs::write(dir.path().join(name), plan_for(&bytes, dir.path())).expect("write");
            vec![
                ("apply", vec!["apply", name, "--auto-approve"]),
                ("show", vec!["show", name]),
            ]
        }
        other => panic!("unknown kind {other}"),
    };
    let mut problems = Vec::new();
    for (command, args) in commands {
        let before = tree(dir.path());
        let run = nicplan(dir.path(), &args);
        problems.extend(judge(case, command, &run, &expectations.get(case, command)));
        let after = tree(dir.path());
        if before != after {
            let changed: Vec<_> = before
                .keys()
                .chain(after.keys())
                .filter(|p| before.get(*p) != after.get(*p))
                .collect();
            problems.push(format!("{case} ({command}): it changed {changed:?}"));
        }
    }
    problems
}

#[test]
fn every_corpus_file_is_refused_and_touches_nothing() {
    let files = corpus();
    assert!(
        files.len() >= MIN_CORPUS,
        "the corpus holds {} files, fewer than {MIN_CORPUS}",
        files.len()
    );
    for kind in KINDS {
        assert!(
            files.iter().any(|f| f.starts_with(&format!("{kind}/"))),
            "no {kind} files"
        );
    }
    let expectations = Expectations::read();
    let stale: Vec<_> = expectations
        .all
        .keys()
        .chain(expectations.per_command.keys().map(|(p, _)| p))
        .filter(|p| !files.contains(p))
        .collect();
    assert!(
        stale.is_empty(),
        "EXPECT names files that are not there: {stale:?}"
    );
    for file in &files {
        assert!(
            expectations.all.contains_key(file),
            "EXPECT says nothing of {file}"
        );
    }

    let queue = Mutex::new(files.iter());
    let problems = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let Some(case) = queue.lock().expect("queue").next() else {
                        return;
                    };
                    let found = check_case(case, &expectations);
                    problems.lock().expect("problems").extend(found);
                }
            });
        }
    });
    let problems = problems.into_inner().expect("problems");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The corpus is only as good as its workspace: there, an honest plan is made, shown
/// and applied, and an honest state plans, so a refusal above is the file's doing.
#[test]
fn the_workspace_takes_honest_input() {
    let dir = workspace();
    let run = nicplan(dir.path(), &["plan", "--out", "honest.plan"]);
    assert_eq!(run.code, Some(0), "{}", run.output);
    assert!(run.output.contains("Plan: 1 to create"), "{}", run.output);
    let run = nicplan(dir.path(), &["show", "honest.plan"]);
    assert_eq!(run.code, Some(0), "{}", run.output);
    let run = nicplan(dir.path(), &["apply", "honest.plan", "--auto-approve"]);
    assert_eq!(run.code, Some(0), "{}", run.output);
    assert!(run.output.contains("Apply complete"), "{}", run.output);
    let run = nicplan(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, Some(0), "{}", run.output);

    // A corpus plan file, sealed for this folder, differs from the honest one only in
    // the way it was made to.
    let dir = workspace();
    let honest = nicplan(dir.path(), &["plan", "--out", "honest.plan"]);
    assert_eq!(honest.code, Some(0), "{}", honest.output);
    let stale = std::fs::read(corpus_root().join("plans/stale-serial.plan")).expect("plan");
    let stale = plan_for(&stale, dir.path());
    assert!(String::from_utf8_lossy(&stale).contains(&dir.path().display().to_string()));
    std::fs::write(dir.path().join("stale.plan"), stale).expect("write");
    let run = nicplan(dir.path(), &["show", "stale.plan"]);
    assert_eq!(run.code, Some(0), "{}", run.output);
}

/// Files too large to keep in git, made here.
#[test]
fn oversized_inputs_are_refused_before_they_are_read() {
    // A desired file one byte past the limit.
    let dir = workspace();
    let mut big = b"version: 1\n".to_vec();
    big.resize(nicplan::spec::MAX_FILE_BYTES + 1, b'#');
    std::fs::write(dir.path().join("big.yaml"), &big).expect("write");
    drop(big);
    let before = tree(dir.path());
    for args in [["validate", "-f", "big.yaml"], ["plan", "-f", "big.yaml"]] {
        let run = nicplan(dir.path(), &args);
        let expect = Expect {
            exit: 1,
            fragment: "more than the 67108864 bytes a desired-state file may have".into(),
        };
        let problems = judge("big.yaml", args[0], &run, &expect);
        assert!(problems.is_empty(), "{problems:?}");
    }
    assert!(before == tree(dir.path()), "big.yaml: the folder changed");

    // A name of 100,000 characters.
    let dir = workspace();
    let doc = format!(
        "version: 1\nvpcs:\n  {}:\n    cidr_block: 10.0.0.0/16\n",
        "a".repeat(100_000)
    );
    std::fs::write(dir.path().join("long.yaml"), doc).expect("write");
    let run = nicplan(dir.path(), &["validate", "-f", "long.yaml"]);
    let problems = judge(
        "long.yaml",
        "validate",
        &run,
        &Expect {
            exit: 1,
            fragment: "long.yaml is not valid".into(),
        },
    );
    assert!(problems.is_empty(), "{problems:?}");

    // A plan file and a state file past their limits, sparse so they cost no disk.
    let dir = workspace();
    let plan = std::fs::File::create(dir.path().join("huge.plan")).expect("create");
    plan.set_len(512 * 1024 * 1024 + 1).expect("set_len");
    let state = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("nicplan.state.json"))
        .expect("open");
    state.set_len(256 * 1024 * 1024 + 1).expect("set_len");
    let before = snapshot_names(dir.path());
    for (args, fragment) in [
        (&["show", "huge.plan"][..], "larger than any plan file"),
        (
            &["apply", "huge.plan", "--auto-approve"][..],
            "larger than any plan file",
        ),
        (&["plan"][..], "larger than any state"),
    ] {
        let run = nicplan(dir.path(), args);
        let expect = Expect {
            exit: 1,
            fragment: fragment.into(),
        };
        let problems = judge("huge", args[0], &run, &expect);
        assert!(problems.is_empty(), "{problems:?}");
    }
    assert_eq!(before, snapshot_names(dir.path()), "the folder changed");
}

/// Names and sizes only: the sparse files are not read into memory.
fn snapshot_names(dir: &Path) -> BTreeMap<PathBuf, u64> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(folder) = todo.pop() {
        for entry in std::fs::read_dir(&folder).expect("read_dir") {
            let entry = entry.expect("entry");
            let metadata = entry.metadata().expect("metadata");
            if metadata.is_dir() {
                todo.push(entry.path());
            }
            let relative = entry
                .path()
                .strip_prefix(dir)
                .expect("inside")
                .to_path_buf();
            out.insert(relative, metadata.len());
        }
    }
    out
}
