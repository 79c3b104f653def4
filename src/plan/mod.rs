//! The planner: from the desired model and the (refreshed) state to an ordered plan in
//! which no step and no state in between breaks a NIC rule.
//!
//! `plan()` is pure: no I/O, no clock, no environment. It runs a fixed sequence:
//! `diff` (what changes and which steps that takes), `order` (dependencies, capacity and
//! state constraints, a deterministic topological order), `check` (the plan simulated
//! step by step over the state with every rule). Renderers and the executor take the
//! resulting `Plan` as it is.

mod check;
mod diff;
mod index;
mod order;
pub mod outside;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::address::Address;
use crate::diagnostic::{self, Code, Diagnostic, Severity};
use crate::ident::Ident;
use crate::model::Model;
use crate::resource::{self, Attributes};
use crate::state::State;

pub use outside::Outside;

/// What a plan does to one resource as a whole.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Created.
    Create,
    /// Changed in place (a resize, a new security group list...).
    Update,
    /// Deleted, then created anew.
    Replace,
    /// Deleted.
    Delete,
}

impl ChangeKind {
    /// The word used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Create => "create",
            ChangeKind::Update => "update",
            ChangeKind::Replace => "replace",
            ChangeKind::Delete => "delete",
        }
    }
}

/// One resource's change, with the attributes before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The resource.
    pub address: Address,
    /// What happens to it.
    pub kind: ChangeKind,
    /// Its attributes in state (none when created).
    pub before: Option<Arc<Attributes>>,
    /// Its desired attributes (none when deleted).
    pub after: Option<Arc<Attributes>>,
    /// The attributes that differ, by name.
    pub changed: Box<[&'static str]>,
    /// Why it is replaced, in words, when it is.
    pub reason: Option<String>,
}

/// A single call to the cloud.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Removes a public IP's mapping.
    Disassociate,
    /// Detaches a secondary NIC.
    Detach,
    /// Deletes an object.
    Delete,
    /// Changes an object in place.
    Update,
    /// Stops a running instance (before a resize).
    Stop,
    /// Changes an instance's type.
    Resize,
    /// Starts an instance again (after a resize).
    Start,
    /// Creates an object.
    Create,
    /// Attaches a NIC as a secondary interface.
    Attach,
    /// Maps a public IP to a private IP.
    Associate,
}

impl Action {
    /// The word used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Disassociate => "disassociate",
            Action::Detach => "detach",
            Action::Delete => "delete",
            Action::Update => "update",
            Action::Stop => "stop",
            Action::Resize => "resize",
            Action::Start => "start",
            Action::Create => "create",
            Action::Attach => "attach",
            Action::Associate => "associate",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one step waits for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// Index of the step that must come first.
    pub step: usize,
    /// The constraint; [`Dependency::words`] says it.
    pub reason: Reason,
}

/// The constraints between steps. Each names what it needs of the two steps it joins,
/// the one that waits (A) and the one that comes first (B), and is worded only when a
/// plan is shown, so that a plan of many thousand steps keeps a few bytes per
/// dependency instead of a sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A's resource is replaced: B deletes the old one.
    OldGoesFirst,
    /// A needs what B creates.
    Needs,
    /// B's resource gives up an address A takes.
    FreesIp(std::net::Ipv4Addr),
    /// B deletes a subnet whose range overlaps the subnet A creates.
    FreesRange,
    /// A deletes a NIC that goes with the instance B deletes.
    GoesWith,
    /// B deletes what uses A's resource.
    Uses,
    /// B changes what uses A's resource so that it no longer does.
    StopsUsing,
    /// B deletes the instance A's NIC is attached to, which detaches it.
    DeletionDetaches,
    /// B detaches the NIC A deletes.
    DeletedWhenDetached,
    /// B disassociates the public IP of the NIC A deletes.
    PublicIpFirst,
    /// B detaches a secondary NIC of the instance A deletes.
    SecondariesFirst,
    /// B disassociates a public IP from a NIC of the instance A deletes.
    LeavesNic,
    /// B disassociates the public IP A releases.
    ReleasedWhenDisassociated,
    /// B detaches a NIC from the instance A stops to resize.
    RoomBeforeStop,
    /// B stops the instance A resizes.
    ResizesWhenStopped,
    /// B detaches a NIC from the instance A resizes.
    RoomBeforeResize,
    /// B resizes the instance A starts.
    RunsAgain,
    /// B updates the NIC A attaches.
    NewSettingsFirst,
    /// B detaches the NIC A attaches, from where it was.
    LeavesInstance,
    /// B resizes the instance A attaches to.
    ResizeMakesRoom,
    /// B detaches a NIC from the instance A attaches to.
    DetachMakesRoom,
    /// B disassociates the public IP A associates.
    DisassociatedFirst,
    /// B updates the IPs of the NIC A associates with.
    NewIpsFirst,
    /// B disassociates another public IP from the NIC A associates with.
    FreesPrivateIp,
    /// B takes a pinned address in the subnet where A's address is assigned.
    PinnedFirst,
    /// B comes first of the creates whose address the cloud assigns in A's subnet.
    PinnedTaken,
    /// B deletes an object of A's kind so that A's create stays within this quota.
    Quota(u32),
    /// B acts on A's resource (or, when true, on the NIC A associates) just before.
    OneAtATime(bool),
}

