//! The simulator's files: a JSON snapshot of the world (`PATH`) and an append-only
//! journal beside it (`PATH.journal`), one line per change.
//!
//! The snapshot records in `seq` how many changes it holds; each journal line is one
//! change: its sequence number and the new value of everything it touched (see
//! [`Record`]). The world is the snapshot with the journal's later records applied in
//! order. Records up to the snapshot's `seq` are skipped (what a compaction cut short
//! leaves), a last line without its newline is a record whose writer died before the
//! call returned and is ignored, and any other line that does not read, or a record out
//! of sequence, makes the files corrupt.
//!
//! A change appends its line and syncs it; when the journal outgrows the snapshot, the
//! change instead writes a new snapshot (a synced temporary file renamed over the old
//! one) and empties the journal, so a call costs the same however big the world is,
//! amortised. [`Store`] remembers what it has read (the snapshot's identity and how far
//! into the journal), so that a call reads only what other processes appended since.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::world::{Record, World};
use crate::cloud::CloudError;

/// The journal is compacted once it is longer than the snapshot and than this.
const COMPACT_AT: u64 = 256 * 1024;

/// How often a read without lock starts again when a compaction ran under it.
const ATTEMPTS: usize = 5;

/// What identifies one version of a file: replaced by a rename, it is another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
    modified_ns: i128,
    changed_ns: i128,
}

impl FileId {
    fn of(meta: &fs::Metadata) -> FileId {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            FileId {
                dev: meta.dev(),
                ino: meta.ino(),
                len: meta.len(),
                modified_ns: i128::from(meta.mtime()) * 1_000_000_000
                    + i128::from(meta.mtime_nsec()),
                changed_ns: i128::from(meta.ctime()) * 1_000_000_000
                    + i128::from(meta.ctime_nsec()),
            }
        }
        #[cfg(not(unix))]
        {
            let ns = |t: std::io::Result<std::time::SystemTime>| {
                t.ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(0))
            };
            FileId {
                dev: 0,
                ino: 0,
                len: meta.len(),
                modified_ns: ns(meta.modified()),
                changed_ns: ns(meta.created()),
            }
        }
    }

    /// The same file, whatever its length now (a journal grows in place).
    fn same_file(&self, other: &FileId) -> bool {
        self.dev == other.dev && self.ino == other.ino && (cfg!(unix) || self.len <= other.len)
    }
}

/// Where the files are, and what of them the cached world holds.
#[derive(Debug)]
pub(super) struct Store {
    path: PathBuf,
    journal_path: PathBuf,
    /// What was read: `None` until a first load (or after a failed write, to read
    /// everything again).
    seen: Option<Seen>,
}

#[derive(Clone, Copy, Debug)]
struct Seen {
    /// The snapshot read, `None` where there was none.
    snapshot: Option<FileId>,
    /// The journal read, `None` where there was none.
    journal: Option<FileId>,
    /// The journal's bytes folded into the world: up to the end of its last whole line.
    offset: u64,
    /// Whether bytes follow `offset` (a last line cut short).
    torn: bool,
}

/// `path` with `suffix` appended to its file name.
pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// The folder of `path`, `.` for a bare file name.
pub(super) fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The metadata of the file at `path`, `None` when there is none.
fn stat(path: &Path) -> std::io::Result<Option<FileId>> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(FileId::of(&meta))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// What went wrong in folding the journal.
enum Fold {
    /// A record out of sequence: a compaction may have run under a read.
    OutOfStep { line: u64, seq: u64, expected: u64 },
    /// A whole line that is not a record.
    Corrupt { line: u64, error: String },
}

/// Applies the whole lines of `bytes` to `world`, skipping records it holds already;
/// the length of the whole lines, and whether anything follows them. `first_line` is
/// the number of the first line, for messages.
fn fold(world: &mut World, bytes: &[u8], first_line: u64) -> Result<(u64, bool), Fold> {
    let whole = bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |last| last + 1);
    let mut line_no = first_line;
    for line in bytes[..whole].split(|b| *b == b'\n') {
        if line.is_empty() {
            // The split's end (after the last newline), or a blank line.
            line_no += 1;
            continue;
        }
        let record: Record = serde_json::from_slice(line).map_err(|e| Fold::Corrupt {
            line: line_no,
            error: e.to_string(),
        })?;
        if record.seq <= world.seq {
            line_no += 1;
            continue;
        }
        if record.seq != world.seq + 1 {
            return Err(Fold::OutOfStep {
                line: line_no,
                seq: record.seq,
                expected: world.seq + 1,
            });
        }
        world.apply(record);
        line_no += 1;
    }
    Ok((whole as u64, whole < bytes.len()))
}

