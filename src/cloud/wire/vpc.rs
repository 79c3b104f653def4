//! The VPC service: VPCs, subnets, network interfaces
//! (`https://vpc.{region}.kakaocloud.com/api/v1`).

use serde::{Deserialize, Serialize};

use super::{listed, wrapped};

/// `POST /vpcs` body model. The platform takes no description.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateVpc {
    /// Name.
    pub name: String,
    /// Range.
    pub cidr_block: String,
    /// A first subnet made with the VPC (nicplan makes subnets on their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<MainSubnet>,
}

/// The first subnet of a VPC create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MainSubnet {
    /// Range.
    pub cidr_block: String,
    /// Zone.
    pub availability_zone: String,
}

wrapped!(
    strict
    /// `POST /vpcs` body.
    CreateVpcBody,
    "vpc",
    CreateVpc
);

/// The answer to `POST /vpcs` (`BnsVpcV1ApiCreateVpcModelVpcModel`): every field set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcCreated {
    /// ID.
    pub id: String,
    /// Project.
    pub project_id: String,
    /// Name.
    pub name: String,
    /// Whether it is the project's default VPC.
    pub is_default: bool,
    /// Region.
    pub region: String,
    /// Range.
    pub cidr_block: String,
    /// `PENDING_CREATE` at first.
    pub provisioning_status: String,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
    /// Always empty: the create takes none.
    pub description: String,
}

wrapped!(
    /// `POST /vpcs` answer.
    VpcCreatedAnswer,
    "vpc",
    VpcCreated
);

/// A VPC as a get or a list shows it (`BnsVpcV1ApiGetVpcModelVpcModel`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    /// ID.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Region.
    #[serde(default)]
    pub region: Option<String>,
    /// Its internet gateway.
    #[serde(default)]
    pub igw: Option<Igw>,
    /// Its default route table.
    #[serde(default)]
    pub default_route_table: Option<RouteTable>,
    /// Project.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Project name.
    #[serde(default)]
    pub project_name: Option<String>,
    /// Range.
    #[serde(default)]
    pub cidr_block: Option<String>,
    /// Whether it is the project's default VPC.
    #[serde(default)]
    pub is_default: Option<bool>,
    /// `ACTIVE`, `PENDING_CREATE`, ...
    #[serde(default)]
    pub provisioning_status: Option<String>,
    /// DNS support.
    #[serde(default)]
    pub is_enable_dns_support: Option<bool>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A VPC's internet gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Igw {
    /// ID.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Region.
    #[serde(default)]
    pub region: Option<String>,
    /// Its NAT address.
    #[serde(default)]
    pub nat_ip: Option<String>,
    /// Project.
    #[serde(default)]
    pub project_id: Option<String>,
    /// `ONLINE`, ...
    #[serde(default)]
    pub operating_status: Option<String>,
    /// `ACTIVE`, ...
    #[serde(default)]
    pub provisioning_status: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A VPC's default route table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    /// ID.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// `ACTIVE`, ...
    #[serde(default)]
    pub provisioning_status: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

wrapped!(
    /// `GET /vpcs/{id}` answer.
    VpcAnswer,
    "vpc",
    Vpc
);

listed!(
    /// `GET /vpcs` answer.
    VpcList,
    "vpcs",
    Vpc
);

/// `POST /subnets` body model. Subnets have no description.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSubnet {
    /// Name.
    pub name: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Range.
    pub cidr_block: String,
    /// Zone.
    pub availability_zone: String,
}

wrapped!(
    strict
    /// `POST /subnets` body.
    CreateSubnetBody,
    "subnet",
    CreateSubnet
);

/// The answer to `POST /subnets` (`BnsVpcV1ApiCreateSubnetModelSubnetModel`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetCreated {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Its VPC.
    pub vpc_id: String,
    /// `PENDING_CREATE` at first.
    pub provisioning_status: String,
    /// Zone.
    pub availability_zone: String,
    /// Range.
    pub cidr_block: String,
    /// Project.
    pub project_id: String,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

wrapped!(
    /// `POST /subnets` answer.
    SubnetCreatedAnswer,
    "subnet",
    SubnetCreated
);

/// A subnet as a get or a list shows it (`BnsVpcV1ApiGetSubnetModelSubnetModel`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    /// ID.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Shared with other projects.
    #[serde(default)]
    pub is_shared: Option<bool>,
    /// Zone.
    #[serde(default)]
    pub availability_zone: Option<String>,
    /// Range.
    #[serde(default)]
    pub cidr_block: Option<String>,
    /// Project.
    #[serde(default)]
    pub project_id: Option<String>,
    /// `ONLINE`, ...
    #[serde(default)]
    pub operating_status: Option<String>,
    /// `ACTIVE`, `PENDING_CREATE`, ...
    #[serde(default)]
    pub provisioning_status: Option<String>,
    /// Its VPC.
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// Its VPC's name.
    #[serde(default)]
    pub vpc_name: Option<String>,
    /// Project name.
    #[serde(default)]
    pub project_name: Option<String>,
    /// Owning project.
    #[serde(default)]
    pub owner_project_id: Option<String>,
    /// Its route table.
    #[serde(default)]
    pub route_table_id: Option<String>,
    /// Its route table's name.
    #[serde(default)]
    pub route_table_name: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

