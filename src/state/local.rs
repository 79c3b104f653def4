//! The local state store: one JSON file on disk, with its previous version beside it as
//! `PATH.backup` and its lock as `PATH.lock`.
//!
//! Invariants:
//! - The state file is only ever replaced by a rename of a complete, fsynced temporary
//!   file from the same folder, so a crash leaves either the old or the new document,
//!   never a mix; the folder is fsynced after the rename so the rename itself survives.
//! - The backup is replaced the same way, with the exact bytes the write checked, before
//!   the state file is; a crash in between leaves two copies of the old state.
//! - A write is a compare-and-set on `serial`: it refuses when the stored serial is not
//!   the one the caller read, and refuses to overwrite a file it cannot read as a state.
//!   The check and the rename are not one atomic step, so writers must hold the lock;
//!   the check catches a writer that read before another one wrote.
//! - State, backup and lock are created mode 0600: the state holds cloud IDs and
//!   addresses that are nobody else's business.
//! - The lock is an OS advisory lock (`flock`) on `PATH.lock`, held open for the whole
//!   command: it dies with its process, however the process ends, so a killed command
//!   leaves no lock behind. The file records the holder (user, host, PID, command,
//!   when); a file left by a holder that is gone is stale, and the next command takes
//!   the lock over and says whose it was. A lock is taken only on the file the path
//!   names at that moment (checked after the OS lock is granted), so removing the file
//!   (`force-unlock`, or the holder's release) never lets two processes hold it.
//! - Temporary files are named `.nicplan-state-*.tmp` beside the state; one left by a
//!   killed writer is never read as data, and the next lock holder removes it.
//! - Nothing is changed on disk when any step fails before the final rename.
//! - During an apply each recorded step is a line appended to `PATH.journal` and
//!   fsynced ([`super::journal`]), not a rewrite of the whole file; lines written by
//!   several threads meanwhile share one fsync. Reading the state folds the journal in;
//!   a full write replaces the file with the folded state, then removes the journal.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tempfile::NamedTempFile;

use super::journal::{self, Change};
use super::{LockInfo, State, StateError, StateStore, rfc3339, who};

/// The largest state file read; anything larger is taken for something else.
const MAX_STATE_BYTES: u64 = 256 * 1024 * 1024;

/// The largest lock file read; a real one is a few hundred bytes.
const MAX_LOCK_BYTES: u64 = 64 * 1024;

/// How often a lock file that does not parse is read again: it may have been created a
/// moment ago and not be written yet.
const LOCK_READ_ATTEMPTS: u32 = 5;

/// The pause between those reads.
const LOCK_READ_PAUSE: Duration = Duration::from_millis(20);

/// How often taking the lock is tried when the lock file vanishes between finding it
/// and reading it (its holder released it meanwhile).
const LOCK_ATTEMPTS: u32 = 5;

/// A state kept in a file on the local disk.
#[derive(Clone, Debug)]
pub struct LocalStore {
    path: PathBuf,
    /// The lock file this process holds open, locked, and the lock's ID.
    held: Arc<Mutex<Option<(String, File)>>>,
    /// The journal this process appends to, once it has appended.
    journal: Arc<Mutex<Option<Journal>>>,
    /// The highest serial known durable in the journal; held while syncing, so that
    /// threads waiting on it find their record synced by another's sync.
    synced: Arc<Mutex<u64>>,
}

/// The journal open for appending.
#[derive(Debug)]
struct Journal {
    file: File,
    /// The serial of the last line written.
    written: u64,
}

/// What is in the lock file right now.
enum CurrentLock {
    /// There is no lock file.
    Free,
    /// A lock file naming its holder.
    Held(LockInfo),
    /// A lock file that cannot be read or does not parse, and why.
    Unreadable(String),
}