impl Store {
    pub(super) fn new(path: PathBuf) -> Store {
        let journal_path = sibling(&path, ".journal");
        Store {
            path,
            journal_path,
            seen: None,
        }
    }

    fn unreadable(&self, path: &Path, e: impl std::fmt::Display) -> CloudError {
        CloudError::Unavailable(format!(
            "cannot read the simulator file {}: {e}",
            path.display()
        ))
    }

    fn unwritable(&self, path: &Path, e: impl std::fmt::Display) -> CloudError {
        CloudError::Unavailable(format!(
            "cannot write the simulator file {}: {e}",
            path.display()
        ))
    }

    fn corrupt_journal(&self, line: u64, what: &str) -> CloudError {
        CloudError::Unavailable(format!(
            "the simulator journal {} is corrupt at line {line} ({what}); repair or remove it (with {} beside it)",
            self.journal_path.display(),
            self.path.display()
        ))
    }

    /// Forgets what was read, so the next call reads the files whole.
    pub(super) fn forget(&mut self) {
        self.seen = None;
    }

    /// Brings `world` up to what the files hold: only the journal's new lines when the
    /// snapshot is the one read last, else everything.
    pub(super) fn refresh(&mut self, world: &mut World) -> Result<(), CloudError> {
        if let Some(seen) = self.seen {
            match self.catch_up(world, seen) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => {
                    self.seen = None;
                    return Err(e);
                }
            }
        }
        self.seen = None;
        let mut last = None;
        for _ in 0..ATTEMPTS {
            match self.load(world)? {
                Ok(seen) => {
                    self.seen = Some(seen);
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| self.corrupt_journal(0, "unreadable")))
    }