impl Dependency {
    /// The constraint in words, for step `of` (the one that waits) among `steps`.
    pub fn words(&self, of: &Step, steps: &[Step]) -> String {
        let b = step_at(steps, self.step);
        let before = b.map_or_else(|| format!("step {}", self.step), |b| b.address.to_string());
        let on = |name: Option<Ident>| name.map_or_else(|| "?".to_string(), |n| n.to_string());
        let a = &of.address;
        let subnet = || {
            [Some(of), b]
                .into_iter()
                .flatten()
                .find_map(|s| match s.after.as_deref() {
                    Some(Attributes::NetworkInterface(n)) => Some(n.subnet.to_string()),
                    _ => None,
                })
                .unwrap_or_else(|| "?".to_string())
        };
        match self.reason {
            Reason::OldGoesFirst => format!("{a} is replaced: the old one goes first"),
            Reason::Needs => format!("needs {before}"),
            Reason::FreesIp(ip) => format!("{before} frees {ip}"),
            Reason::FreesRange => match of.after.as_deref() {
                Some(Attributes::Subnet(s)) => {
                    format!("{before} frees the range {}", s.cidr_block)
                }
                _ => format!("{before} frees the range"),
            },
            Reason::GoesWith => format!("it goes with {before}"),
            Reason::Uses => format!("{before} uses {a}"),
            Reason::StopsUsing => format!("{before} stops using {a}"),
            Reason::DeletionDetaches => format!("the deletion of {before} detaches it"),
            Reason::DeletedWhenDetached => "a NIC is deleted only when detached".to_string(),
            Reason::PublicIpFirst => "its public IP is disassociated first".to_string(),
            Reason::SecondariesFirst => "its secondary interfaces are detached first".to_string(),
            Reason::LeavesNic => format!(
                "{before} leaves network_interface.{} first",
                on(b.and_then(Step::network_interface))
            ),
            Reason::ReleasedWhenDisassociated => {
                "a public IP is released only when disassociated".to_string()
            }
            Reason::RoomBeforeStop => format!(
                "the detach makes room on instance.{} before it stops to resize",
                a.name
            ),
            Reason::ResizesWhenStopped => format!(
                "the platform resizes instance.{} only when it is stopped",
                a.name
            ),
            Reason::RoomBeforeResize => format!(
                "the detach makes room on instance.{} before it resizes",
                a.name
            ),
            Reason::RunsAgain => format!("instance.{} runs again once resized", a.name),
            Reason::NewSettingsFirst => {
                format!("{a} gets its new settings before it is attached")
            }
            Reason::LeavesInstance => format!(
                "{a} leaves instance.{} first",
                on(b.and_then(Step::instance))
            ),
            Reason::ResizeMakesRoom => {
                format!("the resize makes room on instance.{}", on(of.instance()))
            }
            Reason::DetachMakesRoom => format!(
                "the detach of {before} makes room on instance.{}",
                on(of.instance())
            ),
            Reason::DisassociatedFirst => {
                format!("{a} is disassociated from its old interface first")
            }
            Reason::NewIpsFirst => format!("{before} gets its new IPs first"),
            Reason::FreesPrivateIp => format!(
                "{before} frees a private IP of network_interface.{}",
                on(of.network_interface())
            ),
            Reason::PinnedFirst => format!(
                "{before} takes its pinned address in subnet {} before the cloud assigns one",
                subnet()
            ),
            Reason::PinnedTaken => format!(
                "the pinned addresses of subnet {} are taken before the cloud assigns one",
                subnet()
            ),
            Reason::Quota(limit) => {
                let kind = b.map_or(a.kind, |b| b.address.kind);
                format!(
                    "the project holds at most {limit} {}: {before} makes room first",
                    kind.plural()
                )
            }
            Reason::OneAtATime(false) => format!("one step at a time on {a}"),
            Reason::OneAtATime(true) => format!(
                "one step at a time on network_interface.{}",
                on(of.network_interface())
            ),
        }
    }
}

