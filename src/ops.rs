//! Operations: the sequences every command runs, independent of the command line.
//! Reading and writing happen here, around the pure planner.

use crate::address::Address;
use crate::apply::{self, Event, Outcome};
use crate::cloud::{Cloud, CloudError};
use crate::model::Model;
use crate::plan::{self, Outside, Plan};
use crate::refresh::{self, Drift};
use crate::state::{State, StateError, StateStore};

/// Why an operation could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The state could not be read, written or locked.
    #[error(transparent)]
    State(#[from] StateError),
    /// A `--target` names a resource neither the file nor the state holds.
    #[error(
        "--target {address}: the file declares no {address} and the state holds none; nothing was planned{hint}"
    )]
    UnknownTarget {
        /// The target as given.
        address: String,
        /// ` (did you mean ...?)`, or nothing.
        hint: String,
    },
    /// A `--replace` names nothing that can be replaced.
    #[error("--replace {address}: {why}; nothing was planned{hint}")]
    CannotReplace {
        /// The address as given.
        address: String,
        /// Why it cannot be replaced.
        why: String,
        /// ` (did you mean ...?)`, or nothing.
        hint: String,
    },
    /// The state holds an ID the backend could not have made.
    #[error(
        "the state holds {address} with ID {id}, which the {backend} backend could not have made ({why}); nothing was read or changed. Use the backend the state was made with, or remove the entry (`nicplan state rm {address}`)"
    )]
    ForeignId {
        /// The backend's name.
        backend: &'static str,
        /// The entry.
        address: String,
        /// Its ID.
        id: String,
        /// Why not.
        why: String,
    },
    /// An entry's object carries another state's marker: two states would manage it.
    #[error(
        "the state holds {address} as {id}, but that object carries the marker of another state (lineage {lineage_prefix}..., where it is {as_address}): two states would manage one object{more}. Nothing was changed. If this state is a copy of the other, use the other; if the object moved to this state on purpose, run `nicplan state rm {address}`, then `nicplan import --take-over {address} {id}`"
    )]
    Claimed {
        /// The entry.
        address: String,
        /// Its object.
        id: String,
        /// The other state's lineage, as far as the marker holds it.
        lineage_prefix: String,
        /// The address the other state gives it.
        as_address: String,
        /// How many more entries are so claimed, in words (empty when none).
        more: String,
    },
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
    Ok(store.read()?.unwrap_or_else(fresh_state))
}

/// An empty state of a new lineage.
fn fresh_state() -> State {
    State::new(uuid::Uuid::new_v4().to_string())
}

/// Refreshes a state against the cloud.
pub fn refresh(state: &State, cloud: &dyn Cloud) -> Result<(State, Vec<Drift>), OpError> {
    refresh_all(state, cloud).map(|(state, drift, _)| (state, drift))
}

/// Refreshes a state against the cloud, and keeps what the cloud holds outside it.
pub fn refresh_all(
    state: &State,
    cloud: &dyn Cloud,
) -> Result<(State, Vec<Drift>, Outside), OpError> {
    refresh_reading(state, cloud).map(|(state, drift, outside, _)| (state, drift, outside))
}

/// How many objects in the cloud other states made, by their lineage's prefix.
type MadeByOthers = std::collections::BTreeMap<String, usize>;

/// [`refresh_all`], and what the cloud holds that other states made.
fn refresh_reading(
    state: &State,
    cloud: &dyn Cloud,
) -> Result<(State, Vec<Drift>, Outside, MadeByOthers), OpError> {
    for (address, entry) in &state.resources {
        if let Some(why) = cloud.id_problem(address.kind, &entry.id) {
            return Err(OpError::ForeignId {
                backend: cloud.name(),
                address: address.to_string(),
                id: entry.id.clone(),
                why,
            });
        }
    }
    let inventory = cloud.inventory().map_err(|source| OpError::Cloud {
        backend: cloud.name(),
        source,
    })?;
    let claimed = refresh::claimed_by_others(state, &inventory);
    if let Some(first) = claimed.first() {
        let more = match claimed.len() - 1 {
            0 => String::new(),
            1 => " (and 1 more entry of this state is so marked)".to_string(),
            n => format!(" (and {n} more entries of this state are so marked)"),
        };
        return Err(OpError::Claimed {
            address: first.address.to_string(),
            id: first.id.clone(),
            lineage_prefix: first.lineage_prefix.clone(),
            as_address: first.as_address.to_string(),
            more,
        });
    }
    let others = refresh::made_by_others(&inventory, &state.lineage);
    let (state, drift) = refresh::refresh(state, &inventory);
    let outside = refresh::outside(&state, &inventory);
    Ok((state, drift, outside, others))
}

