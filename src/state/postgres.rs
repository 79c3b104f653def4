//! The PostgreSQL state store, for teams: many named states in one database, one row
//! each in `nicplan_state`, the journal of an apply as rows in `nicplan_journal`, with a
//! session-level advisory lock per state name and a row in `nicplan_lock` saying who
//! holds it.
//!
//! Invariants:
//! - A write is a compare-and-set on `serial` inside one transaction that holds the
//!   state's row `FOR UPDATE`: it refuses another lineage, a serial other than the one
//!   the caller read, and a stored document it cannot read as a state. Two writers that
//!   both find no row cannot both insert one: the second finds the first's row and is
//!   refused as stale.
//! - The stored document always carries the serial of its row: the caller's serial is
//!   raised before the document is made, and put back if anything fails.
//! - The lock is `pg_try_advisory_lock` on a key derived from the state's name, taken
//!   on a connection of its own that lives exactly as long as the lock. PostgreSQL
//!   releases it when that session ends, so a crashed command never leaves the state
//!   locked; the `nicplan_lock` row is only a description of the holder and counts only
//!   while its `pid` is the session that holds the advisory lock.
//! - force-unlock ends only the server session that holds this state's advisory lock
//!   and whose row names the given ID, never another one with a reused pid.
//! - During an apply each recorded step is one row in `nicplan_journal`, keyed by state
//!   name and the serial it makes, holding the record a journal line holds
//!   ([`super::journal`]). It is inserted by one statement that commits it, so durably
//!   (`sync` has nothing left to do), and only while the state's row has the record's
//!   lineage and the serial follows the row's and the journal's last; the primary key
//!   refuses a second record of one serial. Reads fold the rows after the state's serial
//!   in, in one snapshot with the row; a full write folds them too, updates the row and
//!   deletes the state's rows in one transaction. Rows of serials the state has are
//!   skipped; a gap, another lineage or a row that does not read as a record is refused
//!   naming the store and the row's serial. A row is committed whole or not at all, so
//!   unlike a journal file's last line none is taken for one cut short.
//! - The password is never part of a message: [`StateStore::describe`] and every error
//!   name the store by its URL without password or query parameters.
//!
//! Advisory session locks need one server session per client connection, so the store
//! must not sit behind a pooler in transaction mode.

use std::io;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use postgres::config::Host;
use postgres::error::SqlState;
use postgres::{Client, Config, IsolationLevel, NoTls, Transaction};
use sha2::{Digest, Sha256};

use super::journal::{self, Change};
use super::{LockInfo, State, StateError, StateStore, rfc3339, who};

/// How long connecting may take when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long any statement may wait for a row or advisory lock held by another session
/// (a concurrent writer, or the schema being created) before it fails instead of
/// hanging.
const LOCK_TIMEOUT: &str = "30s";

/// How often taking the lock is tried when its holder released it between our attempt
/// and our look at who holds it, or has not recorded itself yet.
const LOCK_ATTEMPTS: u32 = 5;

/// The pause between those attempts.
const LOCK_PAUSE: Duration = Duration::from_millis(20);

/// How long force-unlock waits for the session it ended to let go of the lock.
const TERMINATE_WAIT: Duration = Duration::from_secs(10);

/// The pause between looks at whether that session is gone.
const TERMINATE_PAUSE: Duration = Duration::from_millis(20);

/// Creates the tables when absent.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS nicplan_state (
        name text PRIMARY KEY,
        lineage text NOT NULL,
        serial bigint NOT NULL,
        document text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS nicplan_lock (
        name text PRIMARY KEY,
        id text NOT NULL,
        who text NOT NULL,
        taken_at text NOT NULL,
        command text NOT NULL,
        pid integer NOT NULL
    );
    CREATE TABLE IF NOT EXISTS nicplan_journal (
        name text NOT NULL,
        serial bigint NOT NULL,
        record text NOT NULL,
        written_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (name, serial)
    );
";

