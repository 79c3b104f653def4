//! The cloud, as nicplan sees it: a trait with one method per platform call, and the
//! objects it returns, named by cloud ID. Implemented by the embedded simulator (`sim`)
//! and, with credentials, by the KakaoCloud REST API.
//!
//! Objects nicplan creates carry a marker in their description, `[nicplan:LINEAGE/ADDR]`,
//! so the objects of a run that crashed before recording them are found again instead of
//! created twice. VPCs and subnets take no description on the platform; a backend
//! recognises them after a lost answer by what identifies them (name, CIDR, zone, VPC).

pub mod kakaocloud;
pub mod serve;
pub mod sim;
pub mod wire;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::resource::Status;

/// Where a VPC or a subnet is in its life (`provisioning_status`): created and deleted
/// asynchronously, usable only when `ACTIVE`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Provisioning {
    /// Ready.
    #[default]
    Active,
    /// Being created.
    PendingCreate,
    /// Being changed.
    PendingUpdate,
    /// Being deleted.
    PendingDelete,
    /// Gone.
    Deleted,
    /// Broken.
    Error,
}

impl Provisioning {
    /// The platform's word, `ACTIVE`, `PENDING_CREATE`...
    pub fn as_str(self) -> &'static str {
        match self {
            Provisioning::Active => "ACTIVE",
            Provisioning::PendingCreate => "PENDING_CREATE",
            Provisioning::PendingUpdate => "PENDING_UPDATE",
            Provisioning::PendingDelete => "PENDING_DELETE",
            Provisioning::Deleted => "DELETED",
            Provisioning::Error => "ERROR",
        }
    }

    /// Reads the platform's word; anything unknown is taken as a change in progress.
    pub fn parse(text: &str) -> Provisioning {
        match text.to_ascii_uppercase().as_str() {
            "ACTIVE" => Provisioning::Active,
            "PENDING_UPDATE" => Provisioning::PendingUpdate,
            "PENDING_DELETE" => Provisioning::PendingDelete,
            "DELETED" => Provisioning::Deleted,
            "ERROR" => Provisioning::Error,
            _ => Provisioning::PendingCreate,
        }
    }
}

/// Where a public IP is: free, being mapped, mapped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicIpStatus {
    /// Not associated.
    #[default]
    Available,
    /// Associated, the mapping not in place yet.
    Attaching,
    /// Associated and mapped.
    InUse,
}

impl PublicIpStatus {
    /// The platform's word.
    pub fn as_str(self) -> &'static str {
        match self {
            PublicIpStatus::Available => "available",
            PublicIpStatus::Attaching => "attaching",
            PublicIpStatus::InUse => "in_use",
        }
    }
}

/// A VPC as the cloud holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudVpc {
    /// Cloud ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description (the platform takes none at creation: empty for nicplan's VPCs).
    #[serde(default)]
    pub description: String,
    /// Range.
    pub cidr_block: Ipv4Net,
    /// Where it is in its life.
    #[serde(default)]
    pub status: Provisioning,
}

/// A subnet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudSubnet {
    /// Cloud ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Its VPC's ID.
    pub vpc_id: String,
    /// Range.
    pub cidr_block: Ipv4Net,
    /// Zone.
    pub availability_zone: String,
    /// Where it is in its life.
    #[serde(default)]
    pub status: Provisioning,
}

/// A security group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudSecurityGroup {
    /// Cloud ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
}

/// An instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudInstance {
    /// Cloud ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Flavor, `FAMILY.SIZE`.
    pub flavor: String,
    /// Image.
    pub image: String,
    /// Zone.
    pub availability_zone: String,
    /// Status.
    pub status: Status,
    /// ID of its primary NIC.
    pub primary_nic_id: String,
    /// The NICs the instance itself shows (its `addresses`), primary first: an attach
    /// or a detach is done when it shows here. Filled on reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attached_nic_ids: Vec<String>,
}

/// A network interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudNic {
    /// Cloud ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Its subnet's ID.
    pub subnet_id: String,
    /// Primary private IP.
    pub private_ip: Ipv4Addr,
    /// Secondary private IPs.
    pub secondary_ips: Vec<Ipv4Addr>,
    /// Security group IDs.
    pub security_group_ids: Vec<String>,
    /// Source/destination check (mapped to allowed address pairs on the real platform).
    pub source_dest_check: bool,
    /// The instance it is attached to, primary or secondary.
    pub device_id: Option<String>,
    /// MAC address.
    pub mac_address: String,
    /// `available` or `in_use` as the platform reports it, where that is not what
    /// `device_id` says (an attach or detach under way); none otherwise, and always for
    /// the simulator, whose status follows from `device_id` (see [`CloudNic::status`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_status: Option<crate::resource::NicStatus>,
}