/// A refreshed plan: the state it is based on, the drift, the plan.
pub struct Planned {
    /// The refreshed state the plan starts from.
    pub state: State,
    /// What changed outside nicplan.
    pub drift: Vec<Drift>,
    /// What the cloud holds outside the state (nothing known without a refresh).
    pub outside: Outside,
    /// The plan.
    pub plan: Plan,
    /// Whether the refresh changed a stored state (drift, statuses): worth writing even
    /// when the plan has no step.
    pub refreshed_differs: bool,
    /// The digest of the stored state the plan was made from ([`state_digest`]), when
    /// there was one.
    pub stored_digest: Option<String>,
    /// When there was no stored state: how many objects in the cloud carry the marker
    /// of another state, by its lineage's prefix. A new state beside them would build a
    /// second copy of what they are.
    pub made_by_others: MadeByOthers,
}

/// SHA-256 of a state's document, hex: what a saved plan holds of the state it was
/// made from, to refuse any other.
pub fn state_digest(state: &State) -> String {
    crate::saved::sha256_hex(state.to_json().as_bytes())
}

/// Reads the state, refreshes it (unless `refresh` is false) and plans.
pub fn plan(
    model: &Model,
    store: &dyn StateStore,
    cloud: &dyn Cloud,
    refresh_first: bool,
    options: &plan::Options,
) -> Result<Planned, OpError> {
    let existing = store.read()?;
    let existed = existing.is_some();
    let stored_digest = existing.as_ref().map(state_digest);
    let stored = existing.unwrap_or_else(fresh_state);
    check_targets(model, &stored, &options.targets)?;
    check_replace(model, &stored, &options.replace)?;
    let (state, drift, outside, refreshed_differs, mut made_by_others) = if refresh_first {
        let (state, drift, outside, others) = refresh_reading(&stored, cloud)?;
        let differs = existed && state.resources != stored.resources;
        (state, drift, outside, differs, others)
    } else {
        (
            stored,
            Vec::new(),
            Outside::unknown(),
            false,
            Default::default(),
        )
    };
    if existed {
        // An existing state's neighbours are told apart by the checks on outside objects.
        made_by_others.clear();
    }
    let plan = plan::plan(model, &state, &outside, options);
    Ok(Planned {
        state,
        drift,
        outside,
        plan,
        refreshed_differs,
        stored_digest,
        made_by_others,
    })
}

/// Refuses a target that names nothing the file declares or the state holds: such a
/// plan would say there is nothing to do however much the full plan changes.
fn check_targets(model: &Model, state: &State, targets: &[Address]) -> Result<(), OpError> {
    if targets.is_empty() {
        return Ok(());
    }
    let declared = crate::resource::desired(model);
    for target in targets {
        if declared.contains_key(target) || state.resources.contains_key(target) {
            continue;
        }
        return Err(OpError::UnknownTarget {
            address: target.to_string(),
            hint: did_you_mean(&declared, state, target),
        });
    }
    Ok(())
}

/// ` (did you mean ...?)` with the addresses the file declares or the state holds
/// that are closest to `address`, or nothing.
fn did_you_mean(
    declared: &std::collections::BTreeMap<Address, crate::resource::Attributes>,
    state: &State,
    address: &Address,
) -> String {
    let known: Vec<String> = declared
        .keys()
        .chain(state.resources.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(ToString::to_string)
        .collect();
    let close =
        crate::suggest::Names::new(known.iter().map(String::as_str)).closest(&address.to_string());
    if close.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", crate::suggest::one_of(&close))
    }
}

