//! The safety check: the plan simulated step by step over the observed cloud, every
//! rule checked after every step. A plan that passes never puts the cloud in a state
//! that breaks a NIC rule, even halfway through; a plan that fails is refused with the
//! step and rule.
//!
//! This walks its own small world of names, independent of the diff and the ordering,
//! so a mistake in either is caught here rather than by the cloud. The world starts
//! from the state and from what the refresh saw outside it (unmanaged NICs hold their
//! addresses and count on their instances, unmanaged subnets hold their ranges,
//! unmanaged public IPs their mappings, and every unmanaged VPC, subnet and instance
//! counts against the quotas); objects outside the state are named `id:ID`, as the
//! refresh names references to them, and described with their cloud ID, name and
//! address in findings, with the `nicplan import` that brings them under management.
//!
//! Addresses the cloud assigns are unknown until the step runs: an assigned NIC holds
//! one address of its subnet, which one is not known, so a step that pins an address
//! after an assigned create in the same subnet is refused (the cloud may have given
//! that address away).
//!
//! The world keeps its own indexes (who holds which IP, what uses a subnet, how many
//! addresses a subnet has left...), updated by every change, so each step costs a few
//! lookups whatever the size of the network.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

use super::outside::{Outside, suggested_name};
use super::{Action, Step};
use crate::address::{Address, Kind};
use crate::catalogue;
use crate::diagnostic::{Code, Diagnostic};
use crate::ident::{Ident, IdentList};
use crate::model::{Model, Quota, Quotas};
use crate::resource::{self, Attributes, Status};
use crate::source::Span;
use crate::state::State;

/// A name in the world (of an object, a subnet's VPC, an instance type).
type Name = Ident;

#[derive(Clone, Debug)]
struct Instance {
    instance_type: Name,
    primary: Name,
    /// The observed status, as the plan moves it (stop, start); `None` when unknown.
    status: Option<Status>,
}

/// A NIC's addresses, primary first: most NICs hold one, kept without an allocation.
#[derive(Clone, Debug, Default)]
enum Ips {
    #[default]
    None,
    One(Ipv4Addr),
    Many(Box<[Ipv4Addr]>),
}

impl std::ops::Deref for Ips {
    type Target = [Ipv4Addr];

    fn deref(&self) -> &[Ipv4Addr] {
        match self {
            Ips::None => &[],
            Ips::One(ip) => std::slice::from_ref(ip),
            Ips::Many(ips) => ips,
        }
    }
}

impl FromIterator<Ipv4Addr> for Ips {
    fn from_iter<I: IntoIterator<Item = Ipv4Addr>>(ips: I) -> Ips {
        let mut ips = ips.into_iter();
        match (ips.next(), ips.next()) {
            (None, _) => Ips::None,
            (Some(one), None) => Ips::One(one),
            (Some(a), Some(b)) => Ips::Many([a, b].into_iter().chain(ips).collect()),
        }
    }
}

#[derive(Clone, Debug)]
struct Nic {
    subnet: Name,
    ips: Ips,
    /// Its primary address is still to be assigned by the cloud: it holds one address
    /// of its subnet, not known which.
    assigned: bool,
    security_groups: IdentList,
    /// The instance it belongs to, and whether as its primary.
    attached: Option<(Name, bool)>,
}

impl Nic {
    /// How many addresses of its subnet it holds.
    fn addresses(&self) -> usize {
        self.ips.len() + usize::from(self.assigned)
    }
}

/// A public IP's mapping: the NIC, and the private IP when known.
type Mapping = Option<(Name, Option<Ipv4Addr>)>;

/// An object outside the state, for findings.
struct Stranger {
    /// `network interface nic-000009 (legacy, 10.0.1.7)`.
    words: String,
    /// `network interface nic-000009 (legacy)`.
    short: String,
    /// The address it could be imported as (of its kind), and its cloud ID.
    import: (Address, String),
}

#[derive(Default)]
struct World {
    vpcs: BTreeSet<Name>,
    subnets: BTreeMap<Name, resource::Subnet>,
    security_groups: BTreeSet<Name>,
    // Never walked in order, only searched: hashed, which keeps them dense where a
    // B-tree filled in name order is half empty.
    instances: HashMap<Name, Instance>,
    nics: HashMap<Name, Nic>,
    public_ips: BTreeMap<Name, Mapping>,
    /// Names of security groups outside the state, which the project's names must not
    /// repeat.
    taken_group_names: BTreeMap<String, String>,
    /// Objects outside the state, by their `id:ID` name.
    strangers: BTreeMap<Name, Stranger>,
    // Indexes, maintained by `put_*` and `take_*` only.
    subnets_in_vpc: BTreeMap<Name, BTreeSet<Name>>,
    nics_in_subnet: BTreeMap<Name, BTreeSet<Name>>,
    nics_with_group: BTreeMap<Name, BTreeSet<Name>>,
    nics_on_instance: BTreeMap<Name, BTreeSet<Name>>,
    /// Subnet -> address -> the NIC holding it.
    ip_holder: BTreeMap<Name, BTreeMap<Ipv4Addr, Name>>,
    /// Subnet -> how many of its addresses NICs hold.
    used_in_subnet: BTreeMap<Name, usize>,
    public_ips_on: BTreeMap<Name, BTreeSet<Name>>,
}

