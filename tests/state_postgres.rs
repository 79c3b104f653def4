//! The PostgreSQL state store against a real server: compare-and-set writes, refusal of
//! documents it cannot read, a journal of rows that reads fold in and full writes take
//! in, and an advisory lock that holds across connections as it would across processes.
//!
//! The server is named by `NICPLAN_TEST_POSTGRES` (`.ci/postgres.sh` starts one and sets
//! it). Without it the tests pass with a note, except under CI, where they must run.
//! Every test uses a state name of its own, so they run in parallel in one database.

use std::io::Write;
use std::sync::Once;
use std::time::{Duration, Instant};

use nicplan::address::{Address, Kind};
use nicplan::resource::{Attributes, Vpc};
use nicplan::state::journal::{self, Change};
use nicplan::state::postgres::{PostgresStore, lock_key};
use nicplan::state::{Entry, LockGuard, State, StateError, StateStore};
use postgres::NoTls;

/// The longest any one test may take; every wait in the store is bounded well below.
const TEST_BUDGET: Duration = Duration::from_secs(60);

/// The server's URL, or `None` (after saying so) when there is none outside CI.
fn server() -> Option<String> {
    match std::env::var("NICPLAN_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("NICPLAN_TEST_POSTGRES is not set under CI: .ci/postgres.sh must start a server")
        }
        _ => {
            // Straight to stderr, past the harness's capture, and once for all tests.
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "state_postgres: skipped, NICPLAN_TEST_POSTGRES is not set (source .ci/postgres.sh to run them)"
                );
            });
            None
        }
    }
}

/// A state name no other test uses.
fn unique_name() -> String {
    format!("test-{}", uuid::Uuid::new_v4())
}

fn connect(url: &str, name: &str) -> PostgresStore {
    PostgresStore::connect(url, name).expect("connects")
}

/// A plain connection to the test database, to look behind the store's back.
fn raw(url: &str) -> postgres::Client {
    postgres::Client::connect(url, NoTls).expect("raw connection")
}

fn stored_document(url: &str, name: &str) -> Option<String> {
    raw(url)
        .query_opt(
            "SELECT document FROM nicplan_state WHERE name = $1",
            &[&name],
        )
        .expect("select")
        .map(|row| row.get(0))
}

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

