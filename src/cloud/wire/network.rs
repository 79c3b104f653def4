//! The Network service: security groups and public IPs
//! (`https://network.{region}.kakaocloud.com/api/v1`).

use serde::{Deserialize, Serialize};

use super::{listed, wrapped};

/// `POST /security-groups` body model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSecurityGroup {
    /// Name, unique in the project.
    pub name: String,
    /// Description (nicplan's marker in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

wrapped!(
    strict
    /// `POST /security-groups` body.
    CreateSecurityGroupBody,
    "security_group",
    CreateSecurityGroup
);

/// `PUT /security-groups/{id}` body model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditSecurityGroup {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

wrapped!(
    strict
    /// `PUT /security-groups/{id}` body.
    EditSecurityGroupBody,
    "security_group",
    EditSecurityGroup
);

/// The answer to a security group create or update
/// (`BnsNetworkV1Api{Create,Update}SecurityGroupModel...`). nicplan manages no rules,
/// so they stay opaque.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupWritten {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Stateful.
    pub is_stateful: bool,
    /// Description.
    pub description: String,
    /// Rules.
    pub rules: Vec<serde_json::Value>,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

wrapped!(
    /// The answer to a security group create or update.
    SecurityGroupWrittenAnswer,
    "security_group",
    SecurityGroupWritten
);

/// A security group as a get or a list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroup {
    /// ID.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Stateful.
    #[serde(default)]
    pub is_stateful: Option<bool>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Rules.
    #[serde(default)]
    pub rules: Option<Vec<serde_json::Value>>,
    /// Project.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Project name.
    #[serde(default)]
    pub project_name: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

wrapped!(
    /// `GET /security-groups/{id}` answer.
    SecurityGroupAnswer,
    "security_group",
    SecurityGroup
);

listed!(
    /// `GET /security-groups` answer.
    SecurityGroupList,
    "security_groups",
    SecurityGroup
);

/// `POST /public-ips` body model: the address comes from the pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePublicIp {
    /// Description (nicplan's marker in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

wrapped!(
    strict
    /// `POST /public-ips` body.
    CreatePublicIpBody,
    "public_ip",
    CreatePublicIp
);

/// The answer to a public IP create, associate or disassociate
/// (`BnsNetworkV1Api{Create,Associate,Disassociate}PublicIpModel...`): no
/// `related_resource`; after an associate the private IP may not be there yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicIpWritten {
    /// ID.
    pub id: String,
    /// `available`, `attaching` or `in_use`.
    pub status: String,
    /// Description.
    pub description: String,
    /// Project.
    pub project_id: String,
    /// The public address.
    pub public_ip: String,
    /// The private IP it maps to.
    #[serde(default)]
    pub private_ip: Option<String>,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

wrapped!(
    /// The answer to a public IP create, associate or disassociate.
    PublicIpWrittenAnswer,
    "public_ip",
    PublicIpWritten
);

/// What a public IP is associated with: a NIC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedResource {
    /// The NIC's ID.
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its status.
    #[serde(default)]
    pub status: Option<String>,
    /// `network_interface`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Its device owner.
    #[serde(default)]
    pub device_owner: Option<String>,
    /// Its instance.
    #[serde(default)]
    pub device_id: Option<String>,
    /// Its subnet.
    #[serde(default)]
    pub subnet_id: Option<String>,
    /// Its subnet's name.
    #[serde(default)]
    pub subnet_name: Option<String>,
    /// Its subnet's range.
    #[serde(default)]
    pub subnet_cidr: Option<String>,
    /// Its VPC.
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// Its VPC's name.
    #[serde(default)]
    pub vpc_name: Option<String>,
}

/// A public IP as a get or a list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicIp {
    /// ID.
    pub id: String,
    /// `available`, `attaching` or `in_use`.
    #[serde(default)]
    pub status: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Project.
    #[serde(default)]
    pub project_id: Option<String>,
    /// The public address.
    #[serde(default)]
    pub public_ip: Option<String>,
    /// The private IP it maps to.
    #[serde(default)]
    pub private_ip: Option<String>,
    /// The NIC it is associated with.
    #[serde(default)]
    pub related_resource: Option<RelatedResource>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

wrapped!(
    /// `GET /public-ips/{id}` answer.
    PublicIpAnswer,
    "public_ip",
    PublicIp
);

listed!(
    /// `GET /public-ips` answer.
    PublicIpList,
    "public_ips",
    PublicIp
);
