//! State: what nicplan last saw of every resource it manages, by address, with the
//! cloud ID. A JSON document with a fixed `lineage` and a `serial` that grows by one on
//! every write, kept by a [`StateStore`].

pub mod journal;
pub mod local;
pub mod memory;
pub mod postgres;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::address::{Address, Kind};
use crate::resource::Attributes;

/// The state format this nicplan writes and reads.
pub const STATE_VERSION: u64 = 1;

/// One managed resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The cloud's ID of the object.
    pub id: String,
    /// Its attributes as last observed.
    pub attributes: Attributes,
}

/// A whole state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// Fixed when the state is created; a plan or a store of another lineage is another
    /// state altogether.
    pub lineage: String,
    /// Grows by one on every write.
    pub serial: u64,
    /// Every managed resource, in address order.
    pub resources: BTreeMap<Address, Entry>,
    /// Cloud IDs removed with `state rm`: objects nicplan created but was told to
    /// forget, which a refresh must not adopt again by their marker.
    pub forgotten: std::collections::BTreeSet<String>,
    /// Cloud IDs of objects that carry another state's marker and were imported into
    /// this one on purpose (`import --take-over`): not refused as another state's.
    pub taken_over: std::collections::BTreeSet<String>,
    /// VPC and subnet creates begun and not recorded yet: written before the call, so
    /// that the object a call made is found again after a crash although VPCs and
    /// subnets carry no marker. A refresh resolves them.
    pub intents: BTreeMap<Address, Intent>,
    /// The desired-state file the last `apply` planned from, as its path was given
    /// (cleaned of `.` and `x/..`): a plan from another file would undo what that one
    /// made. `None` in a state no apply has written yet, or written by an older nicplan.
    pub applied_from: Option<String>,
}

/// A VPC or subnet create about to be made: what identifies its object on the
/// platform, and the objects so identified that were there before the call (never
/// taken for the one it makes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The name it is created with.
    pub name: String,
    /// Its block.
    pub cidr_block: String,
    /// A subnet's zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// A subnet's VPC ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    /// IDs of objects with that identity before the call.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub existing: std::collections::BTreeSet<String>,
}

/// Why a state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The state file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or store.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The document is not a state.
    #[error("{path} is not a valid nicplan state: {reason}; nothing was changed")]
    Corrupt {
        /// The file or store.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The document was written by a newer nicplan.
    #[error(
        "{path} was written in state format {found}, newer than this nicplan reads ({STATE_VERSION}); upgrade nicplan"
    )]
    TooNew {
        /// The file or store.
        path: String,
        /// The version found.
        found: u64,
    },
    /// The stored state is another state altogether.
    #[error(
        "the state {path} has lineage {found}, not {expected}: it is another state; nothing was written"
    )]
    Lineage {
        /// The file or store.
        path: String,
        /// The lineage this command read.
        expected: String,
        /// The lineage found.
        found: String,
    },
    /// Another command holds the lock.
    #[error("the state {path} is locked by {holder}; {}", unlock_hint(id))]
    Locked {
        /// The file or store.
        path: String,
        /// Who, when, which command.
        holder: String,
        /// The lock ID to pass to force-unlock.
        id: String,
    },
    /// force-unlock was given an ID that is not the current lock's.
    #[error("the state {path} is not locked with ID {id}{current}")]
    NotLocked {
        /// The file or store.
        path: String,
        /// The ID given.
        id: String,
        /// The current lock, if any, in words.
        current: String,
    },
    /// Someone else wrote the state since it was read.
    #[error(
        "the state {path} changed since it was read (serial {expected} expected, {found} found); run the command again"
    )]
    Conflict {
        /// The file or store.
        path: String,
        /// The serial this command read.
        expected: u64,
        /// The serial found.
        found: u64,
    },
}

/// An entry as read: its attributes stay the text they are in the document until the
/// address says their kind, so no generic JSON value is ever made of a state.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry<'a> {
    id: String,
    #[serde(borrow)]
    attributes: &'a serde_json::value::RawValue,
}

/// An entry as written.
#[derive(Serialize)]
struct EntryOut<'a> {
    id: &'a str,
    attributes: &'a Attributes,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "E: Deserialize<'de>"))]