impl LocalStore {
    /// A store of the state at `path`; nothing is touched until it is used.
    pub fn new(path: impl Into<PathBuf>) -> LocalStore {
        LocalStore {
            path: path.into(),
            held: Arc::new(Mutex::new(None)),
            journal: Arc::new(Mutex::new(None)),
            synced: Arc::new(Mutex::new(0)),
        }
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the previous version is kept.
    pub fn backup_path(&self) -> PathBuf {
        self.sibling(".backup")
    }

    /// The lock file.
    pub fn lock_path(&self) -> PathBuf {
        self.sibling(".lock")
    }

    /// The journal of the apply in progress, or of one that did not finish.
    pub fn journal_path(&self) -> PathBuf {
        self.sibling(".journal")
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = OsString::from(self.path.as_os_str());
        name.push(suffix);
        PathBuf::from(name)
    }

    /// The folder holding the state, where temporary files must live for the rename to
    /// be atomic.
    fn folder(&self) -> PathBuf {
        match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Refuses a state whose folder does not exist: a mistyped `--state` must not
    /// make folders and a second state in them.
    fn existing_folder(folder: &Path) -> Result<(), StateError> {
        if folder.is_dir() {
            return Ok(());
        }
        Err(Self::io_error(
            folder,
            io::Error::new(
                ErrorKind::NotFound,
                "the state's folder does not exist, and nicplan makes none: create it, or correct the state's path",
            ),
        ))
    }

    fn io_error(path: &Path, source: io::Error) -> StateError {
        StateError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    fn corrupt(&self, reason: String) -> StateError {
        StateError::Corrupt {
            path: self.describe(),
            reason,
        }
    }

    /// The stored text and the state it holds, or `None` when there is no file.
    fn load(&self) -> Result<Option<(String, State)>, StateError> {
        let bytes = match read_capped(&self.path, MAX_STATE_BYTES) {
            Ok(None) => return Ok(None),
            Ok(Some(Capped::Whole(bytes))) => bytes,
            Ok(Some(Capped::TooLarge(len))) => {
                return Err(self.corrupt(format!(
                    "it is {len} bytes, larger than any state ({MAX_STATE_BYTES} bytes)"
                )));
            }
            Err(source) => return Err(Self::io_error(&self.path, source)),
        };
        let text = String::from_utf8(bytes)
            .map_err(|e| self.corrupt(format!("it is not UTF-8 text ({e})")))?;
        let mut state = State::from_json(&self.describe(), &text)?;
        let journal_path = self.journal_path();
        let journal_error = |reason: String| StateError::Corrupt {
            path: journal_path.display().to_string(),
            reason,
        };
        let journal = match read_capped(&journal_path, MAX_STATE_BYTES) {
            Ok(None) => return Ok(Some((text, state))),
            Ok(Some(Capped::Whole(bytes))) => bytes,
            Ok(Some(Capped::TooLarge(len))) => {
                return Err(journal_error(format!(
                    "it is {len} bytes, larger than any journal ({MAX_STATE_BYTES} bytes)"
                )));
            }
            Err(source) => return Err(Self::io_error(&journal_path, source)),
        };
        // A crash may leave bytes of a line that was never finished: not text, maybe.
        let journal = String::from_utf8_lossy(&journal);
        if journal::fold(&mut state, &journal).map_err(journal_error)? == 0 {
            return Ok(Some((text, state)));
        }
        // The previous version, for the backup, is the state with its journal.
        let folded = state.to_json();
        Ok(Some((folded, state)))
    }

    /// Removes the journal a full write has taken in.
    fn remove_journal(&self) -> Result<(), StateError> {
        let mut journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        *journal = None;
        let path = self.journal_path();
        match fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(Self::io_error(&path, e)),
            _ => Ok(()),
        }
    }

    /// Replaces the state file with `state`, after keeping `previous` as the backup.
    fn replace(&self, state: &State, previous: Option<&str>) -> Result<(), StateError> {
        let folder = self.folder();
        Self::existing_folder(&folder)?;
        let new = write_private_temp(&folder, state.to_json().as_bytes())
            .map_err(|e| Self::io_error(&folder, e))?;
        if let Some(previous) = previous {
            let backup_path = self.backup_path();
            let backup = write_private_temp(&folder, previous.as_bytes())
                .map_err(|e| Self::io_error(&folder, e))?;
            backup
                .persist(&backup_path)
                .map_err(|e| Self::io_error(&backup_path, e.error))?;
        }
        new.persist(&self.path)
            .map_err(|e| Self::io_error(&self.path, e.error))?;
        sync_folder(&folder).map_err(|e| Self::io_error(&folder, e))?;
        // The new file holds every record of the journal: a crash before the journal
        // is gone leaves records it skips by their serial.
        self.remove_journal()
    }

    fn current_lock(&self) -> CurrentLock {
        self.read_lock(LOCK_READ_ATTEMPTS)
    }

    /// What the lock file says, read up to `attempts` times while it does not parse.
    fn read_lock(&self, attempts: u32) -> CurrentLock {
        let lock_path = self.lock_path();
        let mut reason = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                thread::sleep(LOCK_READ_PAUSE);
            }
            match read_capped(&lock_path, MAX_LOCK_BYTES) {
                Ok(None) => return CurrentLock::Free,
                Ok(Some(Capped::Whole(bytes))) => match serde_json::from_slice(&bytes) {
                    Ok(info) => return CurrentLock::Held(info),
                    Err(e) if bytes.is_empty() => reason = format!("it is empty ({e})"),
                    Err(e) => reason = e.to_string(),
                },
                Ok(Some(Capped::TooLarge(len))) => {
                    return CurrentLock::Unreadable(format!("it is {len} bytes"));
                }
                Err(e) => return CurrentLock::Unreadable(e.to_string()),
            }
        }
        CurrentLock::Unreadable(reason)
    }

