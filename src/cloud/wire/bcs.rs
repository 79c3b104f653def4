//! The BCS service: instances and flavors (`https://bcs.{region}.kakaocloud.com/api/v1`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::vpc::GroupRef;
use super::{listed, wrapped};

/// One `subnets` entry of an instance create: the first becomes the primary NIC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceSubnet {
    /// The subnet.
    pub id: String,
    /// A NIC made beforehand to use (then no `private_ip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_interface_id: Option<String>,
    /// An address for a NIC the platform makes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
}

/// One `volumes` entry of an instance create: a VM's root volume, `{size}` alone or
/// made from an image (`{uuid, source_type: "image", size}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// Deleted with the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_delete_on_termination: Option<bool>,
    /// Size in GB.
    pub size: i64,
    /// `image`, `blank` or `volume`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// The source's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// A volume type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_id: Option<String>,
    /// An encryption secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_secret_id: Option<String>,
}

/// A security group by name, as an instance create takes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedGroup {
    /// Name.
    pub name: String,
}

/// `POST /instances` body model (`CreateInstanceModel`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInstance {
    /// Name.
    pub name: String,
    /// Description (nicplan's marker in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// The image.
    pub image_id: String,
    /// The flavor (an ID from `GET /flavors`).
    pub flavor_id: String,
    /// Zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    /// The NICs: the first is the primary.
    pub subnets: Vec<InstanceSubnet>,
    /// A VM's root volume; none for bare metal.
    pub volumes: Vec<Volume>,
    /// Key pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// Security groups by name (not with a NIC made beforehand: it has its own).
    #[serde(default)]
    pub security_groups: Vec<NamedGroup>,
    /// User data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    /// Hyper-threading off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_disable_hyper_threading: Option<bool>,
    /// Bonding, bare metal only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_bonding: Option<bool>,
}

wrapped!(
    strict
    /// `POST /instances` body.
    CreateInstanceBody,
    "instance",
    CreateInstance
);

/// The answer to `POST /instances`: its ID and little else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceCreated {
    /// ID.
    pub id: String,
    /// Security groups by name.
    pub security_groups: Vec<NamedGroup>,
    /// An administrator password, for some images.
    #[serde(default)]
    pub admin_pass: Option<String>,
    /// `MANUAL` or `AUTO`.
    pub disk_config: String,
}

wrapped!(
    /// `POST /instances` answer.
    InstanceCreatedAnswer,
    "instance",
    InstanceCreated
);

/// An instance's flavor, as the instance shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceFlavor {
    /// ID.
    pub id: String,
    /// Name, `FAMILY.SIZE`.
    #[serde(default)]
    pub name: Option<String>,
    /// Group.
    #[serde(default)]
    pub group: Option<String>,
    /// vCPUs.
    #[serde(default)]
    pub vcpus: Option<i64>,
    /// Burstable.
    #[serde(default)]
    pub is_burstable: Option<bool>,
    /// Manufacturer.
    #[serde(default)]
    pub manufacturer: Option<String>,
    /// Memory.
    #[serde(default)]
    pub memory_mb: Option<i64>,
    /// Root disk.
    #[serde(default)]
    pub root_gb: Option<i64>,
    /// Disk type.
    #[serde(default)]
    pub disk_type: Option<String>,
    /// Family.
    #[serde(default)]
    pub instance_family: Option<String>,
    /// Operating systems.
    #[serde(default)]
    pub os_distro: Option<Vec<String>>,
    /// NICs it may hold, primary included.
    #[serde(default)]
    pub maximum_network_interfaces: Option<i64>,
    /// Accelerator type.
    #[serde(default)]
    pub hw_type: Option<String>,
    /// Accelerators.
    #[serde(default)]
    pub hw_count: Option<i64>,
    /// Hyper-threading.
    #[serde(default)]
    pub is_hyper_threading_supported: Option<bool>,
    /// Real vCPUs.
    #[serde(default)]
    pub real_vcpus: Option<i64>,
}

/// One address an instance shows: one NIC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceAddress {
    /// Its private IP.
    #[serde(default)]
    pub private_ip: Option<String>,
    /// Its public IP.
    #[serde(default)]
    pub public_ip: Option<String>,
    /// The NIC.
    #[serde(default)]
    pub network_interface_id: Option<String>,
}

/// An instance's image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// ID.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Owner.
    #[serde(default)]
    pub owner: Option<String>,
    /// Windows.
    #[serde(default)]
    pub is_windows: Option<bool>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<i64>,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
    /// Type.
    #[serde(default)]
    pub image_type: Option<String>,
    /// Disk format.
    #[serde(default)]
    pub disk_format: Option<String>,
    /// `vm`, `bm`, `gpu`.
    #[serde(default)]
    pub instance_type: Option<String>,
    /// Sharing.
    #[serde(default)]
    pub member_status: Option<String>,
    /// Minimum disk.
    #[serde(default)]
    pub min_disk: Option<i64>,
    /// Minimum memory.
    #[serde(default)]
    pub min_memory: Option<i64>,
    /// Administrator account.
    #[serde(default)]
    pub os_admin: Option<String>,
    /// Distribution.
    #[serde(default)]
    pub os_distro: Option<String>,
    /// OS type.
    #[serde(default)]
    pub os_type: Option<String>,
    /// Architecture.
    #[serde(default)]
    pub os_architecture: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A volume attached to an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedVolume {
    /// ID.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
    /// Device.
    #[serde(default)]
    pub mount_point: Option<String>,
    /// Type.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Size in GB.
    #[serde(default)]
    pub size: Option<i64>,
    /// Deleted with the instance.
    #[serde(default)]
    pub is_delete_on_termination: Option<bool>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// The root volume.
    #[serde(default)]
    pub is_root: Option<bool>,
}

