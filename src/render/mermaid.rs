//! Mermaid flowcharts: the network as nested `subgraph`s (VPC, then availability zone,
//! then subnet) with instances, their NICs and the public IPs mapped to them; for a plan,
//! only what the plan touches and its direct neighbours, each changed element marked by
//! a class (a colour) and by a sign in its label (`+`, `~`, `-/+`, `-`), so that the marks
//! read without colour too. Also the plan's steps and their ordering constraints.
//!
//! Invariants:
//! - Node and subgraph IDs are made of ASCII letters, digits and `_` only, start with a
//!   fixed prefix per kind (so never a Mermaid keyword, never an `o` or `x` that would
//!   turn an arrow into a circle or a cross), and are unique within a diagram.
//! - Every label is quoted, with `"`, `#`, `<`, `>`, `&` and backticks written as
//!   Mermaid entities and control characters as spaces: user text cannot end a label,
//!   open HTML, or close the Markdown fence around the diagram.
//! - Same inputs, same bytes: everything is walked in address order.
//! - A plan's diagram for a pull-request comment is bounded ([`MAX_NODES`],
//!   [`MAX_CHARS`]); past that it is a note saying so.
//!
//! Security groups are left out of the picture unless the plan changes one: every NIC
//! has some, and their edges would hide the shape of the network.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::address::{Address, Kind};
use crate::ident::Ident;
use crate::plan::{Action, ChangeKind, Plan};
use crate::resource::Attributes;

/// The most resources a plan's diagram shows in a pull-request comment.
pub const MAX_NODES: usize = 150;

/// The most characters a plan's diagram takes in a pull-request comment: Mermaid's own
/// default `maxTextSize`, past which GitHub draws an error instead of the diagram.
pub const MAX_CHARS: usize = 50_000;

/// The two sides of a plan: the resources it starts from (the state, or the old file),
/// and the resources it leads to (the file). Deleted resources are found on the old side
/// only.
#[derive(Clone, Debug, Default)]
pub struct Network {
    /// Before the plan.
    pub old: BTreeMap<Address, Attributes>,
    /// After the plan.
    pub new: BTreeMap<Address, Attributes>,
}

impl Network {
    /// The way from `state` to the file of `model`.
    pub fn between(state: &crate::state::State, model: &crate::model::Model) -> Network {
        Network {
            old: state
                .resources
                .iter()
                .map(|(a, e)| (*a, e.attributes.clone()))
                .collect(),
            new: crate::resource::desired(model),
        }
    }
}

/// A plan's diagram as a pull-request comment holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Diagram {
    /// The plan touches nothing that can be drawn.
    Nothing,
    /// The flowchart.
    Drawn(String),
    /// Too big: the note that stands in for it.
    Skipped(String),
}

/// How a resource changes, as the diagram marks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    Created,
    Updated,
    Replaced,
    Deleted,
    /// Attached, detached, associated or disassociated, without a change of its own.
    Moved,
}

impl Mark {
    fn sign(self) -> &'static str {
        match self {
            Mark::Created => "+",
            Mark::Updated | Mark::Moved => "~",
            Mark::Replaced => "-/+",
            Mark::Deleted => "-",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Mark::Created => "created",
            Mark::Updated | Mark::Replaced | Mark::Moved => "changed",
            Mark::Deleted => "deleted",
        }
    }
}

/// The three classes, in the order they are defined.
const CLASSES: [(&str, &str); 3] = [
    (
        "created",
        "fill:#dafbe1,stroke:#1a7f37,stroke-width:2px,color:#0f3d1c",
    ),
    (
        "changed",
        "fill:#fff8c5,stroke:#9a6700,stroke-width:2px,color:#3b2300",
    ),
    (
        "deleted",
        "fill:#ffebe9,stroke:#cf222e,stroke-width:2px,stroke-dasharray:5 3,color:#5c0a0f",
    ),
];

/// The whole network of `resources` (the file), without marks.
pub fn network(resources: &BTreeMap<Address, Attributes>) -> String {
    let network = Network {
        old: BTreeMap::new(),
        new: resources.clone(),
    };
    let shown: BTreeSet<Address> = resources
        .keys()
        .filter(|a| a.kind != Kind::SecurityGroup)
        .cloned()
        .collect();
    Drawing::new(&network, shown, BTreeMap::new()).render()
}

