//! The local state store: atomic compare-and-set writes with a backup, refusal of files
//! it cannot read as a state, and a lock that holds across processes.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nicplan::address::{Address, Kind};
use nicplan::resource::{Attributes, Vpc};
use nicplan::state::local::LocalStore;
use nicplan::state::{Entry, LockGuard, LockInfo, State, StateError, StateStore};

/// Set in the child process of `lock_is_exclusive_across_processes` to the state path.
const CHILD_ENV: &str = "NICPLAN_LOCK_CHILD";

/// What marks the child's report of its lock among the test harness's own output.
const CHILD_PREFIX: &str = "LOCKINFO=";

/// How long the parent waits for the child at each step before giving up.
const CHILD_TIMEOUT: Duration = Duration::from_secs(30);

fn state_with_vpc(lineage: &str, name: &str) -> State {
    let mut state = State::new(lineage);
    state.resources.insert(
        Address::new(Kind::Vpc, name),
        Entry {
            id: format!("vpc-{name}"),
            attributes: Attributes::Vpc(Vpc {
                cidr_block: "10.0.0.0/16".parse().expect("cidr"),
            }),
        },
    );
    state
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// Every name in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn write_then_read_round_trips_and_keeps_a_backup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let store = LocalStore::new(&path);
    assert_eq!(store.describe(), path.display().to_string());
    assert!(store.read().expect("reads").is_none());

    let mut state = state_with_vpc("lin-1", "main");
    store.write(&mut state).expect("first write");
    assert_eq!(state.serial, 1);
    assert_eq!(store.read().expect("reads"), Some(state.clone()));
    let first = fs::read(&path).expect("state bytes");
    assert_eq!(first, state.to_json().into_bytes());
    assert!(!store.backup_path().exists(), "no backup of nothing");
    assert_eq!(mode(&path), 0o600);

    state.resources.clear();
    store.write(&mut state).expect("second write");
    assert_eq!(state.serial, 2);
    let read = store.read().expect("reads").expect("a state");
    assert_eq!(read, state);
    assert!(read.resources.is_empty());
    assert_eq!(fs::read(store.backup_path()).expect("backup"), first);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&store.backup_path()), 0o600);

    let second = fs::read(&path).expect("state bytes");
    store.write(&mut state).expect("third write");
    assert_eq!(state.serial, 3);
    assert_eq!(fs::read(store.backup_path()).expect("backup"), second);

    // No temporary file is left behind.
    assert_eq!(listing(dir.path()), ["state.json", "state.json.backup"]);
}

#[test]
fn a_stale_writer_gets_a_conflict_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let store = LocalStore::new(&path);
    store
        .write(&mut state_with_vpc("lin", "a"))
        .expect("creates");

    let mut first = store.read().expect("reads").expect("a state");
    let mut second = store.read().expect("reads").expect("a state");
    assert_eq!((first.serial, second.serial), (1, 1));
    first.resources.clear();
    store.write(&mut first).expect("first writer");
    assert_eq!(first.serial, 2);

    let state_before = fs::read(&path).expect("state");
    let backup_before = fs::read(store.backup_path()).expect("backup");
    let err = store.write(&mut second).expect_err("stale");
    assert!(
        matches!(&err, StateError::Conflict { path: p, expected: 1, found: 2 } if *p == store.describe()),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("serial 1 expected, 2 found"),
        "{err}"
    );
    assert_eq!(
        second.serial, 1,
        "a refused write leaves the serial as read"
    );
    assert_eq!(fs::read(&path).expect("state"), state_before);
    assert_eq!(
        fs::read(store.backup_path()).expect("backup"),
        backup_before
    );
    assert_eq!(listing(dir.path()), ["state.json", "state.json.backup"]);
}

