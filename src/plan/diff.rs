//! What changes: desired attributes against state, into resource changes (with the
//! replacement rules of the resource table) and the unordered steps they take.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use super::index::StateIndex;
use super::{Action, Change, ChangeKind, Step};
use crate::address::{Address, Kind};
use crate::diagnostic::{Code, Diagnostic};
use crate::ident::Ident;
use crate::model::Model;
use crate::resource::{self, Attributes};
use crate::state::State;

/// The diff: changes per resource and the steps, not yet ordered.
pub(super) struct Diffed {
    pub changes: Vec<Change>,
    pub steps: Vec<Step>,
    /// Instances deleted or replaced, with the reason of a replacement.
    removed_instances: BTreeMap<Ident, Option<String>>,
}

fn instance_of(attrs: &Attributes) -> Option<&resource::Instance> {
    match attrs {
        Attributes::Instance(i) => Some(i),
        _ => None,
    }
}

pub(super) fn nic_of(attrs: &Attributes) -> Option<&resource::NetworkInterface> {
    match attrs {
        Attributes::NetworkInterface(n) => Some(n),
        _ => None,
    }
}

fn public_ip_of(attrs: &Attributes) -> Option<&resource::PublicIp> {
    match attrs {
        Attributes::PublicIp(p) => Some(p),
        _ => None,
    }
}

/// Why a type change cannot be a resize, when it cannot: the platform resizes only
/// between `vm` flavors.
fn unresizable(from: &str, to: &str) -> Option<String> {
    use crate::catalogue::{FlavorKind, lookup};
    let (Some(f), Some(t)) = (lookup(from), lookup(to)) else {
        return None;
    };
    if f.kind() == FlavorKind::Vm && t.kind() == FlavorKind::Vm {
        return None;
    }
    let what = if f.kind() == t.kind() {
        format!("both are {}", f.kind().words())
    } else {
        format!("from {} to {}", f.kind().words(), t.kind().words())
    };
    Some(format!(
        "its type changes from {from} to {to} ({what}), and the platform resizes only between virtual machine flavors"
    ))
}

/// How a reference the refresh could not name reads: `id:X` is an object outside the
/// state.
fn outside_ref(name: &str) -> Option<&str> {
    name.strip_prefix("id:")
}

/// The attributes whose change forces a replacement, with the reason in words.
fn replacement_reason(want: &Attributes, have: &Attributes) -> Option<String> {
    match (want, have) {
        (Attributes::Vpc(w), Attributes::Vpc(h)) if w.cidr_block != h.cidr_block => Some(format!(
            "its cidr_block changes from {} to {}",
            h.cidr_block, w.cidr_block
        )),
        (Attributes::Subnet(w), Attributes::Subnet(h)) => {
            if w.vpc != h.vpc {
                Some(match outside_ref(&h.vpc) {
                    Some(id) => format!(
                        "its VPC {id} is outside nicplan's state (forgotten with `state rm`, or never imported), so it cannot be vpc.{}",
                        w.vpc
                    ),
                    None => format!("it moves to VPC {}", w.vpc),
                })
            } else if w.cidr_block != h.cidr_block {
                Some(format!(
                    "its cidr_block changes from {} to {}",
                    h.cidr_block, w.cidr_block
                ))
            } else if w.availability_zone != h.availability_zone {
                Some(format!("it moves to zone {}", w.availability_zone))
            } else {
                None
            }
        }
        (Attributes::Instance(w), Attributes::Instance(h)) => {
            if w.image != h.image {
                Some(format!("its image changes from {} to {}", h.image, w.image))
            } else if let Some(why) = (w.instance_type != h.instance_type)
                .then(|| unresizable(&h.instance_type, &w.instance_type))
                .flatten()
            {
                Some(why)
            } else if let (Some(want), Some(have)) = (w.root_volume_gb, h.root_volume_gb)
                && want != have
            {
                Some(format!(
                    "its root volume changes from {have} to {want} GB, which the platform sets only when it makes the instance"
                ))
            } else if let (Some(want), Some(have)) = (w.bonding, h.bonding)
                && want != have
            {
                Some(format!(
                    "bonding changes from {have} to {want}, which the platform sets only when it makes the server"
                ))
            } else if w.primary_interface != h.primary_interface {
                Some(match outside_ref(&h.primary_interface) {
                    Some(id) => format!(
                        "its primary interface is {id}, which is outside nicplan's state (forgotten with `state rm`?); `nicplan import network_interface.{} {id}` takes it back without a replacement",
                        w.primary_interface
                    ),
                    None => format!(
                        "its primary interface changes from network_interface.{} to network_interface.{}",
                        h.primary_interface, w.primary_interface
                    ),
                })
            } else {
                None
            }
        }
        (Attributes::NetworkInterface(w), Attributes::NetworkInterface(h)) => {
            if w.subnet != h.subnet {
                Some(match outside_ref(&h.subnet) {
                    Some(id) => format!(
                        "its subnet {id} is outside nicplan's state (forgotten with `state rm`?); `nicplan import subnet.{} {id}` takes it back without a replacement",
                        w.subnet
                    ),
                    None => format!("it moves to subnet {}", w.subnet),
                })
            } else {
                match (w.private_ip, h.private_ip) {
                    (Some(want), Some(have)) if want != have => {
                        Some(format!("its private_ip changes from {have} to {want}"))
                    }
                    (Some(want), None) => Some(format!("its private_ip becomes {want}")),
                    _ => None,
                }
            }
        }
        _ => None,
    }
}