/// `10.0.1.7` or `10.0.1.7, 10.0.1.8`.
fn ip_list(ips: &[Ipv4Addr]) -> String {
    ips.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `id:ID` of an object outside the state.
fn stranger_name(id: &str) -> String {
    format!("id:{id}")
}

impl World {
    fn new(state: &State, outside: &Outside) -> World {
        let mut w = World::default();
        for (address, entry) in &state.resources {
            w.apply_attributes(address, &entry.attributes);
            if let Attributes::Instance(i) = &entry.attributes
                && let Some(instance) = w.instances.get_mut(address.name.as_str())
            {
                instance.status = i.status;
            }
        }
        w.add_outside(outside);
        let mut primaries: Vec<(Name, Name)> = w
            .instances
            .iter()
            .map(|(name, i)| (*name, i.primary))
            .collect();
        // In name order, whatever the map's: of two instances that claim one NIC, the
        // last by name holds it, in every run.
        primaries.sort_unstable();
        for (name, primary) in primaries {
            w.update_nic(&primary, |n| n.attached = Some((name, true)));
        }
        w
    }

    /// Adds what the cloud holds outside the state.
    fn add_outside(&mut self, outside: &Outside) {
        let described = |name: &str| {
            if name.is_empty() {
                String::new()
            } else {
                format!(" ({name})")
            }
        };
        for v in &outside.vpcs {
            let key = Ident::new(&stranger_name(&v.id));
            let address = Address::new(Kind::Vpc, suggested_name(&v.name, &v.id));
            self.strangers.insert(
                key,
                Stranger {
                    short: format!("VPC {}{}", v.id, described(&v.name)),
                    words: format!("VPC {}{} {}", v.id, described(&v.name), v.cidr_block),
                    import: (address, v.id.clone()),
                },
            );
            self.vpcs.insert(key);
        }
        for s in &outside.subnets {
            let key = Ident::new(&stranger_name(&s.id));
            let address = Address::new(Kind::Subnet, suggested_name(&s.name, &s.id));
            self.strangers.insert(
                key,
                Stranger {
                    short: format!("subnet {}{}", s.id, described(&s.name)),
                    words: format!("subnet {}{} {}", s.id, described(&s.name), s.cidr_block),
                    import: (address, s.id.clone()),
                },
            );
            self.put_subnet(
                key,
                resource::Subnet {
                    vpc: Ident::new(&s.vpc),
                    cidr_block: s.cidr_block,
                    availability_zone: Ident::new(&s.availability_zone),
                },
            );
        }
        for g in &outside.security_groups {
            self.taken_group_names.insert(g.name.clone(), g.id.clone());
            let key = Ident::new(&stranger_name(&g.id));
            let address = Address::new(Kind::SecurityGroup, suggested_name(&g.name, &g.id));
            self.strangers.insert(
                key,
                Stranger {
                    short: format!("security group {}{}", g.id, described(&g.name)),
                    words: format!("security group {}{}", g.id, described(&g.name)),
                    import: (address, g.id.clone()),
                },
            );
            self.security_groups.insert(key);
        }
        for i in &outside.instances {
            let key = Ident::new(&stranger_name(&i.id));
            let address = Address::new(Kind::Instance, suggested_name(&i.name, &i.id));
            self.strangers.insert(
                key,
                Stranger {
                    short: format!("instance {}{}", i.id, described(&i.name)),
                    words: format!(
                        "instance {}{} of type {}",
                        i.id,
                        described(&i.name),
                        i.flavor
                    ),
                    import: (address, i.id.clone()),
                },
            );
            let instance = Instance {
                instance_type: Ident::new(&i.flavor),
                primary: Ident::new(&i.primary_interface),
                status: None,
            };
            self.instances.insert(key, instance);
        }
        for n in &outside.nics {
            let key = Ident::new(&stranger_name(&n.id));
            let address = Address::new(Kind::NetworkInterface, suggested_name(&n.name, &n.id));

            self.strangers.insert(
                key,
                Stranger {
                    short: format!("network interface {}{}", n.id, described(&n.name)),
                    words: format!(
                        "network interface {}{} at {}",
                        n.id,
                        described(&n.name),
                        ip_list(&n.ips)
                    ),
                    import: (address, n.id.clone()),
                },
            );
            let nic = Nic {
                subnet: Ident::new(&n.subnet),
                ips: n.ips.iter().copied().collect(),
                assigned: false,
                security_groups: n.security_groups.iter().map(|g| Ident::new(g)).collect(),
                attached: n
                    .attached
                    .as_ref()
                    .map(|(instance, primary)| (Ident::new(instance), *primary)),
            };
            self.put_nic(key, nic);
        }
        for p in &outside.public_ips {
            let key = Ident::new(&stranger_name(&p.id));
            let address = Address::new(
                Kind::PublicIp,
                suggested_name(&p.address.to_string(), &p.id),
            );
            self.strangers.insert(
                key,
                Stranger {
                    short: format!("public IP {} ({})", p.id, p.address),
                    words: format!("public IP {} ({})", p.id, p.address),
                    import: (address, p.id.clone()),
                },
            );
            let nic = Ident::new(&p.network_interface);
            self.put_public_ip(key, Some((nic, p.private_ip)));
        }
    }

    /// `kind.name` of a managed object, or the words of an object outside the state.
    fn words_of(&self, kind: Kind, name: &str) -> String {
        match self.strangers.get(name) {
            Some(s) => format!("{}, which nicplan does not manage", s.words),
            None => format!("{kind}.{name}"),
        }
    }

    /// Like `words_of`, without the details (for a finding that names them already).
    fn short_of(&self, kind: Kind, name: &str) -> String {
        match self.strangers.get(name) {
            Some(s) => format!("{}, which nicplan does not manage", s.short),
            None => format!("{kind}.{name}"),
        }
    }

    /// How to manage the object outside the state called `name`, if it is one: the
    /// import, with its cloud name made an address (declared in the file already, or
    /// to declare).
    fn import_of(&self, model: &Model, name: &str) -> Option<String> {
        let (address, id) = &self.strangers.get(name)?.import;
        Some(if model.declares(address) {
            format!(
                "if it is {address} of the file, `nicplan import {address} {id}` brings it back under management"
            )
        } else {
            format!(
                "to manage it, declare {address} in the file and run `nicplan import {address} {id}`; or delete it in the cloud"
            )
        })
    }

    fn apply_attributes(&mut self, address: &Address, attributes: &Attributes) {
        let name = address.name;
        match attributes {
            Attributes::Vpc(_) => {
                self.vpcs.insert(name);
            }
            Attributes::Subnet(s) => self.put_subnet(name, s.clone()),
            Attributes::SecurityGroup(_) => {
                self.security_groups.insert(name);
            }
            Attributes::Instance(i) => {
                let status = self.instances.get(&name).and_then(|i| i.status);
                let instance = Instance {
                    instance_type: i.instance_type,
                    primary: i.primary_interface,
                    status,
                };
                self.instances.insert(name, instance);
            }
            Attributes::NetworkInterface(n) => {
                let nic = Nic {
                    subnet: n.subnet,
                    ips: n
                        .private_ip
                        .iter()
                        .chain(&n.secondary_private_ips)
                        .copied()
                        .collect(),
                    assigned: n.private_ip.is_none(),
                    security_groups: n.security_groups,
                    attached: n.attach_to.map(|i| (i, false)),
                };
                self.take_nic(&name);
                self.put_nic(name, nic);
            }
            Attributes::PublicIp(p) => {
                self.take_public_ip(&name);
                let mapping = p.network_interface.map(|n| (n, p.private_ip));
                self.put_public_ip(name, mapping);
            }
        }
    }

    fn put_subnet(&mut self, name: Name, subnet: resource::Subnet) {
        self.take_subnet(&name);
        let vpc = subnet.vpc;
        self.subnets_in_vpc.entry(vpc).or_default().insert(name);
        self.subnets.insert(name, subnet);
    }

    fn take_subnet(&mut self, name: &str) -> Option<resource::Subnet> {
        let subnet = self.subnets.remove(name)?;
        if let Some(set) = self.subnets_in_vpc.get_mut(subnet.vpc.as_str()) {
            set.remove(name);
        }
        Some(subnet)
    }

    fn put_nic(&mut self, name: Name, nic: Nic) {
        self.nics_in_subnet
            .entry(nic.subnet)
            .or_default()
            .insert(name);
        *self.used_in_subnet.entry(nic.subnet).or_default() += nic.addresses();
        for g in &nic.security_groups {
            self.nics_with_group.entry(*g).or_default().insert(name);
        }
        if let Some((instance, _)) = &nic.attached {
            self.nics_on_instance
                .entry(*instance)
                .or_default()
                .insert(name);
        }
        let held = self.ip_holder.entry(nic.subnet).or_default();
        for ip in nic.ips.iter() {
            held.insert(*ip, name);
        }
        self.nics.insert(name, nic);
    }

    fn take_nic(&mut self, name: &str) -> Option<Nic> {
        let nic = self.nics.remove(name)?;
        if let Some(set) = self.nics_in_subnet.get_mut(&nic.subnet) {
            set.remove(name);
        }
        if let Some(used) = self.used_in_subnet.get_mut(&nic.subnet) {
            *used = used.saturating_sub(nic.addresses());
        }
        for g in &nic.security_groups {
            if let Some(set) = self.nics_with_group.get_mut(g) {
                set.remove(name);
            }
        }
        if let Some((instance, _)) = &nic.attached
            && let Some(set) = self.nics_on_instance.get_mut(instance)
        {
            set.remove(name);
        }
        if let Some(held) = self.ip_holder.get_mut(&nic.subnet) {
            for ip in nic.ips.iter() {
                if held.get(ip).is_some_and(|h| **h == *name) {
                    held.remove(ip);
                }
            }
        }
        Some(nic)
    }

    /// Changes a NIC through `take_nic` and `put_nic`, so the indexes follow.
    fn update_nic(&mut self, name: &str, change: impl FnOnce(&mut Nic)) {
        if let Some(mut nic) = self.take_nic(name) {
            change(&mut nic);
            let name = Ident::new(name);
            self.put_nic(name, nic);
        }
    }

    fn put_public_ip(&mut self, name: Name, mapping: Mapping) {
        if let Some((nic, _)) = &mapping {
            self.public_ips_on.entry(*nic).or_default().insert(name);
        }
        self.public_ips.insert(name, mapping);
    }

    fn take_public_ip(&mut self, name: &str) -> Option<Mapping> {
        let mapping = self.public_ips.remove(name)?;
        if let Some((nic, _)) = &mapping
            && let Some(set) = self.public_ips_on.get_mut(nic)
        {
            set.remove(name);
        }
        Some(mapping)
    }

    fn count(&self, instance: &str) -> usize {
        self.nics_on_instance.get(instance).map_or(0, BTreeSet::len)
    }

    /// The NICs outside the state on an instance, in words.
    fn strangers_on(&self, instance: &str) -> Vec<&str> {
        self.nics_on_instance
            .get(instance)
            .into_iter()
            .flatten()
            .filter_map(|n| self.strangers.get(n).map(|s| s.words.as_str()))
            .collect()
    }

    fn zone_of(&self, instance: &Instance) -> Option<&str> {
        let nic = self.nics.get(&instance.primary)?;
        self.subnets
            .get(&nic.subnet)
            .map(|s| s.availability_zone.as_str())
    }

    fn first<'a>(set: Option<&'a BTreeSet<Name>>, except: &str) -> Option<&'a Name> {
        set.into_iter().flatten().find(|n| ***n != *except)
    }

    fn exists(&self, kind: Kind, name: &str) -> bool {
        match kind {
            Kind::Vpc => self.vpcs.contains(name),
            Kind::Subnet => self.subnets.contains_key(name),
            Kind::SecurityGroup => self.security_groups.contains(name),
            Kind::Instance => self.instances.contains_key(name),
            Kind::NetworkInterface => self.nics.contains_key(name),
            Kind::PublicIp => self.public_ips.contains_key(name),
        }
    }

    /// How many addresses a subnet can give out: all but network, gateway, broadcast.
    fn usable(&self, subnet: &str) -> Option<usize> {
        let net = self.subnets.get(subnet)?.cidr_block;
        let size = 1usize << (32 - u32::from(net.prefix_len()));
        Some(size.saturating_sub(3))
    }

    /// How many objects of a quota's kind the project holds now.
    fn quota_count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Vpc => self.vpcs.len(),
            Kind::Subnet => self.subnets.len(),
            Kind::Instance => self.instances.len(),
            _ => 0,
        }
    }

    /// The objects of a kind outside the state, in words.
    ///
    /// Found among the strangers, not by a walk of every object of the kind: a plan
    /// over quota asks once per create.
    fn strangers_of(&self, kind: Kind) -> Vec<&str> {
        self.strangers
            .iter()
            .filter(|(name, s)| s.import.0.kind == kind && self.exists(kind, name))
            .map(|(_, s)| s.words.as_str())
            .collect()
    }
}

