//! Resources as plain values: the attributes of each kind without spans, in the form
//! the planner compares, the state stores and plans show as `before` / `after`.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::address::{Address, Kind};
use crate::ident::{Ident, IdentList};
use crate::model::Model;

/// A VPC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vpc {
    /// Its range.
    pub cidr_block: Ipv4Net,
}

/// A subnet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subnet {
    /// Name of its VPC.
    pub vpc: Ident,
    /// Its range.
    pub cidr_block: Ipv4Net,
    /// Its zone.
    pub availability_zone: Ident,
}

/// A security group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroup {
    /// Free text, empty when none.
    #[serde(default)]
    pub description: Ident,
}

/// The lifecycle of an instance as the cloud reports it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being created, or in a transition the platform does not name; turns `active`
    /// (or back to what it was) on its own.
    Building,
    /// Running.
    Active,
    /// Stopped.
    Stopped,
    /// Shelved and offloaded from its host.
    ShelvedOffloaded,
    /// Broken.
    Error,
    /// Being stopped; turns `stopped`.
    Stopping,
    /// Being started; turns `active`.
    Starting,
    /// Changing flavor; turns `stopped`.
    Resizing,
    /// Being deleted; disappears.
    Deleting,
}

impl Status {
    /// The name the platform uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Building => "building",
            Status::Active => "active",
            Status::Stopped => "stopped",
            Status::ShelvedOffloaded => "shelved_offloaded",
            Status::Error => "error",
            Status::Stopping => "stopping",
            Status::Starting => "starting",
            Status::Resizing => "resizing",
            Status::Deleting => "deleting",
        }
    }

    /// Whether NICs may be attached, detached, or the instance resized.
    pub fn allows_nic_changes(self) -> bool {
        matches!(self, Status::Active | Status::Stopped)
    }

    /// Whether the instance is on its way to another status by itself: a step that
    /// needs it settled waits.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Status::Building
                | Status::Stopping
                | Status::Starting
                | Status::Resizing
                | Status::Deleting
        )
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Status, String> {
        [
            Status::Building,
            Status::Active,
            Status::Stopped,
            Status::ShelvedOffloaded,
            Status::Error,
            Status::Stopping,
            Status::Starting,
            Status::Resizing,
            Status::Deleting,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| {
            format!("`{s}` is not a status: active, stopped, shelved_offloaded, error, building")
        })
    }
}

/// Whether a network interface is in use, as the cloud reports it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NicStatus {
    /// Attached to no instance.
    Available,
    /// Attached to an instance.
    InUse,
}

impl NicStatus {
    /// The name the platform uses.
    pub fn as_str(self) -> &'static str {
        match self {
            NicStatus::Available => "available",
            NicStatus::InUse => "in_use",
        }
    }

    /// Reads the platform's word; `None` for one it does not document.
    pub fn parse(text: &str) -> Option<NicStatus> {
        match text.to_ascii_lowercase().as_str() {
            "available" => Some(NicStatus::Available),
            "in_use" => Some(NicStatus::InUse),
            _ => None,
        }
    }

    /// The status of an interface attached to an instance, or to none.
    pub fn of_attached(attached: bool) -> NicStatus {
        if attached {
            NicStatus::InUse
        } else {
            NicStatus::Available
        }
    }
}

/// An instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    /// `FAMILY.SIZE`.
    #[serde(rename = "type")]
    pub instance_type: Ident,
    /// Its image.
    pub image: Ident,
    /// Name of its primary NIC.
    pub primary_interface: Ident,
    /// `lifecycle.prevent_destroy`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prevent_destroy: bool,
    /// A virtual machine's root volume in GB, as made (none for bare metal, or when not
    /// known: an imported instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume_gb: Option<u32>,
    /// Whether a bare-metal server bonds its network interfaces, as made (none for a
    /// virtual machine, or when not known: an imported server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bonding: Option<bool>,
    /// Its zone (observed; derived from the primary NIC's subnet when desired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<Ident>,
    /// Observed status; never desired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