/// Whether an object with attributes `have` could stand for `want` with no change at
/// all: nothing that replaces it and nothing that changes in place differs.
pub(super) fn same_object(want: &Attributes, have: &Attributes) -> bool {
    std::mem::discriminant(want) == std::mem::discriminant(have)
        && replacement_reason(want, have).is_none()
        && in_place_changes(want, have).is_empty()
}

/// The attribute names that change in place.
fn in_place_changes(want: &Attributes, have: &Attributes) -> Box<[&'static str]> {
    let mut out = Vec::new();
    let mut check = |name: &'static str, differs: bool| {
        if differs {
            out.push(name);
        }
    };
    match (want, have) {
        (Attributes::SecurityGroup(w), Attributes::SecurityGroup(h)) => {
            check("description", w.description != h.description);
        }
        (Attributes::Instance(w), Attributes::Instance(h)) => {
            check("type", w.instance_type != h.instance_type);
            check("prevent_destroy", w.prevent_destroy != h.prevent_destroy);
        }
        (Attributes::NetworkInterface(w), Attributes::NetworkInterface(h)) => {
            check("description", w.description != h.description);
            check("security_groups", w.security_groups != h.security_groups);
            check(
                "source_dest_check",
                w.source_dest_check != h.source_dest_check,
            );
            check(
                "secondary_private_ips",
                w.secondary_private_ips != h.secondary_private_ips,
            );
        }
        _ => {}
    }
    out.into_boxed_slice()
}

/// The attributes a resource will have after the plan: desired values, with what only
/// the cloud knows (assigned IPs, MACs, status) carried over when the object stays.
fn merged_after(want: &Attributes, have: Option<&Attributes>) -> Attributes {
    match (want, have) {
        (Attributes::NetworkInterface(w), Some(Attributes::NetworkInterface(h))) => {
            let mut n = w.clone();
            n.private_ip = w.private_ip.or(h.private_ip);
            n.mac_address.clone_from(&h.mac_address);
            n.status = h.status;
            Attributes::NetworkInterface(n)
        }
        (Attributes::Instance(w), Some(Attributes::Instance(h))) => {
            let mut i = w.clone();
            i.status = h.status;
            Attributes::Instance(i)
        }
        (Attributes::PublicIp(w), Some(Attributes::PublicIp(h))) => {
            let mut p = w.clone();
            p.address = h.address;
            Attributes::PublicIp(p)
        }
        (want, _) => want.clone(),
    }
}