    /// Advice for a lock file that cannot be read.
    fn unreadable_lock(&self, reason: &str) -> String {
        format!(
            "lock file {} unreadable: {reason}; if no nicplan command is running, delete that file",
            self.lock_path().display()
        )
    }

    /// Removes the lock file if it holds `id`.
    fn release(&self, id: &str) -> Result<(), StateError> {
        let lock_path = self.lock_path();
        let not_locked = |current: String| StateError::NotLocked {
            path: self.describe(),
            id: id.to_string(),
            current,
        };
        match self.current_lock() {
            CurrentLock::Held(info) if info.id == id => match fs::remove_file(&lock_path) {
                // Someone else removed it meanwhile: it is released either way.
                Err(e) if e.kind() != ErrorKind::NotFound => Err(Self::io_error(&lock_path, e)),
                _ => Ok(()),
            },
            CurrentLock::Held(info) => Err(not_locked(format!(
                "; it is locked with ID {} by {} running `nicplan {}` since {}",
                info.id, info.who, info.command, info.when
            ))),
            CurrentLock::Free => Err(not_locked("; it is not locked".to_string())),
            CurrentLock::Unreadable(reason) => Err(not_locked(format!(
                "; it is locked by an unknown process ({})",
                self.unreadable_lock(&reason)
            ))),
        }
    }
}

impl StateStore for LocalStore {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn read(&self) -> Result<Option<State>, StateError> {
        Ok(self.load()?.map(|(_, state)| state))
    }

    fn write(&self, state: &mut State) -> Result<(), StateError> {
        let previous = self.load()?;
        if let Some((_, stored)) = &previous
            && stored.lineage != state.lineage
        {
            return Err(StateError::Lineage {
                path: self.describe(),
                expected: state.lineage.clone(),
                found: stored.lineage.clone(),
            });
        }
        let found = previous.as_ref().map_or(0, |(_, stored)| stored.serial);
        if found != state.serial {
            return Err(StateError::Conflict {
                path: self.describe(),
                expected: state.serial,
                found,
            });
        }
        let read_serial = state.serial;
        state.serial = read_serial
            .checked_add(1)
            .ok_or_else(|| self.corrupt(format!("serial {read_serial} cannot grow")))?;
        let result = self.replace(state, previous.as_ref().map(|(text, _)| text.as_str()));
        if result.is_err() {
            state.serial = read_serial;
        }
        result
    }