struct RawState<E> {
    version: u64,
    lineage: String,
    serial: u64,
    #[serde(deserialize_with = "unique_keys")]
    resources: BTreeMap<String, E>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    forgotten: std::collections::BTreeSet<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    taken_over: std::collections::BTreeSet<String>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "unique_keys"
    )]
    intents: BTreeMap<String, Intent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    applied_from: Option<String>,
}

/// A JSON object as a map, refusing a key given twice: of two entries for one address
/// one would be dropped without a word, and the object it names left unmanaged.
fn unique_keys<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Unique<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Unique<V> {
        type Value = BTreeMap<String, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = map.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(serde::de::Error::custom(format!("`{key}` is given twice")));
                }
                let value = map.next_value()?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Unique(std::marker::PhantomData))
}

/// The type of the JSON document `text`, in words, by its first character (for a
/// document that parses).
fn json_type_of(text: &str) -> &'static str {
    match text.trim_start().chars().next() {
        Some('{') => "an object",
        Some('[') => "an array",
        Some('"') => "a string",
        Some('n') => "null",
        Some('t' | 'f') => "a boolean",
        _ => "a number",
    }
}

/// A JSON value's type in words.
fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// An ID as messages show it: quoted and escaped, and cut short past 64 characters.
fn shown_id(id: &str) -> String {
    if id.chars().count() <= 64 {
        format!("{id:?}")
    } else {
        let head: String = id.chars().take(32).collect();
        format!("{head:?}... ({} characters)", id.chars().count())
    }
}

impl State {
    /// An empty state of a new lineage.
    pub fn new(lineage: impl Into<String>) -> State {
        State {
            lineage: lineage.into(),
            serial: 0,
            resources: BTreeMap::new(),
            forgotten: std::collections::BTreeSet::new(),
            taken_over: std::collections::BTreeSet::new(),
            intents: BTreeMap::new(),
            applied_from: None,
        }
    }

    /// The state as a JSON document, keys in address order, ending in a newline.
    pub fn to_json(&self) -> String {
        let mut text = self.encoded(true);
        text.push('\n');
        text
    }

    /// [`State::to_json`] on one line, without the newline (as a saved plan holds it).
    pub fn to_json_compact(&self) -> String {
        self.encoded(false)
    }

    fn encoded(&self, pretty: bool) -> String {
        let raw = RawState {
            version: STATE_VERSION,
            lineage: self.lineage.clone(),
            serial: self.serial,
            resources: self
                .resources
                .iter()
                .map(|(address, entry)| {
                    (
                        address.to_string(),
                        EntryOut {
                            id: &entry.id,
                            attributes: &entry.attributes,
                        },
                    )
                })
                .collect(),
            forgotten: self.forgotten.clone(),
            taken_over: self.taken_over.clone(),
            intents: self
                .intents
                .iter()
                .map(|(a, i)| (a.to_string(), i.clone()))
                .collect(),
            applied_from: self.applied_from.clone(),
        };
        if pretty {
            serde_json::to_string_pretty(&raw).unwrap_or_default()
        } else {
            serde_json::to_string(&raw).unwrap_or_default()
        }
    }

