//! Ordering: the constraints between steps, plain dependencies first, then capacity and
//! state (detaches before resizes before attaches on one instance, a freed IP before
//! its reuse), and a deterministic topological order over them (petgraph).
//!
//! Ties between ready steps are broken by an explicit key: the action (what frees
//! capacity or addresses first: disassociate, detach, delete, then update, resize,
//! create, attach, associate), then the address, then the instance. A cycle means the
//! plan cannot be ordered; it is refused with the steps involved.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};

use super::index::StateIndex;
use super::{Action, Dependency, Outside, Reason, Step};
use crate::address::{Address, Kind};
use crate::diagnostic::{Code, Diagnostic};
use crate::ident::Ident;
use crate::model::Quotas;
use crate::resource::Attributes;
use crate::state::State;

struct Edges {
    /// (before, after, reason), in the order they were found.
    list: Vec<(u32, u32, Reason)>,
    /// Edges already added, as (before, after): the first reason given stays.
    seen: std::collections::HashSet<(u32, u32)>,
}

impl Edges {
    fn add(&mut self, before: Option<usize>, after: Option<usize>, reason: Reason) {
        let (Some(b), Some(a)) = (before, after) else {
            return;
        };
        let key = (position(b), position(a));
        if a == b || !self.seen.insert(key) {
            return;
        }
        self.list.push((key.0, key.1, reason));
    }
}

/// A step's index as the graph holds it (a plan has far fewer than 2^32 steps).
fn position(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Finds steps by what they do: sorted (action, key, step) triples, searched by
/// bisection, borrowing the steps' own names.
struct Index<'s> {
    by: Vec<(Action, &'s Address, usize)>,
    on_instance: Vec<(Action, &'s str, usize)>,
}

/// The steps of `key` under `action`, in step order.
fn matching<K: Ord + Copy>(
    entries: &[(Action, K, usize)],
    action: Action,
    key: K,
) -> &[(Action, K, usize)] {
    let start = entries.partition_point(|&(a, k, _)| (a, k) < (action, key));
    let len = entries[start..].partition_point(|&(a, k, _)| (a, k) == (action, key));
    &entries[start..start + len]
}

impl<'s> Index<'s> {
    fn new(steps: &'s [Step]) -> Index<'s> {
        let mut by: Vec<(Action, &Address, usize)> = steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.action, &s.address, i))
            .collect();
        by.sort_unstable();
        let mut on_instance: Vec<(Action, &str, usize)> = steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.instance().map(|n| (s.action, n.as_str(), i)))
            .collect();
        on_instance.sort_unstable();
        Index { by, on_instance }
    }

    fn one(&self, action: Action, address: &Address) -> Option<usize> {
        matching(&self.by, action, address).first().map(|e| e.2)
    }

    fn all(&self, action: Action, address: &Address) -> Vec<usize> {
        matching(&self.by, action, address)
            .iter()
            .map(|e| e.2)
            .collect()
    }

    fn on(&self, action: Action, instance: &str) -> Vec<usize> {
        matching(&self.on_instance, action, instance)
            .iter()
            .map(|e| e.2)
            .collect()
    }
}

fn nic(name: &str) -> Address {
    Address::new(Kind::NetworkInterface, name)
}