/// The step numbered `index` among `steps`: where plan order puts it, else wherever
/// it is.
pub fn step_at(steps: &[Step], index: usize) -> Option<&Step> {
    steps
        .get(index.wrapping_sub(1))
        .filter(|s| s.index == index)
        .or_else(|| steps.iter().find(|s| s.index == index))
}

/// One step of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Position in the plan, from 1.
    pub index: usize,
    /// The call.
    pub action: Action,
    /// Part of a replacement.
    pub replace: bool,
    /// The resource it acts on (the NIC for attach/detach, the public IP for
    /// associate/disassociate).
    pub address: Address,
    /// The other party, by the action: the instance of an attach, detach, stop,
    /// resize or start; the NIC of an associate or disassociate; the instance a NIC's
    /// delete happens with. Read through [`Step::instance`],
    /// [`Step::network_interface`] and [`Step::with_instance`].
    pub party: Option<Ident>,
    /// The resource's attributes before the step, when it existed (shared with the
    /// change and the other steps of the resource).
    pub before: Option<Arc<Attributes>>,
    /// The resource's attributes after the step, when it still exists.
    pub after: Option<Arc<Attributes>>,
    /// The steps that must come first and why.
    pub depends_on: Vec<Dependency>,
}

impl Step {
    /// The instance of an attach, detach, stop, resize or start.
    pub fn instance(&self) -> Option<Ident> {
        match self.action {
            Action::Attach | Action::Detach | Action::Stop | Action::Resize | Action::Start => {
                self.party
            }
            _ => None,
        }
    }

    /// The NIC of an associate or disassociate.
    pub fn network_interface(&self) -> Option<Ident> {
        match self.action {
            Action::Associate | Action::Disassociate => self.party,
            _ => None,
        }
    }

    /// For the delete of a NIC that happens with the deletion of the instance it is
    /// primary of (no call of its own), that instance.
    pub fn with_instance(&self) -> Option<Ident> {
        match self.action {
            Action::Delete => self.party,
            _ => None,
        }
    }

    /// The step in a few words: `attach network_interface.x to instance.y`.
    pub fn describe(&self) -> String {
        match (self.action, self.party) {
            (Action::Attach, Some(i)) => format!("attach {} to instance.{i}", self.address),
            (Action::Detach, Some(i)) => format!("detach {} from instance.{i}", self.address),
            (Action::Resize, _) => {
                let to = match self.after.as_deref() {
                    Some(Attributes::Instance(i)) => i.instance_type.as_str(),
                    _ => "?",
                };
                format!("resize {} to {to}", self.address)
            }
            (Action::Associate, Some(n)) => {
                format!("associate {} with network_interface.{n}", self.address)
            }
            (Action::Disassociate, Some(n)) => {
                format!("disassociate {} from network_interface.{n}", self.address)
            }
            (action, _) => format!("{action} {}", self.address),
        }
    }

    /// The instance whose NIC set or status this step touches, for the rule that two
    /// steps on one instance never run at once.
    pub fn touches_instance(&self) -> Option<&str> {
        match self.action {
            Action::Create | Action::Delete | Action::Update
                if self.address.kind == crate::address::Kind::Instance =>
            {
                Some(&self.address.name)
            }
            _ => self.instance().map(|i| i.as_str()),
        }
    }
}