/// Appends one journal record in one statement, so in one transaction: only when the
/// state's row is there with the record's lineage, and the record's serial follows the
/// row's and its journal's last. The row is held `FOR SHARE` meanwhile, so a full write
/// in progress is waited for and then refuses the record (its serial is taken). Two
/// records of one serial cannot both be inserted.
const APPEND: &str = "
    WITH stored AS (
        SELECT lineage, serial FROM nicplan_state WHERE name = $1 FOR SHARE
    ), last AS (
        SELECT max(serial) AS serial FROM nicplan_journal WHERE name = $1
    )
    INSERT INTO nicplan_journal (name, serial, record)
    SELECT $1::text, $2::bigint, $3::text FROM stored, last
    WHERE stored.lineage = $4::text AND GREATEST(stored.serial, last.serial) = $2::bigint - 1
";

/// The lineage and the serial a state's row and its journal make together.
const LAST_SERIAL: &str = "
    SELECT lineage,
           GREATEST(serial, (SELECT max(serial) FROM nicplan_journal WHERE name = $1))
    FROM nicplan_state WHERE name = $1
";

/// The server session holding a state's advisory lock, if any.
const HOLDER_PID: &str = "
    SELECT pid FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 1
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND classid = $1 AND objid = $2
    LIMIT 1
";

/// A state kept in a PostgreSQL database, one of many there told apart by name.
pub struct PostgresStore {
    /// The state's name in the tables.
    name: String,
    /// The store in words, without password.
    described: String,
    /// How to connect again.
    config: Config,
    /// The connection for reads, writes and force-unlock.
    client: Mutex<Client>,
    /// The connection holding the advisory lock while this store holds it, with the
    /// lock's ID.
    held: Mutex<Option<Held>>,
}

/// A lock this store holds: its ID and the session that holds it.
struct Held {
    id: String,
    client: Client,
}