/// Whether an instance in this observed status must be stopped before a resize: it
/// runs, or will run (building, starting), or nobody looked (an offline diff, which
/// assumes the usual case).
pub(super) fn needs_stop(status: Option<resource::Status>) -> bool {
    use resource::Status;
    match status {
        None => true,
        Some(s) => matches!(s, Status::Active | Status::Building | Status::Starting),
    }
}

fn step(action: Action, address: Address) -> Step {
    Step {
        index: 0,
        action,
        replace: false,
        address,
        party: None,
        before: None,
        after: None,
        depends_on: Vec::new(),
    }
}

/// The reason of a replacement `--replace` asks for: worded apart in the outputs.
const REPLACE_ASKED: &str = "--replace asks for it";

/// `{address} is replaced because {reason}`, or `, as --replace asked`.
fn replaced_because(subject: &str, reason: &str) -> String {
    if reason == REPLACE_ASKED {
        format!("{subject} is replaced, as --replace asked")
    } else {
        format!("{subject} is replaced because {reason}")
    }
}

/// Diffs desired attributes against state; `forced` are replaced even unchanged.
pub(super) fn diff(
    desired: &BTreeMap<Address, Arc<Attributes>>,
    state: &State,
    index: &StateIndex,
    allow_stop: &BTreeSet<Ident>,
    forced: &[Address],
) -> Diffed {
    let current = &state.resources;
    let have = |a: &Address| current.get(a).map(|e| &e.attributes);

    // 1. Replacements, to a fixpoint: a replaced VPC replaces its subnets, a replaced
    //    subnet its NICs, a replaced primary NIC its instance, and a removed or replaced
    //    instance takes its primary NIC with it.
    let mut replaced: BTreeMap<Address, String> = BTreeMap::new();
    for (address, want) in desired {
        if let Some(h) = have(address)
            && let Some(reason) = replacement_reason(want, h)
        {
            replaced.insert(*address, reason);
        }
    }
    // A change that forces the replacement anyway says more than the flag.
    for address in forced {
        if desired.contains_key(address) && current.contains_key(address) {
            replaced
                .entry(*address)
                .or_insert_with(|| REPLACE_ASKED.to_string());
        }
    }
    let gone = |a: &Address, replaced: &BTreeMap<Address, String>| {
        replaced.contains_key(a) || (current.contains_key(a) && !desired.contains_key(a))
    };
    loop {
        let mut found: Vec<(Address, String)> = Vec::new();
        for (address, want) in desired {
            if replaced.contains_key(address) || !current.contains_key(address) {
                continue;
            }
            let reason = match &**want {
                Attributes::Subnet(s) => {
                    let vpc = Address::new(Kind::Vpc, s.vpc);
                    replaced
                        .contains_key(&vpc)
                        .then(|| format!("its VPC {vpc} is replaced"))
                }
                Attributes::NetworkInterface(n) => {
                    let subnet = Address::new(Kind::Subnet, n.subnet);
                    if replaced.contains_key(&subnet) {
                        Some(format!("its subnet {subnet} is replaced"))
                    } else {
                        // Deleted with the instance it is primary of in state.
                        index
                            .primary_owner
                            .get(&address.name)
                            .map(|owner| Address::new(Kind::Instance, owner))
                            .filter(|a| gone(a, &replaced))
                            .map(|a| format!("it is deleted with its instance {a}"))
                    }
                }
                Attributes::Instance(i) => {
                    let nic = Address::new(Kind::NetworkInterface, i.primary_interface);
                    replaced.get(&nic).and_then(|why| {
                        // A NIC replaced only because this instance goes is no cause.
                        (!why.starts_with("it is deleted with its instance")).then(|| {
                            if why == REPLACE_ASKED {
                                format!(
                                    "its primary interface {nic} is replaced, as --replace asked"
                                )
                            } else {
                                format!("its primary interface {nic} is replaced: {why}")
                            }
                        })
                    })
                }
                _ => None,
            };
            if let Some(reason) = reason {
                found.push((*address, reason));
            }
        }
        if found.is_empty() {
            break;
        }
        replaced.extend(found);
    }

    // 2. Changes per resource, in address order.
    let mut changes = Vec::new();
    let addresses: BTreeSet<&Address> = desired.keys().chain(current.keys()).collect();
    for address in addresses {
        let stored = have(address);
        // Copied out of the state only for a resource that changes.
        let before = || stored.map(|h| Arc::new(h.clone()));
        let want = desired.get(address);
        let change = match (want, stored) {
            (Some(w), None) => Some(Change {
                address: *address,
                kind: ChangeKind::Create,
                before: None,
                after: Some(w.clone()),
                changed: Box::default(),
                reason: None,
            }),
            (None, Some(_)) => Some(Change {
                address: *address,
                kind: ChangeKind::Delete,
                before: before(),
                after: None,
                changed: Box::default(),
                reason: None,
            }),
            (Some(w), Some(h)) => {
                if let Some(reason) = replaced.get(address) {
                    Some(Change {
                        address: *address,
                        kind: ChangeKind::Replace,
                        before: before(),
                        after: Some(w.clone()),
                        changed: Box::default(),
                        reason: Some(replaced_because(&address.to_string(), reason)),
                    })
                } else {
                    let changed = in_place_changes(w, h);
                    (!changed.is_empty()).then(|| Change {
                        address: *address,
                        kind: ChangeKind::Update,
                        before: before(),
                        after: Some(Arc::new(merged_after(w, Some(h)))),
                        changed,
                        reason: None,
                    })
                }
            }
            (None, None) => None,
        };
        changes.extend(change);
    }

    // 3. Steps.
    let mut steps = Vec::new();
    let removed_instances: BTreeMap<Ident, Option<String>> = current
        .keys()
        .filter(|a| a.kind == Kind::Instance && gone(a, &replaced))
        .map(|a| (a.name, replaced.get(a).cloned()))
        .collect();
    let primary_owner = &index.primary_owner;
    for change in &changes {
        let address = &change.address;
        let with_instance = (address.kind == Kind::NetworkInterface)
            .then(|| primary_owner.get(&address.name))
            .flatten()
            .filter(|owner| removed_instances.contains_key(*owner))
            .copied();
        match change.kind {
            ChangeKind::Create => {
                let mut s = step(Action::Create, *address);
                s.after.clone_from(&change.after);
                steps.push(s);
            }
            ChangeKind::Delete | ChangeKind::Replace => {
                let replace = change.kind == ChangeKind::Replace;
                let mut d = step(Action::Delete, *address);
                d.before.clone_from(&change.before);
                d.replace = replace;
                d.party = with_instance;
                steps.push(d);
                if replace {
                    let mut c = step(Action::Create, *address);
                    c.after.clone_from(&change.after);
                    c.replace = true;
                    steps.push(c);
                }
            }
            ChangeKind::Update => {
                let resize = change.changed.contains(&"type");
                let other = change.changed.iter().any(|c| *c != "type");
                if resize {
                    // The platform resizes only a stopped instance: a running one is
                    // stopped first and started again after, when the file allows it.
                    // Without permission the resize stays alone and the safety check
                    // refuses it (`stop_required`).
                    let running = change
                        .before
                        .as_deref()
                        .and_then(instance_of)
                        .is_none_or(|i| needs_stop(i.status));
                    let wrap = running && allow_stop.contains(&address.name);
                    let on_instance = |action: Action| {
                        let mut s = step(action, *address);
                        s.party = Some(address.name);
                        s.before.clone_from(&change.before);
                        s.after.clone_from(&change.after);
                        s
                    };
                    if wrap {
                        steps.push(on_instance(Action::Stop));
                    }
                    steps.push(on_instance(Action::Resize));
                    if wrap {
                        steps.push(on_instance(Action::Start));
                    }
                }
                if other {
                    let mut s = step(Action::Update, *address);
                    s.before.clone_from(&change.before);
                    s.after.clone_from(&change.after);
                    steps.push(s);
                }
            }
        }
    }

    // Secondary attachments.
    let nic_names: BTreeSet<&str> = desired
        .keys()
        .chain(current.keys())
        .filter(|a| a.kind == Kind::NetworkInterface)
        .map(|a| a.name.as_str())
        .collect();
    for name in nic_names {
        let address = Address::new(Kind::NetworkInterface, name);
        let old = have(&address).and_then(nic_of).and_then(|n| n.attach_to);
        let new = desired
            .get(&address)
            .map(|a| &**a)
            .and_then(nic_of)
            .and_then(|n| n.attach_to);
        let nic_goes = gone(&address, &replaced);
        let nic_deleted = current.contains_key(&address) && !desired.contains_key(&address);
        let mut detached = false;
        if let Some(a) = &old {
            let instance_goes = removed_instances.contains_key(a);
            let moves = new.as_deref() != Some(a.as_str());
            if moves || nic_goes || instance_goes {
                // An instance's deletion frees the NICs no longer wanted on its own.
                if !(instance_goes && nic_deleted) {
                    let mut s = step(Action::Detach, address);
                    s.party = Some(*a);
                    s.before = have(&address).map(|h| Arc::new(h.clone()));
                    steps.push(s);
                }
                detached = true;
            }
        }
        if let Some(b) = &new {
            let instance_replaced = replaced.contains_key(&Address::new(Kind::Instance, b));
            let attached_already = old.as_deref() == Some(b.as_str());
            if !attached_already || detached || nic_goes || instance_replaced {
                let mut s = step(Action::Attach, address);
                s.party = Some(*b);
                s.after = desired.get(&address).cloned();
                steps.push(s);
            }
        }
    }

    // Public IP associations.
    let pip_names: BTreeSet<&str> = desired
        .keys()
        .chain(current.keys())
        .filter(|a| a.kind == Kind::PublicIp)
        .map(|a| a.name.as_str())
        .collect();
    for name in pip_names {
        let address = Address::new(Kind::PublicIp, name);
        let old = have(&address).and_then(public_ip_of);
        let new = desired.get(&address).map(|a| &**a).and_then(public_ip_of);
        let new_target = new.and_then(|p| {
            let nic_name = p.network_interface?;
            let nic = Address::new(Kind::NetworkInterface, nic_name);
            let ip: Option<Ipv4Addr> = p
                .private_ip
                .or_else(|| {
                    desired
                        .get(&nic)
                        .map(|a| &**a)
                        .and_then(nic_of)
                        .and_then(|n| n.private_ip)
                })
                .or_else(|| {
                    (!gone(&nic, &replaced))
                        .then(|| have(&nic).and_then(nic_of).and_then(|n| n.private_ip))
                        .flatten()
                });
            Some((nic_name, ip))
        });
        let mut disassociated = false;
        if let Some(old_nic) = old.and_then(|p| p.network_interface) {
            let old_ip = old.and_then(|p| p.private_ip);
            let nic_goes = gone(&Address::new(Kind::NetworkInterface, old_nic), &replaced);
            let same = new_target.as_ref().is_some_and(|(n, ip)| {
                *n == old_nic && (ip.is_none() || old_ip.is_none() || *ip == old_ip)
            });
            if !same || nic_goes {
                let mut s = step(Action::Disassociate, address);
                s.party = Some(old_nic);
                s.before = old.cloned().map(|p| Arc::new(Attributes::PublicIp(p)));
                steps.push(s);
                disassociated = true;
            }
        }
        if let Some((nic, ip)) = new_target {
            let associated = old.is_some_and(|p| p.network_interface.is_some());
            if !associated || disassociated {
                let mut s = step(Action::Associate, address);
                s.party = Some(nic);
                let mut after = new.cloned().unwrap_or(resource::PublicIp {
                    network_interface: None,
                    private_ip: None,
                    address: None,
                });
                after.private_ip = after.private_ip.or(ip);
                s.after = Some(Arc::new(Attributes::PublicIp(after)));
                steps.push(s);
            }
        }
    }

    // Kept for the whole run: without the room the pushes left.
    changes.shrink_to_fit();
    steps.shrink_to_fit();
    Diffed {
        changes,
        steps,
        removed_instances,
    }
}