impl CloudNic {
    /// Its status: as reported, else in use exactly when attached.
    pub fn status(&self) -> crate::resource::NicStatus {
        self.reported_status
            .unwrap_or_else(|| crate::resource::NicStatus::of_attached(self.device_id.is_some()))
    }
}

/// A public IP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudPublicIp {
    /// Cloud ID.
    pub id: String,
    /// Description.
    pub description: String,
    /// The public address.
    pub address: Ipv4Addr,
    /// The NIC it is associated with.
    pub nic_id: Option<String>,
    /// The private IP it maps to.
    pub private_ip: Option<Ipv4Addr>,
    /// Free, being mapped, mapped.
    #[serde(default)]
    pub status: PublicIpStatus,
}

/// Everything the cloud holds, by ID.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// VPCs.
    pub vpcs: BTreeMap<String, CloudVpc>,
    /// Subnets.
    pub subnets: BTreeMap<String, CloudSubnet>,
    /// Security groups.
    pub security_groups: BTreeMap<String, CloudSecurityGroup>,
    /// Instances.
    pub instances: BTreeMap<String, CloudInstance>,
    /// Network interfaces.
    pub nics: BTreeMap<String, CloudNic>,
    /// Public IPs.
    pub public_ips: BTreeMap<String, CloudPublicIp>,
    /// The project's quotas, where the backend can tell them (the simulator can; the
    /// platform's API has no call for them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotas: Option<CloudQuotas>,
}

/// How many objects of each counted kind the project may hold, as the backend says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudQuotas {
    /// VPCs.
    pub vpcs: u32,
    /// Subnets.
    pub subnets: u32,
    /// Instances.
    pub instances: u32,
}

/// What to create: a NIC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicRequest {
    /// Name.
    pub name: String,
    /// Description (with marker).
    pub description: String,
    /// Subnet ID.
    pub subnet_id: String,
    /// Pinned primary IP, or `None` to have one assigned.
    pub private_ip: Option<Ipv4Addr>,
    /// Secondary IPs.
    pub secondary_ips: Vec<Ipv4Addr>,
    /// Security group IDs.
    pub security_group_ids: Vec<String>,
    /// Source/destination check.
    pub source_dest_check: bool,
}

/// What to change on a NIC in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicUpdate {
    /// Description (with marker).
    pub description: String,
    /// Security group IDs.
    pub security_group_ids: Vec<String>,
    /// Source/destination check.
    pub source_dest_check: bool,
    /// Secondary IPs.
    pub secondary_ips: Vec<Ipv4Addr>,
}

/// What to create: an instance around an existing, unattached primary NIC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceRequest {
    /// Name.
    pub name: String,
    /// Description (with marker).
    pub description: String,
    /// Flavor, `FAMILY.SIZE`.
    pub flavor: String,
    /// Image.
    pub image: String,
    /// The primary NIC's ID.
    pub primary_nic_id: String,
    /// A virtual machine's root volume in GB (bare metal takes none).
    pub root_volume_gb: u32,
    /// A bare-metal server bonds its network interfaces.
    pub bonding: bool,
}

/// A refused or failed call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    /// The platform refused the call (a 4xx): retrying will not help.
    #[error("{0}")]
    Rejected(String),
    /// No object with that ID.
    #[error("{kind} {id} does not exist")]
    NotFound {
        /// What was looked for.
        kind: &'static str,
        /// Its ID.
        id: String,
    },
    /// The backend cannot be reached or failed (a 5xx, a timeout, a broken file).
    #[error("{0}")]
    Unavailable(String),
}