/// Who holds a state's advisory lock right now.
enum Holder {
    /// Nobody.
    Free,
    /// A session, by backend pid, whose lock row names it.
    Named(LockInfo, i32),
    /// A session, by backend pid, that has no lock row (yet).
    Unnamed(i32),
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("store", &self.described)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user[:password]@host:port/db`)
    /// for the state called `name`, creating the tables if they are absent. A password
    /// not in the URL is taken from `PGPASSWORD`.
    pub fn connect(url: &str, name: &str) -> Result<PostgresStore, StateError> {
        let described = format!("{}#{name}", describe_url(url));
        let invalid = |reason: String| StateError::Io {
            path: described.clone(),
            source: io::Error::new(io::ErrorKind::InvalidInput, reason),
        };
        if name.is_empty() {
            return Err(invalid("the state name is empty".to_string()));
        }
        let mut config: Config = url
            .parse()
            .map_err(|e| invalid(format!("not a PostgreSQL URL: {}", explain(&e))))?;
        if config.get_password().is_none()
            && let Ok(password) = std::env::var("PGPASSWORD")
            && !password.is_empty()
        {
            config.password(password);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("nicplan");
        }
        let mut client = open(&config, &described)?;
        ensure_schema(&mut client, &described)?;
        Ok(PostgresStore {
            name: name.to_string(),
            described,
            config,
            client: Mutex::new(client),
            held: Mutex::new(None),
        })
    }

    /// The state's name among the others in the database.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The main connection, opened again if the server closed it.
    fn client(&self) -> Result<MutexGuard<'_, Client>, StateError> {
        let mut client = guard(&self.client);
        if client.is_closed() {
            *client = open(&self.config, &self.described)?;
        }
        Ok(client)
    }

    fn db_error(&self, doing: &str, e: &postgres::Error) -> StateError {
        db_error(&self.described, doing, e)
    }

    fn corrupt(&self, reason: String) -> StateError {
        StateError::Corrupt {
            path: self.describe(),
            reason,
        }
    }

    /// The advisory lock key's two halves, as `pg_locks` shows them.
    fn key_halves(&self) -> (u32, u32) {
        let key = lock_key(&self.name) as u64;
        ((key >> 32) as u32, key as u32)
    }

    /// The server session holding the advisory lock, asked on `client`.
    fn holder_pid(&self, client: &mut Client) -> Result<Option<i32>, StateError> {
        let (classid, objid) = self.key_halves();
        Ok(client
            .query_opt(HOLDER_PID, &[&classid, &objid])
            .map_err(|e| self.db_error("could not look up the lock's holder", &e))?
            .map(|row| row.get(0)))
    }

    /// Who holds the advisory lock, asked on `client`.
    fn holder(&self, client: &mut Client) -> Result<Holder, StateError> {
        let Some(pid) = self.holder_pid(client)? else {
            return Ok(Holder::Free);
        };
        let row = client
            .query_opt(
                "SELECT id, who, taken_at, command, pid FROM nicplan_lock WHERE name = $1",
                &[&self.name],
            )
            .map_err(|e| self.db_error("could not read the lock", &e))?;
        Ok(match row {
            Some(row) if row.get::<_, i32>(4) == pid => Holder::Named(
                LockInfo {
                    id: row.get(0),
                    who: row.get(1),
                    when: row.get(2),
                    command: row.get(3),
                    pid: None,
                    took_over: None,
                },
                pid,
            ),
            _ => Holder::Unnamed(pid),
        })
    }

    /// Takes the advisory lock on a new connection and records who holds it; `None`
    /// when another session holds it.
    fn try_take(&self, command: &str) -> Result<Option<LockInfo>, StateError> {
        let mut client = open(&self.config, &self.described)?;
        let taken: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&lock_key(&self.name)])
            .map_err(|e| self.db_error("could not take the lock", &e))?
            .get(0);
        if !taken {
            return Ok(None);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let info = LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            who: who(),
            when: rfc3339(now),
            command: command.to_string(),
            pid: None,
            took_over: None,
        };
        // A row left by a session that died is replaced: the advisory lock is ours.
        client
            .execute(
                "INSERT INTO nicplan_lock (name, id, who, taken_at, command, pid)
                 VALUES ($1, $2, $3, $4, $5, pg_backend_pid())
                 ON CONFLICT (name) DO UPDATE SET id = EXCLUDED.id, who = EXCLUDED.who,
                     taken_at = EXCLUDED.taken_at, command = EXCLUDED.command,
                     pid = EXCLUDED.pid",
                &[&self.name, &info.id, &info.who, &info.when, &info.command],
            )
            // Dropping the connection releases the advisory lock again.
            .map_err(|e| self.db_error("could not record the lock", &e))?;
        *guard(&self.held) = Some(Held {
            id: info.id.clone(),
            client,
        });
        Ok(Some(info))
    }

    /// Deletes the lock row if it still names `id`; whether it did.
    fn delete_lock_row(&self, client: &mut Client, id: &str) -> Result<bool, StateError> {
        let deleted = client
            .execute(
                "DELETE FROM nicplan_lock WHERE name = $1 AND id = $2",
                &[&self.name, &id],
            )
            .map_err(|e| self.db_error("could not remove the lock", &e))?;
        Ok(deleted > 0)
    }

    /// Why `id` is not the current lock, as the tail of a [`StateError::NotLocked`].
    fn not_locked(&self, client: &mut Client, id: &str) -> StateError {
        let current = match self.holder(client) {
            Ok(Holder::Named(info, _)) => format!(
                "; it is locked with ID {} by {} running `nicplan {}` since {}",
                info.id, info.who, info.command, info.when
            ),
            Ok(Holder::Unnamed(pid)) => format!(
                "; it is locked by another session (PostgreSQL backend pid {pid}) that recorded no lock ID"
            ),
            Ok(Holder::Free) => "; it is not locked".to_string(),
            Err(e) => format!("; its lock could not be read ({e})"),
        };
        StateError::NotLocked {
            path: self.describe(),
            id: id.to_string(),
            current,
        }
    }

    /// Waits until the session `pid` no longer holds the advisory lock.
    fn wait_released(&self, client: &mut Client, pid: i32) -> Result<(), StateError> {
        let deadline = Instant::now() + TERMINATE_WAIT;
        while self.holder_pid(client)? == Some(pid) {
            if Instant::now() >= deadline {
                return Err(StateError::Io {
                    path: self.describe(),
                    source: io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "the session holding the lock (PostgreSQL backend pid {pid}) was told to end but still holds it after {}s",
                            TERMINATE_WAIT.as_secs()
                        ),
                    ),
                });
            }
            thread::sleep(TERMINATE_PAUSE);
        }
        Ok(())
    }
}

impl StateStore for PostgresStore {
    fn describe(&self) -> String {
        self.described.clone()
    }

    fn read(&self) -> Result<Option<State>, StateError> {
        let fail = |e: postgres::Error| self.db_error("could not read the state", &e);
        let mut client = self.client()?;
        // One snapshot for the row and its journal: a full write between the two
        // would otherwise leave the journal's records out.
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(fail)?;
        let row = tx
            .query_opt(
                "SELECT document FROM nicplan_state WHERE name = $1",
                &[&self.name],
            )
            .map_err(fail)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut state = State::from_json(&self.described, row.get(0))?;
        self.fold_journal(&mut tx, &mut state)?;
        tx.commit().map_err(fail)?;
        Ok(Some(state))
    }

    fn write(&self, state: &mut State) -> Result<(), StateError> {
        let read_serial = state.serial;
        let result = self.compare_and_set(state);
        if result.is_err() {
            state.serial = read_serial;
        }
        result
    }

    fn append(&self, state: &mut State, changes: &[Change]) -> Result<u64, StateError> {
        let serial = state
            .serial
            .checked_add(1)
            .and_then(|s| i64::try_from(s).ok())
            .ok_or_else(|| self.corrupt(format!("serial {} cannot grow", state.serial)))?;
        let record = journal::encode(&state.lineage, serial as u64, changes);
        let mut client = self.client()?;
        match client.execute(
            APPEND,
            &[&self.name, &serial, &record.trim_end(), &state.lineage],
        ) {
            Ok(1) => {
                state.serial = serial as u64;
                Ok(state.serial)
            }
            Ok(_) => Err(self.refused_append(&mut client, state)),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                Err(self.refused_append(&mut client, state))
            }
            Err(e) => Err(self.db_error("could not record the step", &e)),
        }
    }

    /// Nothing to do: every record was committed, durably, by its append.
    fn sync(&self, serial: u64) -> Result<(), StateError> {
        let _ = serial;
        Ok(())
    }

    fn lock(&self, command: &str) -> Result<LockInfo, StateError> {
        for attempt in 1..=LOCK_ATTEMPTS {
            if let Some(info) = self.try_take(command)? {
                return Ok(info);
            }
            let holder = {
                let mut client = self.client()?;
                self.holder(&mut client)?
            };
            match holder {
                // Released between our attempt and our look: try again.
                Holder::Free => {}
                Holder::Named(info, _) => {
                    return Err(StateError::Locked {
                        path: self.describe(),
                        holder: info.to_string(),
                        id: info.id,
                    });
                }
                // Taken a moment ago and not recorded yet, perhaps: look again.
                Holder::Unnamed(_) if attempt < LOCK_ATTEMPTS => thread::sleep(LOCK_PAUSE),
                Holder::Unnamed(pid) => {
                    return Err(StateError::Locked {
                        path: self.describe(),
                        holder: format!(
                            "another session (PostgreSQL backend pid {pid}) that recorded no lock ID"
                        ),
                        id: String::new(),
                    });
                }
            }
        }
        Err(StateError::Locked {
            path: self.describe(),
            holder: "other commands that keep taking and releasing it; try again".to_string(),
            id: String::new(),
        })
    }

    fn unlock(&self, lock: &LockInfo) -> Result<(), StateError> {
        let held = {
            let mut held = guard(&self.held);
            if held.as_ref().is_some_and(|h| h.id == lock.id) {
                held.take()
            } else {
                None
            }
        };
        let Some(mut held) = held else {
            // Not a lock of this store's: whichever session holds it must be ended.
            return self.force_unlock(&lock.id);
        };
        let mut client = self.client()?;
        let deleted = self.delete_lock_row(&mut client, &lock.id);
        // The session may be gone already (force-unlocked); the lock went with it.
        let _ = held
            .client
            .execute("SELECT pg_advisory_unlock($1)", &[&lock_key(&self.name)]);
        drop(held);
        match deleted? {
            true => Ok(()),
            false => Err(self.not_locked(&mut client, &lock.id)),
        }
    }

    fn force_unlock(&self, id: &str) -> Result<(), StateError> {
        // This store's own lock is released without ending a session.
        let own = {
            let mut held = guard(&self.held);
            if held.as_ref().is_some_and(|h| h.id == id) {
                held.take()
            } else {
                None
            }
        };
        if let Some(own) = own {
            drop(own);
            let mut client = self.client()?;
            self.delete_lock_row(&mut client, id)?;
            return Ok(());
        }
        let mut client = self.client()?;
        match self.holder(&mut client)? {
            Holder::Named(info, pid) if info.id == id => {
                // `holder` checked that this session holds the state's advisory lock:
                // it is the one to end, hung or forgotten.
                client
                    .execute("SELECT pg_terminate_backend($1)", &[&pid])
                    .map_err(|e| {
                        self.db_error(
                            &format!("could not end the session holding the lock (pid {pid})"),
                            &e,
                        )
                    })?;
                self.wait_released(&mut client, pid)?;
                self.delete_lock_row(&mut client, id)?;
                Ok(())
            }
            Holder::Free => {
                // A row left by a session that died holds nothing; forget it if named.
                if self.delete_lock_row(&mut client, id)? {
                    Ok(())
                } else {
                    Err(self.not_locked(&mut client, id))
                }
            }
            Holder::Named(..) | Holder::Unnamed(_) => Err(self.not_locked(&mut client, id)),
        }
    }
}

impl PostgresStore {
    /// The checks and the write of [`StateStore::write`], in one transaction; raises
    /// `state.serial` and leaves it raised even on failure, which the caller undoes.
    fn compare_and_set(&self, state: &mut State) -> Result<(), StateError> {
        let read_serial = state.serial;
        let mut client = self.client()?;
        let mut tx = client
            .transaction()
            .map_err(|e| self.db_error("could not write the state", &e))?;
        let select =
            "SELECT lineage, serial, document FROM nicplan_state WHERE name = $1 FOR UPDATE";
        let row = tx
            .query_opt(select, &[&self.name])
            .map_err(|e| self.db_error("could not read the state", &e))?;
        let exists = row.is_some();
        let stored = self.stored(&mut tx, row)?;
        self.check(state, stored)?;
        let new_serial = read_serial
            .checked_add(1)
            .and_then(|s| i64::try_from(s).ok())
            .ok_or_else(|| self.corrupt(format!("serial {read_serial} cannot grow")))?;
        state.serial = read_serial + 1;
        let document = state.to_json();
        let written = if exists {
            tx.execute(
                "UPDATE nicplan_state SET serial = $2, document = $3, updated_at = now()
                 WHERE name = $1",
                &[&self.name, &new_serial, &document],
            )
        } else {
            tx.execute(
                "INSERT INTO nicplan_state (name, lineage, serial, document)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                &[&self.name, &state.lineage, &new_serial, &document],
            )
        }
        .map_err(|e| self.db_error("could not write the state", &e))?;
        if written == 0 {
            // Another writer created the state after our look; its row decides why we
            // are refused.
            let row = tx
                .query_opt(select, &[&self.name])
                .map_err(|e| self.db_error("could not read the state", &e))?;
            state.serial = read_serial;
            let stored = self.stored(&mut tx, row)?;
            self.check(state, stored)?;
            return Err(StateError::Conflict {
                path: self.describe(),
                expected: read_serial,
                found: 0,
            });
        }
        // The document holds every record of the journal now. Rows without a state
        // row (deleted by hand) belong to no state and go too.
        tx.execute("DELETE FROM nicplan_journal WHERE name = $1", &[&self.name])
            .map_err(|e| self.db_error("could not remove the journal", &e))?;
        tx.commit()
            .map_err(|e| self.db_error("could not write the state", &e))
    }

    /// The stored state of `row` (lineage, serial, document) with its journal folded
    /// in, `None` without a row; refuses a row that disagrees with its document.
    fn stored(
        &self,
        tx: &mut Transaction<'_>,
        row: Option<postgres::Row>,
    ) -> Result<Option<State>, StateError> {
        let Some(row) = row else {
            return Ok(None);
        };
        let lineage: String = row.get(0);
        let serial: i64 = row.get(1);
        let mut stored = State::from_json(&self.described, row.get(2))?;
        if stored.lineage != lineage || i64::try_from(stored.serial).ok() != Some(serial) {
            return Err(self.corrupt(format!(
                "its row says lineage {lineage} serial {serial}, its document lineage {} serial {}",
                stored.lineage, stored.serial
            )));
        }
        self.fold_journal(tx, &mut stored)?;
        Ok(Some(stored))
    }

    /// Folds into `state` the journal rows that follow its serial, in order.
    fn fold_journal(&self, tx: &mut Transaction<'_>, state: &mut State) -> Result<(), StateError> {
        // A serial past what a row can hold has no record after it.
        let Ok(from) = i64::try_from(state.serial) else {
            return Ok(());
        };
        let rows = tx
            .query(
                "SELECT serial, record FROM nicplan_journal
                 WHERE name = $1 AND serial > $2 ORDER BY serial",
                &[&self.name, &from],
            )
            .map_err(|e| self.db_error("could not read the journal", &e))?;
        let records = rows
            .iter()
            .map(|row| (row.get::<_, i64>(0).unsigned_abs(), row.get::<_, &str>(1)));
        journal::fold_rows(state, records).map_err(|reason| {
            self.corrupt(format!("in its journal (nicplan_journal), {reason}"))
        })?;
        Ok(())
    }

    /// Why an append inserted nothing: the state's row is gone, of another lineage, or
    /// at another serial than the caller's.
    fn refused_append(&self, client: &mut Client, state: &State) -> StateError {
        let row = match client.query_opt(LAST_SERIAL, &[&self.name]) {
            Ok(row) => row,
            Err(e) => return self.db_error("could not record the step", &e),
        };
        let Some(row) = row else {
            return StateError::Conflict {
                path: self.describe(),
                expected: state.serial,
                found: 0,
            };
        };
        let lineage: String = row.get(0);
        if lineage != state.lineage {
            return StateError::Lineage {
                path: self.describe(),
                expected: state.lineage.clone(),
                found: lineage,
            };
        }
        let found: i64 = row.get(1);
        StateError::Conflict {
            path: self.describe(),
            expected: state.serial,
            found: found.unsigned_abs(),
        }
    }

    /// Refuses a write of `state` over the `stored` state.
    fn check(&self, state: &State, stored: Option<State>) -> Result<(), StateError> {
        let Some(stored) = stored else {
            return match state.serial {
                0 => Ok(()),
                expected => Err(StateError::Conflict {
                    path: self.describe(),
                    expected,
                    found: 0,
                }),
            };
        };
        if stored.lineage != state.lineage {
            return Err(StateError::Lineage {
                path: self.describe(),
                expected: state.lineage.clone(),
                found: stored.lineage,
            });
        }
        if stored.serial != state.serial {
            return Err(StateError::Conflict {
                path: self.describe(),
                expected: state.serial,
                found: stored.serial,
            });
        }
        Ok(())
    }
}

/// The advisory lock key of the state `name`: the first 8 bytes of SHA-256 of
/// `nicplan:NAME`, big-endian, so every nicplan derives the same key.
pub fn lock_key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("nicplan:{name}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// `url` without its password and query parameters (which may hold one):
/// `postgres://user@host:port/db`. A `key=value` connection string is described by its
/// user, hosts, ports and database alone.
pub fn describe_url(url: &str) -> String {
    for scheme in ["postgres://", "postgresql://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            // The credentials end at the last `@`: a password may hold a raw `@` or `#`
            // (which the connection parser would take for the end of the credentials or
            // of the URL), and none of it may show. Only the user, up to its first `:`,
            // is kept.
            let (user, rest) = match rest.rsplit_once('@') {
                Some((credentials, rest)) => {
                    let user = credentials
                        .split([':', '#', '?', '/'])
                        .next()
                        .unwrap_or_default();
                    (format!("{user}@"), rest)
                }
                None => (String::new(), rest),
            };
            let rest = rest.split(['?', '#']).next().unwrap_or_default();
            // Without credentials, `host:port` has a number after its colon; anything
            // else there may be a password whose `@` was cut off.
            let authority = rest.split('/').next().unwrap_or_default();
            if let Some((_, port)) = authority.rsplit_once(':')
                && !port.chars().all(|c| c.is_ascii_digit())
            {
                return format!("{scheme}(a URL that does not parse as user@host:port/db)");
            }
            return format!("{scheme}{user}{rest}");
        }
    }
    match url.parse::<Config>() {
        Ok(config) => {
            let user = config
                .get_user()
                .map(|u| format!("{u}@"))
                .unwrap_or_default();
            let hosts = config
                .get_hosts()
                .iter()
                .enumerate()
                .map(|(i, host)| {
                    let host = match host {
                        Host::Tcp(name) => name.clone(),
                        Host::Unix(path) => path.display().to_string(),
                    };
                    match config.get_ports().get(i).or(config.get_ports().first()) {
                        Some(port) => format!("{host}:{port}"),
                        None => host,
                    }
                })
                .collect::<Vec<_>>()
                .join(",");
            let db = config.get_dbname().unwrap_or_default();
            format!("postgres://{user}{hosts}/{db}")
        }
        Err(_) => "postgres://(unparsable connection string)".to_string(),
    }
}