/// The counts of the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Summary {
    /// Resources created.
    pub create: usize,
    /// Resources changed in place.
    pub update: usize,
    /// Resources replaced.
    pub replace: usize,
    /// Resources destroyed.
    pub destroy: usize,
    /// Attach steps.
    pub attach: usize,
    /// Detach steps.
    pub detach: usize,
    /// Associate steps.
    pub associate: usize,
    /// Disassociate steps.
    pub disassociate: usize,
}

impl Summary {
    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Summary::default()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Plan: {} to create, {} to update, {} to replace, {} to destroy; {} attach, {} detach, {} associate, {} disassociate.",
            self.create,
            self.update,
            self.replace,
            self.destroy,
            self.attach,
            self.detach,
            self.associate,
            self.disassociate
        )
    }
}

/// How full an instance the plan touches is, before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Capacity {
    /// The instance's name.
    pub instance: Ident,
    /// Its type in state (none when created).
    pub type_before: Option<Ident>,
    /// Its type when the plan is applied (none when destroyed).
    pub type_after: Option<Ident>,
    /// NICs it holds now, primary included, those outside the state too.
    pub nics_before: usize,
    /// NICs it holds when the plan is applied, those outside the state too.
    pub nics_after: usize,
    /// What its type allows before.
    pub max_before: Option<u32>,
    /// What its type allows after.
    pub max_after: Option<u32>,
}

/// An ordered, checked plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Resource-level changes, in address order.
    pub changes: Vec<Change>,
    /// The steps, in the order they run.
    pub steps: Vec<Step>,
    /// Every finding: the offline rules, the plan-time rules, the step simulation.
    pub diagnostics: Vec<Diagnostic>,
    /// The instances whose NICs or type the plan touches, by name.
    pub capacity: Vec<Capacity>,
    /// Whether the cloud's objects outside the state took part in the check; `false`
    /// when the cloud was not read (`nicplan diff`, `--refresh=false`).
    pub outside_checked: bool,
}

/// An attachment or association that changes on a resource the plan otherwise leaves
/// alone: shown with the resources, counted as attach/detach/associate/disassociate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move<'p> {
    /// The NIC (attach/detach) or public IP (associate/disassociate).
    pub address: &'p Address,
    /// The instance or NIC it leaves.
    pub from: Option<&'p str>,
    /// The instance or NIC it joins.
    pub to: Option<&'p str>,
}

impl Move<'_> {
    /// The attribute that changes: `attach_to` or `network_interface`.
    pub fn field(&self) -> &'static str {
        if self.address.kind == crate::address::Kind::PublicIp {
            "network_interface"
        } else {
            "attach_to"
        }
    }

    /// The move in words: `moves from instance.a to instance.b`.
    pub fn words(&self) -> String {
        let noun = if self.address.kind == crate::address::Kind::PublicIp {
            "network_interface"
        } else {
            "instance"
        };
        match (self.from, self.to) {
            (Some(a), Some(b)) if a == b => {
                format!("is detached from {noun}.{a} and attached again")
            }
            (Some(a), Some(b)) => format!("moves from {noun}.{a} to {noun}.{b}"),
            (Some(a), None) => format!("leaves {noun}.{a}"),
            (None, Some(b)) => format!("joins {noun}.{b}"),
            (None, None) => "does not move".to_string(),
        }
    }

    /// Whether it leaves and joins the same thing (its instance is replaced).
    pub fn is_reattachment(&self) -> bool {
        self.from.is_some() && self.from == self.to
    }
}

