//! What the cloud holds outside the state: objects nicplan does not manage (made by
//! hand, by another tool, by another state, or forgotten with `state rm`) that still
//! take part in the platform's rules. An unmanaged NIC holds its address and counts
//! against its instance's limit; an unmanaged subnet holds its range; an unmanaged
//! public IP holds its mapping; every unmanaged VPC, subnet and instance counts against
//! the project's quotas; an unmanaged security group holds its name.
//!
//! The refresh builds this from the same bulk reads as the state, so `plan()` stays
//! pure: it is one more input, like the state. References are names where the object
//! referred to is managed, and `id:ID` where it is not (as the refresh writes them).

use serde::{Deserialize, Serialize};

/// A VPC outside the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutsideVpc {
    /// Cloud ID.
    pub id: String,
    /// Its name in the cloud.
    pub name: String,
    /// Its range.
    pub cidr_block: ipnet::Ipv4Net,
}

/// A subnet outside the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutsideSubnet {
    /// Cloud ID.
    pub id: String,
    /// Its name in the cloud.
    pub name: String,
    /// Its VPC: a managed VPC's name, or `id:ID`.
    pub vpc: String,
    /// Its range.
    pub cidr_block: ipnet::Ipv4Net,
    /// Its zone.
    pub availability_zone: String,
}

/// An instance outside the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutsideInstance {
    /// Cloud ID.
    pub id: String,
    /// Its name in the cloud.
    pub name: String,
    /// Its flavor, `FAMILY.SIZE`.
    pub flavor: String,
    /// Its primary NIC: a managed NIC's name, or `id:ID`.
    pub primary_interface: String,
}

/// A network interface outside the state, in a managed subnet, attached to a managed
/// instance or in a managed security group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutsideNic {
    /// Cloud ID.
    pub id: String,
    /// Its name in the cloud.
    pub name: String,
    /// Its subnet: a managed subnet's name, or `id:ID`.
    pub subnet: String,
    /// Every private IP it holds, primary first.
    pub ips: Vec<std::net::Ipv4Addr>,
    /// Security group names (`id:ID` for unmanaged ones).
    pub security_groups: Vec<String>,
    /// The instance it is attached to (a managed instance's name, or `id:ID`), and
    /// whether as that instance's primary interface.
    pub attached: Option<(String, bool)>,
}

/// A public IP outside the state, associated with a NIC the plan may touch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutsidePublicIp {
    /// Cloud ID.
    pub id: String,
    /// The public address.
    pub address: std::net::Ipv4Addr,
    /// The NIC it is associated with: a managed NIC's name, or `id:ID`.
    pub network_interface: String,
    /// The private IP it maps to, when known.
    pub private_ip: Option<std::net::Ipv4Addr>,
}

/// A security group outside the state: its name is taken in the project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutsideSecurityGroup {
    /// Cloud ID.
    pub id: String,
    /// Its name in the cloud.
    pub name: String,
}

/// Everything outside the state that the plan must respect.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outside {
    /// Whether the cloud was read at all. `false` for `nicplan diff` and
    /// `--refresh=false`: the plan then knows only the state, and says so.
    pub observed: bool,
    /// Every VPC of the project outside the state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vpcs: Vec<OutsideVpc>,
    /// Every subnet of the project outside the state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<OutsideSubnet>,
    /// Every instance of the project outside the state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<OutsideInstance>,
    /// NICs outside the state in managed subnets, on managed instances or in managed
    /// security groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nics: Vec<OutsideNic>,
    /// Public IPs outside the state on NICs of `nics` or managed NICs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_ips: Vec<OutsidePublicIp>,
    /// Security groups outside the state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<OutsideSecurityGroup>,
    /// The project's quotas as the backend tells them, where it can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotas: Option<crate::cloud::CloudQuotas>,
}

impl Outside {
    /// Nothing known: the cloud was not read.
    pub fn unknown() -> Outside {
        Outside::default()
    }

    /// The cloud was read and holds nothing outside the state.
    pub fn empty() -> Outside {
        Outside {
            observed: true,
            ..Outside::default()
        }
    }
}

/// A name nicplan could give a cloud object in the file: the cloud's name lower-cased,
/// every other character a `-`, cut to 63 characters; `fallback` when nothing is left.
pub fn suggested_name(cloud_name: &str, fallback: &str) -> String {
    let mut out: String = cloud_name
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = out.trim_start_matches(['-', '_']).to_string();
    out = trimmed.chars().take(63).collect();
    if out.is_empty() {
        fallback.to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::suggested_name;

    #[test]
    fn names_are_made_valid() {
        assert_eq!(suggested_name("Legacy NIC", "x"), "legacy-nic");
        assert_eq!(suggested_name("--db", "x"), "db");
        assert_eq!(suggested_name("", "nic-000001"), "nic-000001");
        assert_eq!(suggested_name(&"a".repeat(80), "x").len(), 63);
    }
}