/// A connection for `described`, with waits for locks bounded.
fn open(config: &Config, described: &str) -> Result<Client, StateError> {
    let mut client = config
        .connect(NoTls)
        .map_err(|e| db_error(described, "could not connect", &e))?;
    client
        .batch_execute(&format!("SET lock_timeout = '{LOCK_TIMEOUT}'"))
        .map_err(|e| db_error(described, "could not set up the session", &e))?;
    Ok(client)
}

/// Creates the tables when they are absent. Concurrent `CREATE TABLE IF NOT EXISTS`
/// can still collide in the catalogue, so creators take turns under a transaction
/// advisory lock; a role that may not create tables need not, once they exist.
fn ensure_schema(client: &mut Client, described: &str) -> Result<(), StateError> {
    let fail = |e: postgres::Error| db_error(described, "could not create the state tables", &e);
    let present: bool = client
        .query_one(
            "SELECT to_regclass('nicplan_state') IS NOT NULL AND to_regclass('nicplan_lock') IS NOT NULL
                 AND to_regclass('nicplan_journal') IS NOT NULL",
            &[],
        )
        .map_err(fail)?
        .get(0);
    if present {
        return Ok(());
    }
    let mut tx = client.transaction().map_err(fail)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key("\0schema")])
        .map_err(fail)?;
    tx.batch_execute(SCHEMA).map_err(fail)?;
    tx.commit().map_err(fail)
}

