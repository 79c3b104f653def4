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

use petgraph::graph::{DiGraph, NodeIndex};

use super::index::StateIndex;
use super::{Action, Dependency, Step};
use crate::address::{Address, Kind};
use crate::diagnostic::{Code, Diagnostic};
use crate::resource::Attributes;
use crate::state::State;

struct Edges<'s> {
    steps: &'s [Step],
    graph: DiGraph<usize, String>,
    nodes: Vec<NodeIndex>,
    /// Edges already added, as (before, after): petgraph's own lookup walks a node's
    /// whole adjacency list, and a security group may come before every NIC.
    seen: std::collections::BTreeSet<(usize, usize)>,
}

impl Edges<'_> {
    fn add(
        &mut self,
        before: Option<usize>,
        after: Option<usize>,
        reason: impl FnOnce(&Step) -> String,
    ) {
        let (Some(b), Some(a)) = (before, after) else {
            return;
        };
        if a == b || !self.seen.insert((b, a)) {
            return;
        }
        let text = reason(&self.steps[b]);
        self.graph.add_edge(self.nodes[b], self.nodes[a], text);
    }
}

/// Finds steps by what they do.
struct Index {
    by: BTreeMap<(Action, Address), Vec<usize>>,
    on_instance: BTreeMap<(Action, String), Vec<usize>>,
}

impl Index {
    fn new(steps: &[Step]) -> Index {
        let mut by: BTreeMap<(Action, Address), Vec<usize>> = BTreeMap::new();
        let mut on_instance: BTreeMap<(Action, String), Vec<usize>> = BTreeMap::new();
        for (i, s) in steps.iter().enumerate() {
            by.entry((s.action, s.address.clone())).or_default().push(i);
            if let Some(instance) = &s.instance {
                on_instance
                    .entry((s.action, instance.clone()))
                    .or_default()
                    .push(i);
            }
        }
        Index { by, on_instance }
    }

    fn one(&self, action: Action, address: &Address) -> Option<usize> {
        self.by
            .get(&(action, address.clone()))
            .and_then(|v| v.first().copied())
    }

    fn all(&self, action: Action, address: &Address) -> Vec<usize> {
        self.by
            .get(&(action, address.clone()))
            .cloned()
            .unwrap_or_default()
    }

    fn on(&self, action: Action, instance: &str) -> Vec<usize> {
        self.on_instance
            .get(&(action, instance.to_string()))
            .cloned()
            .unwrap_or_default()
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
    desired: &BTreeMap<Address, Attributes>,
    ix: &StateIndex,
) -> (Vec<Step>, Vec<Diagnostic>) {
    let index = Index::new(&steps);
    let mut graph = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..steps.len()).map(|i| graph.add_node(i)).collect();
    let mut e = Edges {
        steps: &steps,
        graph,
        nodes,
        seen: std::collections::BTreeSet::new(),
    };
    let current = &state.resources;
    // NIC name -> the desired instance it is the primary interface of.
    let desired_primary_owner: BTreeMap<&str, &Address> = desired
        .iter()
        .filter_map(|(a, want)| match want {
            Attributes::Instance(i) => Some((i.primary_interface.as_str(), a)),
            _ => None,
        })
        .collect();