/// What a destroy leaves of the state, as the desired resources: nothing without
/// targets. With targets, the targets go and, as
/// Terraform destroys dependents, everything that depends on them: a VPC's subnets, a
/// subnet's NICs, the NICs of a security group, a NIC's public IPs and the instance it
/// is the primary interface of, an instance's primary NIC. What stays is desired as it
/// is in state, except that a secondary NIC of a destroyed instance stays detached.
pub(super) fn surviving(state: &State, targets: &[Address]) -> BTreeMap<Address, Arc<Attributes>> {
    if targets.is_empty() {
        return BTreeMap::new();
    }
    let gone = destroyed_with(state, targets);
    state
        .resources
        .iter()
        .filter(|(address, _)| !gone.contains(*address))
        .map(|(address, entry)| {
            let mut attributes = entry.attributes.clone();
            if let Attributes::NetworkInterface(n) = &mut attributes
                && n.attach_to
                    .as_ref()
                    .is_some_and(|i| gone.contains(&Address::new(Kind::Instance, i)))
            {
                n.attach_to = None;
            }
            (*address, Arc::new(attributes))
        })
        .collect()
}

/// The targets held in state and, transitively, what depends on them there.
fn destroyed_with(state: &State, targets: &[Address]) -> BTreeSet<Address> {
    // Who depends on whom, once: dependency -> dependents.
    let mut dependents: BTreeMap<Address, Vec<&Address>> = BTreeMap::new();
    for (address, entry) in &state.resources {
        let needs: Vec<Address> = match &entry.attributes {
            Attributes::Subnet(s) => vec![Address::new(Kind::Vpc, s.vpc)],
            Attributes::NetworkInterface(n) => {
                std::iter::once(Address::new(Kind::Subnet, n.subnet))
                    .chain(
                        n.security_groups
                            .iter()
                            .map(|g| Address::new(Kind::SecurityGroup, g)),
                    )
                    .collect()
            }
            Attributes::Instance(i) => {
                vec![Address::new(Kind::NetworkInterface, i.primary_interface)]
            }
            Attributes::PublicIp(p) => p
                .network_interface
                .iter()
                .map(|n| Address::new(Kind::NetworkInterface, n))
                .collect(),
            _ => Vec::new(),
        };
        for need in needs {
            dependents.entry(need).or_default().push(address);
        }
        // An instance takes its primary NIC with it.
        if let Attributes::Instance(i) = &entry.attributes {
            dependents.entry(*address).or_default().extend(
                state
                    .resources
                    .get_key_value(&Address::new(Kind::NetworkInterface, i.primary_interface))
                    .map(|(a, _)| a),
            );
        }
    }
    let mut gone = BTreeSet::new();
    let mut queue: Vec<&Address> = targets
        .iter()
        .filter_map(|t| state.resources.get_key_value(t).map(|(a, _)| a))
        .collect();
    while let Some(address) = queue.pop() {
        if gone.insert(*address) {
            queue.extend(dependents.get(address).into_iter().flatten().copied());
        }
    }
    gone
}