fn db_error(described: &str, doing: &str, e: &postgres::Error) -> StateError {
    StateError::Io {
        path: described.to_string(),
        source: io::Error::other(format!("{doing}: {}", explain(e))),
    }
}

/// A PostgreSQL error with its cause, which its own `Display` leaves out.
fn explain(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{e}: {db}");
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_described_without_password() {
        for (url, expected) in [
            (
                "postgres://alice:s3cret@db.example:5432/teams",
                "postgres://alice@db.example:5432/teams",
            ),
            (
                "postgresql://alice@db.example/teams",
                "postgresql://alice@db.example/teams",
            ),
            (
                "postgres://db.example:5432/teams?user=alice&password=s3cret",
                "postgres://db.example:5432/teams",
            ),
            ("postgres://alice:@h/db", "postgres://alice@h/db"),
            // A raw `#` or `@` in the password.
            (
                "postgres://alice:s3cret#X@db.example/teams",
                "postgres://alice@db.example/teams",
            ),
            (
                "postgres://alice:s3c@ret@db.example/teams",
                "postgres://alice@db.example/teams",
            ),
            (
                "postgres://alice:s3cret",
                "postgres://(a URL that does not parse as user@host:port/db)",
            ),
            (
                "postgres://alice:p%40s3cret@db.example:5432/teams#prod",
                "postgres://alice@db.example:5432/teams",
            ),
            (
                "host=db.example port=5433 user=alice password=s3cret dbname=teams",
                "postgres://alice@db.example:5433/teams",
            ),
        ] {
            let described = describe_url(url);
            assert_eq!(described, expected, "{url}");
            assert!(!described.contains("s3cret"), "{described}");
        }
    }

    #[test]
    fn lock_keys_are_stable_and_distinct() {
        let digest = Sha256::digest(b"nicplan:default");
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        assert_eq!(lock_key("default"), i64::from_be_bytes(first));
        assert_eq!(lock_key("default"), lock_key("default"));
        assert_ne!(lock_key("default"), lock_key("staging"));
    }
}