#[test]
fn a_state_whose_file_vanished_or_never_existed_must_be_new() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(dir.path().join("state.json"));
    let mut state = State::new("lin");
    state.serial = 3;
    let err = store.write(&mut state).expect_err("no file at serial 3");
    assert!(
        matches!(
            err,
            StateError::Conflict {
                expected: 3,
                found: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(state.serial, 3);
    assert!(store.read().expect("reads").is_none());
}

#[test]
fn a_failed_write_restores_the_serial_and_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let store = LocalStore::new(&path);
    let mut state = state_with_vpc("lin", "a");
    store.write(&mut state).expect("creates");
    let before = fs::read(&path).expect("state");
    // A folder where the backup should go makes the write fail after the check.
    fs::create_dir(store.backup_path()).expect("mkdir");

    let err = store
        .write(&mut state)
        .expect_err("backup cannot be written");
    assert!(matches!(err, StateError::Io { .. }), "{err:?}");
    assert_eq!(state.serial, 1);
    assert_eq!(fs::read(&path).expect("state"), before);
    assert_eq!(listing(dir.path()), ["state.json", "state.json.backup"]);
}

#[test]
fn files_that_are_not_states_are_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let store = LocalStore::new(&path);
    let valid = state_with_vpc("lin", "a").to_json();
    let cases: [(&str, Vec<u8>); 5] = [
        ("garbage bytes", vec![0xff, 0xfe, 0x00, 0x13, b'{', 0x80]),
        (
            "truncated JSON",
            valid.as_bytes()[..valid.len() / 2].to_vec(),
        ),
        (
            "another shape",
            br#"{"name": "x", "items": [1, 2]}"#.to_vec(),
        ),
        ("an array", b"[1, 2, 3]".to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in cases {
        fs::write(&path, &bytes).expect("writes");
        let err = store.read().expect_err(what);
        assert!(
            matches!(&err, StateError::Corrupt { path: p, .. } if *p == store.describe()),
            "{what}: {err:?}"
        );
        assert!(
            err.to_string().starts_with(&store.describe()),
            "{what}: {err}"
        );

        let mut state = State::new("lin");
        let err = store.write(&mut state).expect_err(what);
        assert!(matches!(err, StateError::Corrupt { .. }), "{what}: {err:?}");
        assert_eq!(state.serial, 0, "{what}");
        assert_eq!(
            fs::read(&path).expect("reads"),
            bytes,
            "{what}: file changed"
        );
        assert!(!store.backup_path().exists(), "{what}");
    }
}

#[test]
fn a_newer_format_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let store = LocalStore::new(&path);
    let newer = r#"{"version": 2, "lineage": "x", "serial": 1, "resources": {}, "extra": true}"#;
    fs::write(&path, newer).expect("writes");
    let err = store.read().expect_err("too new");
    assert!(
        matches!(&err, StateError::TooNew { path: p, found: 2 } if *p == store.describe()),
        "{err:?}"
    );
    let mut state = State::new("x");
    state.serial = 1;
    assert!(matches!(
        store.write(&mut state),
        Err(StateError::TooNew { .. })
    ));
    assert_eq!(state.serial, 1);
    assert_eq!(fs::read_to_string(&path).expect("reads"), newer);
}

#[test]
fn an_oversized_file_is_corrupt_without_being_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    // Sparse: takes no space, and would take seconds and 257 MiB to read.
    let file = fs::File::create(&path).expect("creates");
    file.set_len(257 * 1024 * 1024).expect("set_len");
    drop(file);
    let started = Instant::now();
    let err = LocalStore::new(&path).read().expect_err("too large");
    assert!(matches!(err, StateError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("bytes"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_path_that_is_a_folder_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = LocalStore::new(dir.path()).read().expect_err("a folder");
    assert!(matches!(err, StateError::Io { .. }), "{err:?}");
}

/// Not a test on its own: the child process of `lock_is_exclusive_across_processes`.
/// Takes the lock, reports it, and keeps it until stdin has a line or ends.
#[test]
fn lock_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let store = LocalStore::new(path);
    let info = store.lock("apply").expect("child takes the lock");
    let json = serde_json::to_string(&info).expect("json");
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{CHILD_PREFIX}{json}").expect("stdout");
    stdout.flush().expect("flush");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    store.unlock(&info).expect("child releases the lock");
}

/// Kills the child if the test fails before it is waited for.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn lock_is_exclusive_across_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let store = LocalStore::new(&path);

    let mut child = Child(
        Command::new(std::env::current_exe().expect("current_exe"))
            .args(["--exact", "lock_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawns the child"),
    );
    let stdout = child.0.stdout.take().expect("child stdout");
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // The harness may have written `test lock_child ... ` on the same line.
            if let Some((_, json)) = line.split_once(CHILD_PREFIX) {
                let _ = send.send(json.to_string());
            }
        }
    });
    let json = receive
        .recv_timeout(CHILD_TIMEOUT)
        .expect("the child reports its lock in time");
    let held: LockInfo = serde_json::from_str(&json).expect("lock info");
    assert_eq!(held.command, "apply");
    assert!(!held.id.is_empty());

    // The file on disk says the same, and is private.
    let on_disk: LockInfo =
        serde_json::from_str(&fs::read_to_string(store.lock_path()).expect("lock file"))
            .expect("lock json");
    assert_eq!(on_disk, held);
    assert_eq!(mode(&store.lock_path()), 0o600);

    let err = store.lock("plan").expect_err("the child holds it");
    match &err {
        StateError::Locked {
            path: p,
            holder,
            id,
        } => {
            assert_eq!(*p, store.describe());
            assert_eq!(*id, held.id);
            assert!(holder.contains(&held.who), "{holder}");
            assert!(holder.contains("`nicplan apply`"), "{holder}");
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains(&format!("nicplan force-unlock {}", held.id)),
        "{err}"
    );

    let err = store.force_unlock("not-the-id").expect_err("wrong id");
    match &err {
        StateError::NotLocked { id, current, .. } => {
            assert_eq!(id, "not-the-id");
            assert!(current.contains(&held.id), "{current}");
            assert!(current.contains(&held.who), "{current}");
        }
        other => panic!("expected NotLocked, got {other:?}"),
    }
    assert!(store.lock_path().exists(), "a wrong id releases nothing");

    // Let the child go.
    drop(child.0.stdin.take());
    let deadline = Instant::now() + CHILD_TIMEOUT;
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("try_wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the child did not exit in time");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "child: {status}");
    assert!(!store.lock_path().exists());

    let mine = store.lock("plan").expect("free again");
    assert_ne!(mine.id, held.id);
    assert_eq!(mine.who, held.who);
    store.unlock(&mine).expect("unlocks");
}