/// Runs `test` against the server unless there is none, and fails it if it overran.
fn with_server(test: impl FnOnce(&str)) {
    let Some(url) = server() else { return };
    let started = Instant::now();
    test(&url);
    assert!(
        started.elapsed() < TEST_BUDGET,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_missing_state_reads_as_none() {
    with_server(|url| {
        let store = connect(url, &unique_name());
        assert!(store.read().expect("reads").is_none());
    });
}

#[test]
fn writes_round_trip_and_count_serials() {
    with_server(|url| {
        let name = unique_name();
        let store = connect(url, &name);
        let mut state = state_with_vpc("lineage-a", "main");
        for expected in 1..=3 {
            store.write(&mut state).expect("writes");
            assert_eq!(state.serial, expected);
            let read = store.read().expect("reads").expect("a state");
            assert_eq!(read, state);
        }
        // The document itself carries the serial of its row.
        let document = stored_document(url, &name).expect("a row");
        assert_eq!(
            State::from_json("row", &document).expect("parses").serial,
            3
        );
        // Another connection, as another process, sees the same.
        let other = connect(url, &name);
        assert_eq!(other.read().expect("reads"), Some(state));
    });
}

#[test]
fn a_stale_writer_gets_a_conflict_and_changes_nothing() {
    with_server(|url| {
        let name = unique_name();
        let first = connect(url, &name);
        let second = connect(url, &name);
        let mut state = state_with_vpc("lineage-a", "main");
        first.write(&mut state).expect("creates");
        let mut stale = second.read().expect("reads").expect("a state");
        first.write(&mut state).expect("writes serial 2");
        let before = stored_document(url, &name);

        stale.resources.clear();
        let err = second.write(&mut stale).expect_err("stale");
        assert!(
            matches!(
                err,
                StateError::Conflict {
                    expected: 1,
                    found: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(stale.serial, 1, "the caller's serial is restored");
        assert_eq!(stored_document(url, &name), before);

        // A fresh state (serial 0) over an existing one is stale too.
        let mut fresh = State::new("lineage-a");
        let err = second.write(&mut fresh).expect_err("stale");
        assert!(
            matches!(
                err,
                StateError::Conflict {
                    expected: 0,
                    found: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(fresh.serial, 0);
        assert_eq!(stored_document(url, &name), before);
    });
}

#[test]
fn a_first_write_with_a_serial_finds_nothing_to_follow() {
    with_server(|url| {
        let name = unique_name();
        let store = connect(url, &name);
        let mut state = State::new("lineage-a");
        state.serial = 4;
        let err = store.write(&mut state).expect_err("nothing at serial 4");
        assert!(
            matches!(
                err,
                StateError::Conflict {
                    expected: 4,
                    found: 0,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(state.serial, 4);
        assert!(stored_document(url, &name).is_none());
    });
}

#[test]
fn another_lineage_is_refused() {
    with_server(|url| {
        let name = unique_name();
        let store = connect(url, &name);
        let mut ours = state_with_vpc("lineage-a", "main");
        store.write(&mut ours).expect("creates");
        let before = stored_document(url, &name);

        let mut theirs = state_with_vpc("lineage-b", "main");
        theirs.serial = 1;
        let err = store.write(&mut theirs).expect_err("another lineage");
        match &err {
            StateError::Lineage {
                expected, found, ..
            } => {
                assert_eq!(expected, "lineage-b");
                assert_eq!(found, "lineage-a");
            }
            other => panic!("{other}"),
        }
        assert_eq!(theirs.serial, 1);
        assert_eq!(stored_document(url, &name), before);
    });
}

#[test]
fn unreadable_documents_are_refused_and_left_alone() {
    with_server(|url| {
        for (document, too_new) in [
            ("{ this is not json", false),
            (r#"{"version": 1, "lineage": "l"}"#, false),
            (
                r#"{"version": 99, "lineage": "l", "serial": 1, "resources": {}}"#,
                true,
            ),
        ] {
            let name = unique_name();
            raw(url)
                .execute(
                    "INSERT INTO nicplan_state (name, lineage, serial, document)
                     VALUES ($1, 'l', 1, $2)",
                    &[&name, &document],
                )
                .expect("insert");
            let store = connect(url, &name);
            let check = |err: StateError| match (too_new, &err) {
                (false, StateError::Corrupt { path, .. })
                | (true, StateError::TooNew { path, .. }) => {
                    assert!(path.ends_with(&format!("#{name}")), "{path}");
                }
                _ => panic!("{document}: {err}"),
            };
            check(store.read().expect_err("unreadable"));
            let mut state = State::new("l");
            state.serial = 1;
            check(store.write(&mut state).expect_err("unreadable"));
            assert_eq!(state.serial, 1);
            assert_eq!(stored_document(url, &name).as_deref(), Some(document));
        }
    });
}

#[test]
fn a_row_that_disagrees_with_its_document_is_corrupt() {
    with_server(|url| {
        let name = unique_name();
        let mut state = state_with_vpc("lineage-a", "main");
        state.serial = 2;
        raw(url)
            .execute(
                "INSERT INTO nicplan_state (name, lineage, serial, document)
                 VALUES ($1, 'lineage-a', 7, $2)",
                &[&name, &state.to_json()],
            )
            .expect("insert");
        let store = connect(url, &name);
        let err = store.write(&mut state).expect_err("disagrees");
        assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
        assert_eq!(state.serial, 2);
    });
}

#[test]
fn the_lock_holds_across_connections_and_names_its_holder() {
    with_server(|url| {
        let name = unique_name();
        let holder = connect(url, &name);
        let other = connect(url, &name);
        let info = holder.lock("apply").expect("locks");
        assert_eq!(info.command, "apply");
        assert!(info.who.contains('@'), "{}", info.who);

        let err = other.lock("state rm").expect_err("held");
        match &err {
            StateError::Locked { holder, id, .. } => {
                assert_eq!(id, &info.id);
                assert!(holder.contains("`nicplan apply`"), "{holder}");
                assert!(holder.contains(&info.who), "{holder}");
                assert!(holder.contains(&info.id), "{holder}");
                assert!(holder.contains(&info.when), "{holder}");
            }
            other => panic!("{other}"),
        }
        assert!(
            err.to_string()
                .contains(&format!("force-unlock {}", info.id))
        );
        // The holder itself cannot take it twice either.
        assert!(matches!(
            holder.lock("plan"),
            Err(StateError::Locked { .. })
        ));
        // Reads and writes are not blocked by the lock: only lockers are.
        let mut state = State::new("lineage-a");
        other.write(&mut state).expect("writes");
        holder.unlock(&info).expect("unlocks");
    });
}

#[test]
fn unlock_releases() {
    with_server(|url| {
        let name = unique_name();
        let first = connect(url, &name);
        let second = connect(url, &name);
        let info = first.lock("apply").expect("locks");
        first.unlock(&info).expect("unlocks");
        let again = second.lock("apply").expect("locks after release");
        assert_ne!(again.id, info.id);
        // The old lock is gone: unlocking it again says so and frees nothing.
        let err = first.unlock(&info).expect_err("not locked");
        assert!(matches!(err, StateError::NotLocked { .. }), "{err}");
        assert!(err.to_string().contains(&again.id), "{err}");
        assert!(matches!(first.lock("plan"), Err(StateError::Locked { .. })));
        second.unlock(&again).expect("unlocks");
        {
            let guard = LockGuard::acquire(&first, "apply").expect("locks");
            assert_eq!(guard.info().command, "apply");
            assert!(matches!(
                second.lock("plan"),
                Err(StateError::Locked { .. })
            ));
        }
        // Dropping the guard released it.
        let last = second.lock("plan").expect("locks after the guard");
        second.unlock(&last).expect("unlocks");
    });
}

#[test]
fn force_unlock_needs_the_right_id_and_ends_the_holder() {
    with_server(|url| {
        let name = unique_name();
        let holder = connect(url, &name);
        let rescuer = connect(url, &name);
        let info = holder.lock("apply").expect("locks");

        let err = rescuer.force_unlock("not-the-id").expect_err("wrong id");
        match &err {
            StateError::NotLocked { id, current, .. } => {
                assert_eq!(id, "not-the-id");
                assert!(current.contains(&info.id), "{current}");
            }
            other => panic!("{other}"),
        }
        assert!(matches!(
            rescuer.lock("plan"),
            Err(StateError::Locked { .. })
        ));

        rescuer.force_unlock(&info.id).expect("force-unlocks");
        let third = connect(url, &name);
        let taken = third.lock("plan").expect("a third store locks");
        // The old holder's release finds its lock gone and leaves the new one alone.
        let err = holder.unlock(&info).expect_err("was forced");
        assert!(matches!(err, StateError::NotLocked { .. }), "{err}");
        assert!(matches!(
            rescuer.lock("plan"),
            Err(StateError::Locked { .. })
        ));
        // The old holder's store still reads and writes on its own connection.
        assert!(holder.read().expect("reads").is_none());
        third.unlock(&taken).expect("unlocks");
        // Nothing is locked now: force-unlock says so.
        let err = rescuer.force_unlock(&taken.id).expect_err("not locked");
        match &err {
            StateError::NotLocked { current, .. } => {
                assert!(current.contains("not locked"), "{current}");
            }
            other => panic!("{other}"),
        }
    });
}

#[test]
fn a_lock_dies_with_its_store() {
    with_server(|url| {
        let name = unique_name();
        let waiter = connect(url, &name);
        {
            let holder = connect(url, &name);
            holder.lock("apply").expect("locks");
            assert!(waiter.lock("plan").is_err());
        }
        // The holder's session ended without unlocking, as a crashed process's would:
        // the server released its advisory lock, and its row no longer counts.
        let deadline = Instant::now() + Duration::from_secs(10);
        let info = loop {
            match waiter.lock("plan") {
                Ok(info) => break info,
                Err(StateError::Locked { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("{e}"),
            }
        };
        waiter.unlock(&info).expect("unlocks");
    });
}

#[test]
fn a_lock_timeout_waits_for_the_holder() {
    with_server(|url| {
        let name = unique_name();
        let holder = connect(url, &name);
        let waiter = connect(url, &name);
        let held = holder.lock("apply").expect("locks");
        let start = Instant::now();
        let err = waiter
            .lock_within("plan", Duration::from_millis(300))
            .expect_err("held");
        assert!(
            matches!(&err, StateError::Locked { id, .. } if *id == held.id),
            "{err:?}"
        );
        assert!(start.elapsed() >= Duration::from_millis(300));
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(200));
                holder.unlock(&held).expect("unlocks");
            });
            let mine = waiter
                .lock_within("plan", Duration::from_secs(30))
                .expect("taken once released");
            waiter.unlock(&mine).expect("unlocks");
        });
    });
}

#[test]
fn a_holder_that_recorded_nothing_is_reported_as_such() {
    with_server(|url| {
        let name = unique_name();
        // A session holding the advisory lock with no row, as a nicplan caught between
        // taking the lock and recording itself would.
        let mut bare = raw(url);
        let taken: bool = bare
            .query_one("SELECT pg_try_advisory_lock($1)", &[&lock_key(&name)])
            .expect("advisory lock")
            .get(0);
        assert!(taken);
        let store = connect(url, &name);
        let err = store.lock("apply").expect_err("held");
        match &err {
            StateError::Locked { holder, id, .. } => {
                assert!(holder.contains("another session"), "{holder}");
                assert!(id.is_empty(), "{id}");
            }
            other => panic!("{other}"),
        }
        let err = store.force_unlock("some-id").expect_err("no such lock");
        assert!(err.to_string().contains("recorded no lock ID"), "{err}");
        assert!(
            !bare.is_closed(),
            "force-unlock ended a session it could not name"
        );
        bare.execute("SELECT pg_advisory_unlock($1)", &[&lock_key(&name)])
            .expect("advisory unlock");
        let info = store.lock("apply").expect("locks once free");
        store.unlock(&info).expect("unlocks");
    });
}

#[test]
fn a_stale_lock_row_never_ends_an_unrelated_session() {
    with_server(|url| {
        let name = unique_name();
        // A row left behind by a dead nicplan whose pid now belongs to someone else.
        let mut bystander = raw(url);
        let pid: i32 = bystander
            .query_one("SELECT pg_backend_pid()", &[])
            .expect("pid")
            .get(0);
        bystander
            .execute(
                "INSERT INTO nicplan_lock (name, id, who, taken_at, command, pid)
                 VALUES ($1, 'stale-id', 'ghost@nowhere', '2020-01-01T00:00:00Z', 'apply', $2)",
                &[&name, &pid],
            )
            .expect("insert");
        let store = connect(url, &name);
        // Nobody holds the advisory lock: the row holds nothing, and naming it forgets it.
        store
            .force_unlock("stale-id")
            .expect("forgets the stale row");
        bystander
            .execute("SELECT 1", &[])
            .expect("the bystander lives");
        // And a new lock replaces such a row.
        bystander
            .execute(
                "INSERT INTO nicplan_lock (name, id, who, taken_at, command, pid)
                 VALUES ($1, 'stale-id', 'ghost@nowhere', '2020-01-01T00:00:00Z', 'apply', $2)",
                &[&name, &pid],
            )
            .expect("insert again");
        let info = store.lock("plan").expect("locks over a stale row");
        let err = connect(url, &name).lock("plan").expect_err("held");
        assert!(
            matches!(&err, StateError::Locked { id, .. } if *id == info.id),
            "{err}"
        );
        store.unlock(&info).expect("unlocks");
        bystander
            .execute("SELECT 1", &[])
            .expect("the bystander lives");
    });
}

#[test]
fn different_states_do_not_lock_each_other() {
    with_server(|url| {
        let one = connect(url, &unique_name());
        let two = connect(url, &unique_name());
        let a = one.lock("apply").expect("locks one");
        let b = two.lock("apply").expect("locks two");
        let mut state = State::new("l");
        one.write(&mut state).expect("writes one");
        assert!(two.read().expect("reads two").is_none());
        one.unlock(&a).expect("unlocks one");
        two.unlock(&b).expect("unlocks two");
    });
}

#[test]
fn the_store_is_described_without_its_password() {
    with_server(|url| {
        // Trust authentication ignores the password, so one can be added to the URL.
        let Some(rest) = url.strip_prefix("postgres://") else {
            panic!("NICPLAN_TEST_POSTGRES is not a postgres:// URL: {url}")
        };
        let (user, host) = rest.split_once('@').expect("a user in the URL");
        let with_password = format!("postgres://{user}:hunter2secret@{host}");
        let name = unique_name();
        let store = connect(&with_password, &name);
        let described = store.describe();
        assert_eq!(described, format!("postgres://{user}@{host}#{name}"));
        assert!(!described.contains("hunter2secret"));

        // Errors name the store the same way.
        let info = store.lock("apply").expect("locks");
        let err = connect(url, &name).lock("plan").expect_err("held");
        assert!(!err.to_string().contains("hunter2secret"));
        store.unlock(&info).expect("unlocks");
        let mut state = State::new("l");
        state.serial = 9;
        let err = store.write(&mut state).expect_err("conflict");
        assert!(!format!("{err} {err:?}").contains("hunter2secret"));
    });
}

#[test]
fn connection_failures_name_the_store_without_password() {
    with_server(|url| {
        // A port where nothing listens: refused at once.
        let err = PostgresStore::connect("postgres://nobody:hunter2secret@127.0.0.1:1/db", "x")
            .expect_err("nothing listens");
        match &err {
            StateError::Io { path, .. } => {
                assert_eq!(path, "postgres://nobody@127.0.0.1:1/db#x");
            }
            other => panic!("{other}"),
        }
        assert!(!format!("{err} {err:?}").contains("hunter2secret"), "{err}");
        // A database that does not exist, on the real server.
        let (base, _) = url.rsplit_once('/').expect("a database in the URL");
        let err = PostgresStore::connect(&format!("{base}/no_such_database_here"), "x")
            .expect_err("no database");
        assert!(matches!(err, StateError::Io { .. }), "{err}");
        assert!(err.to_string().contains("no_such_database_here"), "{err}");
    });
}

/// One step's change: the VPC `name` now holds ID `id`.
fn vpc_change(name: &str, id: &str) -> Change {
    Change {
        address: Address::new(Kind::Vpc, name),
        entry: Some(Entry {
            id: id.to_string(),
            attributes: Attributes::Vpc(Vpc {
                cidr_block: "10.0.0.0/16".parse().expect("cidr"),
            }),
        }),
        intent: None,
    }
}

/// Makes `change` to `state` and appends it to `store`, as a step of an apply does.
fn step(store: &PostgresStore, state: &mut State, change: Change) -> u64 {
    state.apply_change(change.clone());
    let serial = store.append(state, &[change]).expect("appends");
    store.sync(serial).expect("syncs");
    serial
}

/// The serials of the journal rows of `name`, in order.
fn journal_serials(url: &str, name: &str) -> Vec<i64> {
    raw(url)
        .query(
            "SELECT serial FROM nicplan_journal WHERE name = $1 ORDER BY serial",
            &[&name],
        )
        .expect("select")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

fn insert_row(url: &str, name: &str, serial: i64, record: &str) {
    raw(url)
        .execute(
            "INSERT INTO nicplan_journal (name, serial, record) VALUES ($1, $2, $3)",
            &[&name, &serial, &record],
        )
        .expect("insert");
}

#[test]
fn appends_are_rows_another_store_reads_and_a_full_write_takes_in() {
    with_server(|url| {
        let name = unique_name();
        let store = connect(url, &name);
        let mut state = state_with_vpc("lineage-a", "main");
        store.write(&mut state).expect("creates");
        let document = stored_document(url, &name);
        for (serial, vpc) in [(2, "a"), (3, "b"), (4, "c")] {
            assert_eq!(
                step(&store, &mut state, vpc_change(vpc, &format!("vpc-{vpc}"))),
                serial
            );
        }
        state.resources.remove(&Address::new(Kind::Vpc, "a"));
        let gone = Change {
            address: Address::new(Kind::Vpc, "a"),
            entry: None,
            intent: None,
        };
        assert_eq!(store.append(&mut state, &[gone]).expect("appends"), 5);
        assert_eq!(state.serial, 5);
        // Rows only: the state's own row is as the full write left it.
        assert_eq!(journal_serials(url, &name), [2, 3, 4, 5]);
        assert_eq!(stored_document(url, &name), document);
        let other = connect(url, &name);
        assert_eq!(other.read().expect("reads"), Some(state.clone()));
        assert_eq!(store.read().expect("reads"), Some(state.clone()));

        store.write(&mut state).expect("writes");
        assert_eq!(state.serial, 6);
        assert!(journal_serials(url, &name).is_empty());
        let document = stored_document(url, &name).expect("a row");
        assert_eq!(State::from_json("row", &document).expect("parses"), state);
        assert_eq!(other.read().expect("reads"), Some(state.clone()));
        // The journal goes on from the written serial.
        assert_eq!(step(&store, &mut state, vpc_change("d", "vpc-d")), 7);
        assert_eq!(other.read().expect("reads"), Some(state));
    });
}

#[test]
fn rows_a_full_write_took_in_are_skipped() {
    with_server(|url| {
        let name = unique_name();
        let store = connect(url, &name);
        let mut state = state_with_vpc("lineage-a", "main");
        store.write(&mut state).expect("creates");
        step(&store, &mut state, vpc_change("a", "vpc-a"));
        store.write(&mut state).expect("writes serial 3");
        // As if the write had committed and its rows had stayed: records of serials the
        // state has, saying otherwise.
        for serial in [2u64, 3] {
            let record = journal::encode("lineage-a", serial, &[vpc_change("a", "vpc-old")]);
            insert_row(url, &name, serial as i64, &record);
        }
        assert_eq!(store.read().expect("reads"), Some(state.clone()));
        assert_eq!(step(&store, &mut state, vpc_change("b", "vpc-b")), 4);
        assert_eq!(
            connect(url, &name).read().expect("reads"),
            Some(state.clone())
        );
        store.write(&mut state).expect("writes");
        assert!(journal_serials(url, &name).is_empty());
    });
}

#[test]
fn a_gap_or_a_damaged_row_is_refused_naming_the_store_and_the_row() {
    with_server(|url| {
        let name = unique_name();
        let store = connect(url, &name);
        let mut state = state_with_vpc("lineage-a", "main");
        store.write(&mut state).expect("creates");
        let record = journal::encode("lineage-a", 3, &[vpc_change("a", "vpc-a")]);
        insert_row(url, &name, 3, &record);
        let err = store.read().expect_err("a gap");
        let message = err.to_string();
        assert!(matches!(err, StateError::Corrupt { .. }), "{message}");
        assert!(message.contains(&format!("#{name}")), "{message}");
        assert!(
            message.contains("the row of serial 3 makes serial 3, but the state is at 1"),
            "{message}"
        );
        let mut stale = state.clone();
        assert!(matches!(
            store.write(&mut stale).expect_err("a gap"),
            StateError::Corrupt { .. }
        ));
        assert_eq!(stale.serial, 1);
        raw(url)
            .execute("DELETE FROM nicplan_journal WHERE name = $1", &[&name])
            .expect("delete");

        step(&store, &mut state, vpc_change("a", "vpc-a"));
        step(&store, &mut state, vpc_change("b", "vpc-b"));
        raw(url)
            .execute(
                "UPDATE nicplan_journal SET record = left(record, 20) WHERE name = $1 AND serial = 3",
                &[&name],
            )
            .expect("damage");
        let before = stored_document(url, &name);
        let message = store.read().expect_err("damaged").to_string();
        assert!(message.contains(&format!("#{name}")), "{message}");
        assert!(message.contains("nicplan_journal"), "{message}");
        assert!(
            message.contains("the row of serial 3 does not read as a record"),
            "{message}"
        );
        let mut writer = state.clone();
        writer.serial = 3;
        assert!(matches!(
            store.write(&mut writer).expect_err("damaged"),
            StateError::Corrupt { .. }
        ));
        assert_eq!(stored_document(url, &name), before);
        assert_eq!(journal_serials(url, &name), [2, 3]);
    });
}

#[test]
fn appends_of_a_stale_or_foreign_state_are_refused() {
    with_server(|url| {
        let name = unique_name();
        let store = connect(url, &name);
        // No state row yet: nothing to extend.
        let mut state = state_with_vpc("lineage-a", "main");
        let err = store
            .append(&mut state, &[vpc_change("a", "vpc-a")])
            .expect_err("no state");
        assert!(
            matches!(
                err,
                StateError::Conflict {
                    expected: 0,
                    found: 0,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(state.serial, 0);
        store.write(&mut state).expect("creates");

        let mut theirs = state_with_vpc("lineage-b", "main");
        theirs.serial = 1;
        let err = store
            .append(&mut theirs, &[vpc_change("a", "vpc-a")])
            .expect_err("another lineage");
        assert!(matches!(err, StateError::Lineage { .. }), "{err}");
        assert_eq!(theirs.serial, 1);

        // Another store extends the state meanwhile: ours is stale, by row or journal.
        let other = connect(url, &name);
        let mut newer = other.read().expect("reads").expect("a state");
        step(&other, &mut newer, vpc_change("b", "vpc-b"));
        let mut stale = state.clone();
        let err = store
            .append(&mut stale, &[vpc_change("a", "vpc-a")])
            .expect_err("stale");
        assert!(
            matches!(
                err,
                StateError::Conflict {
                    expected: 1,
                    found: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(stale.serial, 1);
        other.write(&mut newer).expect("writes serial 3");
        let err = store
            .append(&mut stale, &[vpc_change("a", "vpc-a")])
            .expect_err("stale");
        assert!(
            matches!(
                err,
                StateError::Conflict {
                    expected: 1,
                    found: 3,
                    ..
                }
            ),
            "{err}"
        );
        assert!(journal_serials(url, &name).is_empty());
        assert_eq!(store.read().expect("reads"), Some(newer));
    });
}