/// Where, in step order, each subnet's addresses are pinned: (subnet) -> sorted
/// (step position, address).
type Pins = BTreeMap<Ident, Vec<(u32, Ipv4Addr)>>;

struct Checker<'a> {
    model: &'a Model,
    /// The quotas in force: the file's, lowered to the backend's where it says less.
    quotas: Quotas,
    world: World,
    pins: Pins,
    out: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn fail(
        &mut self,
        step: &Step,
        code: Code,
        what: String,
        span: Option<Span>,
        help: Option<String>,
    ) {
        self.fail_at(step, code, what, span.map(|s| (s, "this change")), help);
    }

    /// Like `fail`, with the label's own text.
    fn fail_at(
        &mut self,
        step: &Step,
        code: Code,
        what: String,
        label: Option<(Span, &'static str)>,
        help: Option<String>,
    ) {
        let mut d = Diagnostic::new(
            code,
            format!(
                "step {} ({}) would break a rule: {what}",
                step.index,
                step.describe()
            ),
        );
        if let Some((span, text)) = label {
            d = d.label(span, text);
        }
        if let Some(help) = help {
            d = d.help(help);
        }
        self.out.push(d);
    }

    /// The span in the file that best explains a step: the NIC's attach_to, the
    /// instance's type, the resource's name.
    fn span_of(&self, step: &Step) -> Option<Span> {
        let m = self.model;
        let name = &step.address.name;
        match (step.action, step.address.kind) {
            (Action::Attach, _) => m
                .network_interfaces
                .get(name)
                .and_then(|n| n.attach_to.as_ref().map(|a| a.span)),
            (Action::Resize | Action::Stop | Action::Start, _) => {
                m.instances.get(name).map(|i| i.type_name.span)
            }
            (_, Kind::Vpc) => m.vpcs.get(name).map(|v| v.name.span),
            (_, Kind::Subnet) => m.subnets.get(name).map(|v| v.name.span),
            (_, Kind::SecurityGroup) => m.security_groups.get(name).map(|v| v.name.span),
            (_, Kind::Instance) => m.instances.get(name).map(|v| v.name.span),
            (_, Kind::NetworkInterface) => m.network_interfaces.get(name).map(|v| v.name.span),
            (_, Kind::PublicIp) => m.public_ips.get(name).map(|v| v.name.span),
        }
    }

    /// The span of a pinned address of a NIC in the file, else `fallback`.
    fn ip_span(&self, nic: &str, ip: Ipv4Addr, fallback: Option<Span>) -> Option<Span> {
        self.model
            .network_interfaces
            .get(nic)
            .and_then(|n| n.pinned_ips().find(|p| p.value == ip).map(|p| p.span))
            .or(fallback)
    }

    fn run(&mut self, position: usize, step: &Step) {
        let span = self.span_of(step);
        let name = step.address.name;
        match step.action {
            Action::Create => self.create(position, step, &name, span),
            Action::Update => self.update(step, &name, span),
            Action::Delete => self.delete(step, step.address.kind, &name, span),
            Action::Attach => self.attach(step, &name, span),
            Action::Detach => self.detach(step, &name, span),
            Action::Stop => self.power(step, &name, span, Status::Stopped),
            Action::Start => self.power(step, &name, span, Status::Active),
            Action::Resize => self.resize(step, &name, span),
            Action::Associate => self.associate(step, &name, span),
            Action::Disassociate => {
                if self.world.take_public_ip(&name).is_some() {
                    self.world.put_public_ip(name, None);
                }
            }
        }
    }

    /// Refuses a create that would put the project over a quota.
    fn check_quota(&mut self, step: &Step, kind: Kind, quota: Quota, span: Option<Span>) {
        let count = self.world.quota_count(kind) + 1;
        let limit = usize::try_from(quota.limit).unwrap_or(usize::MAX);
        if count <= limit {
            return;
        }
        let (noun, key) = match kind {
            Kind::Vpc => ("VPCs", "vpcs"),
            Kind::Subnet => ("subnets", "subnets"),
            _ => ("instances", "instances"),
        };
        let strangers = self.world.strangers_of(kind);
        let outside = if strangers.is_empty() {
            String::new()
        } else {
            format!(
                "; {} of them outside nicplan's state: {}",
                strangers.len(),
                strangers.join("; ")
            )
        };
        let (whose, help) = match quota.lowered_from {
            Some(file) => (
                format!(" (the backend's; settings.quotas says {file})"),
                format!(
                    "delete {noun} the project no longer needs, or have the backend's quota raised (the simulator's: `nicplan sim settings --quota-{key} N`)"
                ),
            ),
            None => (
                String::new(),
                format!(
                    "delete {noun} the project no longer needs, or ask the platform to raise the quota and set settings.quotas.{key}"
                ),
            ),
        };
        self.fail(
            step,
            Code::Quota,
            format!(
                "the project would hold {count} {noun}, more than its quota of {limit}{whose}{outside}"
            ),
            span,
            Some(help),
        );
    }

    fn create(&mut self, position: usize, step: &Step, name: &str, span: Option<Span>) {
        let Some(after) = step.after.as_deref() else {
            return;
        };
        let kind = step.address.kind;
        let w = &self.world;
        let missing: Option<String> = match after {
            Attributes::Subnet(s) => {
                (!w.vpcs.contains(s.vpc.as_str())).then(|| format!("vpc.{}", s.vpc))
            }
            Attributes::NetworkInterface(n) => {
                if !w.subnets.contains_key(n.subnet.as_str()) {
                    Some(format!("subnet.{}", n.subnet))
                } else {
                    n.security_groups
                        .iter()
                        .find(|g| !w.security_groups.contains(g.as_str()))
                        .map(|g| format!("security_group.{g}"))
                }
            }
            Attributes::Instance(i) => (!w.nics.contains_key(i.primary_interface.as_str()))
                .then(|| format!("network_interface.{}", i.primary_interface)),
            _ => None,
        };
        if let Some(missing) = missing {
            self.fail(
                step,
                Code::Reference,
                format!("{missing} does not exist yet"),
                span,
                None,
            );
            return;
        }
        if self.world.exists(kind, name) {
            self.fail(
                step,
                Code::Reference,
                format!("{} already exists", step.address),
                span,
                None,
            );
        }
        let quotas = self.quotas;
        match after {
            Attributes::Vpc(_) => {
                self.check_quota(step, Kind::Vpc, quotas.vpcs, span);
                self.world.apply_attributes(&step.address, after);
            }
            Attributes::Subnet(s) => {
                self.check_quota(step, Kind::Subnet, quotas.subnets, span);
                self.check_overlap(step, name, s, span);
                self.world.apply_attributes(&step.address, after);
            }
            Attributes::SecurityGroup(_) => {
                if let Some(id) = self.world.taken_group_names.get(name).cloned() {
                    let help = self.world.import_of(self.model, &stranger_name(&id));
                    self.fail(
                        step,
                        Code::Name,
                        format!(
                            "the project already has a security group named {name} ({id}, outside nicplan's state), and security group names are unique in a project"
                        ),
                        span,
                        help,
                    );
                }
                self.world.apply_attributes(&step.address, after);
            }
            Attributes::NetworkInterface(n) => {
                let ips: Vec<Ipv4Addr> = n
                    .private_ip
                    .iter()
                    .chain(&n.secondary_private_ips)
                    .copied()
                    .collect();
                self.check_ips_free(step, name, &n.subnet, &ips, span);
                let needed = ips.len() + usize::from(n.private_ip.is_none());
                self.check_room(step, &n.subnet, needed, span);
                if n.private_ip.is_none() {
                    self.check_no_later_pin(position, step, name, &n.subnet, &ips, span);
                }
                self.world.apply_attributes(&step.address, after);
                // Created unattached; attach steps attach it.
                self.world.update_nic(name, |nic| nic.attached = None);
            }
            Attributes::PublicIp(_) => {
                // Allocated unassociated; associate steps map it.
                self.world.take_public_ip(name);
                let name = Ident::new(name);
                self.world.put_public_ip(name, None);
            }
            Attributes::Instance(i) => {
                self.check_quota(step, Kind::Instance, quotas.instances, span);
                if let Some(owner) = self
                    .world
                    .nics
                    .get(i.primary_interface.as_str())
                    .and_then(|n| n.attached)
                {
                    let words = self.world.words_of(Kind::Instance, &owner.0);
                    let help = self.world.import_of(self.model, &owner.0);
                    self.fail(
                        step,
                        Code::AttachmentConflict,
                        format!(
                            "its primary interface network_interface.{} is still attached to {words}",
                            i.primary_interface
                        ),
                        span,
                        help,
                    );
                }
                self.world.apply_attributes(&step.address, after);
                if let Some(instance) = self.world.instances.get_mut(name) {
                    // It builds, then runs: the executor waits for the build.
                    instance.status = Some(Status::Building);
                }
                let instance_name = Ident::new(name);
                self.world.update_nic(&i.primary_interface, |nic| {
                    nic.attached = Some((instance_name, true))
                });
                if let Some(nic) = self.world.nics.get(i.primary_interface.as_str()).cloned() {
                    self.check_security_groups(
                        step,
                        &i.instance_type,
                        &i.primary_interface,
                        &nic,
                        span,
                    );
                }
            }
        }
    }

    /// Refuses a subnet whose range overlaps one its VPC still holds.
    fn check_overlap(
        &mut self,
        step: &Step,
        name: &str,
        subnet: &resource::Subnet,
        span: Option<Span>,
    ) {
        let net = subnet.cidr_block;
        let clash = self
            .world
            .subnets_in_vpc
            .get(subnet.vpc.as_str())
            .into_iter()
            .flatten()
            .filter(|other| ***other != *name)
            .find(|other| {
                self.world.subnets.get(*other).is_some_and(|o| {
                    o.cidr_block.contains(&net.network()) || net.contains(&o.cidr_block.network())
                })
            })
            .cloned();
        if let Some(other) = clash {
            let range = self
                .world
                .subnets
                .get(&other)
                .map(|o| o.cidr_block.to_string())
                .unwrap_or_default();
            let words = self.world.short_of(Kind::Subnet, &other);
            let help = self.world.import_of(self.model, &other);
            self.fail(
                step,
                Code::Subnet,
                format!(
                    "{net} overlaps {range} of {words}, still in VPC {}",
                    subnet.vpc
                ),
                span,
                help,
            );
        }
    }

    /// Refuses a NIC change that needs more addresses than its subnet has left.
    fn check_room(&mut self, step: &Step, subnet: &str, needed: usize, span: Option<Span>) {
        let Some(usable) = self.world.usable(subnet) else {
            return;
        };
        let used = self.world.used_in_subnet.get(subnet).copied().unwrap_or(0);
        if used + needed <= usable {
            return;
        }
        let strangers = self
            .world
            .nics_in_subnet
            .get(subnet)
            .into_iter()
            .flatten()
            .filter(|n| self.world.strangers.contains_key(*n))
            .count();
        let outside = if strangers == 0 {
            String::new()
        } else {
            format!(
                " ({strangers} of the network interfaces holding them are outside nicplan's state)"
            )
        };
        self.fail(
            step,
            Code::SubnetFull,
            format!(
                "subnet {subnet} has {usable} usable addresses and {used} are held{outside}; it needs {needed} more"
            ),
            span,
            Some("use a larger block, or place the interface in another subnet".to_string()),
        );
    }

    /// An assigned address could be any free one: refuses an assigned create while a
    /// later step still pins a free address of the same subnet.
    fn check_no_later_pin(
        &mut self,
        position: usize,
        step: &Step,
        name: &str,
        subnet: &str,
        own: &[Ipv4Addr],
        span: Option<Span>,
    ) {
        let Some(pins) = self.pins.get(subnet) else {
            return;
        };
        let start = pins.partition_point(|(p, _)| *p as usize <= position);
        let held = self.world.ip_holder.get(subnet);
        let reachable = pins[start..]
            .iter()
            .find(|(_, ip)| !own.contains(ip) && !held.is_some_and(|h| h.contains_key(ip)));
        if let Some(&(_, ip)) = reachable {
            self.fail(
                step,
                Code::IpConflict,
                format!(
                    "the cloud assigns network_interface.{name} an address in subnet {subnet} and may give it {ip}, which a later step pins"
                ),
                span,
                Some(format!(
                    "give network_interface.{name} a private_ip of its own, so no assigned address can take a pinned one"
                )),
            );
        }
    }

    fn update(&mut self, step: &Step, name: &str, span: Option<Span>) {
        let Some(Attributes::NetworkInterface(n)) = step.after.as_deref() else {
            return;
        };
        if let Some(g) = n
            .security_groups
            .iter()
            .find(|g| !self.world.security_groups.contains(g.as_str()))
        {
            let g = *g;
            self.fail(
                step,
                Code::Reference,
                format!("security_group.{g} does not exist yet"),
                span,
                None,
            );
        }
        let held: Ips = self
            .world
            .nics
            .get(name)
            .map(|x| x.ips.clone())
            .unwrap_or_default();
        let new: Vec<Ipv4Addr> = n
            .secondary_private_ips
            .iter()
            .filter(|ip| !held.contains(ip))
            .copied()
            .collect();
        self.check_ips_free(step, name, &n.subnet, &new, span);
        let gone = held
            .iter()
            .skip(1)
            .filter(|ip| !n.secondary_private_ips.contains(ip))
            .count();
        self.check_room(step, &n.subnet, new.len().saturating_sub(gone), span);
        let groups = n.security_groups;
        let pinned = n.private_ip;
        let secondary = n.secondary_private_ips.clone();
        self.world.update_nic(name, |nic| {
            nic.security_groups = groups;
            let primary = pinned.or_else(|| nic.ips.first().copied());
            if primary.is_some() {
                nic.assigned = false;
            }
            nic.ips = primary.into_iter().chain(secondary).collect();
        });
        let owner = self.world.nics.get(name).and_then(|x| x.attached);
        if let Some((instance, _)) = owner
            && let Some(i) = self.world.instances.get(&instance).cloned()
            && let Some(nic) = self.world.nics.get(name).cloned()
        {
            self.check_security_groups(step, &i.instance_type, name, &nic, span);
        }
    }

    fn detach(&mut self, step: &Step, name: &str, span: Option<Span>) {
        let Some(instance) = step.instance() else {
            return;
        };
        match self.world.nics.get(name).and_then(|n| n.attached) {
            Some((i, true)) if *i == *instance => self.fail(
                step,
                Code::PrimaryDetach,
                format!("network_interface.{name} is the primary interface of instance.{instance} and cannot be detached"),
                span,
                Some("change the instance's primary_interface to replace the instance instead".to_string()),
            ),
            Some((i, false)) if *i == *instance => self.world.update_nic(name, |n| n.attached = None),
            _ => self.fail(step, Code::Reference, format!("network_interface.{name} is not attached to instance.{instance}"), span, None),
        }
    }

    /// A stop (to `Stopped`) or a start (to `Active`).
    fn power(&mut self, step: &Step, name: &str, span: Option<Span>, to: Status) {
        let Some(instance) = self.world.instances.get_mut(name) else {
            self.fail(
                step,
                Code::Reference,
                format!("instance.{name} does not exist"),
                span,
                None,
            );
            return;
        };
        let from = instance.status;
        instance.status = Some(to);
        let ok = match to {
            Status::Stopped => from
                .is_none_or(|s| matches!(s, Status::Active | Status::Building | Status::Starting)),
            _ => from
                .is_none_or(|s| matches!(s, Status::Stopped | Status::Stopping | Status::Resizing)),
        };
        if !ok {
            let status = from.map_or("unknown", Status::as_str);
            self.fail(
                step,
                Code::InstanceStatus,
                format!("instance.{name} is {status}"),
                span,
                None,
            );
        }
    }

    fn resize(&mut self, step: &Step, name: &str, span: Option<Span>) {
        let Some(Attributes::Instance(after)) = step.after.as_deref() else {
            return;
        };
        let count = self.world.count(name);
        if let Some(t) = catalogue::lookup(&after.instance_type)
            && count > t.max_network_interfaces as usize
        {
            let strangers = self.world.strangers_on(name);
            let outside = if strangers.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} of them outside nicplan's state: {})",
                    strangers.len(),
                    strangers.join("; ")
                )
            };
            self.fail(
                step,
                Code::Capacity,
                format!(
                    "instance.{name} holds {count} network interfaces{outside}, more than the {} of {}",
                    t.max_network_interfaces,
                    t.name()
                ),
                span,
                Some("detach interfaces before the resize".to_string()),
            );
        }
        let status = self.world.instances.get(name).and_then(|i| i.status);
        let running = super::diff::needs_stop(status);
        if running {
            let now = status.map_or("running (as far as nicplan knows)", Status::as_str);
            self.fail(
                step,
                Code::StopRequired,
                format!(
                    "instance.{name} is {now}, and the platform resizes only a stopped instance"
                ),
                span,
                Some(format!(
                    "set `lifecycle: {{ allow_stop: true }}` on instance {name} to let the plan stop it, resize it and start it again, or stop it yourself first"
                )),
            );
        }
        let instance_type = after.instance_type;
        if let Some(i) = self.world.instances.get_mut(name) {
            i.instance_type = instance_type;
            if !running {
                i.status = Some(Status::Stopped);
            }
        }
    }

    fn associate(&mut self, step: &Step, name: &str, span: Option<Span>) {
        let Some(nic_name) = step.network_interface() else {
            return;
        };
        let ip = match step.after.as_deref() {
            Some(Attributes::PublicIp(p)) => p.private_ip,
            _ => None,
        };
        if !self.world.public_ips.contains_key(name) {
            self.fail(
                step,
                Code::Reference,
                format!("public_ip.{name} does not exist yet"),
                span,
                None,
            );
            return;
        }
        let Some(nic) = self.world.nics.get(nic_name.as_str()) else {
            self.fail(
                step,
                Code::Reference,
                format!("network_interface.{nic_name} does not exist yet"),
                span,
                None,
            );
            return;
        };
        if let Some(ip) = ip
            && !nic.ips.is_empty()
            && !nic.ips.contains(&ip)
            && !nic.assigned
        {
            self.fail(
                step,
                Code::PublicIp,
                format!("{ip} is not an IP of network_interface.{nic_name}"),
                span,
                None,
            );
        }
        let taken = self
            .world
            .public_ips_on
            .get(nic_name.as_str())
            .into_iter()
            .flatten()
            .find(|other| {
                ***other != *name
                    && self.world.public_ips.get(*other).is_some_and(|m| {
                        m.as_ref().is_some_and(|(_, other_ip)| {
                            other_ip == &ip || other_ip.is_none() || ip.is_none()
                        })
                    })
            })
            .cloned();
        if let Some(other) = taken {
            let words = self.world.words_of(Kind::PublicIp, &other);
            let help = self.world.import_of(self.model, &other);
            self.fail(
                step,
                Code::PublicIp,
                format!("{words} already maps to that private IP of network_interface.{nic_name}"),
                span,
                help,
            );
        }
        if self.world.public_ips.get(name).is_some_and(Option::is_some) {
            self.fail(
                step,
                Code::PublicIp,
                format!("public_ip.{name} is still associated"),
                span,
                None,
            );
        }
        self.world.take_public_ip(name);
        let name = Ident::new(name);
        self.world.put_public_ip(name, Some((nic_name, ip)));
    }

    fn delete(&mut self, step: &Step, kind: Kind, name: &str, span: Option<Span>) {
        let w = &self.world;
        let user: Option<(Kind, Name)> = match kind {
            Kind::Vpc => World::first(w.subnets_in_vpc.get(name), "").map(|n| (Kind::Subnet, *n)),
            Kind::Subnet => {
                World::first(w.nics_in_subnet.get(name), "").map(|n| (Kind::NetworkInterface, *n))
            }
            Kind::SecurityGroup => {
                World::first(w.nics_with_group.get(name), "").map(|n| (Kind::NetworkInterface, *n))
            }
            Kind::NetworkInterface => {
                if step.with_instance().is_some() {
                    None
                } else if let Some((i, _)) = w.nics.get(name).and_then(|n| n.attached) {
                    Some((Kind::Instance, i))
                } else {
                    World::first(w.public_ips_on.get(name), "").map(|p| (Kind::PublicIp, *p))
                }
            }
            Kind::Instance => w
                .nics_on_instance
                .get(name)
                .into_iter()
                .flatten()
                .find_map(|nic| World::first(w.public_ips_on.get(nic), ""))
                .map(|p| (Kind::PublicIp, *p)),
            Kind::PublicIp => w
                .public_ips
                .get(name)
                .and_then(|t| t.as_ref())
                .map(|(n, _)| (Kind::NetworkInterface, *n)),
        };
        if let Some((user_kind, user)) = user {
            let words = self.world.words_of(user_kind, &user);
            let help = self.world.import_of(self.model, &user);
            self.fail(
                step,
                Code::Reference,
                format!("{} is still in use by {words}", step.address),
                span,
                help,
            );
        }
        match kind {
            Kind::Vpc => {
                self.world.vpcs.remove(name);
            }
            Kind::Subnet => {
                self.world.take_subnet(name);
            }
            Kind::SecurityGroup => {
                self.world.security_groups.remove(name);
            }
            Kind::NetworkInterface => {
                if let Some(owner) = &step.with_instance()
                    && self.world.instances.contains_key(owner.as_str())
                {
                    let owner = *owner;
                    self.fail(
                        step,
                        Code::Reference,
                        format!("instance.{owner} must be deleted first"),
                        span,
                        None,
                    );
                    return;
                }
                self.world.take_nic(name);
            }
            Kind::Instance => {
                self.world.instances.remove(name);
                // The platform frees every NIC of a deleted instance; the primary's own
                // delete step records that it went with the instance.
                let attached: Vec<Name> = self
                    .world
                    .nics_on_instance
                    .get(name)
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect();
                for nic in attached {
                    self.world.update_nic(&nic, |n| n.attached = None);
                }
            }
            Kind::PublicIp => {
                self.world.take_public_ip(name);
            }
        }
    }

    fn attach(&mut self, step: &Step, name: &str, span: Option<Span>) {
        let Some(instance_name) = step.instance() else {
            return;
        };
        let Some(instance) = self.world.instances.get(instance_name.as_str()).cloned() else {
            self.fail(
                step,
                Code::Reference,
                format!("instance.{instance_name} does not exist yet"),
                span,
                None,
            );
            return;
        };
        let Some(nic) = self.world.nics.get(name).cloned() else {
            self.fail(
                step,
                Code::Reference,
                format!("network_interface.{name} does not exist yet"),
                span,
                None,
            );
            return;
        };
        if let Some((other, _)) = &nic.attached {
            let words = self.world.words_of(Kind::Instance, other);
            self.fail(
                step,
                Code::AttachmentConflict,
                format!("network_interface.{name} is still attached to {words}"),
                span,
                None,
            );
            return;
        }
        let count = self.world.count(&instance_name) + 1;
        if let Some(t) = catalogue::lookup(&instance.instance_type)
            && count > t.max_network_interfaces as usize
        {
            let strangers = self.world.strangers_on(&instance_name);
            let (outside, help) = if strangers.is_empty() {
                (
                    String::new(),
                    "detach an interface first, or resize the instance".to_string(),
                )
            } else {
                (
                    format!(
                        " ({} of them outside nicplan's state: {})",
                        strangers.len(),
                        strangers.join("; ")
                    ),
                    "detach an interface first (those outside the state in the cloud, or import them and drop them from the file), or resize the instance".to_string(),
                )
            };
            self.fail(
                step,
                Code::Capacity,
                format!(
                    "instance.{instance_name} would hold {count} network interfaces{outside}, more than the {} of {}",
                    t.max_network_interfaces,
                    t.name()
                ),
                span,
                Some(help),
            );
        }
        let zone = self.world.zone_of(&instance).map(str::to_string);
        let nic_zone = self
            .world
            .subnets
            .get(&nic.subnet)
            .map(|s| s.availability_zone);
        if let (Some(z), Some(nz)) = (zone, nic_zone)
            && z != nz
        {
            self.fail(
                step,
                Code::Zone,
                format!("network_interface.{name} is in {nz} and instance.{instance_name} in {z}"),
                span,
                None,
            );
        }
        self.check_security_groups(step, &instance.instance_type, name, &nic, span);
        self.world
            .update_nic(name, |n| n.attached = Some((instance_name, false)));
    }

    fn check_security_groups(
        &mut self,
        step: &Step,
        instance_type: &str,
        nic_name: &str,
        nic: &Nic,
        span: Option<Span>,
    ) {
        let bare_metal = catalogue::lookup(instance_type).is_some_and(|t| t.is_bare_metal());
        if !bare_metal && nic.security_groups.is_empty() {
            self.fail(
                step,
                Code::SecurityGroupRequired,
                format!("network_interface.{nic_name} has no security group"),
                span,
                None,
            );
        }
    }

    fn check_ips_free(
        &mut self,
        step: &Step,
        nic_name: &str,
        subnet: &str,
        ips: &[Ipv4Addr],
        span: Option<Span>,
    ) {
        for ip in ips {
            let holder = self
                .world
                .ip_holder
                .get(subnet)
                .and_then(|held| held.get(ip))
                .filter(|h| ***h != *nic_name)
                .cloned();
            if let Some(holder) = holder {
                let words = self.world.short_of(Kind::NetworkInterface, &holder);
                let help = self.world.import_of(self.model, &holder);
                let at = self.ip_span(nic_name, *ip, span);
                self.fail_at(
                    step,
                    Code::IpConflict,
                    format!("{ip} is still held by {words}"),
                    at.map(|s| (s, "taken here")),
                    help,
                );
            }
        }
    }
}