#[test]
fn only_one_of_many_threads_takes_the_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    // Each store keeps the lock it took for as long as it lives: all live to the end.
    let stores: Vec<LocalStore> = (0..16).map(|_| LocalStore::new(&path)).collect();
    let results: Vec<Result<LockInfo, StateError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .iter()
            .map(|store| scope.spawn(move || store.lock("apply")))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("joins"))
            .collect()
    });
    let winners: Vec<&LockInfo> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for result in &results {
        if let Err(err) = result {
            assert!(
                matches!(err, StateError::Locked { id, .. } if *id == winners[0].id),
                "{err:?}"
            );
        }
    }
}

#[test]
fn the_guard_releases_the_lock_when_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(dir.path().join("state.json"));
    {
        let guard = LockGuard::acquire(&store, "apply").expect("locks");
        assert_eq!(guard.info().command, "apply");
        assert!(store.lock_path().exists());
        let err = store.lock("plan").expect_err("held by the guard");
        assert!(matches!(err, StateError::Locked { id, .. } if id == guard.info().id));
    }
    assert!(!store.lock_path().exists());
    let info = store.lock("plan").expect("free after the drop");
    store.unlock(&info).expect("unlocks");
}

#[test]
fn force_unlock_releases_a_lock_left_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(dir.path().join("state.json"));
    let left = store.lock("apply").expect("locks");
    assert!(store.lock("plan").is_err());
    store.force_unlock(&left.id).expect("right id");
    assert!(!store.lock_path().exists());

    let err = store.force_unlock(&left.id).expect_err("already free");
    assert!(
        matches!(&err, StateError::NotLocked { current, .. } if current == "; it is not locked"),
        "{err:?}"
    );
    let again = store.lock("plan").expect("free");
    store.unlock(&again).expect("unlocks");
}