/// The part of the network `plan` touches, marked, however big.
pub fn plan(plan: &Plan, network: &Network) -> String {
    touched(plan, network).render()
}

/// [`plan`], bounded for a pull-request comment: a note instead past [`MAX_NODES`]
/// resources or [`MAX_CHARS`] characters.
pub fn bounded(plan: &Plan, network: &Network) -> Diagram {
    bounded_by(plan, network, MAX_NODES, MAX_CHARS)
}

/// [`bounded`] with the limits given.
fn bounded_by(plan: &Plan, network: &Network, max_nodes: usize, max_chars: usize) -> Diagram {
    let drawing = touched(plan, network);
    if drawing.shown.is_empty() {
        return Diagram::Nothing;
    }
    let count = drawing.resources();
    if count > max_nodes {
        return Diagram::Skipped(format!(
            "Diagram skipped: the plan touches {count} resources (limit {max_nodes}). Run `nicplan graph --format mermaid` to see the whole network."
        ));
    }
    let text = drawing.render();
    let length = text.chars().count();
    if length > max_chars {
        return Diagram::Skipped(format!(
            "Diagram skipped: it would take {length} characters (limit {max_chars}). Run `nicplan graph --format mermaid` to see the whole network."
        ));
    }
    Diagram::Drawn(text)
}

/// The plan's steps as a flowchart: one node per step, one edge per ordering constraint
/// (labelled with its reason); creations, changes and deletions marked like resources.
pub fn steps(plan: &Plan) -> String {
    let mut out = String::from("flowchart LR\n");
    let mut classes: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for step in &plan.steps {
        let id = format!("step_{}", step.index);
        let _ = writeln!(
            out,
            "  {id}[\"{}\"]",
            label(&format!("{}. {}", step.index, step.describe()))
        );
        let mark = match step.action {
            Action::Create => Mark::Created,
            Action::Delete => Mark::Deleted,
            _ => Mark::Updated,
        };
        classes.entry(mark.class()).or_default().push(id);
    }
    for step in &plan.steps {
        for dep in &step.depends_on {
            let _ = writeln!(
                out,
                "  step_{} -->|\"{}\"| step_{}",
                dep.step,
                label(&dep.words(step, &plan.steps)),
                step.index
            );
        }
    }
    write_classes(&mut out, &classes);
    out
}

/// The drawing of what `plan` touches.
fn touched<'n>(plan: &Plan, network: &'n Network) -> Drawing<'n> {
    let mut marks: BTreeMap<Address, Mark> = BTreeMap::new();
    for change in &plan.changes {
        let mark = match change.kind {
            ChangeKind::Create => Mark::Created,
            ChangeKind::Update => Mark::Updated,
            ChangeKind::Replace => Mark::Replaced,
            ChangeKind::Delete => Mark::Deleted,
        };
        marks.insert(change.address, mark);
    }
    for m in plan.moves() {
        marks.entry(*m.address).or_insert(Mark::Moved);
    }
    // The touched resources and their direct neighbours, on either side.
    let primaries = [primaries(&network.new), primaries(&network.old)];
    let mut shown: BTreeSet<Address> = BTreeSet::new();
    for address in marks.keys() {
        shown.insert(*address);
        for (side, primary_of) in [&network.new, &network.old].into_iter().zip(&primaries) {
            let Some(attributes) = side.get(address) else {
                continue;
            };
            match attributes {
                Attributes::NetworkInterface(n) => {
                    if let Some(i) = &n.attach_to {
                        shown.insert(Address::new(Kind::Instance, i));
                    }
                    if let Some(i) = primary_of.get(address.name.as_str()) {
                        shown.insert(Address::new(Kind::Instance, *i));
                    }
                }
                Attributes::Instance(i) => {
                    shown.insert(Address::new(Kind::NetworkInterface, i.primary_interface));
                }
                Attributes::PublicIp(p) => {
                    if let Some(n) = &p.network_interface {
                        shown.insert(Address::new(Kind::NetworkInterface, n));
                    }
                }
                _ => {}
            }
        }
    }
    shown.retain(|a| network.new.contains_key(a) || network.old.contains_key(a));
    Drawing::new(network, shown, marks)
}