impl Plan {
    /// The attachment and association moves of resources without a change of their
    /// own, by address.
    pub fn moves(&self) -> Vec<Move<'_>> {
        let changed: std::collections::BTreeSet<&Address> =
            self.changes.iter().map(|c| &c.address).collect();
        let mut found: BTreeMap<&Address, (Option<&str>, Option<&str>)> = BTreeMap::new();
        for step in &self.steps {
            if changed.contains(&step.address) {
                continue;
            }
            let target = match step.action {
                Action::Attach | Action::Detach => step.instance().map(|i| i.as_str()),
                Action::Associate | Action::Disassociate => {
                    step.network_interface().map(|n| n.as_str())
                }
                _ => continue,
            };
            let slot = found.entry(&step.address).or_default();
            match step.action {
                Action::Detach | Action::Disassociate => slot.0 = target,
                _ => slot.1 = target,
            }
        }
        found
            .into_iter()
            .filter(|(_, (from, to))| from.is_some() || to.is_some())
            .map(|(address, (from, to))| Move { address, from, to })
            .collect()
    }

    /// Resources that look renamed: one is destroyed and another of its kind created
    /// with the same attributes, each the only match of the other. `nicplan state mv`
    /// keeps the object instead. Looked for only while the destroyed times the
    /// created of one kind stay within 250,000 (the pairs are compared one by one).
    pub fn renames(&self) -> Vec<(&Address, &Address)> {
        const MOST_PAIRS: usize = 250_000;
        let of = |kind: ChangeKind| {
            let mut by_kind: BTreeMap<crate::address::Kind, Vec<(&Address, &Attributes)>> =
                BTreeMap::new();
            for c in self.changes.iter().filter(|c| c.kind == kind) {
                let attrs = match kind {
                    ChangeKind::Delete => c.before.as_deref(),
                    _ => c.after.as_deref(),
                };
                if let Some(attrs) = attrs {
                    by_kind
                        .entry(c.address.kind)
                        .or_default()
                        .push((&c.address, attrs));
                }
            }
            by_kind
        };
        let (gone, made) = (of(ChangeKind::Delete), of(ChangeKind::Create));
        let mut out = Vec::new();
        for (kind, gone) in &gone {
            let Some(made) = made.get(kind) else { continue };
            if gone.len().saturating_mul(made.len()) > MOST_PAIRS {
                continue;
            }
            let matches = |have: &Attributes| -> Vec<usize> {
                (0..made.len())
                    .filter(|&j| diff::same_object(made[j].1, have))
                    .collect()
            };
            for (i, (from, have)) in gone.iter().enumerate() {
                let [j] = matches(have)[..] else { continue };
                let back: Vec<usize> = (0..gone.len())
                    .filter(|&k| diff::same_object(made[j].1, gone[k].1))
                    .collect();
                if back == [i] {
                    out.push((*from, made[j].0));
                }
            }
        }
        out.sort();
        out
    }

    /// The counts of the summary line.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for change in &self.changes {
            match change.kind {
                ChangeKind::Create => s.create += 1,
                ChangeKind::Update => s.update += 1,
                ChangeKind::Replace => s.replace += 1,
                ChangeKind::Delete => s.destroy += 1,
            }
        }
        for step in &self.steps {
            match step.action {
                Action::Attach => s.attach += 1,
                Action::Detach => s.detach += 1,
                Action::Associate => s.associate += 1,
                Action::Disassociate => s.disassociate += 1,
                _ => {}
            }
        }
        s
    }

    /// Whether any finding is an error: such a plan is never applied.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity() == Severity::Error)
    }
}

/// What the planner is given besides the model and the state.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Plan only these addresses and what they depend on; empty means everything. With
    /// `destroy`: destroy only these and what depends on them.
    pub targets: Vec<Address>,
    /// Plan the deletion of everything in state (`nicplan destroy`).
    pub destroy: bool,
    /// Replace these even when nothing forces it (`--replace`): each must be declared
    /// and in state.
    pub replace: Vec<Address>,
}