/// A network interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkInterface {
    /// Name of its subnet.
    pub subnet: Ident,
    /// Free text, empty when none.
    #[serde(default)]
    pub description: Ident,
    /// Its primary private IP: pinned when desired, assigned when observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<Ipv4Addr>,
    /// Further private IPs.
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    pub secondary_private_ips: Box<[Ipv4Addr]>,
    /// Names of its security groups, sorted.
    #[serde(default)]
    pub security_groups: IdentList,
    /// Source/destination check.
    pub source_dest_check: bool,
    /// The instance it is attached to as a secondary interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_to: Option<Ident>,
    /// Observed MAC address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<Ident>,
    /// Observed status; never desired (absent from states written before it was
    /// recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NicStatus>,
}

/// A public IP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicIp {
    /// Name of the NIC it is associated with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_interface: Option<Ident>,
    /// The private IP it maps to: given when desired, actual when observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<Ipv4Addr>,
    /// Observed public address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Ipv4Addr>,
}

/// The attributes of one resource, whatever its kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Attributes {
    /// A VPC.
    Vpc(Vpc),
    /// A subnet.
    Subnet(Subnet),
    /// A security group.
    SecurityGroup(SecurityGroup),
    /// An instance.
    Instance(Instance),
    /// A network interface.
    NetworkInterface(NetworkInterface),
    /// A public IP.
    PublicIp(PublicIp),
}

impl Attributes {
    /// The kind these attributes belong to.
    pub fn kind(&self) -> Kind {
        match self {
            Attributes::Vpc(_) => Kind::Vpc,
            Attributes::Subnet(_) => Kind::Subnet,
            Attributes::SecurityGroup(_) => Kind::SecurityGroup,
            Attributes::Instance(_) => Kind::Instance,
            Attributes::NetworkInterface(_) => Kind::NetworkInterface,
            Attributes::PublicIp(_) => Kind::PublicIp,
        }
    }

    /// Reads the attributes of a resource of `kind` from the text of a JSON object.
    /// The error names what is wrong without a position: the text is a piece of a
    /// larger document, whose positions it does not know.
    pub fn from_json(kind: Kind, text: &str) -> Result<Attributes, String> {
        fn read<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, String> {
            serde_json::from_str(text).map_err(|e| {
                let words = e.to_string();
                let at = format!(" at line {} column {}", e.line(), e.column());
                words
                    .strip_suffix(&at)
                    .map_or(words.clone(), str::to_string)
            })
        }
        Ok(match kind {
            Kind::Vpc => Attributes::Vpc(read(text)?),
            Kind::Subnet => Attributes::Subnet(read(text)?),
            Kind::SecurityGroup => Attributes::SecurityGroup(read(text)?),
            Kind::Instance => Attributes::Instance(read(text)?),
            Kind::NetworkInterface => Attributes::NetworkInterface(read(text)?),
            Kind::PublicIp => Attributes::PublicIp(read(text)?),
        })
    }

    /// Reads the attributes of a resource of `kind` from JSON.
    pub fn from_value(
        kind: Kind,
        value: serde_json::Value,
    ) -> Result<Attributes, serde_json::Error> {
        Ok(match kind {
            Kind::Vpc => Attributes::Vpc(serde_json::from_value(value)?),
            Kind::Subnet => Attributes::Subnet(serde_json::from_value(value)?),
            Kind::SecurityGroup => Attributes::SecurityGroup(serde_json::from_value(value)?),
            Kind::Instance => Attributes::Instance(serde_json::from_value(value)?),
            Kind::NetworkInterface => Attributes::NetworkInterface(serde_json::from_value(value)?),
            Kind::PublicIp => Attributes::PublicIp(serde_json::from_value(value)?),
        })
    }