/// The instance each NIC is the primary interface of, on one side, by NIC name.
fn primaries(side: &BTreeMap<Address, Attributes>) -> BTreeMap<&str, &str> {
    side.iter()
        .filter_map(|(a, attributes)| match attributes {
            Attributes::Instance(i) => Some((i.primary_interface.as_str(), a.name.as_str())),
            _ => None,
        })
        .collect()
}

/// Where a node sits: in a subnet, directly in a zone of a VPC, or at the top.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    Top,
    Zone { vpc: Ident, zone: Ident },
    Subnet(Ident),
}

/// What is drawn, decided; [`Drawing::render`] writes it.
struct Drawing<'n> {
    network: &'n Network,
    /// The resources drawn as nodes or as subnet and VPC subgraphs.
    shown: BTreeSet<Address>,
    marks: BTreeMap<Address, Mark>,
    /// VPC name, then zone, then subnet names: the subgraphs.
    groups: BTreeMap<Ident, BTreeMap<Ident, BTreeSet<Ident>>>,
    /// The nodes of each place.
    nodes: BTreeMap<Place, Vec<Address>>,
    ids: BTreeMap<Address, String>,
}

impl<'n> Drawing<'n> {
    fn new(
        network: &'n Network,
        mut shown: BTreeSet<Address>,
        marks: BTreeMap<Address, Mark>,
    ) -> Drawing<'n> {
        let mut d = Drawing {
            network,
            shown: BTreeSet::new(),
            marks,
            groups: BTreeMap::new(),
            nodes: BTreeMap::new(),
            ids: BTreeMap::new(),
        };
        // The containers of what is shown: a NIC's subnet, a subnet's VPC, the VPC of an
        // instance's primary subnet.
        let mut containers = Vec::new();
        for a in &shown {
            match d.attributes(a) {
                Some(Attributes::NetworkInterface(n)) => {
                    let subnet = Address::new(Kind::Subnet, n.subnet);
                    if let Some(Attributes::Subnet(s)) = d.attributes(&subnet) {
                        containers.push(Address::new(Kind::Vpc, s.vpc));
                    }
                    containers.push(subnet);
                }
                Some(Attributes::Subnet(s)) => containers.push(Address::new(Kind::Vpc, s.vpc)),
                Some(Attributes::Instance(_)) => {
                    if let Place::Zone { vpc, .. } = d.place(a) {
                        containers.push(Address::new(Kind::Vpc, vpc));
                    }
                }
                _ => {}
            }
        }
        shown.extend(containers);
        shown.retain(|a| d.attributes(a).is_some());
        d.shown = shown;

