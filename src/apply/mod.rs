//! The executor: runs a plan's steps against a cloud, in order, several at a time, and
//! records every completed step durably in the store ([`StateStore::append`], a journal
//! line for a local state) before anything that waits for it starts, so an interrupted
//! apply loses nothing that happened.
//!
//! Invariants: a step starts only when every step it depends on has completed; two
//! steps on one instance never run at once; a step counts as done only when the
//! platform shows it done (a VPC or subnet `ACTIVE`, a delete gone, a public IP
//! `in_use`, an attach or detach visible on the instance, a stop, start or resize
//! settled), waiting a bounded time per kind of object (`step` makes the calls, `wait`
//! the waits); an attach, detach, stop or resize waits for an instance in transition
//! (building...) to settle; a failed step skips everything that depends on it,
//! directly or not, while independent steps still run; a step that times out fails
//! alone, with what the cloud did recorded in the state; a state that cannot be written
//! stops the apply before the next step starts.

mod step;
mod wait;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::address::Kind;
use crate::cloud::Cloud;
use crate::plan::{Plan, Step};
use crate::state::{State, StateStore};

/// How long to wait for the platform, per kind of object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// A VPC turning ACTIVE or going away.
    pub vpc: Duration,
    /// A subnet turning ACTIVE or going away.
    pub subnet: Duration,
    /// A security group going away.
    pub security_group: Duration,
    /// A NIC going away, or showing on (leaving) its instance.
    pub network_interface: Duration,
    /// An instance building, stopping, starting, resizing or going away.
    pub instance: Duration,
    /// A public IP's mapping taking effect or going away, or the IP going away.
    pub public_ip: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            vpc: Duration::from_secs(600),
            subnet: Duration::from_secs(600),
            security_group: Duration::from_secs(300),
            network_interface: Duration::from_secs(300),
            instance: Duration::from_secs(900),
            public_ip: Duration::from_secs(300),
        }
    }
}

impl Timeouts {
    /// Every wait bounded by `d`.
    pub fn all(d: Duration) -> Timeouts {
        Timeouts {
            vpc: d,
            subnet: d,
            security_group: d,
            network_interface: d,
            instance: d,
            public_ip: d,
        }
    }

    /// The defaults, with what the file's `settings.timeouts` says in their place.
    pub fn from_settings(t: &crate::model::Timeouts) -> Timeouts {
        let d = Timeouts::default();
        Timeouts {
            vpc: t.vpc.unwrap_or(d.vpc),
            subnet: t.subnet.unwrap_or(d.subnet),
            security_group: t.security_group.unwrap_or(d.security_group),
            network_interface: t.network_interface.unwrap_or(d.network_interface),
            instance: t.instance.unwrap_or(d.instance),
            public_ip: t.public_ip.unwrap_or(d.public_ip),
        }
    }

    /// The bound for waits on an object of `kind`.
    pub fn of(&self, kind: Kind) -> Duration {
        match kind {
            Kind::Vpc => self.vpc,
            Kind::Subnet => self.subnet,
            Kind::SecurityGroup => self.security_group,
            Kind::NetworkInterface => self.network_interface,
            Kind::Instance => self.instance,
            Kind::PublicIp => self.public_ip,
        }
    }
}

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Steps run at once, at most.
    pub parallelism: usize,
    /// How long to wait for the platform, per kind of object.
    pub timeouts: Timeouts,
    /// First pause between two looks at an object in transition; pauses grow to 2 s.
    pub poll_interval: Duration,
    /// How often a step that still waits says so.
    pub progress_every: Duration,
    /// Set when the user interrupts: no step starts after it, and steps waiting for
    /// the platform stop waiting (what they made is in the state already).
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl Options {
    /// Whether the apply was interrupted.
    pub fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::SeqCst))
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            parallelism: 10,
            timeouts: Timeouts::default(),
            poll_interval: Duration::from_millis(100),
            progress_every: Duration::from_secs(5),
            interrupt: None,
        }
    }
}

