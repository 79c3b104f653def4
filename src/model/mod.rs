//! The resolved desired state: every value parsed (IPs, CIDRs, instance types), every
//! resource keyed by name in file order, spans kept for diagnostics.
//!
//! References stay names: a reference to nothing is reported by the `reference` rule and
//! skipped quietly by the others, so one mistake yields one diagnostic, not a cascade.

pub(crate) mod build;

use std::net::Ipv4Addr;

use indexmap::IndexMap;
use ipnet::Ipv4Net;

pub use build::{build, name_problem, parse_duration};

use crate::catalogue::InstanceType;
use crate::ident::Ident;
use crate::source::{At, Span};

/// A VPC.
#[derive(Clone, Debug)]
pub struct Vpc {
    /// Its name and where it is declared.
    pub name: At<Ident>,
    /// Its range; `None` when the file's value did not parse.
    pub cidr_block: Option<At<Ipv4Net>>,
}

/// A subnet.
#[derive(Clone, Debug)]
pub struct Subnet {
    /// Its name and where it is declared.
    pub name: At<Ident>,
    /// The VPC it belongs to.
    pub vpc: At<Ident>,
    /// Its range; `None` when the file's value did not parse.
    pub cidr_block: Option<At<Ipv4Net>>,
    /// Its availability zone.
    pub availability_zone: At<Ident>,
}

/// A security group.
#[derive(Clone, Debug)]
pub struct SecurityGroup {
    /// Its name and where it is declared.
    pub name: At<Ident>,
    /// Free text.
    pub description: Option<At<Ident>>,
}

/// An instance.
#[derive(Clone, Debug)]
pub struct Instance {
    /// Its name and where it is declared.
    pub name: At<Ident>,
    /// The type as written.
    pub type_name: At<Ident>,
    /// The catalogue entry, when the type exists.
    pub instance_type: Option<&'static InstanceType>,
    /// The image it boots.
    pub image: At<Ident>,
    /// Its primary network interface.
    pub primary_interface: At<Ident>,
    /// `lifecycle.prevent_destroy`, when set.
    pub prevent_destroy: Option<At<bool>>,
    /// `lifecycle.allow_stop`, when set.
    pub allow_stop: Option<At<bool>>,
    /// `root_volume_gb`, when set.
    pub root_volume_gb: Option<At<u32>>,
    /// `bonding`, when set.
    pub bonding: Option<At<bool>>,
}

impl Instance {
    /// Whether the instance is a bare-metal server (unknown types count as not).
    pub fn is_bare_metal(&self) -> bool {
        self.instance_type.is_some_and(InstanceType::is_bare_metal)
    }

    /// Whether `lifecycle.allow_stop` lets a resize stop and restart it.
    pub fn allows_stop(&self) -> bool {
        self.allow_stop.as_ref().is_some_and(|a| a.value)
    }
}

/// A network interface.
#[derive(Clone, Debug)]
pub struct NetworkInterface {
    /// Its name and where it is declared.
    pub name: At<Ident>,
    /// Its subnet.
    pub subnet: At<Ident>,
    /// Free text.
    pub description: Option<At<Ident>>,
    /// Its primary private IP, when pinned.
    pub private_ip: Option<At<Ipv4Addr>>,
    /// Further private IPs, each with its span.
    pub secondary_private_ips: Box<[At<Ipv4Addr>]>,
    /// The span of the whole `secondary_private_ips` list, when given.
    pub secondary_private_ips_span: Option<Span>,
    /// Security group names.
    pub security_groups: Box<[At<Ident>]>,
    /// The span of the `security_groups` list, when given.
    pub security_groups_span: Option<Span>,
    /// Source/destination check (default true) and where it is set.
    pub source_dest_check: Option<At<bool>>,
    /// The instance it is attached to as a secondary interface.
    pub attach_to: Option<At<Ident>>,
}

impl NetworkInterface {
    /// Whether the source/destination check is on (the default).
    pub fn source_dest_check(&self) -> bool {
        self.source_dest_check.as_ref().is_none_or(|c| c.value)
    }

    /// The primary and secondary private IPs given in the file.
    pub fn pinned_ips(&self) -> impl Iterator<Item = &At<Ipv4Addr>> {
        self.private_ip.iter().chain(&self.secondary_private_ips)
    }
}

/// A public IP.
#[derive(Clone, Debug)]
pub struct PublicIp {
    /// Its name and where it is declared.
    pub name: At<Ident>,
    /// The NIC it is associated with.
    pub network_interface: Option<At<Ident>>,
    /// The private IP it maps to, when given.
    pub private_ip: Option<At<Ipv4Addr>>,
}