wrapped!(
    /// `GET /subnets/{id}` answer.
    SubnetAnswer,
    "subnet",
    Subnet
);

listed!(
    /// `GET /subnets` answer.
    SubnetList,
    "subnets",
    Subnet
);

/// `POST /network-interfaces` body model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateNic {
    /// Name.
    pub name: String,
    /// Description (nicplan's marker in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A pinned address; assigned when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
    /// Its subnet.
    pub subnet_id: String,
    /// Security group IDs (none means none: no default group is applied).
    pub security_groups: Vec<String>,
}

wrapped!(
    strict
    /// `POST /network-interfaces` body.
    CreateNicBody,
    "network_interface",
    CreateNic
);

/// `PUT /network-interfaces/{id}` body model: only these can change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditNic {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Security group IDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
}

wrapped!(
    strict
    /// `PUT /network-interfaces/{id}` body.
    EditNicBody,
    "network_interface",
    EditNic
);

/// The answer to a NIC create, update or allowed-address-pairs update
/// (`BnsVpcV1Api{Create,Update}NetworkInterfaceModel...`): security groups as ID
/// strings, and no subnet, VPC, pairs or public IP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NicWritten {
    /// ID.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// `available` or `in_use`.
    pub status: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Project.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Whether security groups apply.
    #[serde(default)]
    pub is_network_interface_security_enabled: Option<bool>,
    /// Security group IDs.
    #[serde(default)]
    pub security_groups: Option<Vec<String>>,
    /// MAC address.
    #[serde(default)]
    pub mac_address: Option<String>,
    /// The instance it is attached to.
    #[serde(default)]
    pub device_id: Option<String>,
    /// Primary private IP.
    #[serde(default)]
    pub private_ip: Option<String>,
    /// Secondary private IPs.
    #[serde(default)]
    pub secondary_ips: Option<Vec<String>>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

wrapped!(
    /// The answer to a NIC create, update or allowed-address-pairs update.
    NicWrittenAnswer,
    "network_interface",
    NicWritten
);

/// A security group as a NIC or an instance lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    /// ID.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// An allowed address pair as a read shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressPair {
    /// The MAC address it applies to.
    #[serde(default)]
    pub mac_address: Option<String>,
    /// An address or a CIDR block.
    #[serde(default)]
    pub ip_address: Option<String>,
}

/// A NIC as a get or a list shows it (`BnsVpcV1Api{Get,List}NetworkInterfaceModel...`;
/// the instance's NIC list has the same fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nic {
    /// ID.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// `available` or `in_use`.
    #[serde(default)]
    pub status: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Project.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Its VPC.
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// Its subnet.
    #[serde(default)]
    pub subnet_id: Option<String>,
    /// MAC address.
    #[serde(default)]
    pub mac_address: Option<String>,
    /// The instance it is attached to.
    #[serde(default)]
    pub device_id: Option<String>,
    /// `compute:ZONE` when attached.
    #[serde(default)]
    pub device_owner: Option<String>,
    /// Project name.
    #[serde(default)]
    pub project_name: Option<String>,
    /// Secondary private IPs.
    #[serde(default)]
    pub secondary_ips: Option<Vec<String>>,
    /// The public address mapped to its primary IP.
    #[serde(default)]
    pub public_ip: Option<String>,
    /// Primary private IP.
    #[serde(default)]
    pub private_ip: Option<String>,
    /// Whether security groups apply.
    #[serde(default)]
    pub is_network_interface_security_enabled: Option<bool>,
    /// Allowed address pairs.
    #[serde(default)]
    pub allowed_address_pairs: Option<Vec<AddressPair>>,
    /// Security groups.
    #[serde(default)]
    pub security_groups: Option<Vec<GroupRef>>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

wrapped!(
    /// `GET /network-interfaces/{id}` answer.
    NicAnswer,
    "network_interface",
    Nic
);

listed!(
    /// `GET /network-interfaces` answer, and `GET /instances/{id}/network-interfaces`.
    NicList,
    "network_interfaces",
    Nic
);

/// One allowed address pair to set; `null` clears the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditAddressPair {
    /// An address or a CIDR block, or `null`.
    pub ip_address: Option<String>,
}

/// `PUT /network-interfaces/{id}/allowed-address-pairs` body (no wrapper).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditAddressPairsBody {
    /// The pairs; `[{"ip_address": null}]` clears them, as the official tools do.
    pub allowed_address_pairs: Vec<EditAddressPair>,
}