/// Where a backend tells what it does beyond answering, one line at a time: a call it
/// repeats because the platform was busy or out of reach.
pub type Notices = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// One platform, one set of calls. Every call checks the platform's own rules.
pub trait Cloud: Send + Sync {
    /// The backend's name, `sim` or `kakaocloud`.
    fn name(&self) -> &'static str;
    /// Which cloud this is, in words that tell two apart and hold no secret: the
    /// backend's name and where it is (a simulator's file, the platform's URLs). A
    /// saved plan records it, and is applied only to the same.
    fn target(&self) -> String {
        self.name().to_string()
    }
    /// Which cloud this is, for a person reading a command's last line: as
    /// [`Cloud::target`], and for a simulator that nothing real is touched.
    fn described(&self) -> String {
        self.target()
    }
    /// Sends what the backend tells from now on to `notices` instead of standard error.
    /// A backend that has nothing to tell ignores it.
    fn set_notices(&self, _notices: Notices) {}
    /// The IDs of the VPCs named `name` with block `cidr`, for telling the one a create
    /// makes from those that were there before.
    fn vpcs_like(&self, name: &str, cidr: Ipv4Net) -> Result<Vec<String>, CloudError> {
        Ok(self
            .inventory()?
            .vpcs
            .values()
            .filter(|v| v.name == name && v.cidr_block == cidr)
            .map(|v| v.id.clone())
            .collect())
    }
    /// The IDs of the subnets of VPC `vpc_id` named `name` with block `cidr` in `zone`.
    fn subnets_like(
        &self,
        name: &str,
        vpc_id: &str,
        cidr: Ipv4Net,
        zone: &str,
    ) -> Result<Vec<String>, CloudError> {
        Ok(self
            .inventory()?
            .subnets
            .values()
            .filter(|s| {
                s.name == name
                    && s.vpc_id == vpc_id
                    && s.cidr_block == cidr
                    && s.availability_zone == zone
            })
            .map(|s| s.id.clone())
            .collect())
    }
    /// Why this backend could not have made `id` for an object of `kind`, if it could
    /// not: a state written against another backend, or edited by hand.
    fn id_problem(&self, _kind: crate::address::Kind, _id: &str) -> Option<String> {
        None
    }
    /// Whether a NIC may hold several private IPs.
    fn multiple_ips(&self) -> bool;

    /// Everything, in bulk reads.
    fn inventory(&self) -> Result<Inventory, CloudError>;
    /// One instance, for waiting on its status.
    fn instance(&self, id: &str) -> Result<CloudInstance, CloudError>;
    /// One VPC, for waiting on its provisioning.
    fn vpc(&self, id: &str) -> Result<CloudVpc, CloudError>;
    /// One subnet, for waiting on its provisioning.
    fn subnet(&self, id: &str) -> Result<CloudSubnet, CloudError>;
    /// One security group, for waiting on its deletion.
    fn security_group(&self, id: &str) -> Result<CloudSecurityGroup, CloudError>;
    /// One NIC, for waiting on its deletion (and finding a primary NIC left behind).
    fn nic(&self, id: &str) -> Result<CloudNic, CloudError>;
    /// One public IP, for waiting on its mapping.
    fn public_ip(&self, id: &str) -> Result<CloudPublicIp, CloudError>;

    /// Creates a VPC (the platform takes no description for one).
    fn create_vpc(&self, name: &str, cidr: Ipv4Net) -> Result<CloudVpc, CloudError>;
    /// Deletes a VPC without subnets.
    fn delete_vpc(&self, id: &str) -> Result<(), CloudError>;
    /// Creates a subnet (subnets have no description).
    fn create_subnet(
        &self,
        name: &str,
        vpc_id: &str,
        cidr: Ipv4Net,
        zone: &str,
    ) -> Result<CloudSubnet, CloudError>;
    /// Deletes a subnet without NICs.
    fn delete_subnet(&self, id: &str) -> Result<(), CloudError>;
    /// Creates a security group.
    fn create_security_group(
        &self,
        name: &str,
        description: &str,
    ) -> Result<CloudSecurityGroup, CloudError>;
    /// Changes a security group's description.
    fn update_security_group(
        &self,
        id: &str,
        description: &str,
    ) -> Result<CloudSecurityGroup, CloudError>;
    /// Deletes a security group no NIC uses.
    fn delete_security_group(&self, id: &str) -> Result<(), CloudError>;
    /// Creates an unattached NIC.
    fn create_nic(&self, request: &NicRequest) -> Result<CloudNic, CloudError>;
    /// Changes a NIC in place.
    fn update_nic(&self, id: &str, update: &NicUpdate) -> Result<CloudNic, CloudError>;
    /// Deletes an unattached NIC without public IP.
    fn delete_nic(&self, id: &str) -> Result<(), CloudError>;
    /// Creates an instance with an existing NIC as its primary; it starts `building`.
    fn create_instance(&self, request: &InstanceRequest) -> Result<CloudInstance, CloudError>;
    /// Changes a stopped instance's flavor; it stays stopped.
    fn resize_instance(&self, id: &str, flavor: &str) -> Result<CloudInstance, CloudError>;
    /// Stops a running instance.
    fn stop_instance(&self, id: &str) -> Result<(), CloudError>;
    /// Starts a stopped instance.
    fn start_instance(&self, id: &str) -> Result<(), CloudError>;
    /// Deletes an instance; its secondary NICs become unattached, and its primary NIC
    /// may or may not go with it (no source says).
    fn delete_instance(&self, id: &str) -> Result<(), CloudError>;
    /// Attaches a NIC as a secondary interface.
    fn attach_nic(&self, instance_id: &str, nic_id: &str) -> Result<(), CloudError>;
    /// Detaches a secondary NIC.
    fn detach_nic(&self, instance_id: &str, nic_id: &str) -> Result<(), CloudError>;
    /// Allocates a public IP.
    fn create_public_ip(&self, description: &str) -> Result<CloudPublicIp, CloudError>;
    /// Maps a public IP to a private IP of a NIC.
    fn associate_public_ip(
        &self,
        id: &str,
        nic_id: &str,
        private_ip: Option<Ipv4Addr>,
    ) -> Result<CloudPublicIp, CloudError>;
    /// Removes a public IP's mapping.
    fn disassociate_public_ip(&self, id: &str, nic_id: &str) -> Result<(), CloudError>;
    /// Releases an unassociated public IP.
    fn delete_public_ip(&self, id: &str) -> Result<(), CloudError>;
}