/// Orders the steps; returns them numbered from 1 with their dependencies, or the
/// diagnostic of a cycle (the steps then stay in diff order, unnumbered dependencies).
pub(super) fn order(
    steps: Vec<Step>,
    state: &State,
    outside: &Outside,
    desired: &BTreeMap<Address, Arc<Attributes>>,
    ix: &StateIndex,
    quotas: &Quotas,
) -> (Vec<Step>, Vec<Diagnostic>) {
    let index = Index::new(&steps);
    let mut e = Edges {
        list: Vec::new(),
        seen: std::collections::HashSet::new(),
    };
    let current = &state.resources;
    // NIC name -> the desired instance it is the primary interface of.
    let desired_primary_owner: BTreeMap<&str, &Address> = desired
        .iter()
        .filter_map(|(a, want)| match &**want {
            Attributes::Instance(i) => Some((i.primary_interface.as_str(), a)),
            _ => None,
        })
        .collect();

    for (i, step) in steps.iter().enumerate() {
        let me = Some(i);
        match step.action {
            Action::Create => {
                // A replacement's delete first.
                e.add(
                    index.one(Action::Delete, &step.address),
                    me,
                    Reason::OldGoesFirst,
                );
                for r in refs(step.after.as_deref()) {
                    e.add(index.one(Action::Create, &r), me, Reason::Needs);
                }
                if let Some(Attributes::NetworkInterface(n)) = step.after.as_deref() {
                    free_ips_first(
                        &mut e,
                        &index,
                        ix,
                        (i, &step.address),
                        n.subnet,
                        n.private_ip.iter().chain(&n.secondary_private_ips),
                    );
                }
                if let Some(Attributes::Subnet(s)) = step.after.as_deref() {
                    let same_vpc = ix.subnets_in.get(&s.vpc).into_iter().flatten();
                    for (a, entry) in same_vpc.filter_map(|a| current.get_key_value(a)) {
                        if let Attributes::Subnet(old) = &entry.attributes
                            && old.vpc == s.vpc
                            && *a != step.address
                            && (old.cidr_block.contains(&s.cidr_block.network())
                                || s.cidr_block.contains(&old.cidr_block.network()))
                        {
                            e.add(index.one(Action::Delete, a), me, Reason::FreesRange);
                        }
                    }
                }
            }
            Action::Update => {
                for r in refs(step.after.as_deref()) {
                    e.add(index.one(Action::Create, &r), me, Reason::Needs);
                }
                if let Some(Attributes::NetworkInterface(n)) = step.after.as_deref() {
                    free_ips_first(
                        &mut e,
                        &index,
                        ix,
                        (i, &step.address),
                        n.subnet,
                        n.secondary_private_ips.iter(),
                    );
                }
            }
            Action::Delete => {
                if let Some(owner) = step.with_instance() {
                    let instance = Address::new(Kind::Instance, owner);
                    e.add(index.one(Action::Delete, &instance), me, Reason::GoesWith);
                }
                // Whatever referred to this resource in state lets go first.
                for a in ix.referrers.get(&step.address).into_iter().flatten() {
                    for j in index.all(Action::Delete, a) {
                        e.add(Some(j), me, Reason::Uses);
                    }
                    for j in index.all(Action::Update, a) {
                        e.add(Some(j), me, Reason::StopsUsing);
                    }
                }
                match step.address.kind {
                    Kind::NetworkInterface => {
                        let detaches = index.all(Action::Detach, &step.address);
                        if detaches.is_empty()
                            && let Some(Attributes::NetworkInterface(n)) = step.before.as_deref()
                            && let Some(owner) = n.attach_to
                        {
                            // No detach: the deletion of its instance frees it.
                            let instance = Address::new(Kind::Instance, owner);
                            e.add(
                                index.one(Action::Delete, &instance),
                                me,
                                Reason::DeletionDetaches,
                            );
                        }
                        for j in detaches {
                            e.add(Some(j), me, Reason::DeletedWhenDetached);
                        }
                        if let Some(owner) = step.with_instance() {
                            e.add(
                                index.one(Action::Delete, &Address::new(Kind::Instance, owner)),
                                me,
                                Reason::GoesWith,
                            );
                        }
                        for j in disassociates_on(&index, ix, &step.address.name) {
                            e.add(Some(j), me, Reason::PublicIpFirst);
                        }
                    }
                    Kind::Instance => {
                        for j in index.on(Action::Detach, &step.address.name) {
                            e.add(Some(j), me, Reason::SecondariesFirst);
                        }
                        if let Some(Attributes::Instance(old)) = step.before.as_deref() {
                            // Public IPs on any of its NICs, primary or secondary.
                            let secondaries = ix.secondaries.get(&step.address.name);
                            let nics: Vec<&str> = std::iter::once(old.primary_interface.as_str())
                                .chain(secondaries.into_iter().flatten().map(Ident::as_str))
                                .collect();
                            for nic in nics {
                                for j in disassociates_on(&index, ix, nic) {
                                    e.add(Some(j), me, Reason::LeavesNic);
                                }
                            }
                        }
                    }
                    Kind::PublicIp => {
                        e.add(
                            index.one(Action::Disassociate, &step.address),
                            me,
                            Reason::ReleasedWhenDisassociated,
                        );
                    }
                    _ => {}
                }
            }
            Action::Detach => {}
            Action::Stop => {
                // Stopped as late as possible: detaches happen while it still runs.
                for j in index.on(Action::Detach, &step.address.name) {
                    e.add(Some(j), me, Reason::RoomBeforeStop);
                }
            }
            Action::Resize => {
                let stop = index.one(Action::Stop, &step.address);
                e.add(stop, me, Reason::ResizesWhenStopped);
                // With a stop, the detaches come before it already.
                let detaches = if stop.is_some() {
                    Vec::new()
                } else {
                    index.on(Action::Detach, &step.address.name)
                };
                for j in detaches {
                    e.add(Some(j), me, Reason::RoomBeforeResize);
                }
            }
            Action::Start => {
                e.add(
                    index.one(Action::Resize, &step.address),
                    me,
                    Reason::RunsAgain,
                );
            }
            Action::Attach => {
                let Some(name) = step.instance() else {
                    continue;
                };
                let instance = Address::new(Kind::Instance, name);
                e.add(index.one(Action::Create, &step.address), me, Reason::Needs);
                e.add(index.one(Action::Create, &instance), me, Reason::Needs);
                e.add(
                    index.one(Action::Update, &step.address),
                    me,
                    Reason::NewSettingsFirst,
                );
                for j in index.all(Action::Detach, &step.address) {
                    e.add(Some(j), me, Reason::LeavesInstance);
                }
                for j in index.on(Action::Resize, &name) {
                    e.add(Some(j), me, Reason::ResizeMakesRoom);
                }
                for j in index.on(Action::Detach, &name) {
                    e.add(Some(j), me, Reason::DetachMakesRoom);
                }
            }
            Action::Associate => {
                e.add(index.one(Action::Create, &step.address), me, Reason::Needs);
                e.add(
                    index.one(Action::Disassociate, &step.address),
                    me,
                    Reason::DisassociatedFirst,
                );
                if let Some(n) = step.network_interface() {
                    let target = nic(&n);
                    e.add(index.one(Action::Create, &target), me, Reason::Needs);
                    e.add(index.one(Action::Update, &target), me, Reason::NewIpsFirst);
                    // Another public IP leaving this interface frees its private IP.
                    for j in disassociates_on(&index, ix, &n) {
                        e.add(Some(j), me, Reason::FreesPrivateIp);
                    }
                    // An instance being created around the NIC.
                    if let Some(a) = desired_primary_owner.get(n.as_str()) {
                        e.add(index.one(Action::Create, a), me, Reason::Needs);
                    }
                }
            }
            Action::Disassociate => {}
        }
    }

    // Freed before the sort, which needs room of its own.
    drop(index);
    drop(desired_primary_owner);
    pinned_first(&mut e, &steps);
    within_quotas(&mut e, &steps, state, outside, quotas);

    let Edges { mut list, seen } = e;
    drop(seen);
    list.shrink_to_fit();
    toposort(steps, list)
}

