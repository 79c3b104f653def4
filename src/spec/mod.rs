//! The desired-state file as written: types that mirror the YAML one to one and keep the
//! span of every value, so later stages can point back at the exact line.
//!
//! Nothing here interprets a value beyond its YAML type: IPs, CIDRs and names stay
//! strings until `model` parses them, so every malformed value of a file is reported in
//! one run instead of only the first.

pub(crate) mod load;
mod shape;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

pub use load::{Head, MAX_FILE_BYTES, Sink, load, read};

use crate::ident::Ident;
use crate::source::{At, Span};

/// A YAML value with the byte span it was read from. serde-saphyr reads it as its
/// `Spanned`, which carries two full locations (line, column, offsets: 56 bytes); only
/// the span of the value is kept, which halves the memory of a parsed file.
pub type Sp<T> = At<T>;

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<At<T>, D::Error> {
        let spanned = Spanned::<T>::deserialize(deserializer)?;
        let span = spanned.referenced.span();
        let span = match (span.byte_offset(), span.byte_len()) {
            (Some(offset), Some(len)) => Span::new(to_usize(offset), to_usize(len)),
            _ => Span::default(),
        };
        Ok(At::new(spanned.value, span))
    }
}

/// Written as the value alone (the JSON Schema shows an optional field's default by
/// writing it).
impl<T: serde::Serialize> serde::Serialize for At<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

/// The byte span of a spanned YAML value.
pub fn span_of<T>(value: &Sp<T>) -> Span {
    value.span
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A spanned YAML value as the model's `At`.
pub fn at<T: Clone>(value: &Sp<T>) -> At<T> {
    value.clone()
}

/// A spanned YAML string as an interned name with its span.
pub fn ident(value: &Sp<String>) -> At<Ident> {
    At::new(Ident::new(&value.value), value.span)
}

/// A resource name as a map key or a reference: kept verbatim, checked by `model`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct Name(pub Sp<String>);

impl Name {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0.value
    }

    /// The name, interned, with its span.
    pub fn at(&self) -> At<Ident> {
        ident(&self.0)
    }
}

impl JsonSchema for Name {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Name".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A resource name: 1 to 63 characters of a-z 0-9 - _, starting with a letter or digit.",
            "pattern": "^[a-z0-9][a-z0-9_-]{0,62}$"
        })
    }
}

/// A map of resources of one kind, in file order.
pub type Resources<T> = IndexMap<Name, T>;

fn version_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "The format version; only 1 exists.",
        "type": "integer",
        "const": 1
    })
}

/// A whole desired-state file (format version 1).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "nicplan desired-state file")]
pub struct File {
    /// The format version: 1.
    #[schemars(schema_with = "version_schema")]
    pub version: Sp<i64>,
    /// Where state and cloud objects live; flags and environment variables override it.
    #[serde(default)]
    pub settings: Option<Settings>,
    /// Virtual private clouds.
    #[serde(default)]
    pub vpcs: Option<Resources<Vpc>>,
    /// Subnets, one availability zone each.
    #[serde(default)]
    pub subnets: Option<Resources<Subnet>>,
    /// Security groups, referred to by network interfaces.
    #[serde(default)]
    pub security_groups: Option<Resources<Option<SecurityGroup>>>,
    /// Instances; each is created with its primary network interface.
    #[serde(default)]
    pub instances: Option<Resources<Instance>>,
    /// Network interfaces, primary and secondary.
    #[serde(default)]
    pub network_interfaces: Option<Resources<NetworkInterface>>,
    /// Public IPs, associated with a network interface's private IP.
    #[serde(default)]
    pub public_ips: Option<Resources<Option<PublicIp>>>,
}

/// Defaults for the backend and the state store.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The cloud backend.
    #[serde(default)]
    pub backend: Option<BackendSettings>,
    /// The state store.
    #[serde(default)]
    pub state: Option<StateSettings>,
    /// The project's quotas, when the platform raised them above its defaults.
    #[serde(default)]
    pub quotas: Option<QuotaSettings>,
    /// How long `apply` waits for the platform to finish a change, per kind of object.
    #[serde(default)]
    pub timeouts: Option<TimeoutSettings>,
}

/// The `settings.quotas` block: how many objects the project may hold.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaSettings {
    /// VPCs per project (the platform's default: 3).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub vpcs: Option<Sp<u32>>,
    /// Subnets per project (the platform's default: 30).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub subnets: Option<Sp<u32>>,
    /// Instances per project (the platform's default: 500).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub instances: Option<Sp<u32>>,
}

/// The `settings.timeouts` block: durations such as `90s`, `10m` or `1h`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeoutSettings {
    /// A VPC turning ACTIVE or going away (default 10m).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub vpc: Option<Sp<String>>,
    /// A subnet turning ACTIVE or going away (default 10m).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub subnet: Option<Sp<String>>,
    /// A security group going away (default 5m).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub security_group: Option<Sp<String>>,
    /// A network interface going away, or showing on its instance (default 5m).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub network_interface: Option<Sp<String>>,
    /// An instance building, stopping, starting, resizing or going away (default 15m).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub instance: Option<Sp<String>>,
    /// A public IP turning in_use or available, or going away (default 5m).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub public_ip: Option<Sp<String>>,
}

/// Which cloud the plan is applied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The embedded simulator.
    Sim,
    /// The KakaoCloud REST API.
    Kakaocloud,
}