/// Refuses a `--replace` of something that cannot be replaced: unknown, not made yet,
/// no longer declared, or of a kind nicplan never replaces.
fn check_replace(model: &Model, state: &State, replace: &[Address]) -> Result<(), OpError> {
    use crate::address::Kind;
    if replace.is_empty() {
        return Ok(());
    }
    let declared = crate::resource::desired(model);
    for address in replace {
        let in_file = declared.contains_key(address);
        let in_state = state.resources.contains_key(address);
        let refused = |why: String, hint: String| OpError::CannotReplace {
            address: address.to_string(),
            why,
            hint,
        };
        if matches!(address.kind, Kind::SecurityGroup | Kind::PublicIp) && (in_file || in_state) {
            return Err(refused(
                format!(
                    "nicplan replaces VPCs, subnets, instances and network interfaces, never a {} (what uses it would lose it)",
                    address.kind.noun()
                ),
                String::new(),
            ));
        }
        match (in_file, in_state) {
            (true, true) => {}
            (true, false) => {
                return Err(refused(
                    format!(
                        "the state holds no {address}, so there is nothing to replace: the plan creates it"
                    ),
                    String::new(),
                ));
            }
            (false, true) => {
                return Err(refused(
                    format!(
                        "the file no longer declares {address}: the plan destroys it, and there is nothing to make again"
                    ),
                    String::new(),
                ));
            }
            (false, false) => {
                return Err(refused(
                    format!("the file declares no {address} and the state holds none"),
                    did_you_mean(&declared, state, address),
                ));
            }
        }
    }
    Ok(())
}

/// Applies a plan: first records the refreshed state (so adopted objects and the
/// lineage are on disk before any cloud call), then runs the steps, then writes the
/// state with every step in it.
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
    if plan.steps.is_empty() {
        return Ok(apply::apply(&plan, cloud, store, state, options, on_event));
    }
    store.write(&mut state)?;
    let before = state.serial;
    let (mut state, mut outcome) = apply::apply(&plan, cloud, store, state, options, on_event);
    // The steps were recorded one by one in the store's journal: fold it into the
    // state. Should this fail, the journal keeps every step, and the next read folds it.
    if state.serial != before
        && outcome.state_error.is_none()
        && let Err(e) = store.write(&mut state)
    {
        outcome.state_error = Some(e.to_string());
    }
    Ok((state, outcome))
}

/// Seals a plan into the body of a plan file.
pub fn save(
    planned: &Planned,
    source: &crate::source::Source,
    options: &plan::Options,
    backend: Option<crate::spec::BackendKind>,
    cloud: &dyn Cloud,
) -> crate::saved::Body {
    use crate::render::plan_json;
    let raw = |text: String| {
        serde_json::value::RawValue::from_string(text)
            .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned())
    };
    crate::saved::Body {
        format_version: crate::render::json::FORMAT_VERSION.to_string(),
        nicplan_version: env!("CARGO_PKG_VERSION").to_string(),
        lineage: planned.state.lineage.clone(),
        serial: planned.state.serial,
        state_digest: planned.stored_digest.clone(),
        desired: crate::saved::DesiredFile {
            name: source.name().to_string(),
            sha256: crate::saved::sha256_hex(source.text().as_bytes()),
            text: source.text().to_string(),
        },
        targets: options.targets.iter().map(ToString::to_string).collect(),
        destroy: options.destroy,
        replace: options.replace.iter().map(ToString::to_string).collect(),
        backend: backend.map(|b| {
            match b {
                crate::spec::BackendKind::Sim => "sim",
                crate::spec::BackendKind::Kakaocloud => "kakaocloud",
            }
            .to_string()
        }),
        cloud: Some(cloud.target()),
        state: raw(planned.state.to_json_compact()),
        outside: planned.outside.clone(),
        drift: plan_json::drift_json(&planned.drift),
        plan: raw(plan_json::compact(&planned.plan, &planned.drift, source)),
    }
}