/// What happens, as it happens.
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// A step starts.
    Started(&'a Step),
    /// A step waits for the platform: what it waits for, and for how long so far. Sent
    /// when the wait begins and then every [`Options::progress_every`].
    Waiting(&'a Step, String, Duration),
    /// A step completed; the text says what the cloud gave (an ID, an address).
    Done(&'a Step, String),
    /// A step failed.
    Failed(&'a Step, String),
    /// A step did not run because a step it depends on failed.
    Skipped(&'a Step, usize),
    /// The apply was interrupted: no step starts any more; this many are in flight.
    Interrupted(usize),
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
    /// The apply was interrupted before it finished.
    pub interrupted: bool,
}

impl Outcome {
    /// Whether every step completed.
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty()
            && self.skipped.is_empty()
            && self.state_error.is_none()
            && !self.interrupted
    }
}

/// Who waits for whom, by position in the plan.
struct Graph<'p> {
    steps: &'p [Step],
    /// The steps that depend on each step, once per dependency.
    dependents: Vec<Vec<usize>>,
}

impl<'p> Graph<'p> {
    fn new(steps: &'p [Step]) -> Graph<'p> {
        let position: BTreeMap<usize, usize> = steps
            .iter()
            .enumerate()
            .map(|(p, s)| (s.index, p))
            .collect();
        let mut dependents = vec![Vec::new(); steps.len()];
        for (p, step) in steps.iter().enumerate() {
            for d in &step.depends_on {
                if let Some(&q) = position.get(&d.step) {
                    dependents[q].push(p);
                }
            }
        }
        Graph { steps, dependents }
    }
}

struct Shared {
    /// The steps not started yet, by position in the plan.
    pending: BTreeSet<usize>,
    /// Of those, the ones whose dependencies are all done.
    ready: BTreeSet<usize>,
    /// How many of each step's dependencies are not done yet (a dependency on a step
    /// outside the plan never is).
    unmet: Vec<usize>,
    /// Steps to look at for a failed dependency, by position.
    check: BTreeSet<usize>,
    running: usize,
    busy_instances: BTreeSet<String>,
    done: BTreeSet<usize>,
    failed: BTreeSet<usize>,
    stop: bool,
    outcome: Outcome,
}

/// Applies `plan` to `cloud`, recording each step of `state` in `store` as it completes. Returns the
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
    let graph = Graph::new(steps);
    let unmet: Vec<usize> = steps.iter().map(|s| s.depends_on.len()).collect();
    let shared = Mutex::new(Shared {
        pending: (0..steps.len()).collect(),
        ready: (0..steps.len()).filter(|p| unmet[*p] == 0).collect(),
        unmet,
        check: BTreeSet::new(),
        running: 0,
        busy_instances: BTreeSet::new(),
        done: BTreeSet::new(),
        failed: BTreeSet::new(),
        stop: false,
        outcome: Outcome::default(),
    });
    let wake = Condvar::new();
    let state = Mutex::new(state);
    let ready = Mutex::new(BTreeSet::new());
    let run = step::Run {
        cloud,
        store,
        state: &state,
        options,
        on_event,
        ready: &ready,
    };
    let workers = options.parallelism.clamp(1, 64).min(steps.len().max(1));

    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let Some((position, step)) =
                        next_step(&shared, &wake, &graph, options, on_event)
                    else {
                        return;
                    };
                    on_event(Event::Started(step));
                    let result = run.step(step);
                    let mut guard = lock(&shared);
                    let s = &mut *guard;
                    if result.is_ok() {
                        for &d in &graph.dependents[position] {
                            s.unmet[d] = s.unmet[d].saturating_sub(1);
                            if s.unmet[d] == 0 && s.pending.contains(&d) {
                                s.ready.insert(d);
                            }
                        }
                    } else {
                        s.check.extend(graph.dependents[position].iter().copied());
                    }
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
                        Err(step::StepError::Cloud(message)) => {
                            s.failed.insert(step.index);
                            s.outcome.failed.push((step.index, message.clone()));
                            on_event(Event::Failed(step, message));
                        }
                        Err(step::StepError::State(message)) => {
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
                    drop(guard);
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
    for position in std::mem::take(&mut s.pending) {
        s.outcome.skipped.push((steps[position].index, 0));
    }
    s.outcome.skipped.sort_unstable();
    (state, s.outcome)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits for a runnable step: dependencies done, instance free; the first such in plan
/// order, with its position. Skips steps whose dependencies failed, in plan order so
/// skips cascade. `None` when nothing is left to run.
fn next_step<'p>(
    shared: &Mutex<Shared>,
    wake: &Condvar,
    graph: &Graph<'p>,
    options: &Options,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Option<(usize, &'p Step)> {
    let mut guard = lock(shared);
    loop {
        let s = &mut *guard;
        if options.interrupted() && !s.outcome.interrupted {
            s.outcome.interrupted = true;
            s.stop = true;
            on_event(Event::Interrupted(s.running));
        }
        if s.stop && s.running == 0 {
            return None;
        }
        // Skip what can no longer run: the steps that wait for a failed one, then
        // theirs.
        while let Some(position) = s.check.pop_first() {
            if !s.pending.contains(&position) {
                continue;
            }
            let step = &graph.steps[position];
            let failed_dep = step
                .depends_on
                .iter()
                .find(|d| s.failed.contains(&d.step))
                .map(|d| d.step);
            if let Some(dep) = failed_dep {
                s.pending.remove(&position);
                s.ready.remove(&position);
                s.failed.insert(step.index);
                s.outcome.skipped.push((step.index, dep));
                on_event(Event::Skipped(step, dep));
                s.check.extend(graph.dependents[position].iter().copied());
            }
        }
        if !s.stop {
            let ready = s.ready.iter().copied().find(|p| {
                graph.steps[*p]
                    .touches_instance()
                    .is_none_or(|i| !s.busy_instances.contains(i))
            });
            if let Some(position) = ready {
                s.ready.remove(&position);
                s.pending.remove(&position);
                let step = &graph.steps[position];
                if let Some(instance) = step.touches_instance() {
                    s.busy_instances.insert(instance.to_string());
                }
                s.running += 1;
                return Some((position, step));
            }
        }
        if s.running == 0 {
            // Nothing runs and nothing is ready: whatever is left waits forever.
            return None;
        }
        // Woken by a step that ends, or after a while to see an interrupt.
        guard = wake
            .wait_timeout(guard, INTERRUPT_POLL)
            .map(|(s, _)| s)
            .unwrap_or_else(|e| e.into_inner().0);
    }
}

/// How often an idle worker looks for an interrupt.
const INTERRUPT_POLL: Duration = Duration::from_millis(100);
