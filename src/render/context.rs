//! Where a plan was made: the backend it reads and changes, the state it starts from,
//! the desired-state file that state was last applied from, and the warnings about
//! them a reader must see before the steps. Every plan format shows it first, so that
//! a plan against the wrong cloud or the wrong state is seen for what it is.

use serde::Serialize;

/// The backend, the state and the recorded file of a plan, in words.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Context {
    /// The backend: the embedded simulator and its file (which touches nothing real),
    /// or `kakaocloud` and where its calls go.
    pub backend: String,
    /// The state: a local path, or a PostgreSQL state by host, database and name
    /// (never a password).
    pub state: String,
    /// The state's serial; none when there is no state yet.
    pub serial: Option<u64>,
    /// The desired-state file the state was last applied from, when one was recorded.
    pub last_applied_from: Option<String>,
    /// What about the state and the file may undo or duplicate what exists.
    pub warnings: Vec<String>,
}

impl Context {
    /// One sentence on the backend and one on the state, as the top of a plan shows
    /// them.
    pub fn line(&self) -> String {
        let state = match (self.serial, &self.last_applied_from) {
            (None, _) => format!("{} (none yet: the first apply creates it)", self.state),
            (Some(serial), Some(file)) => {
                format!("{} (serial {serial}), last applied from {file}", self.state)
            }
            (Some(serial), None) => format!("{} (serial {serial})", self.state),
        };
        format!("Backend: {}. State: {state}.", self.backend)
    }
}