    for (i, step) in steps.iter().enumerate() {
        let me = Some(i);
        match step.action {
            Action::Create => {
                // A replacement's delete first.
                e.add(index.one(Action::Delete, &step.address), me, |_| {
                    format!("{} is replaced: the old one goes first", step.address)
                });
                for r in refs(step.after.as_ref()) {
                    e.add(index.one(Action::Create, &r), me, |_| format!("needs {r}"));
                }
                if let Some(Attributes::NetworkInterface(n)) = &step.after {
                    free_ips_first(
                        &mut e,
                        &index,
                        ix,
                        i,
                        &n.subnet,
                        n.private_ip.iter().chain(&n.secondary_private_ips),
                    );
                }
                if let Some(Attributes::Subnet(s)) = &step.after {
                    for (a, entry) in current {
                        if let Attributes::Subnet(old) = &entry.attributes
                            && old.vpc == s.vpc
                            && *a != step.address
                            && (old.cidr_block.contains(&s.cidr_block.network())
                                || s.cidr_block.contains(&old.cidr_block.network()))
                        {
                            e.add(index.one(Action::Delete, a), me, |_| {
                                format!("{a} frees the range {}", s.cidr_block)
                            });
                        }
                    }
                }
            }
            Action::Update => {
                for r in refs(step.after.as_ref()) {
                    e.add(index.one(Action::Create, &r), me, |_| format!("needs {r}"));
                }
                if let Some(Attributes::NetworkInterface(n)) = &step.after {
                    free_ips_first(
                        &mut e,
                        &index,
                        ix,
                        i,
                        &n.subnet,
                        n.secondary_private_ips.iter(),
                    );
                }
            }
            Action::Delete => {
                if let Some(owner) = &step.with_instance {
                    let instance = Address::new(Kind::Instance, owner);
                    e.add(index.one(Action::Delete, &instance), me, |_| {
                        format!("it goes with {instance}")
                    });
                }
                // Whatever referred to this resource in state lets go first.
                for a in ix.referrers.get(&step.address).into_iter().flatten() {
                    for j in index.all(Action::Delete, a) {
                        e.add(Some(j), me, |_| format!("{a} uses {}", step.address));
                    }
                    for j in index.all(Action::Update, a) {
                        e.add(Some(j), me, |_| format!("{a} stops using {}", step.address));
                    }
                }
                match step.address.kind {
                    Kind::NetworkInterface => {
                        let detaches = index.all(Action::Detach, &step.address);
                        if detaches.is_empty()
                            && let Some(Attributes::NetworkInterface(n)) = &step.before
                            && let Some(owner) = &n.attach_to
                        {
                            // No detach: the deletion of its instance frees it.
                            let instance = Address::new(Kind::Instance, owner);
                            e.add(index.one(Action::Delete, &instance), me, |_| {
                                format!("the deletion of {instance} detaches it")
                            });
                        }
                        for j in detaches {
                            e.add(Some(j), me, |_| {
                                "a NIC is deleted only when detached".to_string()
                            });
                        }
                        if let Some(owner) = &step.with_instance {
                            e.add(
                                index.one(Action::Delete, &Address::new(Kind::Instance, owner)),
                                me,
                                |_| format!("it goes with instance.{owner}"),
                            );
                        }
                        for j in disassociates_on(&index, ix, &step.address.name) {
                            e.add(Some(j), me, |_| {
                                "its public IP is disassociated first".to_string()
                            });
                        }
                    }
                    Kind::Instance => {
                        for j in index.on(Action::Detach, &step.address.name) {
                            e.add(Some(j), me, |_| {
                                "its secondary interfaces are detached first".to_string()
                            });
                        }
                        if let Some(Attributes::Instance(old)) = &step.before {
                            // Public IPs on any of its NICs, primary or secondary.
                            let nics: Vec<&str> = std::iter::once(old.primary_interface.as_str())
                                .chain(current.iter().filter_map(|(a, e)| match &e.attributes {
                                    Attributes::NetworkInterface(n)
                                        if n.attach_to.as_deref()
                                            == Some(step.address.name.as_str()) =>
                                    {
                                        Some(a.name.as_str())
                                    }
                                    _ => None,
                                }))
                                .collect();
                            for nic in nics {
                                for j in disassociates_on(&index, ix, nic) {
                                    e.add(Some(j), me, |s| {
                                        format!(
                                            "{} leaves network_interface.{nic} first",
                                            s.address
                                        )
                                    });
                                }
                            }
                        }
                    }
                    Kind::PublicIp => {
                        e.add(index.one(Action::Disassociate, &step.address), me, |_| {
                            "a public IP is released only when disassociated".to_string()
                        });
                    }
                    _ => {}
                }
            }
            Action::Detach => {}
            Action::Resize => {
                let name = step.address.name.as_str();
                for j in index.on(Action::Detach, name) {
                    e.add(Some(j), me, |_| {
                        format!("the detach makes room on instance.{name} before it resizes")
                    });
                }
            }
            Action::Attach => {
                let Some(name) = step.instance.as_deref() else {
                    continue;
                };
                let instance = Address::new(Kind::Instance, name);
                e.add(index.one(Action::Create, &step.address), me, |_| {
                    format!("needs {}", step.address)
                });
                e.add(index.one(Action::Create, &instance), me, |_| {
                    format!("needs {instance}")
                });
                e.add(index.one(Action::Update, &step.address), me, |_| {
                    format!(
                        "{} gets its new settings before it is attached",
                        step.address
                    )
                });
                for j in index.all(Action::Detach, &step.address) {
                    e.add(Some(j), me, |s| {
                        format!(
                            "{} leaves instance.{} first",
                            step.address,
                            s.instance.as_deref().unwrap_or("?")
                        )
                    });
                }
                for j in index.on(Action::Resize, name) {
                    e.add(Some(j), me, |_| {
                        format!("the resize makes room on {instance}")
                    });
                }
                for j in index.on(Action::Detach, name) {
                    e.add(Some(j), me, |s| {
                        format!("the detach of {} makes room on {instance}", s.address)
                    });
                }
            }
            Action::Associate => {
                e.add(index.one(Action::Create, &step.address), me, |_| {
                    format!("needs {}", step.address)
                });
                e.add(index.one(Action::Disassociate, &step.address), me, |_| {
                    format!(
                        "{} is disassociated from its old interface first",
                        step.address
                    )
                });
                if let Some(n) = &step.network_interface {
                    let target = nic(n);
                    e.add(index.one(Action::Create, &target), me, |_| {
                        format!("needs {target}")
                    });
                    e.add(index.one(Action::Update, &target), me, |_| {
                        format!("{target} gets its new IPs first")
                    });
                    // Another public IP leaving this interface frees its private IP.
                    for j in disassociates_on(&index, ix, n) {
                        e.add(Some(j), me, |s| {
                            format!("{} frees a private IP of {target}", s.address)
                        });
                    }
                    // An instance being created around the NIC.
                    if let Some(a) = desired_primary_owner.get(n.as_str()) {
                        e.add(index.one(Action::Create, a), me, |_| format!("needs {a}"));
                    }
                }
            }
            Action::Disassociate => {}
        }
    }

