//! A state store in memory, for tests and property tests: the same compare-and-set and
//! locking rules as the file store, and every write goes through the JSON document so
//! the format is exercised too.

use std::sync::Mutex;

use super::{LockInfo, State, StateError, StateStore};

/// A state kept in memory as its JSON text, with the lineage and serial of that text
/// beside it so a write need not parse it again.
#[derive(Debug, Default)]
pub struct MemoryStore {
    text: Mutex<Option<(String, String, u64)>>,
    lock: Mutex<Option<LockInfo>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl StateStore for MemoryStore {
    fn describe(&self) -> String {
        "memory".to_string()
    }

    fn read(&self) -> Result<Option<State>, StateError> {
        guard(&self.text)
            .as_ref()
            .map(|(t, _, _)| State::from_json("memory", t))
            .transpose()
    }

    fn write(&self, state: &mut State) -> Result<(), StateError> {
        let mut text = guard(&self.text);
        if let Some((_, lineage, serial)) = text.as_ref() {
            if *lineage != state.lineage {
                return Err(StateError::Lineage {
                    path: self.describe(),
                    expected: state.lineage.clone(),
                    found: lineage.clone(),
                });
            }
            if *serial != state.serial {
                return Err(StateError::Conflict {
                    path: self.describe(),
                    expected: state.serial,
                    found: *serial,
                });
            }
        }
        state.serial += 1;
        *text = Some((state.to_json(), state.lineage.clone(), state.serial));
        Ok(())
    }

    fn lock(&self, command: &str) -> Result<LockInfo, StateError> {
        let mut lock = guard(&self.lock);
        if let Some(held) = lock.as_ref() {
            return Err(StateError::Locked {
                path: self.describe(),
                holder: held.to_string(),
                id: held.id.clone(),
            });
        }
        let info = LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            who: "test@memory".to_string(),
            when: super::rfc3339(0),
            command: command.to_string(),
            pid: None,
            took_over: None,
        };
        *lock = Some(info.clone());
        Ok(info)
    }

    fn unlock(&self, info: &LockInfo) -> Result<(), StateError> {
        self.force_unlock(&info.id)
    }

    fn force_unlock(&self, id: &str) -> Result<(), StateError> {
        let mut lock = guard(&self.lock);
        if lock.as_ref().is_some_and(|l| l.id == id) {
            *lock = None;
            Ok(())
        } else {
            Err(StateError::NotLocked {
                path: self.describe(),
                id: id.to_string(),
                current: String::new(),
            })
        }
    }
}
