//! The safety check: the plan simulated step by step over the state, every rule checked
//! after every step. A plan that passes never puts the cloud in a state that breaks a
//! NIC rule, even halfway through; a plan that fails is refused with the step and rule.
//!
//! This walks its own small world of names, independent of the diff and the ordering,
//! so a mistake in either is caught here rather than by the cloud. The world keeps its
//! own indexes (who holds which IP, what uses a subnet...), updated by every change, so
//! each step costs a few lookups whatever the size of the network.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use super::{Action, Step};
use crate::address::{Address, Kind};
use crate::catalogue;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;
use crate::resource::{self, Attributes};
use crate::source::Span;
use crate::state::State;

#[derive(Clone, Debug)]
struct Instance {
    instance_type: String,
    primary: String,
}

#[derive(Clone, Debug)]
struct Nic {
    subnet: String,
    ips: Vec<Ipv4Addr>,
    security_groups: Vec<String>,
    /// The instance it belongs to, and whether as its primary.
    attached: Option<(String, bool)>,
}

/// A public IP's mapping: the NIC, and the private IP when known.
type Mapping = Option<(String, Option<Ipv4Addr>)>;

#[derive(Default)]
struct World {
    vpcs: BTreeSet<String>,
    subnets: BTreeMap<String, resource::Subnet>,
    security_groups: BTreeSet<String>,
    instances: BTreeMap<String, Instance>,
    nics: BTreeMap<String, Nic>,
    public_ips: BTreeMap<String, Mapping>,
    // Indexes, maintained by `put_*` and `take_*` only.
    subnets_in_vpc: BTreeMap<String, BTreeSet<String>>,
    nics_in_subnet: BTreeMap<String, BTreeSet<String>>,
    nics_with_group: BTreeMap<String, BTreeSet<String>>,
    nics_on_instance: BTreeMap<String, BTreeSet<String>>,
    ip_holder: BTreeMap<(String, Ipv4Addr), String>,
    public_ips_on: BTreeMap<String, BTreeSet<String>>,
}

impl World {
    fn from_state(state: &State) -> World {
        let mut w = World::default();
        for (address, entry) in &state.resources {
            w.apply_attributes(address, &entry.attributes);
        }
        let primaries: Vec<(String, String)> = w
            .instances
            .iter()
            .map(|(name, i)| (name.clone(), i.primary.clone()))
            .collect();
        for (name, primary) in primaries {
            w.update_nic(&primary, |n| n.attached = Some((name, true)));
        }
        w
    }

    fn apply_attributes(&mut self, address: &Address, attributes: &Attributes) {
        let name = address.name.clone();
        match attributes {
            Attributes::Vpc(_) => {
                self.vpcs.insert(name);
            }
            Attributes::Subnet(s) => self.put_subnet(name, s.clone()),
            Attributes::SecurityGroup(_) => {
                self.security_groups.insert(name);
            }
            Attributes::Instance(i) => {
                self.instances.insert(
                    name,
                    Instance {
                        instance_type: i.instance_type.clone(),
                        primary: i.primary_interface.clone(),
                    },
                );
            }
            Attributes::NetworkInterface(n) => {
                let nic = Nic {
                    subnet: n.subnet.clone(),
                    ips: n
                        .private_ip
                        .iter()
                        .chain(&n.secondary_private_ips)
                        .copied()
                        .collect(),
                    security_groups: n.security_groups.clone(),
                    attached: n.attach_to.clone().map(|i| (i, false)),
                };
                self.take_nic(&name);
                self.put_nic(name, nic);
            }
            Attributes::PublicIp(p) => {
                self.take_public_ip(&name);
                self.put_public_ip(name, p.network_interface.clone().map(|n| (n, p.private_ip)));
            }
        }
    }

    fn put_subnet(&mut self, name: String, subnet: resource::Subnet) {
        self.take_subnet(&name);
        self.subnets_in_vpc
            .entry(subnet.vpc.clone())
            .or_default()
            .insert(name.clone());
        self.subnets.insert(name, subnet);
    }

    fn take_subnet(&mut self, name: &str) -> Option<resource::Subnet> {
        let subnet = self.subnets.remove(name)?;
        if let Some(set) = self.subnets_in_vpc.get_mut(&subnet.vpc) {
            set.remove(name);
        }
        Some(subnet)
    }

