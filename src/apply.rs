//! The executor: runs a plan's steps against a cloud, in order, several at a time, and
//! writes the state after every completed step, so an interrupted apply loses nothing
//! that happened.
//!
//! Invariants: a step starts only when every step it depends on has completed; two
//! steps on one instance never run at once; an attach, detach or resize waits for a
//! building instance to turn active; a failed step skips everything that depends on
//! it, directly or not, while independent steps still run; a state that cannot be
//! written stops the apply before the next step starts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::address::{Address, Kind};
use crate::cloud::{self, Cloud, CloudError, InstanceRequest, NicRequest, NicUpdate};
use crate::plan::{Action, Plan, Step};
use crate::resource::{self, Attributes, Status};
use crate::state::{Entry, State, StateError, StateStore};

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Steps run at once, at most.
    pub parallelism: usize,
    /// How long to wait for a building instance.
    pub wait_timeout: Duration,
    /// First pause between two looks at a building instance.
    pub poll_interval: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            parallelism: 10,
            wait_timeout: Duration::from_secs(900),
            poll_interval: Duration::from_millis(100),
        }
    }
}

/// What happens, as it happens.
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// A step starts.
    Started(&'a Step),
    /// A step waits for its instance to finish building.
    Waiting(&'a Step),
    /// A step completed; the text says what the cloud gave (an ID, an address).
    Done(&'a Step, String),
    /// A step failed.
    Failed(&'a Step, String),
    /// A step did not run because a step it depends on failed.
    Skipped(&'a Step, usize),
}

/// What an apply did and did not do.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Indexes of completed steps, in completion order.
    pub done: Vec<usize>,
    /// Failed steps with the error.
    pub failed: Vec<(usize, String)>,
    /// Steps not run, with the failed step they waited for (0: the state could not be
    /// written, or the apply stopped).
    pub skipped: Vec<(usize, usize)>,
    /// The state could not be written: the apply stopped there.
    pub state_error: Option<String>,
}

impl Outcome {
    /// Whether every step completed.
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && self.state_error.is_none()
    }
}

struct Shared {
    pending: Vec<usize>,
    running: usize,
    busy_instances: BTreeSet<String>,
    done: BTreeSet<usize>,
    failed: BTreeSet<usize>,
    stop: bool,
    outcome: Outcome,
}

/// Applies `plan` to `cloud`, writing `state` to `store` after every step. Returns the
/// final state and what happened.
pub fn apply(
    plan: &Plan,
    cloud: &dyn Cloud,
    store: &dyn StateStore,
    state: State,
    options: &Options,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> (State, Outcome) {
    let steps = &plan.steps;
    let by_index: BTreeMap<usize, &Step> = steps.iter().map(|s| (s.index, s)).collect();
    let shared = Mutex::new(Shared {
        pending: steps.iter().map(|s| s.index).collect(),
        running: 0,
        busy_instances: BTreeSet::new(),
        done: BTreeSet::new(),
        failed: BTreeSet::new(),
        stop: false,
        outcome: Outcome::default(),
    });
    let wake = Condvar::new();
    let state = Mutex::new(state);
    let workers = options.parallelism.clamp(1, 64).min(steps.len().max(1));

    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let Some(step) = next_step(&shared, &wake, &by_index, on_event) else {
                        return;
                    };
                    on_event(Event::Started(step));
                    let result = run_step(step, cloud, store, &state, options, on_event);
                    let mut s = lock(&shared);
                    s.running -= 1;
                    if let Some(instance) = step.touches_instance() {
                        s.busy_instances.remove(instance);
                    }
                    match result {
                        Ok(detail) => {
                            s.done.insert(step.index);
                            s.outcome.done.push(step.index);
                            on_event(Event::Done(step, detail));
                        }
                        Err(StepError::Cloud(message)) => {
                            s.failed.insert(step.index);
                            s.outcome.failed.push((step.index, message.clone()));
                            on_event(Event::Failed(step, message));
                        }
                        Err(StepError::State(message)) => {
                            // The cloud call happened; the state could not record it.
                            // Its marker lets the next run find the object again.
                            s.failed.insert(step.index);
                            s.outcome
                                .failed
                                .push((step.index, format!("done in the cloud, but {message}")));
                            s.outcome.state_error = Some(message.clone());
                            s.stop = true;
                            on_event(Event::Failed(step, message));
                        }
                    }
                    drop(s);
                    wake.notify_all();
                }
            });
        }
    });

    let mut s = shared
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let state = state
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for index in std::mem::take(&mut s.pending) {
        s.outcome.skipped.push((index, 0));
    }
    s.outcome.skipped.sort_unstable();
    (state, s.outcome)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits for a runnable step: dependencies done, instance free. Skips steps whose