    /// Reads a JSON document; `path` names it in errors.
    pub fn from_json(path: &str, text: &str) -> Result<State, StateError> {
        let corrupt = |reason: String| StateError::Corrupt {
            path: path.to_string(),
            reason,
        };
        // The version first, from a reading that keeps nothing else: a state of a newer
        // format is refused as such, whatever else it holds.
        #[derive(Deserialize)]
        struct Probe {
            version: Option<serde_json::Value>,
        }
        let kind = json_type_of(text);
        if kind != "an object" {
            // Well-formed JSON is named by its type; anything else by where it breaks.
            serde_json::from_str::<serde::de::IgnoredAny>(text)
                .map_err(|e| corrupt(e.to_string()))?;
            return Err(corrupt(format!("it is {kind}, not a JSON object")));
        }
        let probe = match serde_json::from_str::<Probe>(text) {
            Ok(probe) => Some(probe),
            // An object the probe could not read (a field given twice): the full
            // reading below says what is wrong with it.
            Err(e) if e.is_data() => None,
            Err(e) => return Err(corrupt(e.to_string())),
        };
        if let Some(probe) = probe {
            let version = match probe.version {
                None => return Err(corrupt("no `version`".to_string())),
                Some(v) => v.as_u64().ok_or_else(|| {
                    corrupt(format!(
                        "its `version` is {}, not a format number such as {STATE_VERSION}",
                        match &v {
                            serde_json::Value::Number(n) => format!("the number {n}"),
                            other => json_type(other).to_string(),
                        }
                    ))
                })?,
            };
            if version > STATE_VERSION {
                return Err(StateError::TooNew {
                    path: path.to_string(),
                    found: version,
                });
            }
            if version == 0 {
                return Err(corrupt(format!(
                    "`version` is 0, which no nicplan writes (this one writes {STATE_VERSION})"
                )));
            }
        }
        let raw: RawState<RawEntry> =
            serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
        if raw.lineage.trim().is_empty() {
            return Err(corrupt(
                "its `lineage` is empty, so nothing can tell it from another state".to_string(),
            ));
        }
        let mut owners: BTreeMap<String, String> = BTreeMap::new();
        let mut resources = BTreeMap::new();
        for (key, entry) in raw.resources {
            let (address, entry) = decode_entry(&key, entry).map_err(corrupt)?;
            if let Some(other) = owners.insert(entry.id.clone(), address.to_string()) {
                return Err(corrupt(format!(
                    "{other} and {address} both have ID {}; one cloud object is one resource",
                    entry.id
                )));
            }
            resources.insert(address, entry);
        }
        for (field, ids) in [
            ("forgotten", &raw.forgotten),
            ("taken_over", &raw.taken_over),
        ] {
            for id in ids {
                if let Some(problem) = id_problem(id) {
                    return Err(corrupt(format!(
                        "`{field}` holds the ID {}, which {problem}",
                        shown_id(id)
                    )));
                }
            }
        }
        let mut intents = BTreeMap::new();
        for (key, intent) in raw.intents {
            let address = decode_intent(&key, &intent).map_err(corrupt)?;
            intents.insert(address, intent);
        }
        Ok(State {
            lineage: raw.lineage,
            serial: raw.serial,
            resources,
            forgotten: raw.forgotten,
            taken_over: raw.taken_over,
            intents,
            applied_from: raw.applied_from,
        })
    }
}

/// One entry of a state document (or of a journal record), checked.
fn decode_entry(key: &str, entry: RawEntry<'_>) -> Result<(Address, Entry), String> {
    let address: Address = key
        .parse()
        .map_err(|e: crate::address::AddressError| e.to_string())?;
    let attributes = Attributes::from_json(address.kind, entry.attributes.get())
        .map_err(|e| format!("{address}: {e}"))?;
    if let Some(problem) = id_problem(&entry.id) {
        return Err(format!(
            "{address} has ID {}, which {problem}",
            shown_id(&entry.id)
        ));
    }
    Ok((
        address,
        Entry {
            id: entry.id,
            attributes,
        },
    ))
}

/// The address of a recorded create begun, checked with its intent.
fn decode_intent(key: &str, intent: &Intent) -> Result<Address, String> {
    let address: Address = key
        .parse()
        .map_err(|e: crate::address::AddressError| e.to_string())?;
    if !matches!(address.kind, Kind::Vpc | Kind::Subnet) {
        return Err(format!(
            "it records a create of {address} begun, which only VPCs and subnets record"
        ));
    }
    if intent.cidr_block.parse::<ipnet::Ipv4Net>().is_err() {
        return Err(format!(
            "the create of {address} begun has block {:?}, which is not an IPv4 CIDR block",
            intent.cidr_block
        ));
    }
    Ok(address)
}

/// What is wrong with a cloud ID as a state may hold it, whatever the backend.
fn id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("is empty")
    } else if id.len() > 255 {
        Some("is longer than any cloud ID")
    } else if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
    {
        Some("holds characters no cloud ID has")
    } else {
        None
    }
}

fn unlock_hint(id: &str) -> String {
    if id.is_empty() {
        "if no nicplan command holds it any more, remove the stale lock (for a state file, delete its .lock file)".to_string()
    } else {
        format!("if that command is gone, run `nicplan force-unlock {id}`")
    }
}