    fn append(&self, state: &mut State, changes: &[Change]) -> Result<u64, StateError> {
        let path = self.journal_path();
        let fail = |e: io::Error| Self::io_error(&path, e);
        let serial = state
            .serial
            .checked_add(1)
            .ok_or_else(|| self.corrupt(format!("serial {} cannot grow", state.serial)))?;
        let line = journal::encode(&state.lineage, serial, changes);
        let mut journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        if journal.is_none() {
            let file = open_private_append(&path).map_err(fail)?;
            // The file's name must survive a crash as well as its lines.
            let folder = self.folder();
            sync_folder(&folder).map_err(|e| Self::io_error(&folder, e))?;
            *journal = Some(Journal {
                file,
                written: state.serial,
            });
        }
        let Some(open) = journal.as_mut() else {
            return Err(fail(io::Error::other("the journal is not open")));
        };
        if open.written != state.serial {
            return Err(StateError::Conflict {
                path: self.describe(),
                expected: state.serial,
                found: open.written,
            });
        }
        // One write of the whole line: a crash cuts it short at worst, which folding
        // ignores.
        open.file.write_all(line.as_bytes()).map_err(fail)?;
        open.written = serial;
        state.serial = serial;
        Ok(serial)
    }

    fn sync(&self, serial: u64) -> Result<(), StateError> {
        let mut synced = self.synced.lock().unwrap_or_else(PoisonError::into_inner);
        if *synced >= serial {
            return Ok(());
        }
        // Everything written so far goes to disk with this one sync.
        let (file, written) = {
            let journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
            match journal.as_ref() {
                // A full write took the journal in since: durable already.
                None => return Ok(()),
                Some(open) => {
                    let file = open
                        .file
                        .try_clone()
                        .map_err(|e| Self::io_error(&self.journal_path(), e))?;
                    (file, open.written)
                }
            }
        };
        file.sync_data()
            .map_err(|e| Self::io_error(&self.journal_path(), e))?;
        *synced = written;
        Ok(())
    }

    fn lock(&self, command: &str) -> Result<LockInfo, StateError> {
        let lock_path = self.lock_path();
        let folder = self.folder();
        Self::existing_folder(&folder)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut info = LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            who: who(),
            when: rfc3339(now),
            command: command.to_string(),
            pid: Some(std::process::id()),
            took_over: None,
        };
        for _ in 0..LOCK_ATTEMPTS {
            let mut file = open_private(&lock_path).map_err(|e| Self::io_error(&lock_path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(match self.current_lock() {
                        CurrentLock::Held(held) => StateError::Locked {
                            path: self.describe(),
                            holder: held.to_string(),
                            id: held.id,
                        },
                        // Taken a moment ago and not written yet, or written by
                        // something else: locked either way.
                        CurrentLock::Free | CurrentLock::Unreadable(_) => StateError::Locked {
                            path: self.describe(),
                            holder: "another process that has not said who it is yet".to_string(),
                            id: String::new(),
                        },
                    });
                }
                Err(fs::TryLockError::Error(e)) => return Err(Self::io_error(&lock_path, e)),
            }
            // The lock is on the file this handle opened; it counts only while the
            // path still names that file (a releasing holder removes it first).
            if !same_file(&file, &lock_path) {
                continue;
            }
            // Ours now: what it says is final, and was written by a holder that is gone.
            if let CurrentLock::Held(stale) = self.read_lock(1) {
                info.took_over = Some(Box::new(stale));
            }
            let mut body = serde_json::to_string_pretty(&info)
                .map_err(|e| Self::io_error(&lock_path, io::Error::other(e)))?;
            body.push('\n');
            let written = file
                .set_len(0)
                .and_then(|()| file.write_all(body.as_bytes()))
                .and_then(|()| file.sync_all());
            if let Err(e) = written {
                let _ = fs::remove_file(&lock_path);
                return Err(Self::io_error(&lock_path, e));
            }
            self.remove_leftovers(&folder);
            *self.held.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((info.id.clone(), file));
            return Ok(info);
        }
        Err(StateError::Locked {
            path: self.describe(),
            holder: "other commands that keep taking and releasing it; try again".to_string(),
            id: String::new(),
        })
    }

    fn unlock(&self, lock: &LockInfo) -> Result<(), StateError> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        match held.take() {
            Some((id, file)) if id == lock.id => {
                // Removed while still locked, so nobody takes a lock on a file that is
                // about to go; the OS lock ends when the handle closes.
                let removed = match fs::remove_file(self.lock_path()) {
                    Err(e) if e.kind() != ErrorKind::NotFound => {
                        Err(Self::io_error(&self.lock_path(), e))
                    }
                    _ => Ok(()),
                };
                drop(file);
                removed
            }
            other => {
                *held = other;
                drop(held);
                self.release(&lock.id)
            }
        }
    }

    fn force_unlock(&self, id: &str) -> Result<(), StateError> {
        self.release(id)
    }
}