impl Diffed {
    /// Instances the plan deletes or replaces.
    pub(super) fn removed_instances(&self) -> impl Iterator<Item = &Ident> {
        self.removed_instances.keys()
    }

    /// Keeps only what `--target` names and what those need: the targets' own changes
    /// and steps, and those of every resource they refer to in the file (a NIC's
    /// subnet, groups and instance, an instance's primary NIC, a public IP's NIC),
    /// transitively.
    pub(super) fn retain_targets(
        &mut self,
        targets: &[Address],
        desired: &BTreeMap<Address, Arc<Attributes>>,
    ) {
        let mut keep: BTreeSet<Address> = BTreeSet::new();
        let mut queue: Vec<Address> = targets.to_vec();
        while let Some(address) = queue.pop() {
            if !keep.insert(address) {
                continue;
            }
            let needs: Vec<Address> = match desired.get(&address).map(|a| &**a) {
                Some(Attributes::Subnet(s)) => vec![Address::new(Kind::Vpc, s.vpc)],
                Some(Attributes::NetworkInterface(n)) => {
                    let mut v = vec![Address::new(Kind::Subnet, n.subnet)];
                    v.extend(
                        n.security_groups
                            .iter()
                            .map(|g| Address::new(Kind::SecurityGroup, g)),
                    );
                    v.extend(n.attach_to.iter().map(|i| Address::new(Kind::Instance, i)));
                    v
                }
                Some(Attributes::Instance(i)) => {
                    vec![Address::new(Kind::NetworkInterface, i.primary_interface)]
                }
                Some(Attributes::PublicIp(p)) => p
                    .network_interface
                    .iter()
                    .map(|n| Address::new(Kind::NetworkInterface, n))
                    .collect(),
                _ => Vec::new(),
            };
            queue.extend(needs);
        }
        self.changes.retain(|c| keep.contains(&c.address));
        // A NIC's attachment belongs to the NIC: targeting an instance does not pull in
        // the NICs that attach to it, as targeting never pulls in dependents.
        self.steps.retain(|s| keep.contains(&s.address));
    }