/// How often a lock held by another is tried again while waiting for it.
const LOCK_POLL: Duration = Duration::from_millis(200);

/// Who holds a lock, and since when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// A unique ID, for force-unlock.
    pub id: String,
    /// `user@host`.
    pub who: String,
    /// When it was taken, RFC 3339 UTC.
    pub when: String,
    /// The command that took it (`apply`, `state rm`...).
    pub command: String,
    /// The process holding it, where the store knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The lock this one took over: its holder was gone, and the lock with it.
    #[serde(skip)]
    pub took_over: Option<Box<LockInfo>>,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.who)?;
        if let Some(pid) = self.pid {
            write!(f, " (PID {pid})")?;
        }
        write!(
            f,
            " running `nicplan {}` since {} (lock ID {})",
            self.command, self.when, self.id
        )
    }
}

/// Where a state lives. Every writing command holds the lock from before it reads the
/// state until after its last write.
pub trait StateStore: Send + Sync {
    /// The store in words for messages: a path, or a URL without its password.
    fn describe(&self) -> String;
    /// The current state, or `None` when there is none yet.
    fn read(&self) -> Result<Option<State>, StateError>;
    /// Writes `state` with its serial increased by one, and records the new serial in
    /// `state`. Refuses when the stored serial is no longer `state.serial`.
    fn write(&self, state: &mut State) -> Result<(), StateError>;
    /// Records one step's `changes` to `state` (already made to it) and raises its
    /// serial by one; the serial written. The record may not be durable before
    /// [`StateStore::sync`] of that serial returns. A store with a journal appends a
    /// record to it; this default writes the whole state, durably.
    fn append(&self, state: &mut State, changes: &[journal::Change]) -> Result<u64, StateError> {
        let _ = changes;
        self.write(state)?;
        Ok(state.serial)
    }
    /// Makes every record up to `serial` durable (records written meanwhile by other
    /// threads with it: one sync for many).
    fn sync(&self, serial: u64) -> Result<(), StateError> {
        let _ = serial;
        Ok(())
    }
    /// Takes the lock for `command`, or says who holds it.
    fn lock(&self, command: &str) -> Result<LockInfo, StateError>;
    /// Takes the lock for `command`, waiting up to `timeout` for a holder to release
    /// it.
    fn lock_within(&self, command: &str, timeout: Duration) -> Result<LockInfo, StateError> {
        let start = Instant::now();
        loop {
            match self.lock(command) {
                Err(StateError::Locked { .. }) if start.elapsed() < timeout => {
                    let left = timeout.saturating_sub(start.elapsed());
                    std::thread::sleep(left.min(LOCK_POLL));
                }
                other => return other,
            }
        }
    }
    /// Releases a lock this process took.
    fn unlock(&self, lock: &LockInfo) -> Result<(), StateError>;
    /// Releases whatever lock has this ID.
    fn force_unlock(&self, id: &str) -> Result<(), StateError>;
}

/// Releases the lock when dropped, so an early return or an error never leaves it held.
pub struct LockGuard<'a> {
    store: &'a dyn StateStore,
    info: LockInfo,
}

impl<'a> LockGuard<'a> {
    /// Takes the lock of `store` for `command`, at once.
    pub fn acquire(store: &'a dyn StateStore, command: &str) -> Result<LockGuard<'a>, StateError> {
        LockGuard::acquire_within(store, command, Duration::ZERO)
    }

    /// Takes the lock of `store` for `command`, waiting up to `timeout` for its holder.
    pub fn acquire_within(
        store: &'a dyn StateStore,
        command: &str,
        timeout: Duration,
    ) -> Result<LockGuard<'a>, StateError> {
        let info = store.lock_within(command, timeout)?;
        Ok(LockGuard { store, info })
    }

    /// The lock held.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.store.unlock(&self.info);
    }
}