/// Why a saved plan cannot be re-derived.
#[derive(Debug, thiserror::Error)]
pub enum RederiveError {
    /// Something in the body does not parse.
    #[error("{path} is damaged: {reason}; nothing was applied")]
    Damaged {
        /// The plan file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The planner no longer makes the same plan from the same inputs.
    #[error(
        "{path} was made by nicplan {version}, which planned differently from this one; make a new plan"
    )]
    Mismatch {
        /// The plan file.
        path: String,
        /// The nicplan that wrote it.
        version: String,
    },
    /// This nicplan wrote it, yet its steps are not the plan of its own inputs.
    #[error(
        "{path} holds steps its own desired file and state do not give: it was edited after it was made (or made by another build of this version of nicplan); nothing was applied. Make a new plan"
    )]
    Edited {
        /// The plan file.
        path: String,
    },
}

/// The inputs and the plan of a saved plan, re-derived with the pure planner and
/// checked to be the very plan that was saved.
pub struct Rederived {
    /// The desired file, validated.
    pub validation: crate::validate::Validation,
    /// The options it was planned with.
    pub options: plan::Options,
    /// The plan, its base state and drift.
    pub planned: Planned,
}

/// Re-derives a saved plan.
pub fn rederive(path: &str, body: &crate::saved::Body) -> Result<Rederived, RederiveError> {
    use crate::render::plan_json;
    let damaged = |reason: String| RederiveError::Damaged {
        path: path.to_string(),
        reason,
    };
    let backend = match body.backend.as_deref() {
        Some("kakaocloud") => Some(crate::spec::BackendKind::Kakaocloud),
        Some("sim") => Some(crate::spec::BackendKind::Sim),
        Some(other) => return Err(damaged(format!("unknown backend `{other}`"))),
        None => None,
    };
    let validation = crate::validate::validate(
        &body.desired.name,
        body.desired.text.clone().into_bytes(),
        backend,
    );
    let model = validation
        .model
        .clone()
        .ok_or_else(|| damaged("its desired file does not load".to_string()))?;
    let state = State::from_json(path, body.state.get()).map_err(|e| damaged(e.to_string()))?;
    let addresses = |list: &[String]| {
        list.iter()
            .map(|t| {
                t.parse()
                    .map_err(|e: crate::address::AddressError| damaged(e.to_string()))
            })
            .collect::<Result<Vec<Address>, _>>()
    };
    let options = plan::Options {
        targets: addresses(&body.targets)?,
        destroy: body.destroy,
        replace: addresses(&body.replace)?,
    };
    let plan = plan::plan(&model, &state, &body.outside, &options);
    let drift = plan_json::drift_from_json(&body.drift);
    // Compared as text, written without spaces, with what the file holds: no value of
    // either is made.
    let same = crate::saved::same_json(
        &plan_json::compact(&plan, &drift, &validation.source),
        body.plan.get(),
    );
    if !same && body.nicplan_version == env!("CARGO_PKG_VERSION") {
        return Err(RederiveError::Edited {
            path: path.to_string(),
        });
    }
    if !same {
        return Err(RederiveError::Mismatch {
            path: path.to_string(),
            version: body.nicplan_version.clone(),
        });
    }
    Ok(Rederived {
        validation,
        options,
        planned: Planned {
            state,
            drift,
            outside: body.outside.clone(),
            plan,
            refreshed_differs: false,
            stored_digest: body.state_digest.clone(),
            made_by_others: Default::default(),
        },
    })
}

/// The offline diff of two files: the plan from `old`, taken as applied, to `new`.
/// Objects of `old` get placeholder IDs; no backend is read.
pub fn diff(old: &Model, new: &Model) -> Plan {
    let mut state = State::new("offline-diff");
    for (address, attributes) in crate::resource::desired(old) {
        state.resources.insert(
            address,
            crate::state::Entry {
                id: format!("base:{address}"),
                attributes,
            },
        );
    }
    plan::plan(new, &state, &Outside::unknown(), &plan::Options::default())
}