#[test]
fn unlock_leaves_someone_elses_lock_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(dir.path().join("state.json"));
    let mine = store.lock("apply").expect("locks");
    store.force_unlock(&mine.id).expect("forced");
    let theirs = store.lock("state rm").expect("someone else locks");
    let err = store.unlock(&mine).expect_err("not mine any more");
    assert!(
        matches!(&err, StateError::NotLocked { current, .. } if current.contains(&theirs.id)),
        "{err:?}"
    );
    assert!(store.lock_path().exists());
    store.unlock(&theirs).expect("theirs");
}

#[test]
fn a_lock_file_nobody_holds_is_stale_whatever_it_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(dir.path().join("state.json"));
    // Garbage: taken over, with nothing to say about its holder.
    fs::write(store.lock_path(), b"\x00garbage").expect("writes");
    let info = store.lock("apply").expect("stale");
    assert!(info.took_over.is_none());
    let on_disk: LockInfo =
        serde_json::from_str(&fs::read_to_string(store.lock_path()).expect("lock")).expect("json");
    assert_eq!(on_disk.id, info.id);
    assert_eq!(on_disk.pid, Some(std::process::id()));
    store.unlock(&info).expect("unlocks");
    // A record of a holder that is gone: taken over, naming it.
    let gone = LockInfo {
        id: "gone-1".to_string(),
        who: "alice@ci".to_string(),
        when: "2026-11-26T10:00:00Z".to_string(),
        command: "apply".to_string(),
        pid: Some(4_000_000),
        took_over: None,
    };
    fs::write(
        store.lock_path(),
        serde_json::to_string(&gone).expect("json"),
    )
    .expect("writes");
    let info = store.lock("plan").expect("stale");
    assert_eq!(info.took_over.as_deref(), Some(&gone));
    assert!(store.lock("refresh").is_err(), "held now");
    store.unlock(&info).expect("unlocks");
    assert!(!store.lock_path().exists());
}

#[test]
fn a_lock_dies_with_the_store_that_holds_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let first = LocalStore::new(&path);
    let held = first.lock("apply").expect("locks");
    let second = LocalStore::new(&path);
    assert!(matches!(second.lock("plan"), Err(StateError::Locked { id, .. }) if id == held.id));
    // As when the holding process ends without releasing it.
    drop(first);
    let mine = second.lock("plan").expect("free once its holder is gone");
    assert_eq!(mine.took_over.as_ref().map(|t| t.id.clone()), Some(held.id));
    second.unlock(&mine).expect("unlocks");
}

#[test]
fn waiting_for_a_lock_takes_it_when_its_holder_lets_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let first = LocalStore::new(&path);
    let held = first.lock("apply").expect("locks");
    let second = LocalStore::new(&path);
    let start = Instant::now();
    assert!(
        second
            .lock_within("plan", Duration::from_millis(300))
            .is_err()
    );
    assert!(start.elapsed() >= Duration::from_millis(300));
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(200));
            first.unlock(&held).expect("unlocks");
        });
        let mine = second
            .lock_within("plan", Duration::from_secs(30))
            .expect("taken once released");
        second.unlock(&mine).expect("unlocks");
    });
}

#[test]
fn a_state_of_another_lineage_is_never_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let store = LocalStore::new(&path);
    store
        .write(&mut state_with_vpc("lin", "a"))
        .expect("creates");
    let before = fs::read(&path).expect("state");
    let mut other = store.read().expect("reads").expect("a state");
    other.lineage = "another".into();
    let err = store.write(&mut other).expect_err("other lineage");
    assert!(matches!(&err, StateError::Lineage { .. }), "{err:?}");
    assert_eq!(other.serial, 1, "serial untouched");
    assert_eq!(fs::read(&path).expect("state"), before);
}

fn vpc_entry(name: &str) -> (Address, Entry) {
    let state = state_with_vpc("x", name);
    state.resources.into_iter().next().expect("one entry")
}