    /// The plan-time rules that need the state: `prevent_destroy`, `instance_status`,
    /// and `static_routing` for instances gaining their second NIC.
    pub(super) fn diagnostics(
        &self,
        model: &Model,
        state: &State,
        index: &StateIndex,
    ) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for (name, reason) in &self.removed_instances {
            let Some(instance) = model.instances.get(name) else {
                continue;
            };
            let Some(flag) = instance.prevent_destroy.as_ref().filter(|f| f.value) else {
                continue;
            };
            let (message, help) = match reason {
                Some(why) => (
                    format!("the plan replaces instance {name}, which has prevent_destroy: {why}"),
                    "undo the change that forces the replacement, or set prevent_destroy to false first",
                ),
                None => (
                    format!("the plan destroys instance {name}, which has prevent_destroy"),
                    "set prevent_destroy to false first if the instance really must go",
                ),
            };
            out.push(
                Diagnostic::new(Code::PreventDestroy, message)
                    .label(flag.span, "prevent_destroy is set here")
                    .help(help),
            );
        }
        for step in &self.steps {
            let Some(name) = step.touches_instance() else {
                continue;
            };
            if !matches!(
                step.action,
                Action::Attach | Action::Detach | Action::Resize | Action::Stop | Action::Start
            ) {
                continue;
            }
            let address = Address::new(Kind::Instance, name);
            let Some(status) = state
                .resources
                .get(&address)
                .and_then(|e| instance_of(&e.attributes))
                .and_then(|i| i.status)
            else {
                continue;
            };
            // A transition ends on its own; the executor waits for it.
            if status.allows_nic_changes()
                || (status.is_transient() && status != resource::Status::Deleting)
            {
                continue;
            }
            if self.removed_instances.contains_key(name) && step.action == Action::Detach {
                // Detaching from an instance that is being replaced happens on the old
                // instance; the rule still applies, fall through.
            }
            let mut d = Diagnostic::new(
                Code::InstanceStatus,
                format!(
                    "the plan would {} but instance {name} is {}; NICs can be attached, detached or resized only on an active or stopped instance",
                    step.describe(),
                    status.as_str()
                ),
            )
            .help(format!(
                "bring instance {name} to active or stopped, then plan again"
            ));
            let nic = model.network_interfaces.get(&step.address.name);
            let span = match step.action {
                Action::Attach => nic.and_then(|n| n.attach_to.as_ref()).map(|a| a.span),
                _ => model.instances.get(name).map(|i| i.type_name.span),
            }
            .or_else(|| model.instances.get(name).map(|i| i.name.span));
            if let Some(span) = span {
                d = d.label(span, format!("instance {name} is {}", status.as_str()));
            }
            out.push(d);
        }
        // static_routing, narrowed to instances that gain their second NIC.
        for instance in model.instances.values() {
            if index.nic_count(state, &instance.name.value) < 2 {
                out.extend(crate::rules::static_routing_advice(model, instance));
            }
        }
        out
    }
}