/// What a step does to a subnet's addresses: takes pinned ones, has one assigned by
/// the cloud, or both (an assigned primary with pinned secondaries).
fn address_use(step: &Step) -> Option<(&str, bool, bool)> {
    let Some(Attributes::NetworkInterface(n)) = step.after.as_deref() else {
        return None;
    };
    match step.action {
        Action::Create => Some((
            n.subnet.as_str(),
            n.private_ip.is_some() || !n.secondary_private_ips.is_empty(),
            n.private_ip.is_none(),
        )),
        Action::Update => {
            let held = match step.before.as_deref() {
                Some(Attributes::NetworkInterface(b)) => &b.secondary_private_ips[..],
                _ => &[],
            };
            let adds = n.secondary_private_ips.iter().any(|ip| !held.contains(ip));
            adds.then_some((n.subnet.as_str(), true, false))
        }
        _ => None,
    }
}

/// In each subnet, every step that takes a pinned address comes before every create
/// whose address the cloud assigns, so an assigned address never takes a pinned one.
/// Linear in edges: the first assigned create waits for the pinned steps (through the
/// creates that mix both, one at a time), and the other assigned creates wait for it.
fn pinned_first(e: &mut Edges, steps: &[Step]) {
    #[derive(Default)]
    struct Subnet {
        pinned: Vec<usize>,
        mixed: Vec<usize>,
        assigned: Vec<usize>,
    }
    let mut subnets: BTreeMap<&str, Subnet> = BTreeMap::new();
    for (i, step) in steps.iter().enumerate() {
        let Some((subnet, pins, assigned)) = address_use(step) else {
            continue;
        };
        let slot = subnets.entry(subnet).or_default();
        match (pins, assigned) {
            (true, true) => slot.mixed.push(i),
            (true, false) => slot.pinned.push(i),
            (false, true) => slot.assigned.push(i),
            (false, false) => {}
        }
    }
    for s in subnets.into_values() {
        if s.mixed.is_empty() && (s.pinned.is_empty() || s.assigned.is_empty()) {
            continue;
        }
        let mut before: Vec<usize> = s.pinned;
        for &m in &s.mixed {
            for &p in &before {
                e.add(Some(p), Some(m), Reason::PinnedFirst);
            }
            before = vec![m];
        }
        let Some((&gate, rest)) = s.assigned.split_first() else {
            continue;
        };
        for &p in &before {
            e.add(Some(p), Some(gate), Reason::PinnedFirst);
        }
        for &a in rest {
            e.add(Some(gate), Some(a), Reason::PinnedTaken);
        }
    }
}