    /// Reads the journal's new lines into `world`; `false` when the files changed in a
    /// way that needs them read whole.
    fn catch_up(&mut self, world: &mut World, seen: Seen) -> Result<bool, CloudError> {
        let snapshot = stat(&self.path).map_err(|e| self.unreadable(&self.path, e))?;
        if snapshot != seen.snapshot || snapshot.is_none() {
            return Ok(false);
        }
        let mut file = match File::open(&self.journal_path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(seen.journal.is_none());
            }
            Err(e) => return Err(self.unreadable(&self.journal_path, e)),
        };
        let meta = file
            .metadata()
            .map_err(|e| self.unreadable(&self.journal_path, e))?;
        let now = FileId::of(&meta);
        let same = seen.journal.is_none_or(|j| j.same_file(&now));
        if !same || now.len < seen.offset {
            return Ok(false);
        }
        if now.len == seen.offset {
            self.seen = Some(Seen {
                journal: Some(now),
                torn: false,
                ..seen
            });
            return Ok(true);
        }
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(seen.offset))
            .and_then(|_| file.read_to_end(&mut bytes))
            .map_err(|e| self.unreadable(&self.journal_path, e))?;
        // A world partly caught up is no use: on any trouble, read everything.
        match fold(world, &bytes, 0) {
            Ok((whole, torn)) => {
                self.seen = Some(Seen {
                    journal: Some(now),
                    offset: seen.offset + whole,
                    torn,
                    ..seen
                });
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    /// Reads the snapshot and the journal whole into `world`. The inner error is a
    /// journal out of step with its snapshot, worth another try (a compaction may have
    /// run between the two reads).
    fn load(&self, world: &mut World) -> Result<Result<Seen, CloudError>, CloudError> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                // No snapshot is a new world: a journal left without one (its snapshot
                // removed) is not part of it, and the first change replaces it.
                *world = World::default();
                return Ok(Ok(Seen {
                    snapshot: None,
                    journal: None,
                    offset: 0,
                    torn: false,
                }));
            }
            Err(e) => return Err(self.unreadable(&self.path, e)),
        };
        let meta = file
            .metadata()
            .map_err(|e| self.unreadable(&self.path, e))?;
        let snapshot = FileId::of(&meta);
        let mut text = Vec::new();
        file.read_to_end(&mut text)
            .map_err(|e| self.unreadable(&self.path, e))?;
        let mut loaded: World = serde_json::from_slice(&text).map_err(|e| {
            CloudError::Unavailable(format!(
                "the simulator file {} is corrupt ({e}); repair or remove it",
                self.path.display()
            ))
        })?;
        loaded.adopt_build_deadlines();
        let (journal, bytes) = match File::open(&self.journal_path) {
            Ok(mut file) => {
                let meta = file
                    .metadata()
                    .map_err(|e| self.unreadable(&self.journal_path, e))?;
                let mut bytes = Vec::new();
                file.read_to_end(&mut bytes)
                    .map_err(|e| self.unreadable(&self.journal_path, e))?;
                let mut id = FileId::of(&meta);
                id.len = bytes.len() as u64;
                (Some(id), bytes)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => (None, Vec::new()),
            Err(e) => return Err(self.unreadable(&self.journal_path, e)),
        };
        let replaced = || stat(&self.path).ok().flatten() != Some(snapshot);
        match fold(&mut loaded, &bytes, 1) {
            Ok((offset, torn)) => {
                *world = loaded;
                Ok(Ok(Seen {
                    snapshot: Some(snapshot),
                    journal,
                    offset,
                    torn,
                }))
            }
            Err(Fold::Corrupt { line, error }) => {
                if replaced() {
                    Ok(Err(self.corrupt_journal(line, &error)))
                } else {
                    Err(self.corrupt_journal(line, &error))
                }
            }
            Err(Fold::OutOfStep {
                line,
                seq,
                expected,
            }) => {
                let error = self.corrupt_journal(
                    line,
                    &format!(
                        "record {seq} where {expected} was expected: the journal does not follow its snapshot"
                    ),
                );
                if replaced() {
                    Ok(Err(error))
                } else {
                    Err(error)
                }
            }
        }
    }

    /// Stores one change, whose record is `line` (without its newline), after a
    /// [`Store::refresh`] under the lock; `world` is the world with the change made.
    /// On failure the store forgets what it read, so the next call reads the files
    /// again.
    pub(super) fn write(&mut self, world: &World, line: &str) -> Result<(), CloudError> {
        let result = self.write_inner(world, line);
        if result.is_err() {
            self.seen = None;
        }
        result
    }

    fn write_inner(&mut self, world: &World, line: &str) -> Result<(), CloudError> {
        let seen = self.seen.ok_or_else(|| {
            CloudError::Unavailable("the simulator files were not read before a change".into())
        })?;
        let Some(snapshot) = seen.snapshot else {
            return self.compact(world);
        };
        let after = seen.offset + line.len() as u64 + 1;
        if after > snapshot.len.max(COMPACT_AT) {
            return self.compact(world);
        }
        let fail = |e: std::io::Error| self.unwritable(&self.journal_path, e);
        let mut options = OpenOptions::new();
        options.create(true).write(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&self.journal_path).map_err(fail)?;
        // What a killed writer left of its last line goes; under the lock nobody else
        // is writing.
        let len = file.metadata().map_err(fail)?.len();
        if seen.torn || len != seen.offset {
            file.set_len(seen.offset).map_err(fail)?;
        }
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        let written = file
            .seek(SeekFrom::Start(seen.offset))
            .and_then(|_| file.write_all(&bytes))
            .and_then(|()| file.sync_data());
        if let Err(e) = written {
            // Best effort: a record not acknowledged should not be found later.
            let _ = file.set_len(seen.offset);
            return Err(fail(e));
        }
        let meta = file.metadata().map_err(fail)?;
        self.seen = Some(Seen {
            journal: Some(FileId::of(&meta)),
            offset: after,
            torn: false,
            ..seen
        });
        Ok(())
    }

    /// Writes `world` as the new snapshot, then empties the journal.
    fn compact(&mut self, world: &World) -> Result<(), CloudError> {
        let path = &self.path;
        let fail = |e: std::io::Error| self.unwritable(path, e);
        let dir = folder(path);
        fs::create_dir_all(dir).map_err(fail)?;
        let mut text = serde_json::to_vec_pretty(world)
            .map_err(|e| fail(std::io::Error::other(e.to_string())))?;
        text.push(b'\n');
        // Named after the file, so that what a killed writer left (under the same
        // lock, so no writer of this file is running now) is recognised and removed.
        let prefix = format!(
            ".{}.",
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        );
        if let Ok(entries) = fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(&prefix)
                    && name.ends_with(".tmp")
                    && name.len() > prefix.len() + 4
                {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(fail)?;
        tmp.write_all(&text).map_err(fail)?;
        tmp.as_file().sync_all().map_err(fail)?;
        tmp.persist(path).map_err(|e| fail(e.error))?;
        // Make the rename itself durable; folders cannot be opened everywhere, so this
        // is best effort.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        // A crash here leaves the old journal beside the new snapshot: its records are
        // all in the snapshot, and skipped.
        let journal_fail = |e: std::io::Error| self.unwritable(&self.journal_path, e);
        let journal = match OpenOptions::new().write(true).open(&self.journal_path) {
            Ok(file) => {
                file.set_len(0).map_err(journal_fail)?;
                file.sync_all().map_err(journal_fail)?;
                Some(FileId::of(&file.metadata().map_err(journal_fail)?))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(journal_fail(e)),
        };
        let snapshot = stat(path).map_err(fail)?;
        self.seen = Some(Seen {
            snapshot,
            journal,
            offset: 0,
            torn: false,
        });
        Ok(())
    }
}