/// An instance as a get or a list shows it (`BcsInstanceV1ApiGetInstanceModel...`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// ID.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Flavor.
    #[serde(default)]
    pub flavor: Option<InstanceFlavor>,
    /// Its NICs, primary first.
    #[serde(default)]
    pub addresses: Option<Vec<InstanceAddress>>,
    /// Hyper-threading.
    #[serde(default)]
    pub is_hyper_threading: Option<bool>,
    /// Part of a Hadoop cluster.
    #[serde(default)]
    pub is_hadoop: Option<bool>,
    /// Part of a Kubernetes cluster.
    #[serde(default)]
    pub is_k8se: Option<bool>,
    /// Image.
    #[serde(default)]
    pub image: Option<Image>,
    /// VM state.
    #[serde(default)]
    pub vm_state: Option<String>,
    /// Task in progress.
    #[serde(default)]
    pub task_state: Option<String>,
    /// Power state (`RUNNING`, `SHUTDOWN`...).
    #[serde(default)]
    pub power_state: Option<String>,
    /// `active`, `stopped`, ...
    #[serde(default)]
    pub status: Option<String>,
    /// User.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Project.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Key pair.
    #[serde(default)]
    pub key_name: Option<String>,
    /// Host name.
    #[serde(default)]
    pub hostname: Option<String>,
    /// Zone.
    #[serde(default)]
    pub availability_zone: Option<String>,
    /// Volumes.
    #[serde(default)]
    pub attached_volumes: Option<Vec<AttachedVolume>>,
    /// How many volumes.
    #[serde(default)]
    pub attached_volume_count: Option<i64>,
    /// Security groups.
    #[serde(default)]
    pub security_groups: Option<Vec<GroupRef>>,
    /// How many security groups.
    #[serde(default)]
    pub security_group_count: Option<i64>,
    /// `vm`, `bm`, `gpu`.
    #[serde(default)]
    pub instance_type: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
}

wrapped!(
    /// `GET /instances/{id}` answer.
    InstanceAnswer,
    "instance",
    Instance
);

listed!(
    /// `GET /instances` answer.
    InstanceList,
    "instances",
    Instance
);

/// A flavor by ID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlavorRef {
    /// ID.
    pub id: String,
}

/// `POST /instances/{id}/resize` body. Its answer has no documented shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResizeBody {
    /// The new flavor.
    pub flavor: FlavorRef,
}

/// An address of an attached NIC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedIp {
    /// The address.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// Its subnet.
    #[serde(default)]
    pub subnet_id: Option<String>,
}

/// The answer to `POST /instances/{id}/network-interfaces/{nic}` (attach).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NicAttached {
    /// The NIC.
    pub id: String,
    /// A free-form status.
    pub status: String,
    /// MAC address.
    pub mac_address: String,
    /// Its addresses.
    #[serde(default)]
    pub private_ips: Option<Vec<FixedIp>>,
}

wrapped!(
    /// The answer to an attach.
    NicAttachedAnswer,
    "network_interface",
    NicAttached
);

/// A flavor as the flavor list and get show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flavor {
    /// ID.
    pub id: String,
    /// Name, `FAMILY.SIZE`.
    #[serde(default)]
    pub name: Option<String>,
    /// vCPUs.
    #[serde(default)]
    pub vcpus: Option<i64>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Burstable.
    #[serde(default)]
    pub is_burstable: Option<bool>,
    /// Architecture.
    #[serde(default)]
    pub architecture: Option<String>,
    /// Manufacturer.
    #[serde(default)]
    pub manufacturer: Option<String>,
    /// Group.
    #[serde(default)]
    pub group: Option<String>,
    /// `vm`, `bm` or `gpu`.
    #[serde(default)]
    pub instance_type: Option<String>,
    /// Processor.
    #[serde(default)]
    pub processor: Option<String>,
    /// Memory.
    #[serde(default)]
    pub memory_mb: Option<i64>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Updated.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Zones offering it.
    #[serde(default)]
    pub availability_zone: Option<Vec<String>>,
    /// How many are available, per zone.
    #[serde(default)]
    pub available: Option<BTreeMap<String, i64>>,
    /// Family.
    #[serde(default)]
    pub instance_family: Option<String>,
    /// Size.
    #[serde(default)]
    pub instance_size: Option<String>,
    /// Disk type.
    #[serde(default)]
    pub disk_type: Option<String>,
    /// Root disk.
    #[serde(default)]
    pub root_gb: Option<i64>,
    /// Operating system.
    #[serde(default)]
    pub os_distro: Option<String>,
    /// Accelerators.
    #[serde(default)]
    pub hw_count: Option<i64>,
    /// Accelerator type.
    #[serde(default)]
    pub hw_type: Option<String>,
    /// Accelerator name.
    #[serde(default)]
    pub hw_name: Option<String>,
    /// NICs it may hold, primary included.
    #[serde(default)]
    pub maximum_network_interfaces: Option<i64>,
    /// Hyper-threading off.
    #[serde(default)]
    pub is_hyper_threading_disabled: Option<bool>,
    /// Hyper-threading.
    #[serde(default)]
    pub is_hyper_threading_supported: Option<bool>,
    /// Hyper-threading may be turned off.
    #[serde(default)]
    pub is_hyper_threading_disable_supported: Option<bool>,
}

wrapped!(
    /// `GET /flavors/{id}` answer.
    FlavorAnswer,
    "flavor",
    Flavor
);

listed!(
    /// `GET /flavors` answer.
    FlavorList,
    "flavors",
    Flavor
);