    /// The attributes as a JSON object, for plans and diffs.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// A virtual machine's root volume when the file gives no size, in GB.
pub const DEFAULT_ROOT_VOLUME_GB: u32 = 50;

/// The desired resources of a model, by address, in address order. Only call on a model
/// without errors: references are taken as they are.
pub fn desired(model: &Model) -> std::collections::BTreeMap<Address, Attributes> {
    desired_with(model, |a| a)
}

/// [`desired`], each value wrapped by `wrap` as it is made (the planner shares them).
pub fn desired_with<T>(
    model: &Model,
    wrap: impl Fn(Attributes) -> T,
) -> std::collections::BTreeMap<Address, T> {
    let mut out = std::collections::BTreeMap::new();
    let mut put = |address: Address, attributes: Attributes| {
        out.insert(address, wrap(attributes));
    };
    for vpc in model.vpcs.values() {
        if let Some(cidr) = &vpc.cidr_block {
            put(
                Address::new(Kind::Vpc, vpc.name.value),
                Attributes::Vpc(Vpc {
                    cidr_block: cidr.value,
                }),
            );
        }
    }
    for subnet in model.subnets.values() {
        if let Some(cidr) = &subnet.cidr_block {
            put(
                Address::new(Kind::Subnet, subnet.name.value),
                Attributes::Subnet(Subnet {
                    vpc: subnet.vpc.value,
                    cidr_block: cidr.value,
                    availability_zone: subnet.availability_zone.value,
                }),
            );
        }
    }
    for group in model.security_groups.values() {
        put(
            Address::new(Kind::SecurityGroup, group.name.value),
            Attributes::SecurityGroup(SecurityGroup {
                description: group
                    .description
                    .as_ref()
                    .map(|d| d.value)
                    .unwrap_or_default(),
            }),
        );
    }
    for instance in model.instances.values() {
        put(
            Address::new(Kind::Instance, instance.name.value),
            Attributes::Instance(Instance {
                instance_type: instance.type_name.value,
                image: instance.image.value,
                primary_interface: instance.primary_interface.value,
                prevent_destroy: instance.prevent_destroy.as_ref().is_some_and(|p| p.value),
                root_volume_gb: (!instance.is_bare_metal()).then(|| {
                    instance
                        .root_volume_gb
                        .as_ref()
                        .map_or(DEFAULT_ROOT_VOLUME_GB, |s| s.value)
                }),
                bonding: instance
                    .is_bare_metal()
                    .then(|| instance.bonding.as_ref().is_some_and(|b| b.value)),
                availability_zone: model
                    .primary_subnet(instance)
                    .map(|s| s.availability_zone.value),
                status: None,
            }),
        );
    }
    for nic in model.network_interfaces.values() {
        let mut groups: Vec<Ident> = nic.security_groups.iter().map(|g| g.value).collect();
        groups.sort();
        groups.dedup();
        put(
            Address::new(Kind::NetworkInterface, nic.name.value),
            Attributes::NetworkInterface(NetworkInterface {
                subnet: nic.subnet.value,
                description: nic
                    .description
                    .as_ref()
                    .map(|d| d.value)
                    .unwrap_or_default(),
                private_ip: nic.private_ip.as_ref().map(|ip| ip.value),
                secondary_private_ips: nic
                    .secondary_private_ips
                    .iter()
                    .map(|ip| ip.value)
                    .collect(),
                security_groups: groups.into(),
                source_dest_check: nic.source_dest_check(),
                attach_to: nic.attach_to.as_ref().map(|a| a.value),
                mac_address: None,
                status: None,
            }),
        );
    }
    for public_ip in model.public_ips.values() {
        put(
            Address::new(Kind::PublicIp, public_ip.name.value),
            Attributes::PublicIp(PublicIp {
                network_interface: public_ip.network_interface.as_ref().map(|n| n.value),
                private_ip: public_ip.private_ip.as_ref().map(|ip| ip.value),
                address: None,
            }),
        );
    }
    out
}