/// The description nicplan gives an object: the user's text, then the marker.
pub fn tag_description(user: &str, lineage: &str, address: &Address) -> String {
    crate::address::tagged_description(user, lineage, address)
}

/// Splits a description into the user's text and the marker's lineage prefix and
/// address, when it has a marker.
pub fn untag_description(description: &str) -> (String, Option<(String, Address)>) {
    let Some(start) = description.rfind("[nicplan:") else {
        return (description.to_string(), None);
    };
    let Some(inner) = description[start..]
        .strip_prefix("[nicplan:")
        .and_then(|s| s.strip_suffix(']'))
    else {
        return (description.to_string(), None);
    };
    let Some((lineage, address)) = inner.split_once('/') else {
        return (description.to_string(), None);
    };
    let Ok(address) = address.parse::<Address>() else {
        return (description.to_string(), None);
    };
    let user = description[..start].trim_end().to_string();
    (user, Some((lineage.to_string(), address)))
}

/// Whether `id` has the form of the platform's IDs: a UUID of version 1 to 5 and the
/// RFC 4122 variant, in either case, as the platform's Terraform provider checks them.
pub fn is_platform_id(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    let [a, b, c, d, e] = groups.as_slice() else {
        return false;
    };
    let hex = |g: &str, len: usize| g.len() == len && g.chars().all(|ch| ch.is_ascii_hexdigit());
    hex(a, 8)
        && hex(b, 4)
        && hex(c, 4)
        && hex(d, 4)
        && hex(e, 12)
        && matches!(c.as_bytes()[0], b'1'..=b'5')
        && matches!(
            d.as_bytes()[0].to_ascii_lowercase(),
            b'8' | b'9' | b'a' | b'b'
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Kind;

    #[test]
    fn platform_ids_are_uuids_of_the_rfc_variant() {
        for id in [
            "3f2a9c1e-7b4d-4e21-9a3c-5d0e1f2a3b4c",
            "3F2A9C1E-7B4D-1E21-BA3C-5D0E1F2A3B4C",
        ] {
            assert!(is_platform_id(id), "{id}");
        }
        for id in [
            "vpc-000001",
            "",
            "3f2a9c1e-7b4d-6e21-9a3c-5d0e1f2a3b4c",
            "3f2a9c1e-7b4d-4e21-7a3c-5d0e1f2a3b4c",
            "3f2a9c1e-7b4d-4e21-9a3c-5d0e1f2a3b4",
            "3f2a9c1e7b4d4e219a3c5d0e1f2a3b4c",
            "3f2a9c1e-7b4d-4e21-9a3c-5d0e1f2a3b4g",
            "3f2a9c1e-7b4d-4e21-9a3c-5d0e1f2a3b4c-1",
        ] {
            assert!(!is_platform_id(id), "{id}");
        }
    }

    #[test]
    fn descriptions_carry_and_give_back_the_address() {
        let address = Address::new(Kind::NetworkInterface, "web-1-eth0");
        let tagged = tag_description("web tier", "0123456789abcdef", &address);
        assert_eq!(
            tagged,
            "web tier [nicplan:01234567/network_interface.web-1-eth0]"
        );
        assert_eq!(
            untag_description(&tagged),
            (
                "web tier".to_string(),
                Some(("01234567".to_string(), address))
            )
        );
        let bare = tag_description("", "0123456789abcdef", &address);
        assert_eq!(untag_description(&bare).0, "");
        assert_eq!(untag_description("plain").1, None);
        assert_eq!(untag_description("x [nicplan:broken]").1, None);
    }
}