/// `user@host` for the lock, `unknown` for either part that cannot be found.
pub(crate) fn who() -> String {
    let user = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .map(|value| value.trim().to_string())
        .find(|value| !value.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|value| value.trim().to_string())
        .find(|value| !value.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    format!("{user}@{host}")
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC (`2026-11-26T10:00:00Z`).
pub fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil-from-days, Howard Hinnant's algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Seconds since the Unix epoch of an RFC 3339 time (`2026-11-26T10:40:40Z`, with or
/// without fractions of a second, `Z` or an offset such as `+09:00`); `None` when it
/// does not parse or lies before 1970.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let text = text.trim();
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let clock = clock.split('.').next()?;
    let mut c = clock.splitn(3, ':');
    let hour: i64 = c.next()?.parse().ok()?;
    let minute: i64 = c.next()?.parse().ok()?;
    let second: i64 = c.next().map_or(Some(0), |s| s.parse().ok())?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let offset: i64 = match zone {
        "" | "Z" | "z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (h, m) = z[1..].split_once(':').unwrap_or((&z[1..], "0"));
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    // Days-from-civil, Howard Hinnant's algorithm.
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_parses_what_it_formats_and_the_platform_sends() {
        for secs in [0, 951_782_400, 1_764_581_200, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs));
        }
        assert_eq!(
            parse_rfc3339("2026-12-01T12:00:00.123456Z"),
            parse_rfc3339("2026-12-01T12:00:00Z")
        );
        assert_eq!(
            parse_rfc3339("2026-12-01T21:00:00+09:00"),
            parse_rfc3339("2026-12-01T12:00:00Z")
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
    }
    use crate::resource::{SecurityGroup, Vpc};

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_687_200), "2026-11-26T10:00:00Z");
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut state = State::new("lineage-1");
        state.serial = 4;
        state.resources.insert(
            Address::new(Kind::Vpc, "main"),
            Entry {
                id: "vpc-1".into(),
                attributes: Attributes::Vpc(Vpc {
                    cidr_block: "10.0.0.0/16".parse().expect("cidr"),
                }),
            },
        );
        state.resources.insert(
            Address::new(Kind::SecurityGroup, "web"),
            Entry {
                id: "sg-1".into(),
                attributes: Attributes::SecurityGroup(SecurityGroup::default()),
            },
        );
        let text = state.to_json();
        assert_eq!(State::from_json("s", &text).expect("reads"), state);
    }

    #[test]
    fn a_nic_recorded_before_its_status_was_loads_without_one() {
        let old = r#"{"version":1,"lineage":"x","serial":3,"resources":{"network_interface.a":{"id":"nic-1","attributes":{"subnet":"s","private_ip":"10.0.1.5","security_groups":[],"source_dest_check":true,"mac_address":"fa:16:3e:00:00:01"}}}}"#;
        let state = State::from_json("s", old).expect("an older state loads");
        let entry = &state.resources[&Address::new(Kind::NetworkInterface, "a")];
        let Attributes::NetworkInterface(nic) = &entry.attributes else {
            panic!("a NIC");
        };
        assert_eq!(nic.status, None);
        assert!(!state.to_json().contains("\"status\""));
    }

    #[test]
    fn a_state_without_its_file_loads_and_one_with_it_keeps_it() {
        let old = r#"{"version":1,"lineage":"x","serial":3,"resources":{}}"#;
        let mut state = State::from_json("s", old).expect("an older state loads");
        assert_eq!(state.applied_from, None);
        assert!(!state.to_json().contains("applied_from"));
        state.applied_from = Some("envs/prod.yaml".to_string());
        let again = State::from_json("s", &state.to_json()).expect("reads");
        assert_eq!(again.applied_from.as_deref(), Some("envs/prod.yaml"));
    }

    #[test]
    fn newer_and_corrupt_states_are_refused() {
        let newer = r#"{"version": 2, "lineage": "x", "serial": 1, "resources": {}}"#;
        assert!(matches!(
            State::from_json("s", newer),
            Err(StateError::TooNew { found: 2, .. })
        ));
        for bad in [
            "",
            "{",
            "[]",
            r#"{"version": 1}"#,
            r#"{"version":1,"lineage":"x","serial":1,"resources":{"vpc.main":{"id":"v","attributes":{}}}}"#,
        ] {
            assert!(
                matches!(State::from_json("s", bad), Err(StateError::Corrupt { .. })),
                "{bad}"
            );
        }
    }
}
