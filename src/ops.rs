//! Operations: the sequences every command runs, independent of the command line.
//! Reading and writing happen here, around the pure planner.

use crate::apply::{self, Event, Outcome};
use crate::cloud::{Cloud, CloudError};
use crate::model::Model;
use crate::plan::{self, Plan};
use crate::refresh::{self, Drift};
use crate::state::{State, StateError, StateStore};

/// Why an operation could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The state could not be read, written or locked.
    #[error(transparent)]
    State(#[from] StateError),
    /// The cloud could not be read.
    #[error("cannot read the {backend} backend: {source}")]
    Cloud {
        /// The backend's name.
        backend: &'static str,
        /// Why.
        source: CloudError,
    },
}

/// The stored state, or a new empty one with a fresh lineage.
pub fn read_state(store: &dyn StateStore) -> Result<State, OpError> {
    Ok(store
        .read()?
        .unwrap_or_else(|| State::new(uuid::Uuid::new_v4().to_string())))
}

/// Refreshes a state against the cloud.
pub fn refresh(state: &State, cloud: &dyn Cloud) -> Result<(State, Vec<Drift>), OpError> {
    let inventory = cloud.inventory().map_err(|source| OpError::Cloud {
        backend: cloud.name(),
        source,
    })?;
    Ok(refresh::refresh(state, &inventory))
}

/// A refreshed plan: the state it is based on, the drift, the plan.
pub struct Planned {
    /// The refreshed state the plan starts from.
    pub state: State,
    /// What changed outside nicplan.
    pub drift: Vec<Drift>,
    /// The plan.
    pub plan: Plan,
}

/// Reads the state, refreshes it (unless `refresh` is false) and plans.
pub fn plan(
    model: &Model,
    store: &dyn StateStore,
    cloud: &dyn Cloud,
    refresh_first: bool,
    options: &plan::Options,
) -> Result<Planned, OpError> {
    let stored = read_state(store)?;
    let (state, drift) = if refresh_first {
        refresh(&stored, cloud)?
    } else {
        (stored, Vec::new())
    };
    let plan = plan::plan(model, &state, options);
    Ok(Planned { state, drift, plan })
}

/// Applies a plan: first records the refreshed state (so adopted objects and the
/// lineage are on disk before any cloud call), then runs the steps.
pub fn apply(
    planned: Planned,
    store: &dyn StateStore,
    cloud: &dyn Cloud,
    options: &apply::Options,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<(State, Outcome), OpError> {
    let Planned {
        mut state, plan, ..
    } = planned;
    if !plan.steps.is_empty() {
        store.write(&mut state)?;
    }
    Ok(apply::apply(&plan, cloud, store, state, options, on_event))
}