/// Creates wait for deletes of the same kind when the project would otherwise go over
/// a quota on the way: the creates beyond the room left each wait for one delete. A
/// replacement's create already waits for its own delete.
fn within_quotas(e: &mut Edges, steps: &[Step], state: &State, outside: &Outside, quotas: &Quotas) {
    let kinds = [
        (Kind::Vpc, quotas.vpcs.limit, outside.vpcs.len()),
        (Kind::Subnet, quotas.subnets.limit, outside.subnets.len()),
        (
            Kind::Instance,
            quotas.instances.limit,
            outside.instances.len(),
        ),
    ];
    for (kind, limit, outside_count) in kinds {
        let held = state.resources.keys().filter(|a| a.kind == kind).count() + outside_count;
        let plain = |action: Action| -> Vec<usize> {
            steps
                .iter()
                .enumerate()
                .filter(|(_, s)| s.action == action && s.address.kind == kind && !s.replace)
                .map(|(i, _)| i)
                .collect()
        };
        let creates = plain(Action::Create);
        let deletes = plain(Action::Delete);
        let room = usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .saturating_sub(held);
        for (&c, &d) in creates.iter().skip(room).zip(&deletes) {
            e.add(Some(d), Some(c), Reason::Quota(limit));
        }
    }
}

/// Steps that disassociate a public IP which, in state, sits on NIC `nic_name`.
fn disassociates_on(index: &Index, ix: &StateIndex, nic_name: &str) -> Vec<usize> {
    ix.public_ips_on
        .get(nic_name)
        .into_iter()
        .flatten()
        .flat_map(|a| index.all(Action::Disassociate, a))
        .collect()
}

/// Orders step `i`, which takes `ips` in `subnet`, after the deletes and updates that
/// release those IPs from their current holders.
fn free_ips_first<'a>(
    e: &mut Edges,
    index: &Index,
    ix: &StateIndex,
    (i, taker): (usize, &Address),
    subnet: Ident,
    ips: impl Iterator<Item = &'a std::net::Ipv4Addr>,
) {
    for ip in ips {
        let Some(a) = ix.ip_holder.get(&(subnet, *ip)) else {
            continue;
        };
        if a == taker {
            continue;
        }
        for j in index
            .all(Action::Delete, a)
            .into_iter()
            .chain(index.all(Action::Update, a))
        {
            e.add(Some(j), Some(i), Reason::FreesIp(*ip));
        }
    }
}

/// The resources a resource's attributes refer to and need to exist first.
fn refs(attributes: Option<&Attributes>) -> Vec<Address> {
    attributes.map(super::index::refs).unwrap_or_default()
}