#[test]
fn steps_are_appended_to_a_journal_that_the_next_read_folds_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.json");
    let store = LocalStore::new(&path);
    let mut state = state_with_vpc("lin", "a");
    store.write(&mut state).expect("first write");
    let written = fs::read(&path).expect("state");
    // Two steps and a third from another thread, appended without touching the file.
    let mut changes = Vec::new();
    for name in ["b", "c"] {
        let (address, entry) = vpc_entry(name);
        state.resources.insert(address, entry);
        changes.push(state.change_at(&address));
        let serial = store
            .append(&mut state, &changes[changes.len() - 1..])
            .expect("append");
        store.sync(serial).expect("sync");
    }
    let a = Address::new(Kind::Vpc, "a");
    state.resources.remove(&a);
    let change = state.change_at(&a);
    let serial = store.append(&mut state, &[change]).expect("append");
    store.sync(serial).expect("sync");
    assert_eq!(state.serial, 4);
    assert_eq!(
        fs::read(&path).expect("state"),
        written,
        "the state file is untouched"
    );
    assert_eq!(mode(&store.journal_path()), 0o600);
    // A crash here: another process reads the state with its journal.
    let read = LocalStore::new(&path)
        .read()
        .expect("read")
        .expect("a state");
    assert_eq!(read, state);
    // A line cut short by the crash changes nothing.
    let mut journal = fs::OpenOptions::new()
        .append(true)
        .open(store.journal_path())
        .expect("journal");
    journal
        .write_all(b"{\"lineage\":\"lin\",\"ser")
        .expect("torn");
    drop(journal);
    let again = LocalStore::new(&path);
    assert_eq!(again.read().expect("read").expect("a state"), state);
    // The next run appends after it, on a line of its own, and folds it in.
    let mut next = again.read().expect("read").expect("a state");
    let (address, entry) = vpc_entry("d");
    next.resources.insert(address, entry);
    let change = next.change_at(&address);
    let serial = again.append(&mut next, &[change]).expect("append");
    again.sync(serial).expect("sync");
    assert_eq!(
        LocalStore::new(&path)
            .read()
            .expect("read")
            .expect("a state"),
        next
    );
    // A full write takes the journal in and removes it.
    again.write(&mut next).expect("full write");
    assert!(!again.journal_path().exists());
    let folded = LocalStore::new(&path)
        .read()
        .expect("read")
        .expect("a state");
    assert_eq!(folded, next);
    assert_eq!(folded.serial, 6);
}

#[test]
fn a_damaged_journal_is_refused_naming_it_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.json");
    let store = LocalStore::new(&path);
    let mut state = state_with_vpc("lin", "a");
    store.write(&mut state).expect("first write");
    for name in ["b", "c"] {
        let (address, entry) = vpc_entry(name);
        state.resources.insert(address, entry);
        let change = state.change_at(&address);
        let serial = store.append(&mut state, &[change]).expect("append");
        store.sync(serial).expect("sync");
    }
    let journal = store.journal_path();
    let text = fs::read_to_string(&journal).expect("journal");
    let damaged = text.replacen("{\"lineage\"", "{\"lineag", 1);
    fs::write(&journal, &damaged).expect("damage");
    let err = LocalStore::new(&path).read().expect_err("refused");
    let message = err.to_string();
    assert!(
        message.contains("s.json.journal") && message.contains("damaged"),
        "{message}"
    );
    assert_eq!(fs::read_to_string(&journal).expect("journal"), damaged);
    // Its own ID on another entry: refused too.
    let twice = text.replace("vpc-c", "vpc-a");
    fs::write(&journal, &twice).expect("write");
    let message = LocalStore::new(&path)
        .read()
        .expect_err("refused")
        .to_string();
    assert!(message.contains("both have ID vpc-a"), "{message}");
}

#[test]
fn a_state_in_a_folder_that_does_not_exist_is_refused_and_no_folder_is_made() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().join("typo").join("deeper");
    let store = LocalStore::new(folder.join("state.json"));
    let mut state = State::new("lin");
    let err = store.write(&mut state).expect_err("no such folder");
    assert!(
        err.to_string()
            .contains("the state's folder does not exist"),
        "{err}"
    );
    let err = store
        .lock("apply")
        .expect_err("no lock in a missing folder");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!dir.path().join("typo").exists(), "no folder was made");
    // Its folder made, the same state is written.
    fs::create_dir_all(&folder).expect("mkdir");
    store.write(&mut state).expect("written");
    assert!(folder.join("state.json").exists());
}
