//! Resource addresses: `KIND.NAME`, the key of every resource in state and in a plan.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ident::Ident;

/// The kinds of resource nicplan manages, in dependency order: a kind only refers to
/// kinds before it (a public IP to a NIC, a NIC to a subnet and an instance...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `vpc`
    Vpc,
    /// `subnet`
    Subnet,
    /// `security_group`
    SecurityGroup,
    /// `network_interface`
    NetworkInterface,
    /// `instance`
    Instance,
    /// `public_ip`
    PublicIp,
}

impl Kind {
    /// Every kind, in dependency order.
    pub const ALL: [Kind; 6] = [
        Kind::Vpc,
        Kind::Subnet,
        Kind::SecurityGroup,
        Kind::NetworkInterface,
        Kind::Instance,
        Kind::PublicIp,
    ];

    /// The prefix of addresses of this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Vpc => "vpc",
            Kind::Subnet => "subnet",
            Kind::SecurityGroup => "security_group",
            Kind::NetworkInterface => "network_interface",
            Kind::Instance => "instance",
            Kind::PublicIp => "public_ip",
        }
    }

    /// Objects of the kind in words: `VPCs`, `network interfaces`.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Vpc => "VPCs",
            Kind::Subnet => "subnets",
            Kind::Instance => "instances",
            Kind::SecurityGroup => "security groups",
            Kind::NetworkInterface => "network interfaces",
            Kind::PublicIp => "public IPs",
        }
    }

    /// The kind in words, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Vpc => "VPC",
            Kind::Subnet => "subnet",
            Kind::SecurityGroup => "security group",
            Kind::NetworkInterface => "network interface",
            Kind::Instance => "instance",
            Kind::PublicIp => "public IP",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `KIND.NAME`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    /// The resource's kind.
    pub kind: Kind,
    /// Its name in the file.
    pub name: Ident,
}

impl Address {
    /// The address of `name` of `kind`.
    pub fn new(kind: Kind, name: impl Into<Ident>) -> Address {
        Address {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

/// How many characters of a state's lineage a marker carries.
pub const MARKER_LINEAGE_CHARS: usize = 8;

/// The marker nicplan puts in the description of every object it creates,
/// `[nicplan:LINEAGE/ADDRESS]` (`LINEAGE` cut to its first 8 characters), by which a
/// crashed run's objects are found again.
pub fn marker(lineage: &str, address: &Address) -> String {
    let short: String = lineage.chars().take(MARKER_LINEAGE_CHARS).collect();
    format!("[nicplan:{short}/{address}]")
}

/// The description nicplan gives an object: the user's text, then the marker.
pub fn tagged_description(user: &str, lineage: &str, address: &Address) -> String {
    let marker = marker(lineage, address);
    if user.is_empty() {
        marker
    } else {
        format!("{user} {marker}")
    }
}

/// Why a string is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an address: expected KIND.NAME, KIND one of vpc, subnet, security_group, instance, network_interface, public_ip"
)]
pub struct AddressError(pub String);

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Address, AddressError> {
        let err = || AddressError(s.to_string());
        let (kind, name) = s.split_once('.').ok_or_else(err)?;
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind)
            .ok_or_else(err)?;
        if crate::model::name_problem(name).is_some() {
            return Err(err());
        }
        Ok(Address::new(kind, name))
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Address, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        let a: Address = "network_interface.web-1-eth0".parse().expect("valid");
        assert_eq!(a, Address::new(Kind::NetworkInterface, "web-1-eth0"));
        assert_eq!(a.to_string(), "network_interface.web-1-eth0");
        assert!("nic.web".parse::<Address>().is_err());
        assert!("instance".parse::<Address>().is_err());
        assert!("instance.Web".parse::<Address>().is_err());
    }
}