/// Where each subnet's addresses are pinned, by step position.
fn pins(steps: &[Step]) -> Pins {
    let mut pins = Pins::new();
    for (position, step) in steps.iter().enumerate() {
        let Some(Attributes::NetworkInterface(n)) = step.after.as_deref() else {
            continue;
        };
        let ips: Vec<Ipv4Addr> = match step.action {
            Action::Create => n
                .private_ip
                .iter()
                .chain(&n.secondary_private_ips)
                .copied()
                .collect(),
            Action::Update => {
                let held = match step.before.as_deref() {
                    Some(Attributes::NetworkInterface(b)) => &b.secondary_private_ips[..],
                    _ => &[],
                };
                n.secondary_private_ips
                    .iter()
                    .filter(|ip| !held.contains(ip))
                    .copied()
                    .collect()
            }
            _ => continue,
        };
        let list = pins.entry(n.subnet).or_default();
        let position = u32::try_from(position).unwrap_or(u32::MAX);
        list.extend(ips.into_iter().map(|ip| (position, ip)));
    }
    pins
}

/// Simulates the ordered steps over the state and what the cloud holds outside it, and
/// reports every rule broken on the way.
pub(super) fn simulate(
    model: &Model,
    quotas: Quotas,
    state: &State,
    outside: &Outside,
    steps: &[Step],
) -> Vec<Diagnostic> {
    let world = World::new(state, outside);
    let mut checker = Checker {
        model,
        quotas,
        world,
        pins: pins(steps),
        out: Vec::new(),
    };
    for (position, step) in steps.iter().enumerate() {
        checker.run(position, step);
    }
    checker.out
}
