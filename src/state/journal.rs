//! The journal of an apply: one line per recorded step, appended and made durable
//! beside the state instead of rewriting the whole state after every step.
//!
//! A record says what some addresses hold after a step (their entry and their create
//! begun, or nothing) and carries the state's lineage and the serial it makes: the
//! first record of a journal makes the serial of the state it extends plus one, each
//! next one its predecessor's plus one. Reading a state folds its journal in, in
//! order; records whose serial the state already has are ones a later full write took
//! in (a crash between that write and the journal's removal leaves them), and are
//! skipped. A last line cut short by a crash was never acknowledged (its step's call
//! was made, and the refresh finds the object by its marker or identity), so it is
//! ignored; a bad line followed by good ones is damage, and refused.

use serde::{Deserialize, Serialize};

use super::{Address, Entry, EntryOut, Intent, RawEntry, State, decode_entry, decode_intent};

/// What one address holds after a step: its entry and its create begun; `None` for
/// each that is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The address.
    pub address: Address,
    /// Its entry now.
    pub entry: Option<Entry>,
    /// Its create begun and not recorded yet, now.
    pub intent: Option<Intent>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "E: Deserialize<'de>"))]
struct RawChange<E> {
    address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entry: Option<E>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    intent: Option<Intent>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "E: Deserialize<'de>"))]
struct RawRecord<E> {
    lineage: String,
    serial: u64,
    changes: Vec<RawChange<E>>,
}

/// A record as read, its entries' attributes left as the text they are in.
type RecordIn<'a> = RawRecord<RawEntry<'a>>;

impl State {
    /// Where `address` stands now, as a journal change.
    pub fn change_at(&self, address: &Address) -> Change {
        Change {
            address: *address,
            entry: self.resources.get(address).cloned(),
            intent: self.intents.get(address).cloned(),
        }
    }

    /// Makes `address` hold what `change` says.
    pub fn apply_change(&mut self, change: Change) {
        match change.entry {
            Some(entry) => self.resources.insert(change.address, entry),
            None => self.resources.remove(&change.address),
        };
        match change.intent {
            Some(intent) => self.intents.insert(change.address, intent),
            None => self.intents.remove(&change.address),
        };
    }
}

/// One journal line (ending in a newline): `changes` made serial `serial` of the state
/// of `lineage`.
pub fn encode(lineage: &str, serial: u64, changes: &[Change]) -> String {
    let record = RawRecord {
        lineage: lineage.to_string(),
        serial,
        changes: changes
            .iter()
            .map(|c| RawChange {
                address: c.address.to_string(),
                entry: c.entry.as_ref().map(|e| EntryOut {
                    id: &e.id,
                    attributes: &e.attributes,
                }),
                intent: c.intent.clone(),
            })
            .collect(),
    };
    let mut line = serde_json::to_string(&record).unwrap_or_default();
    line.push('\n');
    line
}

/// Folds the journal `text` into `state`; the number of records taken in. `Err` says
/// what is wrong, for the caller to name the journal.
pub fn fold(state: &mut State, text: &str) -> Result<usize, String> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    // What follows the last newline was never finished.
    lines.pop();
    let mut records = Vec::with_capacity(lines.len());
    let mut torn: Option<usize> = None;
    for (n, line) in lines.iter().enumerate() {
        match serde_json::from_str::<RecordIn>(line) {
            Ok(record) if torn.is_none() => records.push((n + 1, record)),
            Ok(_) => {
                return Err(format!(
                    "line {} does not read as a record, yet line {} after it does: it was damaged, not cut short by a crash",
                    torn.unwrap_or_default(),
                    n + 1
                ));
            }
            Err(_) => {
                torn.get_or_insert(n + 1);
            }
        }
    }
    take_in(
        state,
        records
            .into_iter()
            .map(|(n, record)| (format!("line {n}"), record)),
    )
}

/// Folds journal rows, each one record with the serial it makes, in the order given,
/// into `state`; the number of records taken in. A row stands whole or not at all, so
/// one that does not read as a record is damage wherever it is. `Err` says what is
/// wrong, naming the row by its serial, for the caller to name the store.
pub fn fold_rows<'a>(
    state: &mut State,
    rows: impl IntoIterator<Item = (u64, &'a str)>,
) -> Result<usize, String> {
    let mut records = Vec::new();
    for (serial, text) in rows {
        let label = format!("the row of serial {serial}");
        let record: RecordIn = serde_json::from_str(text)
            .map_err(|e| format!("{label} does not read as a record ({e}): it was damaged"))?;
        if record.serial != serial {
            return Err(format!(
                "{label} holds a record of serial {}: it was damaged",
                record.serial
            ));
        }
        records.push((label, record));
    }
    take_in(state, records)
}