fn rank(step: &Step) -> (Action, &Address, Option<&str>, Option<&str>) {
    (
        step.action,
        &step.address,
        step.instance().map(|i| i.as_str()),
        step.network_interface().map(|n| n.as_str()),
    )
}

fn toposort(mut steps: Vec<Step>, edges: Vec<(u32, u32, Reason)>) -> (Vec<Step>, Vec<Diagnostic>) {
    let n = steps.len();
    // The topology in petgraph, the reasons beside it by edge index.
    let mut graph: DiGraph<(), (), u32> = DiGraph::with_capacity(n, edges.len());
    for _ in 0..n {
        graph.add_node(());
    }
    for &(before, after, _) in &edges {
        graph.add_edge(
            NodeIndex::new(before as usize),
            NodeIndex::new(after as usize),
            (),
        );
    }
    let mut indegree: Vec<usize> = graph
        .node_indices()
        .map(|node| {
            graph
                .neighbors_directed(node, petgraph::Direction::Incoming)
                .count()
        })
        .collect();
    let mut ready: BinaryHeap<Reverse<(_, usize)>> = (0..n)
        .filter(|&i| indegree[i] == 0)
        .map(|i| Reverse((rank(&steps[i]), i)))
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse((_, i))) = ready.pop() {
        order.push(i);
        for next in graph.neighbors_directed(NodeIndex::new(i), petgraph::Direction::Outgoing) {
            let j = next.index();
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(Reverse((rank(&steps[j]), j)));
            }
        }
    }
    drop(graph);
    if order.len() < n {
        let stuck: Vec<String> = (0..n)
            .filter(|&i| indegree[i] > 0)
            .map(|i| steps[i].describe())
            .collect();
        let d = Diagnostic::new(
            Code::Ordering,
            format!(
                "the plan cannot be ordered: these steps wait on each other: {}",
                stuck.join("; ")
            ),
        )
        .help("apply the change in two smaller steps, or use --target to split it");
        return (steps, vec![d]);
    }
    drop(ready);
    let mut position = vec![0; n];
    for (pos, &i) in order.iter().enumerate() {
        position[i] = pos + 1;
    }
    drop(order);
    // Each step's dependencies, made to measure: most steps wait for one or two.
    let mut incoming: Vec<u32> = vec![0; n];
    for &(_, after, _) in &edges {
        incoming[after as usize] += 1;
    }
    for (step, &count) in steps.iter_mut().zip(&incoming) {
        step.depends_on.reserve_exact(count as usize);
    }
    drop(incoming);
    for (before, after, reason) in edges {
        steps[after as usize].depends_on.push(Dependency {
            step: position[before as usize],
            reason,
        });
    }
    for (i, step) in steps.iter_mut().enumerate() {
        step.index = position[i];
        // One dependency per step waited for: the order of the step numbers is the
        // order of the list.
        step.depends_on.sort_by_key(|d| d.step);
    }
    // Into plan order in place: each swap puts one step where it belongs.
    for i in 0..n {
        while steps[i].index != i + 1 {
            let j = steps[i].index - 1;
            steps.swap(i, j);
        }
    }
    chain_same_resource(&mut steps);
    (steps, Vec::new())
}

/// Steps on the same resource run one after the other, in plan order, so that running
/// independent steps at once never reorders what the safety check simulated for that
/// resource. These edges follow the order already chosen, so they add no cycle.
fn chain_same_resource(steps: &mut [Step]) {
    let mut last: BTreeMap<Address, usize> = BTreeMap::new();
    for i in 0..steps.len() {
        let mut touched = vec![(steps[i].address, false)];
        if let Some(n) = steps[i].network_interface() {
            touched.push((Address::new(Kind::NetworkInterface, n), true));
        }
        for (address, via_nic) in touched {
            if let Some(&prev) = last.get(&address) {
                let prev_index = steps[prev].index;
                if !steps[i].depends_on.iter().any(|d| d.step == prev_index) {
                    steps[i].depends_on.reserve_exact(1);
                    steps[i].depends_on.push(Dependency {
                        step: prev_index,
                        reason: Reason::OneAtATime(via_nic),
                    });
                }
            }
            last.insert(address, i);
        }
        steps[i].depends_on.sort_by_key(|d| d.step);
    }
}