        let mut ids = Ids::default();
        for a in &d.shown {
            match d.attributes(a) {
                Some(Attributes::Vpc(_)) => {
                    d.groups.entry(a.name).or_default();
                }
                Some(Attributes::Subnet(s)) => {
                    d.groups
                        .entry(s.vpc)
                        .or_default()
                        .entry(s.availability_zone)
                        .or_default()
                        .insert(a.name);
                }
                _ => {}
            }
        }
        for a in &d.shown {
            if matches!(a.kind, Kind::Vpc | Kind::Subnet) {
                continue;
            }
            let place = d.place(a);
            if let Place::Zone { vpc, zone } = &place {
                d.groups.entry(*vpc).or_default().entry(*zone).or_default();
            }
            d.nodes.entry(place).or_default().push(*a);
        }
        for a in &d.shown {
            d.ids.insert(*a, ids.make(prefix(a.kind), &a.name));
        }
        // A VPC known only by name (a subnet's, without attributes) is still a group.
        for vpc in d.groups.keys() {
            let address = Address::new(Kind::Vpc, vpc);
            d.ids.entry(address).or_insert_with(|| ids.make("vpc", vpc));
        }
        d.ids.extend(ids.zones(&d.groups));
        d
    }

    /// The attributes a resource is drawn with: the new side's, the old side's for a
    /// deleted one (or one only there).
    fn attributes(&self, a: &Address) -> Option<&'n Attributes> {
        let (first, second) = if self.marks.get(a) == Some(&Mark::Deleted) {
            (&self.network.old, &self.network.new)
        } else {
            (&self.network.new, &self.network.old)
        };
        first.get(a).or_else(|| second.get(a))
    }

    fn place(&self, a: &Address) -> Place {
        let subnet_of =
            |nic: &str| match self.attributes(&Address::new(Kind::NetworkInterface, nic)) {
                Some(Attributes::NetworkInterface(n)) => Some(n.subnet),
                _ => None,
            };
        let subnet = match self.attributes(a) {
            Some(Attributes::NetworkInterface(n)) => Some(n.subnet),
            Some(Attributes::Instance(i)) => subnet_of(&i.primary_interface),
            _ => None,
        };
        let Some(name) = subnet else {
            return Place::Top;
        };
        match self.attributes(&Address::new(Kind::Subnet, name)) {
            Some(Attributes::Subnet(s)) if a.kind == Kind::Instance => Place::Zone {
                vpc: s.vpc,
                zone: s.availability_zone,
            },
            Some(Attributes::Subnet(_)) => Place::Subnet(name),
            _ => Place::Top,
        }
    }

    /// How many resources the diagram shows.
    fn resources(&self) -> usize {
        self.shown.len()
    }

    fn render(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        let used: BTreeSet<&str> = self
            .shown
            .iter()
            .filter_map(|a| self.marks.get(a))
            .map(|m| m.class())
            .collect();
        for (name, style) in CLASSES {
            if used.contains(name) {
                let _ = writeln!(out, "  classDef {name} {style}");
            }
        }
        for (vpc, zones) in &self.groups {
            let vpc_address = Address::new(Kind::Vpc, vpc);
            let vpc_id = self.ids.get(&vpc_address).cloned().unwrap_or_default();
            let _ = writeln!(
                out,
                "  subgraph {vpc_id}[\"{}\"]",
                label(&self.caption(&vpc_address))
            );
            for (zone, subnets) in zones {
                let zone_id = self
                    .ids
                    .get(&zone_key(vpc, zone))
                    .cloned()
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "    subgraph {zone_id}[\"{}\"]",
                    label(&format!("zone {zone}"))
                );
                for subnet in subnets {
                    let address = Address::new(Kind::Subnet, subnet);
                    let _ = writeln!(
                        out,
                        "      subgraph {}[\"{}\"]",
                        self.ids[&address],
                        label(&self.caption(&address))
                    );
                    self.write_nodes(&mut out, &Place::Subnet(*subnet), "        ");
                    out.push_str("      end\n");
                }
                let here = Place::Zone {
                    vpc: *vpc,
                    zone: *zone,
                };
                self.write_nodes(&mut out, &here, "      ");
                out.push_str("    end\n");
            }
            out.push_str("  end\n");
        }
        self.write_nodes(&mut out, &Place::Top, "  ");
        self.write_edges(&mut out);
        let mut classes: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (a, mark) in &self.marks {
            if let Some(id) = self.ids.get(a) {
                classes.entry(mark.class()).or_default().push(id.clone());
            }
        }
        write_classes(&mut out, &classes);
        out
    }

    fn write_nodes(&self, out: &mut String, place: &Place, indent: &str) {
        for a in self.nodes.get(place).into_iter().flatten() {
            let (open, close) = match a.kind {
                Kind::NetworkInterface => ("(\"", "\")"),
                Kind::PublicIp => ("([\"", "\"])"),
                Kind::SecurityGroup => ("{{\"", "\"}}"),
                _ => ("[\"", "\"]"),
            };
            let _ = writeln!(
                out,
                "{indent}{}{open}{}{close}",
                self.ids[a],
                label(&self.caption(a))
            );
        }
    }

    /// NIC to instance (`primary`, `secondary`), public IP to NIC: solid for what the
    /// new side holds, dotted for what only the old side held.
    fn write_edges(&self, out: &mut String) {
        let edges = |side: &BTreeMap<Address, Attributes>| {
            let mut set: BTreeSet<(Address, Address, &'static str)> = BTreeSet::new();
            for a in &self.shown {
                match side.get(a) {
                    Some(Attributes::Instance(i)) => {
                        let nic = Address::new(Kind::NetworkInterface, i.primary_interface);
                        set.insert((nic, *a, "primary"));
                    }
                    Some(Attributes::NetworkInterface(n)) => {
                        if let Some(i) = &n.attach_to {
                            set.insert((*a, Address::new(Kind::Instance, i), "secondary"));
                        }
                    }
                    Some(Attributes::PublicIp(p)) => {
                        if let Some(n) = &p.network_interface {
                            let nic = Address::new(Kind::NetworkInterface, n);
                            set.insert((*a, nic, "maps to"));
                        }
                    }
                    _ => {}
                }
            }
            set.retain(|(from, to, _)| self.ids.contains_key(from) && self.ids.contains_key(to));
            set
        };
        let new = edges(&self.network.new);
        let old = edges(&self.network.old);
        for (from, to, what) in &new {
            let _ = writeln!(out, "  {} -->|{what}| {}", self.ids[from], self.ids[to]);
        }
        for (from, to, what) in old.difference(&new) {
            let _ = writeln!(
                out,
                "  {} -.->|\"{what}, before\"| {}",
                self.ids[from], self.ids[to]
            );
        }
    }

    /// A node's or subgraph's words: its mark's sign, its address, a detail or two.
    fn caption(&self, a: &Address) -> String {
        let mut words = Vec::new();
        if let Some(mark) = self.marks.get(a) {
            words.push(mark.sign().to_string());
        }
        words.push(a.to_string());
        match self.attributes(a) {
            Some(Attributes::Vpc(v)) => words.push(v.cidr_block.to_string()),
            Some(Attributes::Subnet(s)) => words.push(s.cidr_block.to_string()),
            Some(Attributes::Instance(i)) => words.push(i.instance_type.to_string()),
            Some(Attributes::NetworkInterface(n)) => {
                if let Some(ip) = n.private_ip {
                    words.push(ip.to_string());
                }
            }
            Some(Attributes::PublicIp(p)) => {
                if let Some(ip) = p.address {
                    words.push(ip.to_string());
                }
            }
            _ => {}
        }
        words.join(" ")
    }
}