/// Takes `records`, each named for messages, into `state` in order, skipping those
/// whose serial it has already.
fn take_in<'a>(
    state: &mut State,
    records: impl IntoIterator<Item = (String, RecordIn<'a>)>,
) -> Result<usize, String> {
    let mut taken = 0;
    for (what, record) in records {
        if record.lineage != state.lineage {
            return Err(format!(
                "{what} belongs to the state of lineage {}, not {}",
                record.lineage, state.lineage
            ));
        }
        if record.serial <= state.serial {
            // Taken in by a full write already.
            continue;
        }
        if record.serial != state.serial + 1 {
            return Err(format!(
                "{what} makes serial {}, but the state is at {}: records are missing",
                record.serial, state.serial
            ));
        }
        for change in record.changes {
            let entry = match change.entry {
                Some(raw) => Some(
                    decode_entry(&change.address, raw)
                        .map_err(|e| format!("{what}: {e}"))?
                        .1,
                ),
                None => None,
            };
            let address: Address = change
                .address
                .parse()
                .map_err(|e: crate::address::AddressError| format!("{what}: {e}"))?;
            if let Some(intent) = &change.intent {
                decode_intent(&change.address, intent).map_err(|e| format!("{what}: {e}"))?;
            }
            state.apply_change(Change {
                address,
                entry,
                intent: change.intent,
            });
        }
        state.serial = record.serial;
        taken += 1;
    }
    if taken > 0 {
        let mut owners = std::collections::BTreeMap::new();
        for (address, entry) in &state.resources {
            if let Some(other) = owners.insert(entry.id.as_str(), address) {
                return Err(format!(
                    "with it, {other} and {address} both have ID {}; one cloud object is one resource",
                    entry.id
                ));
            }
        }
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Kind;
    use crate::resource::{Attributes, SecurityGroup};

    fn sg(id: &str) -> Entry {
        Entry {
            id: id.to_string(),
            attributes: Attributes::SecurityGroup(SecurityGroup::default()),
        }
    }

    fn put(name: &str, id: &str) -> Change {
        Change {
            address: Address::new(Kind::SecurityGroup, name),
            entry: Some(sg(id)),
            intent: None,
        }
    }

    fn gone(name: &str) -> Change {
        Change {
            address: Address::new(Kind::SecurityGroup, name),
            entry: None,
            intent: None,
        }
    }

    #[test]
    fn records_fold_in_order_and_a_cut_last_line_is_ignored() {
        let mut state = State::new("l");
        state.serial = 4;
        let mut text = encode("l", 5, &[put("a", "sg-1")]);
        text.push_str(&encode("l", 6, &[put("b", "sg-2"), gone("a")]));
        let cut = encode("l", 7, &[put("c", "sg-3")]);
        text.push_str(&cut[..cut.len() / 2]);
        assert_eq!(fold(&mut state, &text), Ok(2));
        assert_eq!(state.serial, 6);
        let names: Vec<String> = state.resources.keys().map(ToString::to_string).collect();
        assert_eq!(names, ["security_group.b"]);
    }

    #[test]
    fn records_a_full_write_took_in_are_skipped() {
        let mut state = State::new("l");
        state.serial = 6;
        state
            .resources
            .insert(Address::new(Kind::SecurityGroup, "b"), sg("sg-2"));
        let mut text = encode("l", 5, &[put("a", "sg-1")]);
        text.push_str(&encode("l", 6, &[put("b", "sg-2"), gone("a")]));
        let before = state.clone();
        assert_eq!(fold(&mut state, &text), Ok(0));
        assert_eq!(state, before);
    }

    #[test]
    fn damage_a_gap_and_another_lineage_are_refused() {
        let mut state = State::new("l");
        let damaged = format!(
            "{}{{not a record\n{}",
            encode("l", 1, &[put("a", "sg-1")]),
            encode("l", 2, &[put("b", "sg-2")])
        );
        assert!(
            fold(&mut state.clone(), &damaged)
                .unwrap_err()
                .contains("damaged")
        );
        let gap = encode("l", 3, &[put("a", "sg-1")]);
        assert!(
            fold(&mut state.clone(), &gap)
                .unwrap_err()
                .contains("missing")
        );
        let other = encode("m", 1, &[put("a", "sg-1")]);
        assert!(
            fold(&mut state.clone(), &other)
                .unwrap_err()
                .contains("lineage m")
        );
        let twice = format!(
            "{}{}",
            encode("l", 1, &[put("a", "sg-1")]),
            encode("l", 2, &[put("b", "sg-1")])
        );
        assert!(
            fold(&mut state, &twice)
                .unwrap_err()
                .contains("both have ID sg-1")
        );
    }

    #[test]
    fn rows_fold_by_serial_and_a_damaged_row_is_refused_wherever_it_is() {
        let row = |serial: u64, changes: &[Change]| (serial, encode("l", serial, changes));
        let rows = [row(5, &[put("a", "sg-1")]), row(6, &[put("b", "sg-2")])];
        let mut state = State::new("l");
        state.serial = 4;
        let taken = fold_rows(&mut state, rows.iter().map(|(s, t)| (*s, t.trim_end())));
        assert_eq!(taken, Ok(2));
        assert_eq!(state.serial, 6);
        assert_eq!(state.resources.len(), 2);

        let mut state = State::new("l");
        state.serial = 4;
        let damaged = [(5, rows[0].1.as_str()), (6, "{not a record")];
        let error = fold_rows(&mut state, damaged).unwrap_err();
        assert!(
            error.starts_with("the row of serial 6 does not read"),
            "{error}"
        );
        let moved = [(5, rows[1].1.as_str())];
        let error = fold_rows(&mut State::new("l"), moved).unwrap_err();
        assert!(error.contains("holds a record of serial 6"), "{error}");
        let gap = [(6, rows[1].1.as_str())];
        let error = fold_rows(&mut state, gap).unwrap_err();
        assert!(
            error.contains("the row of serial 6 makes serial 6"),
            "{error}"
        );
    }
}
