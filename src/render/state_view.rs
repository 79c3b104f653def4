//! What the cloud assigned, by address: the value `nicplan show` renders (as text or
//! JSON) from a state, without reading the cloud. Every value comes from the state as
//! the last refresh or apply recorded it; one the state does not hold is `None` (shown
//! as not recorded), never guessed.
//!
//! References between resources are resolved within the state: a NIC's instance, an
//! instance's NICs, a public IP's NIC, each with its cloud ID when the state holds it.
//! A reference to an object nicplan does not manage stays as the state has it
//! (`id:...`).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;

use crate::address::{Address, Kind};
use crate::resource::{Attributes, NicStatus, Status};
use crate::state::State;

/// The whole view: the state it comes from and every resource in address order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Shown {
    /// `"1"`.
    pub format_version: &'static str,
    /// The state's lineage.
    pub lineage: String,
    /// The state's serial.
    pub serial: u64,
    /// Every resource, in address order.
    pub resources: Vec<ShownResource>,
}

/// One resource: its address, its cloud ID and what was assigned to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ShownResource {
    /// `KIND.NAME`.
    pub address: String,
    /// The kind, `network_interface`...
    pub kind: &'static str,
    /// The name in the file.
    pub name: String,
    /// The cloud ID.
    pub id: String,
    /// What the kind holds.
    #[serde(flatten)]
    pub details: Details,
}

/// A reference to another resource: its address as the state names it (or `id:...` for
/// an object nicplan does not manage) and its cloud ID when known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Ref {
    /// `KIND.NAME`, or `id:ID` for an unmanaged object.
    pub address: String,
    /// Its cloud ID: from the state, or the ID of an unmanaged object; `None` when the
    /// state holds no such resource.
    pub id: Option<String>,
}

/// How a NIC is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The instance's primary interface.
    Primary,
    /// A secondary interface.
    Secondary,
}

impl Role {
    /// The word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        }
    }
}

/// A NIC's attachment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Attachment {
    /// The instance.
    pub instance: Ref,
    /// Primary or secondary.
    pub role: Role,
}

/// One NIC of an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct InstanceNic {
    /// The NIC.
    pub network_interface: Ref,
    /// Primary or secondary.
    pub role: Role,
    /// Its primary private IP, when recorded.
    pub private_ip: Option<Ipv4Addr>,
}

/// What each kind holds. Every field is always there (`null` in JSON when not
/// recorded), so the keys of a kind never change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Details {
    /// A VPC.
    Vpc {
        /// Its range.
        cidr_block: Ipv4Net,
    },
    /// A subnet.
    Subnet {
        /// Its VPC.
        vpc: Ref,
        /// Its range.
        cidr_block: Ipv4Net,
        /// Its zone.
        availability_zone: String,
    },
    /// A security group.
    SecurityGroup {
        /// Its description, empty when none.
        description: String,
    },
    /// A network interface.
    NetworkInterface {
        /// Its primary private IP.
        private_ip: Option<Ipv4Addr>,
        /// Its further private IPs.
        secondary_private_ips: Vec<Ipv4Addr>,
        /// Its MAC address.
        mac_address: Option<String>,
        /// The instance it is attached to, and how; `None` when attached to none.
        attachment: Option<Attachment>,
        /// `available` or `in_use`.
        status: Option<NicStatus>,
        /// Its subnet.
        subnet: Ref,
        /// Its security groups.
        security_groups: Vec<Ref>,
        /// The public IPs in state associated with it.
        public_ips: Vec<Ref>,
    },
    /// An instance.
    Instance {
        /// `FAMILY.SIZE`.
        #[serde(rename = "type")]
        instance_type: String,
        /// Its zone.
        availability_zone: Option<String>,
        /// Its lifecycle status.
        status: Option<Status>,
        /// Its NICs in state, primary first.
        network_interfaces: Vec<InstanceNic>,
    },
    /// A public IP.
    PublicIp {
        /// The public address.
        public_ip: Option<Ipv4Addr>,
        /// The NIC it maps to; `None` when associated with none.
        network_interface: Option<Ref>,
        /// The private IP it maps to.
        private_ip: Option<Ipv4Addr>,
    },
}

/// The reference to `name` of `kind`, resolved in `state`.
fn reference(state: &State, kind: Kind, name: &str) -> Ref {
    if let Some(raw) = name.strip_prefix("id:") {
        return Ref {
            address: name.to_string(),
            id: Some(raw.to_string()),
        };
    }
    let address = Address::new(kind, name);
    Ref {
        id: state.resources.get(&address).map(|e| e.id.clone()),
        address: address.to_string(),
    }
}