/// The `settings.backend` block.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackendSettings {
    /// `sim` (the default) or `kakaocloud`.
    #[schemars(with = "BackendKind")]
    pub kind: Sp<BackendKind>,
    /// sim only: the simulator's file (default `.nicplan/sim.json`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub path: Option<Sp<String>>,
    /// sim only: whether a NIC may hold several private IPs (default true; false mimics
    /// today's platform).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub multiple_ips: Option<Sp<bool>>,
    /// kakaocloud only: the region (default `kr-central-2`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub region: Option<Sp<String>>,
    /// kakaocloud only: the services' base URLs, for a region whose hosts are not
    /// documented (only `kr-central-2`'s are).
    #[serde(default)]
    pub endpoints: Option<EndpointSettings>,
}

/// The `settings.backend.endpoints` block: base URLs such as
/// `https://vpc.kr-central-2.kakaocloud.com`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointSettings {
    /// IAM (tokens); default `https://iam.kakaocloud.com`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub iam: Option<Sp<String>>,
    /// The VPC service (VPCs, subnets, network interfaces).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub vpc: Option<Sp<String>>,
    /// The Network service (public IPs, security groups).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub network: Option<Sp<String>>,
    /// The BCS service (instances, flavors).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub bcs: Option<Sp<String>>,
}

/// Where state is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StateKind {
    /// A JSON file next to the desired-state file.
    Local,
    /// A PostgreSQL table shared by a team.
    Postgres,
}

/// The `settings.state` block.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateSettings {
    /// `local` (the default) or `postgres`.
    #[schemars(with = "StateKind")]
    pub kind: Sp<StateKind>,
    /// local only: the state file (default `nicplan.state.json`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub path: Option<Sp<String>>,
    /// postgres only: the connection URL, without a password (use `PGPASSWORD`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub url: Option<Sp<String>>,
    /// postgres only: the state's name, one per environment (default `default`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub name: Option<Sp<String>>,
}

/// A VPC.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vpc {
    /// The VPC's IPv4 range, such as `10.0.0.0/16`.
    #[schemars(with = "ipnet::Ipv4Net")]
    pub cidr_block: Sp<String>,
}

/// A subnet of a VPC, in one availability zone.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subnet {
    /// The VPC it belongs to.
    pub vpc: Name,
    /// Its IPv4 range, inside the VPC's.
    #[schemars(with = "ipnet::Ipv4Net")]
    pub cidr_block: Sp<String>,
    /// Its zone, such as `kr-central-2-a`.
    #[schemars(with = "String")]
    pub availability_zone: Sp<String>,
}

/// A security group.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroup {
    /// Free text.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub description: Option<Sp<String>>,
}

/// An instance.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    /// `FAMILY.SIZE` from the NIC limit table, such as `m2a.xlarge`.
    #[serde(rename = "type")]
    #[schemars(with = "String")]
    pub instance_type: Sp<String>,
    /// The image it boots.
    #[schemars(with = "String")]
    pub image: Sp<String>,
    /// The network interface created with it; never detachable.
    pub primary_interface: Name,
    /// A virtual machine's root volume in GB, made from the image (default 50); bare
    /// metal takes none. The platform sets it only when it makes the instance.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub root_volume_gb: Option<Sp<u32>>,
    /// Bare metal only: bond the server's network interfaces, so that together they
    /// give the bandwidth of all of them. The platform sets it only when it makes the
    /// server.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub bonding: Option<Sp<bool>>,
    /// Guards against deletion.
    #[serde(default)]
    pub lifecycle: Option<Lifecycle>,
}

/// An instance's lifecycle options.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// When true, any plan deleting or replacing the instance is an error.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub prevent_destroy: Option<Sp<bool>>,
    /// When true, a resize of the running instance may stop it, resize it and start it
    /// again (the platform resizes only stopped instances); otherwise such a plan is an
    /// error.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub allow_stop: Option<Sp<bool>>,
}

/// A network interface.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkInterface {
    /// Its subnet.
    pub subnet: Name,
    /// Free text.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub description: Option<Sp<String>>,
    /// Its primary private IP; assigned by the cloud when omitted.
    #[serde(default)]
    #[schemars(with = "Option<std::net::Ipv4Addr>")]
    pub private_ip: Option<Sp<String>>,
    /// Further private IPs, where the backend supports them.
    #[serde(default)]
    #[schemars(with = "Option<Vec<std::net::Ipv4Addr>>")]
    pub secondary_private_ips: Option<Sp<Vec<Sp<String>>>>,
    /// Security groups; required unless the instance is bare metal.
    #[serde(default)]
    #[schemars(with = "Option<Vec<Name>>")]
    pub security_groups: Option<Sp<Vec<Name>>>,
    /// Whether the NIC drops traffic not addressed to it (default true).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub source_dest_check: Option<Sp<bool>>,
    /// The instance it is attached to as a secondary interface.
    #[serde(default)]
    pub attach_to: Option<Name>,
}

/// A public IP.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicIp {
    /// The NIC it is associated with; unassociated when omitted.
    #[serde(default)]
    pub network_interface: Option<Name>,
    /// Which of the NIC's private IPs; defaults to its primary private IP.
    #[serde(default)]
    #[schemars(with = "Option<std::net::Ipv4Addr>")]
    pub private_ip: Option<Sp<String>>,
}

/// The JSON Schema of the desired-state file, as `nicplan schema` prints it.
pub fn json_schema() -> schemars::Schema {
    schemars::schema_for!(File)
}