impl LocalStore {
    /// Removes the temporary files a killed writer left beside the state. Called with
    /// the lock held, so no writer of this state is running.
    fn remove_leftovers(&self, folder: &Path) {
        let Ok(entries) = fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".nicplan-state-")
                && name.ends_with(".tmp")
                && entry.file_type().is_ok_and(|t| t.is_file())
            {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// A file read up to a limit.
enum Capped {
    /// All of it.
    Whole(Vec<u8>),
    /// More than the limit; the size seen.
    TooLarge(u64),
}

/// Reads `path` unless it is larger than `limit`; `None` when it does not exist. Refuses
/// anything but a regular file, which could block (a FIFO) or never end (a device).
fn read_capped(path: &Path, limit: u64) -> io::Result<Option<Capped>> {
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !metadata.is_file() {
        return Err(io::Error::new(
            ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if metadata.len() > limit {
        return Ok(Some(Capped::TooLarge(metadata.len())));
    }
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // Room for the whole file at once; it may have grown since the size was taken.
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Ok(Some(Capped::TooLarge(bytes.len() as u64)));
    }
    Ok(Some(Capped::Whole(bytes)))
}

/// A temporary file in `folder` holding `bytes`, on disk, mode 0600.
fn write_private_temp(folder: &Path, bytes: &[u8]) -> io::Result<NamedTempFile> {
    let mut temp = tempfile::Builder::new()
        .prefix(".nicplan-state-")
        .suffix(".tmp")
        .tempfile_in(folder)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    make_private(temp.as_file())?;
    Ok(temp)
}

/// Opens `path` for appending, creating it mode 0600 when it does not exist. A last
/// line a crash cut short is cut off first, so that the next line starts a line.
fn open_private_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    make_private(&file)?;
    let mut text = Vec::new();
    file.read_to_end(&mut text)?;
    if text.last().is_some_and(|&b| b != b'\n') {
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        file.set_len(whole as u64)?;
    }
    Ok(file)
}

/// Opens `path` for writing, creating it mode 0600 when it does not exist.
fn open_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    // The umask may have taken bits away, never added; set it exactly.
    make_private(&file)?;
    Ok(file)
}

/// Whether `path` names the file `file` has open.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

#[cfg(unix)]
fn make_private(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn make_private(_file: &File) -> io::Result<()> {
    Ok(())
}

/// Makes a rename in `folder` durable.
#[cfg(unix)]
fn sync_folder(folder: &Path) -> io::Result<()> {
    match File::open(folder).and_then(|dir| dir.sync_all()) {
        // Some filesystems refuse to fsync a directory (EINVAL, ENOTSUP); the rename has
        // happened and there is nothing more to do.
        Err(e) if matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::Unsupported) => Ok(()),
        other => other,
    }
}

/// Directories cannot be opened as files here; the rename is all there is.
#[cfg(not(unix))]
fn sync_folder(_folder: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siblings_append_to_the_file_name() {
        let store = LocalStore::new("dir/nicplan.state.json");
        assert_eq!(
            store.backup_path(),
            PathBuf::from("dir/nicplan.state.json.backup")
        );
        assert_eq!(
            store.lock_path(),
            PathBuf::from("dir/nicplan.state.json.lock")
        );
        assert_eq!(store.folder(), PathBuf::from("dir"));
        assert_eq!(LocalStore::new("s.json").folder(), PathBuf::from("."));
        assert_eq!(store.describe(), "dir/nicplan.state.json");
    }

    #[test]
    fn who_names_a_user_and_a_host() {
        let who = who();
        let (user, host) = who.split_once('@').unwrap_or_default();
        assert!(!user.is_empty() && !host.is_empty(), "{who}");
    }
}