/// The instance in `state` whose primary interface is the NIC `name`, if any.
fn primary_of<'s>(state: &'s State, name: &str) -> Option<&'s Address> {
    state
        .resources
        .iter()
        .find_map(|(a, e)| match &e.attributes {
            Attributes::Instance(i) if i.primary_interface == name => Some(a),
            _ => None,
        })
}

/// The view of `state`.
pub fn shown(state: &State) -> Shown {
    let resources = state
        .resources
        .iter()
        .map(|(address, entry)| ShownResource {
            address: address.to_string(),
            kind: address.kind.as_str(),
            name: address.name.to_string(),
            id: entry.id.clone(),
            details: details(state, address, &entry.attributes),
        })
        .collect();
    Shown {
        format_version: super::json::FORMAT_VERSION,
        lineage: state.lineage.clone(),
        serial: state.serial,
        resources,
    }
}

/// The JSON Schema of the `show --format json` document of a state.
pub fn schema() -> schemars::Schema {
    schemars::schema_for!(Shown)
}

/// The view as a JSON document, keys in a fixed order, ending in a newline.
pub fn json(shown: &Shown) -> String {
    let mut text = serde_json::to_string_pretty(shown).unwrap_or_default();
    text.push('\n');
    text
}

fn details(state: &State, address: &Address, attributes: &Attributes) -> Details {
    match attributes {
        Attributes::Vpc(v) => Details::Vpc {
            cidr_block: v.cidr_block,
        },
        Attributes::Subnet(s) => Details::Subnet {
            vpc: reference(state, Kind::Vpc, &s.vpc),
            cidr_block: s.cidr_block,
            availability_zone: s.availability_zone.to_string(),
        },
        Attributes::SecurityGroup(g) => Details::SecurityGroup {
            description: g.description.to_string(),
        },
        Attributes::NetworkInterface(n) => {
            let attachment = match (primary_of(state, &address.name), &n.attach_to) {
                (Some(instance), _) => Some(Attachment {
                    instance: reference(state, Kind::Instance, &instance.name),
                    role: Role::Primary,
                }),
                (None, Some(instance)) => Some(Attachment {
                    instance: reference(state, Kind::Instance, instance),
                    role: Role::Secondary,
                }),
                (None, None) => None,
            };
            let public_ips = state
                .resources
                .iter()
                .filter(|(_, e)| {
                    matches!(&e.attributes, Attributes::PublicIp(p)
                        if p.network_interface.as_deref() == Some(address.name.as_str()))
                })
                .map(|(a, e)| Ref {
                    address: a.to_string(),
                    id: Some(e.id.clone()),
                })
                .collect();
            Details::NetworkInterface {
                private_ip: n.private_ip,
                secondary_private_ips: n.secondary_private_ips.to_vec(),
                mac_address: n.mac_address.map(String::from),
                attachment,
                status: n.status,
                subnet: reference(state, Kind::Subnet, &n.subnet),
                security_groups: n
                    .security_groups
                    .iter()
                    .map(|g| reference(state, Kind::SecurityGroup, g))
                    .collect(),
                public_ips,
            }
        }
        Attributes::Instance(i) => {
            let ip_of = |name: &str| match state
                .resources
                .get(&Address::new(Kind::NetworkInterface, name))
                .map(|e| &e.attributes)
            {
                Some(Attributes::NetworkInterface(n)) => n.private_ip,
                _ => None,
            };
            let mut nics = vec![InstanceNic {
                network_interface: reference(state, Kind::NetworkInterface, &i.primary_interface),
                role: Role::Primary,
                private_ip: ip_of(&i.primary_interface),
            }];
            for (a, e) in &state.resources {
                if let Attributes::NetworkInterface(n) = &e.attributes
                    && n.attach_to.as_deref() == Some(address.name.as_str())
                    && a.name != i.primary_interface
                {
                    nics.push(InstanceNic {
                        network_interface: Ref {
                            address: a.to_string(),
                            id: Some(e.id.clone()),
                        },
                        role: Role::Secondary,
                        private_ip: n.private_ip,
                    });
                }
            }
            Details::Instance {
                instance_type: i.instance_type.to_string(),
                availability_zone: i.availability_zone.map(String::from),
                status: i.status,
                network_interfaces: nics,
            }
        }
        Attributes::PublicIp(p) => Details::PublicIp {
            public_ip: p.address,
            network_interface: p
                .network_interface
                .as_deref()
                .map(|n| reference(state, Kind::NetworkInterface, n)),
            private_ip: p.private_ip,
        },
    }
}