/// Which backend the plan targets, as far as the rules need to know offline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Whether a NIC may hold secondary private IPs.
    pub multiple_ips: bool,
    /// Where that capability was decided, when the file decided it.
    pub decided_at: Option<Span>,
    /// The backend's name, for messages.
    pub backend: &'static str,
}

impl Default for Capabilities {
    fn default() -> Capabilities {
        Capabilities {
            multiple_ips: true,
            decided_at: None,
            backend: "sim",
        }
    }
}

/// The `settings` block, as given (flags and environment variables override it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `settings.backend.kind`.
    pub backend: Option<crate::spec::BackendKind>,
    /// `settings.backend.path` (sim).
    pub sim_path: Option<String>,
    /// `settings.backend.region` (kakaocloud).
    pub region: Option<String>,
    /// `settings.backend.endpoints` (kakaocloud).
    pub endpoints: Endpoints,
    /// `settings.state.kind`.
    pub state: Option<crate::spec::StateKind>,
    /// `settings.state.path` (local).
    pub state_path: Option<String>,
    /// `settings.state.url` (postgres).
    pub state_url: Option<String>,
    /// `settings.state.name` (postgres).
    pub state_name: Option<String>,
    /// `settings.quotas`, with the platform's defaults where not given.
    pub quotas: Quotas,
    /// `settings.timeouts`, where given.
    pub timeouts: Timeouts,
}

/// The base URLs the file gives for the platform's services, where it gives them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// IAM.
    pub iam: Option<String>,
    /// The VPC service.
    pub vpc: Option<String>,
    /// The Network service.
    pub network: Option<String>,
    /// The BCS service.
    pub bcs: Option<String>,
}

/// One quota: the limit, and where the file sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// How many objects the project may hold.
    pub limit: u32,
    /// The span of the value in `settings.quotas`, when the file sets it.
    pub span: Option<Span>,
    /// The file's limit, when the backend says the project may hold fewer and its
    /// number took the place of the file's.
    pub lowered_from: Option<u32>,
}

/// The project's quotas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotas {
    /// VPCs.
    pub vpcs: Quota,
    /// Subnets.
    pub subnets: Quota,
    /// Instances.
    pub instances: Quota,
}

impl Quotas {
    /// The platform's defaults per project.
    pub const DEFAULT: Quotas = Quotas {
        vpcs: Quota {
            limit: 3,
            span: None,
            lowered_from: None,
        },
        subnets: Quota {
            limit: 30,
            span: None,
            lowered_from: None,
        },
        instances: Quota {
            limit: 500,
            span: None,
            lowered_from: None,
        },
    };
}

impl Quotas {
    /// These quotas, each lowered to the backend's where the backend says the project
    /// may hold fewer: the platform refuses what its own quota does not allow, whatever
    /// the file says.
    pub fn within(self, backend: Option<crate::cloud::CloudQuotas>) -> Quotas {
        let Some(b) = backend else { return self };
        let lower = |q: Quota, limit: u32| {
            if limit < q.limit {
                Quota {
                    limit,
                    span: q.span,
                    lowered_from: Some(q.limit),
                }
            } else {
                q
            }
        };
        Quotas {
            vpcs: lower(self.vpcs, b.vpcs),
            subnets: lower(self.subnets, b.subnets),
            instances: lower(self.instances, b.instances),
        }
    }
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas::DEFAULT
    }
}

/// How long `apply` waits on objects of each kind, where the file says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// VPCs.
    pub vpc: Option<std::time::Duration>,
    /// Subnets.
    pub subnet: Option<std::time::Duration>,
    /// Security groups.
    pub security_group: Option<std::time::Duration>,
    /// Network interfaces.
    pub network_interface: Option<std::time::Duration>,
    /// Instances.
    pub instance: Option<std::time::Duration>,
    /// Public IPs.
    pub public_ip: Option<std::time::Duration>,
}