/// dependencies failed. `None` when nothing is left to run.
fn next_step<'p>(
    shared: &Mutex<Shared>,
    wake: &Condvar,
    by_index: &BTreeMap<usize, &'p Step>,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Option<&'p Step> {
    let mut s = lock(shared);
    loop {
        if s.stop && s.running == 0 {
            return None;
        }
        // Skip what can no longer run, in plan order so skips cascade.
        let mut i = 0;
        while i < s.pending.len() {
            let index = s.pending[i];
            let step = by_index.get(&index)?;
            let failed_dep = step
                .depends_on
                .iter()
                .find(|d| s.failed.contains(&d.step))
                .map(|d| d.step);
            if let Some(dep) = failed_dep {
                s.pending.remove(i);
                s.failed.insert(index);
                s.outcome.skipped.push((index, dep));
                on_event(Event::Skipped(step, dep));
            } else {
                i += 1;
            }
        }
        if !s.stop {
            let ready = s.pending.iter().position(|index| {
                by_index.get(index).is_some_and(|step| {
                    step.depends_on.iter().all(|d| s.done.contains(&d.step))
                        && step
                            .touches_instance()
                            .is_none_or(|i| !s.busy_instances.contains(i))
                })
            });
            if let Some(pos) = ready {
                let index = s.pending.remove(pos);
                let step = by_index.get(&index)?;
                if let Some(instance) = step.touches_instance() {
                    s.busy_instances.insert(instance.to_string());
                }
                s.running += 1;
                return Some(step);
            }
        }
        if s.running == 0 {
            // Nothing runs and nothing is ready: whatever is left waits forever.
            return None;
        }
        s = wake
            .wait(s)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }
}

enum StepError {
    /// The cloud refused or failed; nothing changed.
    Cloud(String),
    /// The cloud call succeeded but the state could not be written.
    State(String),
}

impl From<CloudError> for StepError {
    fn from(e: CloudError) -> StepError {
        StepError::Cloud(e.to_string())
    }
}

/// The cloud ID of a resource: from state, or the raw ID of an unmanaged object
/// (`id:...`).
fn id_of(state: &Mutex<State>, kind: Kind, name: &str) -> Result<String, StepError> {
    if let Some(raw) = name.strip_prefix("id:") {
        return Ok(raw.to_string());
    }
    let address = Address::new(kind, name);
    lock(state)
        .resources
        .get(&address)
        .map(|e| e.id.clone())
        .ok_or_else(|| StepError::Cloud(format!("{address} has no cloud ID in state")))
}

fn ids_of(state: &Mutex<State>, kind: Kind, names: &[String]) -> Result<Vec<String>, StepError> {
    names.iter().map(|n| id_of(state, kind, n)).collect()
}

/// Applies a change to the state and writes it.
fn record(
    store: &dyn StateStore,
    state: &Mutex<State>,
    change: impl FnOnce(&mut State),
) -> Result<(), StepError> {
    let mut s = lock(state);
    change(&mut s);
    store
        .write(&mut s)
        .map_err(|e: StateError| StepError::State(e.to_string()))
}