    fn put_nic(&mut self, name: String, nic: Nic) {
        self.nics_in_subnet
            .entry(nic.subnet.clone())
            .or_default()
            .insert(name.clone());
        for g in &nic.security_groups {
            self.nics_with_group
                .entry(g.clone())
                .or_default()
                .insert(name.clone());
        }
        if let Some((instance, _)) = &nic.attached {
            self.nics_on_instance
                .entry(instance.clone())
                .or_default()
                .insert(name.clone());
        }
        for ip in &nic.ips {
            self.ip_holder
                .insert((nic.subnet.clone(), *ip), name.clone());
        }
        self.nics.insert(name, nic);
    }

    fn take_nic(&mut self, name: &str) -> Option<Nic> {
        let nic = self.nics.remove(name)?;
        if let Some(set) = self.nics_in_subnet.get_mut(&nic.subnet) {
            set.remove(name);
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
        for ip in &nic.ips {
            let key = (nic.subnet.clone(), *ip);
            if self.ip_holder.get(&key).is_some_and(|h| h == name) {
                self.ip_holder.remove(&key);
            }
        }
        Some(nic)
    }

    /// Changes a NIC through `take_nic` and `put_nic`, so the indexes follow.
    fn update_nic(&mut self, name: &str, change: impl FnOnce(&mut Nic)) {
        if let Some(mut nic) = self.take_nic(name) {
            change(&mut nic);
            self.put_nic(name.to_string(), nic);
        }
    }

    fn put_public_ip(&mut self, name: String, mapping: Mapping) {
        if let Some((nic, _)) = &mapping {
            self.public_ips_on
                .entry(nic.clone())
                .or_default()
                .insert(name.clone());
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

    fn zone_of(&self, instance: &Instance) -> Option<&str> {
        let nic = self.nics.get(&instance.primary)?;
        self.subnets
            .get(&nic.subnet)
            .map(|s| s.availability_zone.as_str())
    }

    fn first<'a>(set: Option<&'a BTreeSet<String>>, except: &str) -> Option<&'a String> {
        set.into_iter().flatten().find(|n| *n != except)
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
}

struct Checker<'a> {
    model: &'a Model,
    world: World,
    out: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn fail(
        &mut self,
        step: &Step,
        code: Code,
        what: String,
        span: Option<Span>,
        help: Option<&str>,
    ) {
        let mut d = Diagnostic::new(
            code,
            format!(
                "step {} ({}) would break a rule: {what}",
                step.index,
                step.describe()
            ),
        );
        if let Some(span) = span {
            d = d.label(span, "this change");
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
            (Action::Resize, _) => m.instances.get(name).map(|i| i.type_name.span),
            (_, Kind::Vpc) => m.vpcs.get(name).map(|v| v.name.span),
            (_, Kind::Subnet) => m.subnets.get(name).map(|v| v.name.span),
            (_, Kind::SecurityGroup) => m.security_groups.get(name).map(|v| v.name.span),
            (_, Kind::Instance) => m.instances.get(name).map(|v| v.name.span),
            (_, Kind::NetworkInterface) => m.network_interfaces.get(name).map(|v| v.name.span),
            (_, Kind::PublicIp) => m.public_ips.get(name).map(|v| v.name.span),
        }
    }

    fn run(&mut self, step: &Step) {
        let span = self.span_of(step);
        let name = step.address.name.clone();
        match step.action {
            Action::Create => self.create(step, &name, span),
            Action::Update => self.update(step, &name, span),
            Action::Delete => self.delete(step, step.address.kind, &name, span),
            Action::Attach => self.attach(step, &name, span),
            Action::Detach => self.detach(step, &name, span),
            Action::Resize => self.resize(step, &name, span),
            Action::Associate => self.associate(step, &name, span),
            Action::Disassociate => {
                if self.world.take_public_ip(&name).is_some() {
                    self.world.put_public_ip(name, None);
                }
            }
        }
    }

    fn create(&mut self, step: &Step, name: &str, span: Option<Span>) {
        let Some(after) = &step.after else { return };
        let kind = step.address.kind;
        let w = &self.world;
        let missing: Option<String> = match after {
            Attributes::Subnet(s) => (!w.vpcs.contains(&s.vpc)).then(|| format!("vpc.{}", s.vpc)),
            Attributes::NetworkInterface(n) => {
                if !w.subnets.contains_key(&n.subnet) {
                    Some(format!("subnet.{}", n.subnet))
                } else {
                    n.security_groups
                        .iter()
                        .find(|g| !w.security_groups.contains(*g))
                        .map(|g| format!("security_group.{g}"))
                }
            }
            Attributes::Instance(i) => (!w.nics.contains_key(&i.primary_interface))
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
        match after {
            Attributes::NetworkInterface(n) => {
                let ips: Vec<Ipv4Addr> = n
                    .private_ip
                    .iter()
                    .chain(&n.secondary_private_ips)
                    .copied()
                    .collect();
                self.check_ips_free(step, name, &n.subnet, &ips, span);
                self.world.apply_attributes(&step.address, after);
                // Created unattached; attach steps attach it.
                self.world.update_nic(name, |nic| nic.attached = None);
            }
            Attributes::PublicIp(_) => {
                // Allocated unassociated; associate steps map it.
                self.world.take_public_ip(name);
                self.world.put_public_ip(name.to_string(), None);
            }
            Attributes::Instance(i) => {
                if let Some(owner) = self
                    .world
                    .nics
                    .get(&i.primary_interface)
                    .and_then(|n| n.attached.clone())
                {
                    self.fail(step, Code::AttachmentConflict, format!("its primary interface network_interface.{} is still attached to instance.{}", i.primary_interface, owner.0), span, None);
                }
                self.world.apply_attributes(&step.address, after);
                let instance_name = name.to_string();
                self.world.update_nic(&i.primary_interface, |nic| {
                    nic.attached = Some((instance_name, true))
                });
                if let Some(nic) = self.world.nics.get(&i.primary_interface).cloned() {
                    self.check_security_groups(
                        step,
                        &i.instance_type,
                        &i.primary_interface,
                        &nic,
                        span,
                    );
                }
            }
            _ => self.world.apply_attributes(&step.address, after),
        }
    }

    fn update(&mut self, step: &Step, name: &str, span: Option<Span>) {
        let Some(Attributes::NetworkInterface(n)) = &step.after else {
            return;
        };
        if let Some(g) = n
            .security_groups
            .iter()
            .find(|g| !self.world.security_groups.contains(*g))
        {
            let g = g.clone();
            self.fail(
                step,
                Code::Reference,
                format!("security_group.{g} does not exist yet"),
                span,
                None,
            );
        }
        let held: Vec<Ipv4Addr> = self
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
        let groups = n.security_groups.clone();
        let pinned = n.private_ip;
        let secondary = n.secondary_private_ips.clone();
        self.world.update_nic(name, |nic| {
            nic.security_groups = groups;
            let primary = pinned.or_else(|| nic.ips.first().copied());
            nic.ips = primary.into_iter().chain(secondary).collect();
        });
        let owner = self.world.nics.get(name).and_then(|x| x.attached.clone());
        if let Some((instance, _)) = owner
            && let Some(i) = self.world.instances.get(&instance).cloned()
            && let Some(nic) = self.world.nics.get(name).cloned()
        {
            self.check_security_groups(step, &i.instance_type, name, &nic, span);
        }
    }

    fn detach(&mut self, step: &Step, name: &str, span: Option<Span>) {
        let Some(instance) = step.instance.clone() else {
            return;
        };
        match self.world.nics.get(name).and_then(|n| n.attached.clone()) {
            Some((i, true)) if i == instance => self.fail(
                step,
                Code::PrimaryDetach,
                format!("network_interface.{name} is the primary interface of instance.{instance} and cannot be detached"),
                span,
                Some("change the instance's primary_interface to replace the instance instead"),
            ),
            Some((i, false)) if i == instance => self.world.update_nic(name, |n| n.attached = None),
            _ => self.fail(step, Code::Reference, format!("network_interface.{name} is not attached to instance.{instance}"), span, None),
        }
    }

    fn resize(&mut self, step: &Step, name: &str, span: Option<Span>) {
        let Some(Attributes::Instance(after)) = &step.after else {
            return;
        };
        let count = self.world.count(name);
        if let Some(t) = catalogue::lookup(&after.instance_type)
            && count > t.max_network_interfaces as usize
        {
            self.fail(
                step,
                Code::Capacity,
                format!(
                    "instance.{name} holds {count} network interfaces, more than the {} of {}",
                    t.max_network_interfaces,
                    t.name()
                ),
                span,
                Some("detach interfaces before the resize"),
            );
        }
        if let Some(i) = self.world.instances.get_mut(name) {
            i.instance_type.clone_from(&after.instance_type);
        }
    }

    fn associate(&mut self, step: &Step, name: &str, span: Option<Span>) {
        let Some(nic_name) = step.network_interface.clone() else {
            return;
        };
        let ip = match &step.after {
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
        let Some(nic) = self.world.nics.get(&nic_name) else {
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
            .get(&nic_name)
            .into_iter()
            .flatten()
            .find(|other| {
                *other != name
                    && self.world.public_ips.get(*other).is_some_and(|m| {
                        m.as_ref().is_some_and(|(_, other_ip)| {
                            other_ip == &ip || other_ip.is_none() || ip.is_none()
                        })
                    })
            })
            .cloned();
        if let Some(other) = taken {
            self.fail(step, Code::PublicIp, format!("public_ip.{other} already maps to that private IP of network_interface.{nic_name}"), span, None);
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
        self.world
            .put_public_ip(name.to_string(), Some((nic_name, ip)));
    }

    fn delete(&mut self, step: &Step, kind: Kind, name: &str, span: Option<Span>) {
        let w = &self.world;
        let user: Option<String> = match kind {
            Kind::Vpc => {
                World::first(w.subnets_in_vpc.get(name), "").map(|n| format!("subnet.{n}"))
            }
            Kind::Subnet => World::first(w.nics_in_subnet.get(name), "")
                .map(|n| format!("network_interface.{n}")),
            Kind::SecurityGroup => World::first(w.nics_with_group.get(name), "")
                .map(|n| format!("network_interface.{n}")),
            Kind::NetworkInterface => {
                if step.with_instance.is_some() {
                    None
                } else if let Some((i, _)) = w.nics.get(name).and_then(|n| n.attached.clone()) {
                    Some(format!("instance.{i}"))
                } else {
                    World::first(w.public_ips_on.get(name), "").map(|p| format!("public_ip.{p}"))
                }
            }
            Kind::Instance => w
                .nics_on_instance
                .get(name)
                .into_iter()
                .flatten()
                .find_map(|nic| World::first(w.public_ips_on.get(nic), ""))
                .map(|p| format!("public_ip.{p}")),
            Kind::PublicIp => w
                .public_ips
                .get(name)
                .and_then(|t| t.as_ref())
                .map(|(n, _)| format!("network_interface.{n}")),
        };
        if let Some(user) = user {
            self.fail(
                step,
                Code::Reference,
                format!("{} is still in use by {user}", step.address),
                span,
                None,
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
                if let Some(owner) = &step.with_instance
                    && self.world.instances.contains_key(owner)
                {
                    let owner = owner.clone();
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
                let attached: Vec<String> = self
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
        let Some(instance_name) = step.instance.clone() else {
            return;
        };
        let Some(instance) = self.world.instances.get(&instance_name).cloned() else {
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
            self.fail(
                step,
                Code::AttachmentConflict,
                format!("network_interface.{name} is still attached to instance.{other}"),
                span,
                None,
            );
            return;
        }
        let count = self.world.count(&instance_name) + 1;
        if let Some(t) = catalogue::lookup(&instance.instance_type)
            && count > t.max_network_interfaces as usize
        {
            self.fail(
                step,
                Code::Capacity,
                format!("instance.{instance_name} would hold {count} network interfaces, more than the {} of {}", t.max_network_interfaces, t.name()),
                span,
                Some("detach an interface first, or resize the instance"),
            );
        }
        let zone = self.world.zone_of(&instance).map(str::to_string);
        let nic_zone = self
            .world
            .subnets
            .get(&nic.subnet)
            .map(|s| s.availability_zone.clone());
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
                .get(&(subnet.to_string(), *ip))
                .filter(|h| *h != nic_name)
                .cloned();
            if let Some(holder) = holder {
                self.fail(
                    step,
                    Code::IpConflict,
                    format!("{ip} is still held by network_interface.{holder}"),
                    span,
                    None,
                );
            }
        }
    }
}

/// Simulates the ordered steps over the state and reports every rule broken on the way.
pub(super) fn simulate(model: &Model, state: &State, steps: &[Step]) -> Vec<Diagnostic> {
    let mut checker = Checker {
        model,
        world: World::from_state(state),
        out: Vec::new(),
    };
    for step in steps {
        checker.run(step);
    }
    checker.out
}