/// The desired state of a file.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// VPCs by name.
    pub vpcs: IndexMap<Ident, Vpc>,
    /// Subnets by name.
    pub subnets: IndexMap<Ident, Subnet>,
    /// Security groups by name.
    pub security_groups: IndexMap<Ident, SecurityGroup>,
    /// Instances by name.
    pub instances: IndexMap<Ident, Instance>,
    /// Network interfaces by name.
    pub network_interfaces: IndexMap<Ident, NetworkInterface>,
    /// Public IPs by name.
    pub public_ips: IndexMap<Ident, PublicIp>,
    /// What the configured backend can do.
    pub capabilities: Capabilities,
    /// Where state and cloud live, as the file says.
    pub settings: Settings,
    /// (NIC, instance naming it as primary), by NIC, then in file order.
    primaries: Vec<(Ident, Ident)>,
    /// (instance, NIC with `attach_to` naming it), by instance, then in file order.
    secondaries: Vec<(Ident, Ident)>,
}

/// The entries of `pairs` (sorted by their first) whose first is `key`, in order.
fn related<'p>(pairs: &'p [(Ident, Ident)], key: &str) -> &'p [(Ident, Ident)] {
    let start = pairs.partition_point(|(k, _)| k.as_str() < key);
    let len = pairs[start..].partition_point(|(k, _)| k.as_str() == key);
    &pairs[start..start + len]
}

/// One NIC of an instance, and how it is attached.
#[derive(Clone, Copy, Debug)]
pub struct Attachment<'m> {
    /// The interface.
    pub nic: &'m NetworkInterface,
    /// Whether it is the instance's primary interface.
    pub primary: bool,
}

impl Model {
    /// Rebuilds the indexes of who holds which NIC, and gives back the room the maps
    /// were built with; call after changing instances or network interfaces.
    pub fn index(&mut self) {
        self.primaries = self
            .instances
            .values()
            .map(|i| (i.primary_interface.value, i.name.value))
            .collect();
        // Stable: instances of one NIC stay in file order.
        self.primaries.sort_by_key(|(nic, _)| *nic);
        self.secondaries = self
            .network_interfaces
            .values()
            .filter_map(|n| n.attach_to.as_ref().map(|i| (i.value, n.name.value)))
            .collect();
        self.secondaries.sort_by_key(|(instance, _)| *instance);
        self.vpcs.shrink_to_fit();
        self.subnets.shrink_to_fit();
        self.security_groups.shrink_to_fit();
        self.instances.shrink_to_fit();
        self.network_interfaces.shrink_to_fit();
        self.public_ips.shrink_to_fit();
    }

    /// The NICs an instance would hold: its primary (when declared) first, then the
    /// secondary interfaces attached to it, in file order. A NIC that is both the
    /// primary and `attach_to` the same instance is counted once.
    pub fn attachments(&self, instance: &Instance) -> Vec<Attachment<'_>> {
        let primary = &instance.primary_interface.value;
        let mut out = Vec::new();
        if let Some(nic) = self.network_interfaces.get(primary) {
            out.push(Attachment { nic, primary: true });
        }
        for (_, name) in related(&self.secondaries, &instance.name.value) {
            if name != primary
                && let Some(nic) = self.network_interfaces.get(name)
            {
                out.push(Attachment {
                    nic,
                    primary: false,
                });
            }
        }
        out
    }

    /// The subnet of an instance's primary interface, which sets its zone.
    pub fn primary_subnet(&self, instance: &Instance) -> Option<&Subnet> {
        let nic = self
            .network_interfaces
            .get(&instance.primary_interface.value)?;
        self.subnets.get(&nic.subnet.value)
    }

    /// Whether the file declares the resource at `address`.
    pub fn declares(&self, address: &crate::address::Address) -> bool {
        use crate::address::Kind;
        let name = address.name.as_str();
        match address.kind {
            Kind::Vpc => self.vpcs.contains_key(name),
            Kind::Subnet => self.subnets.contains_key(name),
            Kind::SecurityGroup => self.security_groups.contains_key(name),
            Kind::Instance => self.instances.contains_key(name),
            Kind::NetworkInterface => self.network_interfaces.contains_key(name),
            Kind::PublicIp => self.public_ips.contains_key(name),
        }
    }

    /// The instances whose primary interface is `nic`, in file order.
    pub fn primary_of(&self, nic: &str) -> Vec<&Instance> {
        related(&self.primaries, nic)
            .iter()
            .filter_map(|(_, name)| self.instances.get(name))
            .collect()
    }

    /// The instance a NIC belongs to: the one it is primary of, else the one it is
    /// attached to.
    pub fn owner_of(&self, nic: &NetworkInterface) -> Option<&Instance> {
        self.primary_of(&nic.name.value)
            .into_iter()
            .next()
            .or_else(|| {
                nic.attach_to
                    .as_ref()
                    .and_then(|a| self.instances.get(&a.value))
            })
    }
}