fn write_classes(out: &mut String, classes: &BTreeMap<&str, Vec<String>>) {
    for (name, ids) in classes {
        let _ = writeln!(out, "  class {} {name}", ids.join(","));
    }
}

fn prefix(kind: Kind) -> &'static str {
    match kind {
        Kind::Vpc => "vpc",
        Kind::Subnet => "subnet",
        Kind::SecurityGroup => "sg",
        Kind::NetworkInterface => "nic",
        Kind::Instance => "instance",
        Kind::PublicIp => "pip",
    }
}

/// The key a zone's subgraph ID is kept under: not an address any resource can have
/// (a VPC's name never holds a space).
fn zone_key(vpc: &str, zone: &str) -> Address {
    Address::new(Kind::Vpc, format!("{vpc} zone {zone}"))
}

/// Unique identifiers, handed out in the order asked.
#[derive(Default)]
struct Ids {
    used: BTreeSet<String>,
}

impl Ids {
    /// `PREFIX_NAME`, with every character but an ASCII letter or digit written as `_`,
    /// and `_2`, `_3`... after it when that is taken.
    fn make(&mut self, prefix: &str, name: &str) -> String {
        let safe: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let base = format!("{prefix}_{safe}");
        let mut id = base.clone();
        let mut n = 1;
        while self.used.contains(&id) {
            n += 1;
            id = format!("{base}_{n}");
        }
        self.used.insert(id.clone());
        id
    }

    fn zones(
        &mut self,
        groups: &BTreeMap<Ident, BTreeMap<Ident, BTreeSet<Ident>>>,
    ) -> Vec<(Address, String)> {
        let mut out = Vec::new();
        for (vpc, zones) in groups {
            for zone in zones.keys() {
                out.push((
                    zone_key(vpc, zone),
                    self.make("zone", &format!("{vpc}_{zone}")),
                ));
            }
        }
        out
    }
}