fn wait_until_ready(
    step: &Step,
    cloud: &dyn Cloud,
    state: &Mutex<State>,
    instance: &str,
    options: &Options,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<(), StepError> {
    let id = id_of(state, Kind::Instance, instance)?;
    let started = std::time::Instant::now();
    let mut pause = options.poll_interval;
    let mut announced = false;
    loop {
        let status = cloud.instance(&id)?.status;
        if status != Status::Building {
            if status.allows_nic_changes() {
                return Ok(());
            }
            return Err(StepError::Cloud(format!(
                "instance {instance} is {}; NICs can be attached, detached or resized only on an active or stopped instance",
                status.as_str()
            )));
        }
        if started.elapsed() >= options.wait_timeout {
            return Err(StepError::Cloud(format!(
                "instance {instance} was still building after {} s",
                options.wait_timeout.as_secs()
            )));
        }
        if !announced {
            on_event(Event::Waiting(step));
            announced = true;
        }
        std::thread::sleep(pause);
        pause = (pause * 3 / 2).min(Duration::from_secs(2));
    }
}

fn run_step(
    step: &Step,
    cloud: &dyn Cloud,
    store: &dyn StateStore,
    state: &Mutex<State>,
    options: &Options,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<String, StepError> {
    let lineage = lock(state).lineage.clone();
    let tag = |user: &str| cloud::tag_description(user, &lineage, &step.address);
    let address = step.address.clone();
    let name = address.name.clone();
    let put = |id: String, attributes: Attributes| {
        let address = address.clone();
        move |s: &mut State| {
            s.resources.insert(address, Entry { id, attributes });
        }
    };
    match (step.action, &step.after) {
        (Action::Create, Some(after)) => {
            let (id, attributes) = match after {
                Attributes::Vpc(v) => (
                    cloud.create_vpc(&name, &tag(""), v.cidr_block)?.id,
                    after.clone(),
                ),
                Attributes::Subnet(s) => {
                    let vpc = id_of(state, Kind::Vpc, &s.vpc)?;
                    let created = cloud.create_subnet(
                        &name,
                        &tag(""),
                        &vpc,
                        s.cidr_block,
                        &s.availability_zone,
                    )?;
                    (created.id, after.clone())
                }
                Attributes::SecurityGroup(g) => (
                    cloud.create_security_group(&name, &tag(&g.description))?.id,
                    after.clone(),
                ),
                Attributes::NetworkInterface(n) => {
                    let request = NicRequest {
                        name: name.clone(),
                        description: tag(&n.description),
                        subnet_id: id_of(state, Kind::Subnet, &n.subnet)?,
                        private_ip: n.private_ip,
                        secondary_ips: n.secondary_private_ips.clone(),
                        security_group_ids: ids_of(state, Kind::SecurityGroup, &n.security_groups)?,
                        source_dest_check: n.source_dest_check,
                    };
                    let created = cloud.create_nic(&request)?;
                    let mut observed = n.clone();
                    observed.private_ip = Some(created.private_ip);
                    observed.mac_address = Some(created.mac_address.clone());
                    // Attachment is a step of its own.
                    observed.attach_to = None;
                    (created.id, Attributes::NetworkInterface(observed))
                }
                Attributes::Instance(i) => {
                    let request = InstanceRequest {
                        name: name.clone(),
                        description: tag(""),
                        flavor: i.instance_type.clone(),
                        image: i.image.clone(),
                        primary_nic_id: id_of(state, Kind::NetworkInterface, &i.primary_interface)?,
                    };
                    let created = cloud.create_instance(&request)?;
                    let mut observed = i.clone();
                    observed.status = Some(created.status);
                    observed.availability_zone = Some(created.availability_zone.clone());
                    (created.id, Attributes::Instance(observed))
                }
                Attributes::PublicIp(_) => {
                    let created = cloud.create_public_ip(&tag(""))?;
                    let observed = resource::PublicIp {
                        network_interface: None,
                        private_ip: None,
                        address: Some(created.address),
                    };
                    (created.id, Attributes::PublicIp(observed))
                }
            };
            record(store, state, put(id.clone(), attributes))?;
            Ok(id)
        }
        (Action::Delete, _) => {
            let id = id_of(state, address.kind, &name)?;
            match address.kind {
                Kind::Vpc => cloud.delete_vpc(&id)?,
                Kind::Subnet => cloud.delete_subnet(&id)?,
                Kind::SecurityGroup => cloud.delete_security_group(&id)?,
                Kind::NetworkInterface => {
                    if step.with_instance.is_none() {
                        cloud.delete_nic(&id)?;
                    }
                }
                Kind::Instance => cloud.delete_instance(&id)?,
                Kind::PublicIp => cloud.delete_public_ip(&id)?,
            }
            record(store, state, |s| {
                s.resources.remove(&address);
                if address.kind == Kind::Instance {
                    // The platform frees the secondary NICs of a deleted instance.
                    for entry in s.resources.values_mut() {
                        if let Attributes::NetworkInterface(n) = &mut entry.attributes
                            && n.attach_to.as_deref() == Some(name.as_str())
                        {
                            n.attach_to = None;
                        }
                    }
                }
            })?;
            Ok(id)
        }
        (Action::Update, Some(after)) => {
            let id = id_of(state, address.kind, &name)?;
            match after {
                Attributes::SecurityGroup(g) => {
                    cloud.update_security_group(&id, &tag(&g.description))?;
                }
                Attributes::NetworkInterface(n) => {
                    let update = NicUpdate {
                        description: tag(&n.description),
                        security_group_ids: ids_of(state, Kind::SecurityGroup, &n.security_groups)?,
                        source_dest_check: n.source_dest_check,
                        secondary_ips: n.secondary_private_ips.clone(),
                    };
                    cloud.update_nic(&id, &update)?;
                }
                // Lifecycle settings live in the state only.
                _ => {}
            }
            // Change only what the update changes, in place: an attach or detach of the
            // same NIC may have been recorded since this step started.
            let after = after.clone();
            record(store, state, |s| {
                let Some(entry) = s.resources.get_mut(&address) else {
                    return;
                };
                match (&mut entry.attributes, after) {
                    (Attributes::NetworkInterface(old), Attributes::NetworkInterface(n)) => {
                        old.description = n.description;
                        old.security_groups = n.security_groups;
                        old.source_dest_check = n.source_dest_check;
                        old.secondary_private_ips = n.secondary_private_ips;
                    }
                    (Attributes::Instance(old), Attributes::Instance(i)) => {
                        old.prevent_destroy = i.prevent_destroy;
                    }
                    (slot, other) => *slot = other,
                }
            })?;
            Ok(id)
        }
        (Action::Resize, Some(Attributes::Instance(after))) => {
            wait_until_ready(step, cloud, state, &name, options, on_event)?;
            let id = id_of(state, Kind::Instance, &name)?;
            let resized = cloud.resize_instance(&id, &after.instance_type)?;
            record(store, state, |s| {
                if let Some(Entry {
                    attributes: Attributes::Instance(i),
                    ..
                }) = s.resources.get_mut(&address)
                {
                    i.instance_type.clone_from(&resized.flavor);
                    i.status = Some(resized.status);
                }
            })?;
            Ok(format!("{id} is {}", resized.flavor))
        }
        (Action::Attach | Action::Detach, _) => {
            let instance = step.instance.clone().unwrap_or_default();
            wait_until_ready(step, cloud, state, &instance, options, on_event)?;
            let instance_id = id_of(state, Kind::Instance, &instance)?;
            let nic_id = id_of(state, Kind::NetworkInterface, &name)?;
            let attach = step.action == Action::Attach;
            if attach {
                cloud.attach_nic(&instance_id, &nic_id)?;
            } else {
                cloud.detach_nic(&instance_id, &nic_id)?;
            }
            record(store, state, |s| {
                if let Some(Entry {
                    attributes: Attributes::NetworkInterface(n),
                    ..
                }) = s.resources.get_mut(&address)
                {
                    n.attach_to = attach.then(|| instance.clone());
                }
            })?;
            Ok(format!(
                "{nic_id} {} {instance_id}",
                if attach { "on" } else { "off" }
            ))
        }
        (Action::Associate, _) => {
            let nic = step.network_interface.clone().unwrap_or_default();
            let id = id_of(state, Kind::PublicIp, &name)?;
            let nic_id = id_of(state, Kind::NetworkInterface, &nic)?;
            let ip = match &step.after {
                Some(Attributes::PublicIp(p)) => p.private_ip,
                _ => None,
            };
            let associated = cloud.associate_public_ip(&id, &nic_id, ip)?;
            record(store, state, |s| {
                if let Some(Entry {
                    attributes: Attributes::PublicIp(p),
                    ..
                }) = s.resources.get_mut(&address)
                {
                    p.network_interface = Some(nic.clone());
                    p.private_ip = associated.private_ip;
                    p.address = Some(associated.address);
                }
            })?;
            Ok(format!(
                "{} -> {}",
                associated.address,
                associated
                    .private_ip
                    .map(|i| i.to_string())
                    .unwrap_or_default()
            ))
        }
        (Action::Disassociate, _) => {
            let nic = step.network_interface.clone().unwrap_or_default();
            let id = id_of(state, Kind::PublicIp, &name)?;
            let nic_id = id_of(state, Kind::NetworkInterface, &nic)?;
            cloud.disassociate_public_ip(&id, &nic_id)?;
            record(store, state, |s| {
                if let Some(Entry {
                    attributes: Attributes::PublicIp(p),
                    ..
                }) = s.resources.get_mut(&address)
                {
                    p.network_interface = None;
                    p.private_ip = None;
                }
            })?;
            Ok(id)
        }
        (action, _) => Err(StepError::Cloud(format!(
            "{action} of {address} has nothing to apply"
        ))),
    }
}
