//! The safety check: the plan simulated step by step over the state, every rule checked
//! after every step. A plan that passes never puts the cloud in a state that breaks a
//! NIC rule, even halfway through; a plan that fails is refused with the step and rule.
//!
//! This walks its own small world of names, independent of the diff and the ordering,
//! so a mistake in either is caught here rather than by the cloud.

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

#[derive(Default)]
struct World {
    vpcs: BTreeSet<String>,
    subnets: BTreeMap<String, resource::Subnet>,
    security_groups: BTreeSet<String>,
    instances: BTreeMap<String, Instance>,
    nics: BTreeMap<String, Nic>,
    /// Public IP -> (NIC, private IP when known).
    public_ips: BTreeMap<String, Option<(String, Option<Ipv4Addr>)>>,
}

impl World {
    fn from_state(state: &State) -> World {
        let mut w = World::default();
        for (address, entry) in &state.resources {
            w.apply_attributes(address, &entry.attributes);
        }
        for (name, instance) in &w.instances {
            if let Some(nic) = w.nics.get_mut(&instance.primary) {
                nic.attached = Some((name.clone(), true));
            }
        }
        w
    }

    fn apply_attributes(&mut self, address: &Address, attributes: &Attributes) {
        let name = address.name.clone();
        match attributes {
            Attributes::Vpc(_) => {
                self.vpcs.insert(name);
            }
            Attributes::Subnet(s) => {
                self.subnets.insert(name, s.clone());
            }
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
                self.nics.insert(
                    name,
                    Nic {
                        subnet: n.subnet.clone(),
                        ips: n
                            .private_ip
                            .iter()
                            .chain(&n.secondary_private_ips)
                            .copied()
                            .collect(),
                        security_groups: n.security_groups.clone(),
                        attached: n.attach_to.clone().map(|i| (i, false)),
                    },
                );
            }
            Attributes::PublicIp(p) => {
                self.public_ips
                    .insert(name, p.network_interface.clone().map(|n| (n, p.private_ip)));
            }
        }
    }

    fn count(&self, instance: &str) -> usize {
        self.nics
            .values()
            .filter(|n| n.attached.as_ref().is_some_and(|(i, _)| i == instance))
            .count()
    }

    fn zone_of(&self, instance: &Instance) -> Option<&str> {
        let nic = self.nics.get(&instance.primary)?;
        self.subnets
            .get(&nic.subnet)
            .map(|s| s.availability_zone.as_str())
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
        match (step.action, step.address.kind) {
            (Action::Create, kind) => {
                let Some(after) = &step.after else { return };
                let missing: Option<String> = match after {
                    Attributes::Subnet(s) => {
                        (!self.world.vpcs.contains(&s.vpc)).then(|| format!("vpc.{}", s.vpc))
                    }
                    Attributes::NetworkInterface(n) => {
                        if !self.world.subnets.contains_key(&n.subnet) {
                            Some(format!("subnet.{}", n.subnet))
                        } else {
                            n.security_groups
                                .iter()
                                .find(|g| !self.world.security_groups.contains(*g))
                                .map(|g| format!("security_group.{g}"))
                        }
                    }
                    Attributes::Instance(i) => match self.world.nics.get(&i.primary_interface) {
                        None => Some(format!("network_interface.{}", i.primary_interface)),
                        Some(nic) if nic.attached.is_some() => {
                            self.fail(step, Code::AttachmentConflict, format!("its primary interface network_interface.{} is still attached elsewhere", i.primary_interface), span, None);
                            None
                        }
                        Some(_) => None,
                    },
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
                if let Attributes::NetworkInterface(n) = after {
                    self.check_ips_free(
                        step,
                        &name,
                        &n.subnet,
                        n.private_ip.iter().chain(&n.secondary_private_ips),
                        span,
                    );
                }
                if exists(&self.world, kind, &name) {
                    self.fail(
                        step,
                        Code::Reference,
                        format!("{} already exists", step.address),
                        span,
                        None,
                    );
                }
                self.world.apply_attributes(&step.address, after);
                if let Some(nic) = self.world.nics.get_mut(&name)
                    && kind == Kind::NetworkInterface
                {
                    // Created unattached; attach steps attach it.
                    nic.attached = None;
                }
                if kind == Kind::PublicIp {
                    // Allocated unassociated; associate steps map it.
                    self.world.public_ips.insert(name.clone(), None);
                }
                if let Attributes::Instance(i) = after {
                    let nic = self.world.nics.get(&i.primary_interface).cloned();
                    if let Some(mut nic) = nic {
                        self.check_security_groups(
                            step,
                            &i.instance_type,
                            &i.primary_interface,
                            &nic,
                            span,
                        );
                        nic.attached = Some((name.clone(), true));
                        self.world.nics.insert(i.primary_interface.clone(), nic);
                    }
                }
            }
            (Action::Update, _) => {
                if let Some(Attributes::NetworkInterface(n)) = &step.after {
                    if let Some(g) = n
                        .security_groups
                        .iter()
                        .find(|g| !self.world.security_groups.contains(*g))
                    {
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
                        .get(&name)
                        .map(|x| x.ips.clone())
                        .unwrap_or_default();
                    let new: Vec<Ipv4Addr> = n
                        .secondary_private_ips
                        .iter()
                        .filter(|ip| !held.contains(ip))
                        .copied()
                        .collect();
                    self.check_ips_free(step, &name, &n.subnet, new.iter(), span);
                    let owner = self.world.nics.get(&name).and_then(|x| x.attached.clone());
                    if let Some(nic) = self.world.nics.get_mut(&name) {
                        nic.security_groups.clone_from(&n.security_groups);
                        let primary = n.private_ip.or_else(|| nic.ips.first().copied());
                        nic.ips = primary
                            .into_iter()
                            .chain(n.secondary_private_ips.iter().copied())
                            .collect();
                    }
                    if let Some((instance, _)) = owner
                        && let Some(i) = self.world.instances.get(&instance).cloned()
                        && let Some(nic) = self.world.nics.get(&name).cloned()
                    {
                        self.check_security_groups(step, &i.instance_type, &name, &nic, span);
                    }
                }
            }
            (Action::Delete, kind) => self.delete(step, kind, &name, span),
            (Action::Attach, _) => self.attach(step, &name, span),
            (Action::Detach, _) => {
                let Some(instance) = step.instance.clone() else {
                    return;
                };
                match self.world.nics.get(&name).and_then(|n| n.attached.clone()) {
                    Some((i, true)) if i == instance => {
                        self.fail(step, Code::PrimaryDetach, format!("network_interface.{name} is the primary interface of instance.{instance} and cannot be detached"), span, Some(format!("replace instance.{instance} instead")));
                    }
                    Some((i, false)) if i == instance => {
                        if let Some(n) = self.world.nics.get_mut(&name) {
                            n.attached = None;
                        }
                    }
                    _ => self.fail(
                        step,
                        Code::Reference,
                        format!("network_interface.{name} is not attached to instance.{instance}"),
                        span,
                        None,
                    ),
                }
            }
            (Action::Resize, _) => {
                let Some(Attributes::Instance(after)) = &step.after else {
                    return;
                };
                let count = self.world.count(&name);
                if let Some(t) = catalogue::lookup(&after.instance_type)
                    && count > t.max_network_interfaces as usize
                {
                    self.fail(step, Code::Capacity, format!("instance.{name} holds {count} network interfaces, more than the {} of {}", t.max_network_interfaces, t.name()), span, Some("detach interfaces before the resize".to_string()));
                }
                if let Some(i) = self.world.instances.get_mut(&name) {
                    i.instance_type.clone_from(&after.instance_type);
                }
            }
            (Action::Associate, _) => {
                let Some(nic_name) = step.network_interface.clone() else {
                    return;
                };
                let ip = match &step.after {
                    Some(Attributes::PublicIp(p)) => p.private_ip,
                    _ => None,
                };
                if !self.world.public_ips.contains_key(&name) {
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
                let taken = self.world.public_ips.iter().find(|(other, target)| {
                    **other != name
                        && target.as_ref().is_some_and(|(n, other_ip)| {
                            *n == nic_name
                                && (other_ip == &ip || other_ip.is_none() || ip.is_none())
                        })
                });
                if let Some((other, _)) = taken {
                    let other = other.clone();
                    self.fail(step, Code::PublicIp, format!("public_ip.{other} already maps to that private IP of network_interface.{nic_name}"), span, None);
                }
                if self
                    .world
                    .public_ips
                    .get(&name)
                    .is_some_and(Option::is_some)
                {
                    self.fail(
                        step,
                        Code::PublicIp,
                        format!("public_ip.{name} is still associated"),
                        span,
                        None,
                    );
                }
                self.world.public_ips.insert(name, Some((nic_name, ip)));
            }
            (Action::Disassociate, _) => {
                if let Some(slot) = self.world.public_ips.get_mut(&name) {
                    *slot = None;
                }
            }
        }
    }

    fn delete(&mut self, step: &Step, kind: Kind, name: &str, span: Option<Span>) {
        let w = &self.world;
        let user: Option<String> = match kind {
            Kind::Vpc => w
                .subnets
                .iter()
                .find(|(_, s)| s.vpc == name)
                .map(|(n, _)| format!("subnet.{n}")),
            Kind::Subnet => w
                .nics
                .iter()
                .find(|(_, n)| n.subnet == name)
                .map(|(n, _)| format!("network_interface.{n}")),
            Kind::SecurityGroup => w
                .nics
                .iter()
                .find(|(_, n)| n.security_groups.iter().any(|g| g == name))
                .map(|(n, _)| format!("network_interface.{n}")),
            Kind::NetworkInterface => {
                if step.with_instance.is_some() {
                    None
                } else if let Some((i, _)) = w.nics.get(name).and_then(|n| n.attached.clone()) {
                    Some(format!("instance.{i}"))
                } else {
                    w.public_ips
                        .iter()
                        .find(|(_, t)| t.as_ref().is_some_and(|(n, _)| n == name))
                        .map(|(p, _)| format!("public_ip.{p}"))
                }
            }
            Kind::Instance => {
                let primary = w.instances.get(name).map(|i| i.primary.clone());
                w.public_ips
                    .iter()
                    .find(|(_, t)| t.as_ref().is_some_and(|(n, _)| Some(n) == primary.as_ref()))
                    .map(|(p, _)| format!("public_ip.{p}"))
            }
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
        let w = &mut self.world;
        match kind {
            Kind::Vpc => {
                w.vpcs.remove(name);
            }
            Kind::Subnet => {
                w.subnets.remove(name);
            }
            Kind::SecurityGroup => {
                w.security_groups.remove(name);
            }
            Kind::NetworkInterface => {
                if let Some(owner) = &step.with_instance
                    && w.instances.contains_key(owner)
                {
                    self.fail(
                        step,
                        Code::Reference,
                        format!("instance.{owner} must be deleted first"),
                        span,
                        None,
                    );
                    return;
                }
                self.world.nics.remove(name);
            }
            Kind::Instance => {
                if let Some(i) = w.instances.remove(name) {
                    for nic in w.nics.values_mut() {
                        if nic
                            .attached
                            .as_ref()
                            .is_some_and(|(owner, _)| owner == name)
                        {
                            nic.attached = None;
                        }
                    }
                    // The primary NIC goes with the instance; its delete step records it.
                    let _ = i;
                }
            }
            Kind::PublicIp => {
                w.public_ips.remove(name);
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
            self.fail(step, Code::Capacity, format!("instance.{instance_name} would hold {count} network interfaces, more than the {} of {}", t.max_network_interfaces, t.name()), span, Some("detach an interface first, or resize the instance".to_string()));
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
        if let Some(n) = self.world.nics.get_mut(name) {
            n.attached = Some((instance_name, false));
        }
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

    fn check_ips_free<'i>(
        &mut self,
        step: &Step,
        nic_name: &str,
        subnet: &str,
        ips: impl Iterator<Item = &'i Ipv4Addr>,
        span: Option<Span>,
    ) {
        for ip in ips {
            let holder = self
                .world
                .nics
                .iter()
                .find(|(n, nic)| *n != nic_name && nic.subnet == subnet && nic.ips.contains(ip))
                .map(|(n, _)| n.clone());
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

fn exists(world: &World, kind: Kind, name: &str) -> bool {
    match kind {
        Kind::Vpc => world.vpcs.contains(name),
        Kind::Subnet => world.subnets.contains_key(name),
        Kind::SecurityGroup => world.security_groups.contains(name),
        Kind::Instance => world.instances.contains_key(name),
        Kind::NetworkInterface => world.nics.contains_key(name),
        Kind::PublicIp => world.public_ips.contains_key(name),
    }
}

/// Simulates the ordered steps over the state and reports every rule broken on the way.
pub(super) fn simulate(
    model: &Model,
    state: &State,
    _desired: &BTreeMap<Address, Attributes>,
    steps: &[Step],
) -> Vec<Diagnostic> {
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