/// Text for inside a quoted Mermaid label.
fn label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEB_TIER: &str = include_str!("../../examples/web-tier.yaml");

    fn model(text: &str) -> crate::model::Model {
        let v = crate::validate::validate("nicplan.yaml", text.as_bytes().to_vec(), None);
        assert!(!v.has_errors(), "{:#?}", v.diagnostics);
        v.model.expect("loads")
    }

    /// The offline plan from `old` to `new`, and its two sides.
    fn diff(old: &str, new: &str) -> (Plan, Network) {
        let (old, new) = (model(old), model(new));
        let network = Network {
            old: crate::resource::desired(&old),
            new: crate::resource::desired(&new),
        };
        (crate::ops::diff(&old, &new), network)
    }

    fn edit(text: &str, from: &str, to: &str) -> String {
        assert!(text.contains(from), "{from:?} not in the file");
        text.replacen(from, to, 1)
    }

    /// The web tier with web-2 removed, a NIC added to web-1, a security group list
    /// changed, and web-1-eth1 moved to another subnet (a replacement).
    fn changed() -> String {
        let text = edit(
            WEB_TIER,
            "  web-2:\n    type: m2a.xlarge\n    image: ubuntu-22.04\n    primary_interface: web-2-eth0\n",
            "",
        );
        let text = edit(
            &text,
            "  web-2-eth0:\n    subnet: app-a\n    private_ip: 10.0.1.11\n    security_groups: [web-sg]\n  web-2-eth1:\n    subnet: db-a\n    security_groups: [db-sg]\n    attach_to: web-2\n",
            "  web-1-eth2:\n    subnet: app-a\n    security_groups: [web-sg]\n    attach_to: web-1\n",
        );
        let text = edit(
            &text,
            "    private_ip: 10.0.2.10\n    security_groups: [db-sg]",
            "    private_ip: 10.0.2.20\n    security_groups: [db-sg]",
        );
        edit(
            &text,
            "    private_ip: 10.0.1.10\n    security_groups: [web-sg]",
            "    private_ip: 10.0.1.10\n    security_groups: [web-sg, db-sg]",
        )
    }

    /// Every node ID of a diagram: what stands before a `[`, `(` or `{` of a node line,
    /// or after `subgraph`.
    fn node_ids(text: &str) -> Vec<String> {
        text.lines()
            .map(str::trim_start)
            .filter(|l| {
                !l.starts_with("flowchart")
                    && !l.starts_with("classDef")
                    && !l.starts_with("class ")
                    && *l != "end"
                    && !l.contains("->")
            })
            .map(|l| {
                let l = l.strip_prefix("subgraph ").unwrap_or(l);
                l.split(['[', '(', '{']).next().unwrap_or("").to_string()
            })
            .collect()
    }

    #[test]
    fn labels_escape_what_would_end_them_or_the_fence() {
        assert_eq!(
            label("a\"b#c<d>e&f`g\nh"),
            "a#quot;b#35;c#lt;d#gt;e#amp;f#96;g h"
        );
        let mut resources = BTreeMap::new();
        resources.insert(
            Address::new(Kind::Vpc, "main"),
            Attributes::Vpc(crate::resource::Vpc {
                cidr_block: "10.0.0.0/16".parse().expect("cidr"),
            }),
        );
        resources.insert(
            Address::new(Kind::Subnet, "app"),
            Attributes::Subnet(crate::resource::Subnet {
                vpc: "main".into(),
                cidr_block: "10.0.1.0/24".parse().expect("cidr"),
                availability_zone: "zone \"a\"] ```\n</details>".into(),
            }),
        );
        let text = network(&resources);
        assert!(
            text.contains("[\"zone zone #quot;a#quot;] #96;#96;#96; #lt;/details#gt;\"]"),
            "{text}"
        );
        assert!(!text.contains('`') && !text.contains('<'), "{text}");
        // Every label's quotes are the label's own: two per labelled line.
        for line in text.lines().filter(|l| l.contains("[\"")) {
            assert_eq!(line.matches('"').count(), 2, "{line}");
        }
    }

    #[test]
    fn ids_are_safe_and_unique_even_when_names_fold_together() {
        let text = edit(
            WEB_TIER,
            "public_ips:\n",
            "  spare-1: { subnet: app-a }\n  spare_1: { subnet: app-a }\n  spare_1_2: { subnet: db-a }\npublic_ips:\n",
        );
        let text = network(&crate::resource::desired(&model(&text)));
        let ids = node_ids(&text);
        assert!(ids.contains(&"nic_spare_1".to_string()), "{text}");
        assert!(ids.contains(&"nic_spare_1_2".to_string()), "{text}");
        assert!(ids.contains(&"nic_spare_1_2_2".to_string()), "{text}");
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{text}");
        for id in &ids {
            assert!(
                !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{id:?} in {text}"
            );
        }
    }

    #[test]
    fn the_whole_network_is_nested_vpc_zone_subnet_without_marks() {
        let text = network(&crate::resource::desired(&model(WEB_TIER)));
        let expected = "flowchart LR
  subgraph vpc_main[\"vpc.main 10.0.0.0/16\"]
    subgraph zone_main_kr_central_2_a[\"zone kr-central-2-a\"]
      subgraph subnet_app_a[\"subnet.app-a 10.0.1.0/24\"]
        nic_web_1_eth0(\"network_interface.web-1-eth0 10.0.1.10\")
        nic_web_2_eth0(\"network_interface.web-2-eth0 10.0.1.11\")
      end
      subgraph subnet_db_a[\"subnet.db-a 10.0.2.0/24\"]
        nic_web_1_eth1(\"network_interface.web-1-eth1 10.0.2.10\")
        nic_web_2_eth1(\"network_interface.web-2-eth1\")
      end
      instance_web_1[\"instance.web-1 m2a.xlarge\"]
      instance_web_2[\"instance.web-2 m2a.xlarge\"]
    end
  end
  pip_web_1_public([\"public_ip.web-1-public\"])
  nic_web_1_eth0 -->|primary| instance_web_1
  nic_web_1_eth1 -->|secondary| instance_web_1
  nic_web_2_eth0 -->|primary| instance_web_2
  nic_web_2_eth1 -->|secondary| instance_web_2
  pip_web_1_public -->|maps to| nic_web_1_eth0
";
        assert_eq!(text, expected);
    }

    #[test]
    fn a_plan_marks_what_it_touches_with_a_class_and_a_sign() {
        let (plan, network) = diff(WEB_TIER, &changed());
        let text = super::plan(&plan, &network);
        for line in [
            "        nic_web_1_eth2(\"+ network_interface.web-1-eth2\")",
            "        nic_web_2_eth0(\"- network_interface.web-2-eth0 10.0.1.11\")",
            "        nic_web_1_eth0(\"~ network_interface.web-1-eth0 10.0.1.10\")",
            "        nic_web_1_eth1(\"-/+ network_interface.web-1-eth1 10.0.2.20\")",
            "      instance_web_2[\"- instance.web-2 m2a.xlarge\"]",
            // A neighbour, unchanged: no sign.
            "      instance_web_1[\"instance.web-1 m2a.xlarge\"]",
            "  nic_web_1_eth2 -->|secondary| instance_web_1",
            "  nic_web_2_eth1 -.->|\"secondary, before\"| instance_web_2",
            "  classDef created fill:#dafbe1,stroke:#1a7f37,stroke-width:2px,color:#0f3d1c",
            "  class nic_web_1_eth2 created",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
        }
        let changed_line = text
            .lines()
            .find(|l| l.starts_with("  class ") && l.ends_with(" changed"))
            .expect("a changed class");
        assert!(changed_line.contains("nic_web_1_eth0") && changed_line.contains("nic_web_1_eth1"));
        let deleted_line = text
            .lines()
            .find(|l| l.starts_with("  class ") && l.ends_with(" deleted"))
            .expect("a deleted class");
        assert!(deleted_line.contains("instance_web_2") && deleted_line.contains("nic_web_2_eth0"));
        // Untouched and not a neighbour: the public IP stays out of the picture.
        assert!(!text.contains("public_ip.web-1-public"), "{text}");
        assert!(!text.contains("class instance_web_1"), "{text}");
    }

    #[test]
    fn a_public_ip_move_shows_both_interfaces_and_the_move() {
        let new = edit(
            WEB_TIER,
            "    network_interface: web-1-eth0",
            "    network_interface: web-2-eth0",
        );
        let (plan, network) = diff(WEB_TIER, &new);
        let text = super::plan(&plan, &network);
        assert!(
            text.contains("pip_web_1_public([\"~ public_ip.web-1-public\"])"),
            "{text}"
        );
        assert!(
            text.contains("  pip_web_1_public -->|maps to| nic_web_2_eth0\n"),
            "{text}"
        );
        assert!(
            text.contains("  pip_web_1_public -.->|\"maps to, before\"| nic_web_1_eth0\n"),
            "{text}"
        );
        assert!(
            text.contains("  class pip_web_1_public changed\n"),
            "{text}"
        );
    }

    #[test]
    fn past_the_bound_a_note_stands_in_for_the_diagram() {
        let nics = |n: usize| {
            let mut text = String::from(
                "version: 1\nvpcs:\n  main: { cidr_block: 10.0.0.0/16 }\nsubnets:\n  app: { vpc: main, cidr_block: 10.0.0.0/16, availability_zone: kr-central-2-a }\nnetwork_interfaces:\n",
            );
            for i in 0..n {
                text.push_str(&format!("  nic-{i}: {{ subnet: app }}\n"));
            }
            text
        };
        // 148 NICs, their subnet and VPC: 150 resources, drawn.
        let (plan, network) = diff("version: 1\n", &nics(148));
        assert!(matches!(bounded(&plan, &network), Diagram::Drawn(_)));
        let (plan, network) = diff("version: 1\n", &nics(149));
        assert_eq!(
            bounded(&plan, &network),
            Diagram::Skipped(
                "Diagram skipped: the plan touches 151 resources (limit 150). Run `nicplan graph --format mermaid` to see the whole network.".to_string()
            )
        );
        // Unbounded, it is all there.
        assert_eq!(
            super::plan(&plan, &network)
                .matches("(\"+ network_interface.")
                .count(),
            149
        );
        let (plan, network) = diff(WEB_TIER, WEB_TIER);
        assert_eq!(bounded(&plan, &network), Diagram::Nothing);
        // Past the characters: the same note, in characters.
        let (plan, network) = diff("version: 1\n", WEB_TIER);
        let length = super::plan(&plan, &network).chars().count();
        assert!(matches!(
            bounded_by(&plan, &network, MAX_NODES, length),
            Diagram::Drawn(_)
        ));
        assert_eq!(
            bounded_by(&plan, &network, MAX_NODES, length - 1),
            Diagram::Skipped(format!(
                "Diagram skipped: it would take {length} characters (limit {}). Run `nicplan graph --format mermaid` to see the whole network.",
                length - 1
            ))
        );
    }

    #[test]
    fn the_same_plan_draws_the_same_bytes() {
        let (plan, network) = diff(WEB_TIER, &changed());
        let first = super::plan(&plan, &network);
        let (plan, network) = diff(WEB_TIER, &changed());
        assert_eq!(first, super::plan(&plan, &network));
        assert_eq!(steps(&plan), steps(&plan));
    }

    #[test]
    fn the_step_graph_marks_steps_and_labels_constraints() {
        let (plan, _) = diff(WEB_TIER, &changed());
        let text = steps(&plan);
        assert!(text.starts_with("flowchart LR\n"), "{text}");
        assert_eq!(text.matches("[\"").count(), plan.steps.len(), "{text}");
        assert!(
            text.contains(" created\n") && text.contains(" deleted\n"),
            "{text}"
        );
        let edges: usize = plan.steps.iter().map(|s| s.depends_on.len()).sum();
        assert_eq!(text.matches(" -->|\"").count(), edges, "{text}");
    }
}