/// Plans the way from `state` to `model`, in a cloud that also holds `outside` (what
/// the refresh saw outside the state). The model should come from a file without
/// errors; its own diagnostics are included in the plan's.
pub fn plan(model: &Model, state: &State, outside: &Outside, options: &Options) -> Plan {
    // Advice about several NICs matters where the plan adds NICs; the planner
    // re-issues static_routing itself, and keeps bandwidth for instances that grow.
    let index = index::StateIndex::new(state);
    let growing: std::collections::BTreeSet<Option<crate::source::Span>> = model
        .instances
        .values()
        .filter(|i| model.attachments(i).len() > index.nic_count(state, &i.name.value))
        .map(|i| Some(i.type_name.span))
        .collect();
    let mut diagnostics: Vec<Diagnostic> = crate::rules::check(model)
        .into_iter()
        .filter(|d| match d.code {
            Code::StaticRouting => false,
            Code::Bandwidth => growing.contains(&d.primary_span()),
            _ => true,
        })
        .collect();
    let desired: BTreeMap<Address, Arc<Attributes>> = if options.destroy {
        // A targeted destroy keeps the rest of the state as it is; an untargeted one
        // keeps nothing.
        diff::surviving(state, &options.targets)
    } else {
        resource::desired_with(model, Arc::new)
    };
    let allow_stop: std::collections::BTreeSet<Ident> = model
        .instances
        .values()
        .filter(|i| i.allows_stop())
        .map(|i| i.name.value)
        .collect();
    let mut diffed = diff::diff(&desired, state, &index, &allow_stop, &options.replace);
    if !options.targets.is_empty() && !options.destroy {
        diffed.retain_targets(&options.targets, &desired);
    }
    diagnostics.extend(diffed.diagnostics(model, state, &index));
    if options.destroy {
        // Without the file (or with an instance it no longer names), the protection
        // recorded in the state still holds for a destroy.
        for name in diffed.removed_instances() {
            let in_file = model.instances.contains_key(name);
            let protected = state
                .resources
                .get(&Address::new(crate::address::Kind::Instance, name))
                .is_some_and(
                    |e| matches!(&e.attributes, Attributes::Instance(i) if i.prevent_destroy),
                );
            if protected && !in_file {
                diagnostics.push(
                    Diagnostic::new(
                        Code::PreventDestroy,
                        format!("the plan destroys instance {name}, which has prevent_destroy (recorded in the state)"),
                    )
                    .help("set prevent_destroy to false in the file and apply that first if the instance really must go"),
                );
            }
        }
    }
    // The platform refuses what its own quota does not allow, whatever the file says.
    let quotas = model.settings.quotas.within(outside.quotas);
    let (steps, order_errors) =
        order::order(diffed.steps, state, outside, &desired, &index, &quotas);
    if order_errors.is_empty() {
        diagnostics.extend(check::simulate(model, quotas, state, outside, &steps));
    }
    diagnostics.extend(order_errors);
    diagnostic::sort(&mut diagnostics);
    let capacity = capacity(model, state, outside, &desired, &index, &steps);
    Plan {
        changes: diffed.changes,
        steps,
        diagnostics,
        capacity,
        outside_checked: outside.observed,
    }
}

/// The capacity rows of the instances that steps touch.
fn capacity(
    model: &Model,
    state: &State,
    outside: &Outside,
    desired: &BTreeMap<Address, Arc<Attributes>>,
    index: &index::StateIndex,
    steps: &[Step],
) -> Vec<Capacity> {
    let touched: std::collections::BTreeSet<&str> =
        steps.iter().filter_map(Step::touches_instance).collect();
    let type_of = |a: Option<&Attributes>| match a {
        Some(Attributes::Instance(i)) => Some(i.instance_type),
        _ => None,
    };
    let max_of = |t: &Option<Ident>| {
        t.as_deref()
            .and_then(crate::catalogue::lookup)
            .map(|t| t.max_network_interfaces)
    };
    // NICs outside the state stay where they are, whatever the plan does.
    let mut outside_on: BTreeMap<&str, usize> = BTreeMap::new();
    for nic in &outside.nics {
        if let Some((instance, _)) = &nic.attached {
            *outside_on.entry(instance.as_str()).or_default() += 1;
        }
    }
    touched
        .into_iter()
        .map(|name| {
            let extra = outside_on.get(name).copied().unwrap_or(0);
            let address = Address::new(crate::address::Kind::Instance, name);
            let type_before = type_of(state.resources.get(&address).map(|e| &e.attributes));
            let type_after = type_of(desired.get(&address).map(|a| &**a));
            let nics_after = if type_after.is_some() {
                model
                    .instances
                    .get(name)
                    .map_or(0, |i| model.attachments(i).len())
                    + extra
            } else {
                0
            };
            Capacity {
                instance: Ident::new(name),
                max_before: max_of(&type_before),
                max_after: max_of(&type_after),
                type_before,
                type_after,
                nics_before: index.nic_count(state, name)
                    + if index.nic_count(state, name) > 0 {
                        extra
                    } else {
                        0
                    },
                nics_after,
            }
        })
        .collect()
}