    let Edges { graph, nodes, .. } = e;
    toposort(steps, graph, &nodes)
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
    e: &mut Edges<'_>,
    index: &Index,
    ix: &StateIndex,
    i: usize,
    subnet: &str,
    ips: impl Iterator<Item = &'a std::net::Ipv4Addr>,
) {
    for ip in ips {
        let Some(a) = ix.ip_holder.get(&(subnet.to_string(), *ip)) else {
            continue;
        };
        if *a == e.steps[i].address {
            continue;
        }
        for j in index
            .all(Action::Delete, a)
            .into_iter()
            .chain(index.all(Action::Update, a))
        {
            e.add(Some(j), Some(i), |_| format!("{a} frees {ip}"));
        }
    }
}

/// The resources a resource's attributes refer to and need to exist first.
fn refs(attributes: Option<&Attributes>) -> Vec<Address> {
    attributes.map(super::index::refs).unwrap_or_default()
}

fn rank(step: &Step) -> (Action, Address, Option<String>, Option<String>) {
    (
        step.action,
        step.address.clone(),
        step.instance.clone(),
        step.network_interface.clone(),
    )
}

fn toposort(
    mut steps: Vec<Step>,
    graph: DiGraph<usize, String>,
    nodes: &[NodeIndex],
) -> (Vec<Step>, Vec<Diagnostic>) {
    let n = steps.len();
    let mut indegree: Vec<usize> = nodes
        .iter()
        .map(|&node| {
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
        for next in graph.neighbors_directed(nodes[i], petgraph::Direction::Outgoing) {
            let j = graph[next];
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(Reverse((rank(&steps[j]), j)));
            }
        }
    }
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
    let mut position = vec![0; n];
    for (pos, &i) in order.iter().enumerate() {
        position[i] = pos + 1;
    }
    for (i, step) in steps.iter_mut().enumerate() {
        step.index = position[i];
        let mut deps: Vec<Dependency> = graph
            .edges_directed(nodes[i], petgraph::Direction::Incoming)
            .map(|edge| {
                use petgraph::visit::EdgeRef;
                Dependency {
                    step: position[graph[edge.source()]],
                    reason: edge.weight().clone(),
                }
            })
            .collect();
        deps.sort_by(|a, b| a.step.cmp(&b.step).then_with(|| a.reason.cmp(&b.reason)));
        step.depends_on = deps;
    }
    steps.sort_by_key(|s| s.index);
    chain_same_resource(&mut steps);
    (steps, Vec::new())
}

/// Steps on the same resource run one after the other, in plan order, so that running
/// independent steps at once never reorders what the safety check simulated for that
/// resource. These edges follow the order already chosen, so they add no cycle.
fn chain_same_resource(steps: &mut [Step]) {
    let mut last: BTreeMap<Address, usize> = BTreeMap::new();
    for i in 0..steps.len() {
        let mut touched = vec![steps[i].address.clone()];
        if let Some(n) = &steps[i].network_interface {
            touched.push(Address::new(Kind::NetworkInterface, n));
        }
        for address in touched {
            if let Some(&prev) = last.get(&address) {
                let prev_index = steps[prev].index;
                if !steps[i].depends_on.iter().any(|d| d.step == prev_index) {
                    steps[i].depends_on.push(Dependency {
                        step: prev_index,
                        reason: format!("one step at a time on {address}"),
                    });
                }
            }
            last.insert(address, i);
        }
        steps[i]
            .depends_on
            .sort_by(|a, b| a.step.cmp(&b.step).then_with(|| a.reason.cmp(&b.reason)));
    }
}
