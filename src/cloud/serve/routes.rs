//! The calls `sim serve` answers, each in the platform's own shape for that call
//! (`crate::cloud::wire`): the thin models for writes, the full ones for reads. Bodies
//! are read into the wire's request models; a body that does not fit is a `422` with
//! the platform's `{"detail": [{"loc", "msg", "type"}]}`.
//!
//! Fields the simulator does not model (projects, route tables, images, volumes...)
//! are answered with fixed values of the right type, so an answer has exactly the
//! fields of its model.

use std::net::Ipv4Addr;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Answer, Query, Refusal, Reply, Shared, inventory, list, near, not_found, refused};
use crate::catalogue::{self, InstanceType};
use crate::cloud::wire::{bcs, iam, network, vpc};
use crate::cloud::{
    Cloud, CloudInstance, CloudNic, CloudPublicIp, CloudSecurityGroup, CloudSubnet, CloudVpc,
    InstanceRequest, Inventory, NicRequest, NicUpdate,
};

/// The project every simulated object belongs to.
const PROJECT_ID: &str = "5f2c7a1e9b3d4c6f8a0e2b4d6f8a1c3e";
/// Its name.
const PROJECT_NAME: &str = "nicplan-sim";
/// The region the simulator plays.
const REGION: &str = "kr-central-2";
/// When every simulated object was made: the simulator keeps no clock of its own.
const CREATED_AT: &str = "2026-01-01T00:00:00Z";

/// The allowed address pair that stands for `source_dest_check: false`.
pub use super::ANY_ADDRESS_PAIR;

/// A wire model as an answer.
fn reply(status: u16, model: &impl Serialize) -> Answer {
    serde_json::to_value(model)
        .map(|body| Reply::json(status, body))
        .map_err(|e| Reply::error(500, "internal_error", format!("cannot encode: {e}")))
}

/// Reads a body into a wire request model: a body that does not fit is a 422 naming
/// the field, as the platform answers.
pub(super) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(unprocessable(
            vec![Value::from("body")],
            "field required",
            "value_error.missing",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => Ok(value),
        Err(e) => {
            let mut loc = vec![Value::from("body")];
            for segment in e.path().iter() {
                match segment {
                    serde_path_to_error::Segment::Seq { index } => loc.push(Value::from(*index)),
                    serde_path_to_error::Segment::Map { key } => {
                        loc.push(Value::from(key.as_str()))
                    }
                    serde_path_to_error::Segment::Enum { variant } => {
                        loc.push(Value::from(variant.as_str()))
                    }
                    serde_path_to_error::Segment::Unknown => {}
                }
            }
            let inner = e.into_inner();
            let text = inner.to_string();
            let (msg, kind) = if let Some(field) = missing_field(&text) {
                loc.push(Value::from(field));
                ("field required".to_string(), "value_error.missing")
            } else if text.starts_with("unknown field `") {
                // The path already ends at the unknown key.
                (
                    "extra fields not permitted".to_string(),
                    "value_error.extra",
                )
            } else if inner.is_syntax() || inner.is_eof() {
                (
                    format!("the body is not JSON: {text}"),
                    "value_error.jsondecode",
                )
            } else {
                (text, "type_error")
            };
            Err(unprocessable(loc, &msg, kind))
        }
    }
}

/// The field of a serde "missing field `x`" error.
fn missing_field(text: &str) -> Option<String> {
    let rest = text.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

fn unprocessable(loc: Vec<Value>, msg: &str, kind: &str) -> Reply {
    Reply::json(
        422,
        serde_json::json!({"detail": [{"loc": loc, "msg": msg, "type": kind}]}),
    )
}

fn bad_field(loc: &[&str], msg: impl Into<String>) -> Reply {
    let loc: Vec<Value> = std::iter::once("body")
        .chain(loc.iter().copied())
        .map(Value::from)
        .collect();
    unprocessable(loc, &msg.into(), "value_error")
}

fn parse_cidr(loc: &[&str], text: &str) -> Result<ipnet::Ipv4Net, Reply> {
    text.parse()
        .map_err(|_| bad_field(loc, format!("{text:?} is not an IPv4 CIDR block")))
}

fn parse_ip(loc: &[&str], text: &str) -> Result<Ipv4Addr, Reply> {
    text.parse()
        .map_err(|_| bad_field(loc, format!("{text:?} is not an IPv4 address")))
}

/// The catalogue entry whose flavor ID is `id`.
pub(super) fn flavor_by_id(id: &str) -> Option<&'static InstanceType> {
    catalogue::CATALOGUE.iter().find(|t| flavor_id(t) == id)
}

/// The flavor ID of a catalogue entry, `flavor-FAMILY-SIZE`.
pub fn flavor_id(t: &InstanceType) -> String {
    format!("flavor-{}-{}", t.family, t.size)
}

fn group_name(t: &InstanceType) -> String {
    t.group.as_str().to_string()
}

fn flavor_read(t: &InstanceType) -> bcs::Flavor {
    let vm = t.kind() == catalogue::FlavorKind::Vm;
    bcs::Flavor {
        id: flavor_id(t),
        name: Some(t.name()),
        vcpus: None,
        description: None,
        is_burstable: Some(false),
        architecture: Some("x86_64".to_string()),
        manufacturer: None,
        group: Some(group_name(t)),
        instance_type: Some(t.kind().as_str().to_string()),
        processor: None,
        memory_mb: None,
        created_at: Some(CREATED_AT.to_string()),
        updated_at: Some(CREATED_AT.to_string()),
        availability_zone: Some(vec![
            format!("{REGION}-a"),
            format!("{REGION}-b"),
            format!("{REGION}-c"),
        ]),
        available: None,
        instance_family: Some(t.family.to_string()),
        instance_size: Some(t.size.to_string()),
        disk_type: Some(if vm { "network" } else { "local" }.to_string()),
        root_gb: Some(0),
        os_distro: None,
        hw_count: None,
        hw_type: None,
        hw_name: None,
        maximum_network_interfaces: Some(i64::from(t.max_network_interfaces)),
        is_hyper_threading_disabled: Some(false),
        is_hyper_threading_supported: Some(true),
        is_hyper_threading_disable_supported: Some(false),
    }
}

fn instance_flavor(name: &str) -> bcs::InstanceFlavor {
    let t = catalogue::lookup(name);
    bcs::InstanceFlavor {
        id: t.map_or_else(|| name.to_string(), flavor_id),
        name: Some(name.to_string()),
        group: t.map(group_name),
        vcpus: None,
        is_burstable: Some(false),
        manufacturer: None,
        memory_mb: None,
        root_gb: Some(0),
        disk_type: None,
        instance_family: t.map(|t| t.family.to_string()),
        os_distro: None,
        maximum_network_interfaces: t.map(|t| i64::from(t.max_network_interfaces)),
        hw_type: None,
        hw_count: None,
        is_hyper_threading_supported: Some(true),
        real_vcpus: None,
    }
}

fn vpc_read(v: &CloudVpc) -> vpc::Vpc {
    vpc::Vpc {
        id: v.id.clone(),
        name: Some(v.name.clone()),
        description: Some(v.description.clone()),
        region: Some(REGION.to_string()),
        igw: Some(vpc::Igw {
            id: format!("igw-{}", v.id),
            name: Some(format!("igw-{}", v.name)),
            description: None,
            region: Some(REGION.to_string()),
            nat_ip: None,
            project_id: Some(PROJECT_ID.to_string()),
            operating_status: Some("ONLINE".to_string()),
            provisioning_status: Some(v.status.as_str().to_string()),
            created_at: Some(CREATED_AT.to_string()),
            updated_at: Some(CREATED_AT.to_string()),
        }),
        default_route_table: Some(vpc::RouteTable {
            id: format!("rt-{}", v.id),
            name: Some(format!("default-rt-{}", v.name)),
            description: None,
            provisioning_status: Some(v.status.as_str().to_string()),
            created_at: Some(CREATED_AT.to_string()),
            updated_at: Some(CREATED_AT.to_string()),
        }),
        project_id: Some(PROJECT_ID.to_string()),
        project_name: Some(PROJECT_NAME.to_string()),
        cidr_block: Some(v.cidr_block.to_string()),
        is_default: Some(false),
        provisioning_status: Some(v.status.as_str().to_string()),
        is_enable_dns_support: Some(true),
        created_at: Some(CREATED_AT.to_string()),
        updated_at: Some(CREATED_AT.to_string()),
    }
}

fn vpc_created(v: &CloudVpc) -> vpc::VpcCreated {
    vpc::VpcCreated {
        id: v.id.clone(),
        project_id: PROJECT_ID.to_string(),
        name: v.name.clone(),
        is_default: false,
        region: REGION.to_string(),
        cidr_block: v.cidr_block.to_string(),
        provisioning_status: v.status.as_str().to_string(),
        created_at: CREATED_AT.to_string(),
        updated_at: CREATED_AT.to_string(),
        description: v.description.clone(),
    }
}

fn subnet_read(inv: &Inventory, s: &CloudSubnet) -> vpc::Subnet {
    let vpc = inv.vpcs.get(&s.vpc_id);
    vpc::Subnet {
        id: s.id.clone(),
        name: Some(s.name.clone()),
        is_shared: Some(false),
        availability_zone: Some(s.availability_zone.clone()),
        cidr_block: Some(s.cidr_block.to_string()),
        project_id: Some(PROJECT_ID.to_string()),
        operating_status: Some("ONLINE".to_string()),
        provisioning_status: Some(s.status.as_str().to_string()),
        vpc_id: Some(s.vpc_id.clone()),
        vpc_name: vpc.map(|v| v.name.clone()),
        project_name: Some(PROJECT_NAME.to_string()),
        owner_project_id: Some(PROJECT_ID.to_string()),
        route_table_id: Some(format!("rt-{}", s.vpc_id)),
        route_table_name: vpc.map(|v| format!("default-rt-{}", v.name)),
        created_at: Some(CREATED_AT.to_string()),
        updated_at: Some(CREATED_AT.to_string()),
    }
}

fn subnet_created(s: &CloudSubnet) -> vpc::SubnetCreated {
    vpc::SubnetCreated {
        id: s.id.clone(),
        name: s.name.clone(),
        vpc_id: s.vpc_id.clone(),
        provisioning_status: s.status.as_str().to_string(),
        availability_zone: s.availability_zone.clone(),
        cidr_block: s.cidr_block.to_string(),
        project_id: PROJECT_ID.to_string(),
        created_at: CREATED_AT.to_string(),
        updated_at: CREATED_AT.to_string(),
    }
}

fn group_read(g: &CloudSecurityGroup) -> network::SecurityGroup {
    network::SecurityGroup {
        id: g.id.clone(),
        name: Some(g.name.clone()),
        is_stateful: Some(true),
        description: Some(g.description.clone()),
        rules: Some(Vec::new()),
        project_id: Some(PROJECT_ID.to_string()),
        project_name: Some(PROJECT_NAME.to_string()),
        tags: Vec::new(),
        created_at: Some(CREATED_AT.to_string()),
        updated_at: Some(CREATED_AT.to_string()),
    }
}

fn group_written(g: &CloudSecurityGroup) -> network::SecurityGroupWritten {
    network::SecurityGroupWritten {
        id: g.id.clone(),
        name: g.name.clone(),
        tags: Vec::new(),
        is_stateful: true,
        description: g.description.clone(),
        rules: Vec::new(),
        created_at: CREATED_AT.to_string(),
        updated_at: CREATED_AT.to_string(),
    }
}

fn nic_status(n: &CloudNic) -> String {
    n.status().as_str().to_string()
}

fn nic_read(inv: &Inventory, n: &CloudNic) -> vpc::Nic {
    let subnet = inv.subnets.get(&n.subnet_id);
    let public = inv
        .public_ips
        .values()
        .find(|p| p.nic_id.as_deref() == Some(n.id.as_str()) && p.private_ip == Some(n.private_ip))
        .map(|p| p.address.to_string());
    let pairs = if n.source_dest_check {
        Vec::new()
    } else {
        vec![vpc::AddressPair {
            mac_address: Some(n.mac_address.clone()),
            ip_address: Some(ANY_ADDRESS_PAIR.to_string()),
        }]
    };
    vpc::Nic {
        id: n.id.clone(),
        name: Some(n.name.clone()),
        status: Some(nic_status(n)),
        description: Some(n.description.clone()),
        project_id: Some(PROJECT_ID.to_string()),
        vpc_id: subnet.map(|s| s.vpc_id.clone()),
        subnet_id: Some(n.subnet_id.clone()),
        mac_address: Some(n.mac_address.clone()),
        device_id: n.device_id.clone(),
        device_owner: n.device_id.as_ref().map(|_| {
            format!(
                "compute:{}",
                subnet
                    .map(|s| s.availability_zone.as_str())
                    .unwrap_or_default()
            )
        }),
        project_name: Some(PROJECT_NAME.to_string()),
        secondary_ips: Some(n.secondary_ips.iter().map(ToString::to_string).collect()),
        public_ip: public,
        private_ip: Some(n.private_ip.to_string()),
        is_network_interface_security_enabled: Some(!n.security_group_ids.is_empty()),
        allowed_address_pairs: Some(pairs),
        security_groups: Some(
            n.security_group_ids
                .iter()
                .map(|id| vpc::GroupRef {
                    id: id.clone(),
                    name: inv.security_groups.get(id).map(|g| g.name.clone()),
                })
                .collect(),
        ),
        created_at: Some(CREATED_AT.to_string()),
        updated_at: Some(CREATED_AT.to_string()),
    }
}

fn nic_written(n: &CloudNic) -> vpc::NicWritten {
    vpc::NicWritten {
        id: n.id.clone(),
        name: Some(n.name.clone()),
        status: nic_status(n),
        description: Some(n.description.clone()),
        project_id: Some(PROJECT_ID.to_string()),
        is_network_interface_security_enabled: Some(!n.security_group_ids.is_empty()),
        security_groups: Some(n.security_group_ids.clone()),
        mac_address: Some(n.mac_address.clone()),
        device_id: n.device_id.clone(),
        private_ip: Some(n.private_ip.to_string()),
        secondary_ips: Some(n.secondary_ips.iter().map(ToString::to_string).collect()),
        created_at: Some(CREATED_AT.to_string()),
        updated_at: Some(CREATED_AT.to_string()),
    }
}

fn instance_read(inv: &Inventory, i: &CloudInstance) -> bcs::Instance {
    let t = catalogue::lookup(&i.flavor);
    // What the instance shows: a NIC still attaching is not there yet.
    let addresses: Vec<bcs::InstanceAddress> = i
        .attached_nic_ids
        .iter()
        .filter_map(|id| inv.nics.get(id))
        .map(|n| bcs::InstanceAddress {
            private_ip: Some(n.private_ip.to_string()),
            public_ip: inv
                .public_ips
                .values()
                .find(|p| p.nic_id.as_deref() == Some(n.id.as_str()))
                .map(|p| p.address.to_string()),
            network_interface_id: Some(n.id.clone()),
        })
        .collect();
    let (power, vm_state) = match i.status {
        crate::resource::Status::Stopped => ("SHUTDOWN", "stopped"),
        crate::resource::Status::Active => ("RUNNING", "active"),
        _ => ("NOSTATE", "building"),
    };
    let groups: Vec<vpc::GroupRef> = inv
        .nics
        .get(&i.primary_nic_id)
        .map(|n| {
            n.security_group_ids
                .iter()
                .map(|id| vpc::GroupRef {
                    id: id.clone(),
                    name: inv.security_groups.get(id).map(|g| g.name.clone()),
                })
                .collect()
        })
        .unwrap_or_default();
    let bare = t.is_some_and(InstanceType::is_bare_metal);
    let volumes: Vec<bcs::AttachedVolume> = if bare {
        Vec::new()
    } else {
        vec![bcs::AttachedVolume {
            id: format!("vol-{}", i.id),
            name: Some(format!("{}-root", i.name)),
            status: Some("in-use".to_string()),
            mount_point: Some("/dev/vda".to_string()),
            kind: Some("SSD".to_string()),
            size: None,
            is_delete_on_termination: Some(true),
            created_at: Some(CREATED_AT.to_string()),
            is_root: Some(true),
        }]
    };
    bcs::Instance {
        id: i.id.clone(),
        name: Some(i.name.clone()),
        description: Some(i.description.clone()),
        flavor: Some(instance_flavor(&i.flavor)),
        addresses: Some(addresses),
        is_hyper_threading: Some(false),
        is_hadoop: Some(false),
        is_k8se: Some(false),
        image: Some(bcs::Image {
            id: i.image.clone(),
            name: Some(i.image.clone()),
            description: None,
            owner: None,
            is_windows: Some(false),
            size: None,
            status: Some("active".to_string()),
            image_type: None,
            disk_format: None,
            instance_type: t.map(|t| t.kind().as_str().to_string()),
            member_status: None,
            min_disk: None,
            min_memory: None,
            os_admin: None,
            os_distro: None,
            os_type: None,
            os_architecture: None,
            created_at: Some(CREATED_AT.to_string()),
            updated_at: Some(CREATED_AT.to_string()),
        }),
        vm_state: Some(vm_state.to_string()),
        task_state: None,
        power_state: Some(power.to_string()),
        status: Some(i.status.as_str().to_string()),
        user_id: None,
        project_id: Some(PROJECT_ID.to_string()),
        key_name: None,
        hostname: Some(i.name.clone()),
        availability_zone: Some(i.availability_zone.clone()),
        attached_volume_count: Some(i64::try_from(volumes.len()).unwrap_or(0)),
        attached_volumes: Some(volumes),
        security_group_count: Some(i64::try_from(groups.len()).unwrap_or(0)),
        security_groups: Some(groups),
        instance_type: t.map(|t| t.kind().as_str().to_string()),
        created_at: Some(CREATED_AT.to_string()),
        updated_at: Some(CREATED_AT.to_string()),
    }
}

fn public_ip_read(inv: &Inventory, p: &CloudPublicIp) -> network::PublicIp {
    let related = p.nic_id.as_ref().map(|nic_id| {
        let n = inv.nics.get(nic_id);
        let subnet = n.and_then(|n| inv.subnets.get(&n.subnet_id));
        network::RelatedResource {
            id: nic_id.clone(),
            name: n.map(|n| n.name.clone()),
            status: n.map(nic_status),
            kind: Some("network_interface".to_string()),
            device_owner: n.and_then(|n| n.device_id.as_ref()).map(|_| {
                format!(
                    "compute:{}",
                    subnet
                        .map(|s| s.availability_zone.as_str())
                        .unwrap_or_default()
                )
            }),
            device_id: n.and_then(|n| n.device_id.clone()),
            subnet_id: n.map(|n| n.subnet_id.clone()),
            subnet_name: subnet.map(|s| s.name.clone()),
            subnet_cidr: subnet.map(|s| s.cidr_block.to_string()),
            vpc_id: subnet.map(|s| s.vpc_id.clone()),
            vpc_name: subnet
                .and_then(|s| inv.vpcs.get(&s.vpc_id))
                .map(|v| v.name.clone()),
        }
    });
    network::PublicIp {
        id: p.id.clone(),
        status: Some(p.status.as_str().to_string()),
        description: Some(p.description.clone()),
        project_id: Some(PROJECT_ID.to_string()),
        public_ip: Some(p.address.to_string()),
        private_ip: p.private_ip.map(|ip| ip.to_string()),
        related_resource: related,
        created_at: Some(CREATED_AT.to_string()),
        updated_at: Some(CREATED_AT.to_string()),
    }
}

fn public_ip_written(p: &CloudPublicIp) -> network::PublicIpWritten {
    network::PublicIpWritten {
        id: p.id.clone(),
        status: p.status.as_str().to_string(),
        description: p.description.clone(),
        project_id: PROJECT_ID.to_string(),
        public_ip: p.address.to_string(),
        private_ip: p.private_ip.map(|ip| ip.to_string()),
        created_at: CREATED_AT.to_string(),
        updated_at: CREATED_AT.to_string(),
    }
}

/// Items as JSON values, for the list's filters and paging.
fn values<T: Serialize>(items: impl IntoIterator<Item = T>) -> Vec<Value> {
    items
        .into_iter()
        .filter_map(|i| serde_json::to_value(i).ok())
        .collect()
}

/// How long an issued token lives, as on the platform.
const TOKEN_LIFETIME_SECS: u64 = 12 * 3600;

/// `POST /identity/v3/auth/tokens`: a fresh token in `X-Subject-Token` for the
/// configured application credential, with the answer body of the platform.
pub(super) fn issue_token(shared: &Shared, body: &[u8]) -> Answer {
    let request: iam::TokenRequest = parse(body)?;
    let identity = request.auth.identity;
    if !identity
        .methods
        .iter()
        .any(|m| m == "application_credential")
    {
        return Err(bad_field(
            &["auth", "identity", "methods"],
            "must include application_credential",
        ));
    }
    let credential = identity.application_credential;
    if credential.id != shared.options.credential_id
        || credential.secret != shared.options.credential_secret
    {
        return Err(Reply::error(
            401,
            "unauthorized",
            "the application credential was not accepted",
        ));
    }
    let token = format!("gAAAA{}", uuid::Uuid::new_v4().simple());
    super::guard(&shared.tokens).insert(token.clone());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let project = serde_json::json!({
        "domain": {"id": PROJECT_ID, "name": PROJECT_NAME},
        "id": PROJECT_ID,
        "name": PROJECT_NAME,
    });
    let answer = iam::TokenAnswer {
        token: iam::Token {
            methods: Some(vec!["application_credential".to_string()]),
            user: Some(serde_json::json!({
                "domain": {"id": "default", "name": "Default"},
                "domain_id": "default",
                "id": PROJECT_ID,
                "name": PROJECT_NAME,
                "password_expires_at": null,
            })),
            audit_ids: Some(vec![uuid::Uuid::new_v4().simple().to_string()]),
            expires_at: Some(crate::state::rfc3339(
                now.saturating_add(TOKEN_LIFETIME_SECS),
            )),
            issued_at: Some(crate::state::rfc3339(now)),
            project: Some(project),
            is_domain: Some(false),
            roles: Some(vec![
                serde_json::json!({"id": PROJECT_ID, "name": "member"}),
            ]),
            catalog: Some(Vec::new()),
            application_credential: Some(serde_json::json!({
                "id": credential.id,
                "name": "nicplan",
                "restricted": true,
            })),
        },
    };
    Ok(reply(201, &answer)?.with_header("X-Subject-Token", token))
}

/// Whether `segments` name a path this server knows, whatever the method.
pub(super) fn known_path(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["vpcs" | "subnets" | "security-groups" | "network-interfaces" | "public-ips"]
            | [
                "vpcs" | "subnets" | "security-groups" | "network-interfaces" | "public-ips",
                _
            ]
            | ["network-interfaces", _, "allowed-address-pairs"]
            | ["public-ips", _, "network-interfaces", _]
            | ["flavors"]
            | ["flavors", _]
            | ["instances"]
            | ["instances", _]
            | ["instances", _, "resize" | "stop" | "start"]
            | ["instances", _, "network-interfaces"]
            | ["instances", _, "network-interfaces", _]
    )
}

/// Answers one API call.
pub(super) fn route(
    shared: &Shared,
    method: &str,
    segments: &[&str],
    query: &Query,
    body: &[u8],
) -> Answer {
    let sim = &shared.sim;
    match (method, segments) {
        // VPC service.
        ("GET", ["vpcs"]) => {
            let inv = inventory(shared)?;
            list(query, "vpcs", values(inv.vpcs.values().map(vpc_read)))
        }
        ("POST", ["vpcs"]) => {
            let b: vpc::CreateVpcBody = parse(body)?;
            let cidr = parse_cidr(&["vpc", "cidr_block"], &b.inner.cidr_block)?;
            if b.inner.subnet.is_some() {
                return Err(Reply::bad_request(
                    "the simulator makes subnets on their own: send no vpc.subnet",
                ));
            }
            let vpc = sim
                .create_vpc(&b.inner.name, cidr)
                .map_err(refused(Refusal::Invalid))?;
            reply(
                201,
                &vpc::VpcCreatedAnswer {
                    inner: vpc_created(&vpc),
                },
            )
        }
        ("GET", ["vpcs", id]) => {
            let vpc = sim.vpc(id).map_err(refused(Refusal::Invalid))?;
            reply(
                200,
                &vpc::VpcAnswer {
                    inner: vpc_read(&vpc),
                },
            )
        }
        ("DELETE", ["vpcs", id]) => {
            sim.delete_vpc(id).map_err(refused(Refusal::Conflict))?;
            Ok(Reply::no_content())
        }
        ("GET", ["subnets"]) => {
            let inv = inventory(shared)?;
            let items = values(inv.subnets.values().map(|s| subnet_read(&inv, s)));
            list(query, "subnets", items)
        }
        ("POST", ["subnets"]) => {
            let b: vpc::CreateSubnetBody = parse(body)?;
            let s = b.inner;
            let cidr = parse_cidr(&["subnet", "cidr_block"], &s.cidr_block)?;
            let subnet = sim
                .create_subnet(&s.name, &s.vpc_id, cidr, &s.availability_zone)
                .map_err(refused(Refusal::Invalid))?;
            reply(
                201,
                &vpc::SubnetCreatedAnswer {
                    inner: subnet_created(&subnet),
                },
            )
        }
        ("GET", ["subnets", id]) => {
            let inv = near(shared, id)?;
            let subnet = inv
                .subnets
                .get(*id)
                .ok_or_else(|| not_found("subnet", id))?;
            reply(
                200,
                &vpc::SubnetAnswer {
                    inner: subnet_read(&inv, subnet),
                },
            )
        }
        ("DELETE", ["subnets", id]) => {
            sim.delete_subnet(id).map_err(refused(Refusal::Conflict))?;
            Ok(Reply::no_content())
        }
        ("GET", ["network-interfaces"]) => {
            let inv = inventory(shared)?;
            let items = values(inv.nics.values().map(|n| nic_read(&inv, n)));
            list(query, "network_interfaces", items)
        }
        ("POST", ["network-interfaces"]) => create_nic(shared, body),
        ("GET", ["network-interfaces", id]) => {
            let inv = near(shared, id)?;
            let nic = inv
                .nics
                .get(*id)
                .ok_or_else(|| not_found("network interface", id))?;
            reply(
                200,
                &vpc::NicAnswer {
                    inner: nic_read(&inv, nic),
                },
            )
        }
        ("PUT", ["network-interfaces", id]) => update_nic(shared, id, body),
        ("PUT", ["network-interfaces", id, "allowed-address-pairs"]) => {
            set_address_pairs(shared, id, body)
        }
        ("DELETE", ["network-interfaces", id]) => {
            sim.delete_nic(id).map_err(refused(Refusal::Conflict))?;
            Ok(Reply::no_content())
        }
        // Network service.
        ("GET", ["security-groups"]) => {
            let inv = inventory(shared)?;
            let items = values(inv.security_groups.values().map(group_read));
            list(query, "security_groups", items)
        }
        ("POST", ["security-groups"]) => {
            let b: network::CreateSecurityGroupBody = parse(body)?;
            let g = b.inner;
            let group = sim
                .create_security_group(&g.name, g.description.as_deref().unwrap_or_default())
                .map_err(refused(Refusal::Invalid))?;
            reply(
                201,
                &network::SecurityGroupWrittenAnswer {
                    inner: group_written(&group),
                },
            )
        }
        ("GET", ["security-groups", id]) => {
            let group = sim.security_group(id).map_err(refused(Refusal::Invalid))?;
            reply(
                200,
                &network::SecurityGroupAnswer {
                    inner: group_read(&group),
                },
            )
        }
        ("PUT", ["security-groups", id]) => {
            let b: network::EditSecurityGroupBody = parse(body)?;
            let g = b.inner;
            let current = sim.security_group(id).map_err(refused(Refusal::Invalid))?;
            check_same_name("security group", &current.name, g.name.as_deref())?;
            let description = g.description.unwrap_or_else(|| current.description.clone());
            let group = sim
                .update_security_group(id, &description)
                .map_err(refused(Refusal::Invalid))?;
            reply(
                200,
                &network::SecurityGroupWrittenAnswer {
                    inner: group_written(&group),
                },
            )
        }
        ("DELETE", ["security-groups", id]) => {
            sim.delete_security_group(id)
                .map_err(refused(Refusal::Conflict))?;
            Ok(Reply::no_content())
        }
        ("GET", ["public-ips"]) => {
            let inv = inventory(shared)?;
            let items = values(inv.public_ips.values().map(|p| public_ip_read(&inv, p)));
            list(query, "public_ips", items)
        }
        ("POST", ["public-ips"]) => {
            let b: network::CreatePublicIpBody = parse(body)?;
            let public = sim
                .create_public_ip(b.inner.description.as_deref().unwrap_or_default())
                .map_err(refused(Refusal::Invalid))?;
            reply(
                201,
                &network::PublicIpWrittenAnswer {
                    inner: public_ip_written(&public),
                },
            )
        }
        ("GET", ["public-ips", id]) => {
            let inv = near(shared, id)?;
            let public = inv
                .public_ips
                .get(*id)
                .ok_or_else(|| not_found("public IP", id))?;
            reply(
                200,
                &network::PublicIpAnswer {
                    inner: public_ip_read(&inv, public),
                },
            )
        }
        ("DELETE", ["public-ips", id]) => {
            sim.delete_public_ip(id)
                .map_err(refused(Refusal::Conflict))?;
            Ok(Reply::no_content())
        }
        // The call takes no body: it maps the NIC's primary IP.
        ("PUT", ["public-ips", id, "network-interfaces", nic_id]) => {
            let public = sim
                .associate_public_ip(id, nic_id, None)
                .map_err(refused(Refusal::Conflict))?;
            reply(
                200,
                &network::PublicIpWrittenAnswer {
                    inner: public_ip_written(&public),
                },
            )
        }
        ("DELETE", ["public-ips", id, "network-interfaces", nic_id]) => {
            sim.disassociate_public_ip(id, nic_id)
                .map_err(refused(Refusal::Conflict))?;
            let public = sim.public_ip(id).map_err(refused(Refusal::Conflict))?;
            reply(
                200,
                &network::PublicIpWrittenAnswer {
                    inner: public_ip_written(&public),
                },
            )
        }
        // BCS service.
        ("GET", ["flavors"]) => list(
            query,
            "flavors",
            values(catalogue::CATALOGUE.iter().map(flavor_read)),
        ),
        ("GET", ["flavors", id]) => {
            let flavor = flavor_by_id(id).ok_or_else(|| not_found("flavor", id))?;
            reply(
                200,
                &bcs::FlavorAnswer {
                    inner: flavor_read(flavor),
                },
            )
        }
        ("GET", ["instances"]) => {
            let inv = inventory(shared)?;
            let items = values(inv.instances.values().map(|i| instance_read(&inv, i)));
            list(query, "instances", items)
        }
        ("POST", ["instances"]) => create_instance(shared, body),
        ("GET", ["instances", id]) => {
            let inv = near(shared, id)?;
            let instance = inv
                .instances
                .get(*id)
                .ok_or_else(|| not_found("instance", id))?;
            reply(
                200,
                &bcs::InstanceAnswer {
                    inner: instance_read(&inv, instance),
                },
            )
        }
        ("DELETE", ["instances", id]) => {
            sim.delete_instance(id)
                .map_err(refused(Refusal::Conflict))?;
            Ok(Reply::no_content())
        }
        ("POST", ["instances", id, "resize"]) => {
            let b: bcs::ResizeBody = parse(body)?;
            let flavor = flavor_by_id(&b.flavor.id).ok_or_else(|| {
                bad_field(
                    &["flavor", "id"],
                    format!(
                        "flavor ID {} does not exist; GET /api/v1/flavors lists them",
                        b.flavor.id
                    ),
                )
            })?;
            sim.resize_instance(id, &flavor.name())
                .map_err(refused(Refusal::Conflict))?;
            Ok(Reply::json(202, serde_json::json!({})))
        }
        ("POST", ["instances", id, "stop"]) => {
            sim.stop_instance(id).map_err(refused(Refusal::Conflict))?;
            Ok(Reply::json(202, serde_json::json!({})))
        }
        ("POST", ["instances", id, "start"]) => {
            sim.start_instance(id).map_err(refused(Refusal::Conflict))?;
            Ok(Reply::json(202, serde_json::json!({})))
        }
        ("GET", ["instances", id, "network-interfaces"]) => {
            let inv = near(shared, id)?;
            if !inv.instances.contains_key(*id) {
                return Err(not_found("instance", id));
            }
            let items = values(
                inv.nics
                    .values()
                    .filter(|n| n.device_id.as_deref() == Some(*id))
                    .map(|n| nic_read(&inv, n)),
            );
            list(query, "network_interfaces", items)
        }
        ("POST", ["instances", id, "network-interfaces", nic_id]) => {
            sim.attach_nic(id, nic_id)
                .map_err(refused(Refusal::Conflict))?;
            let nic = sim.nic(nic_id).map_err(refused(Refusal::Conflict))?;
            reply(
                200,
                &bcs::NicAttachedAnswer {
                    inner: bcs::NicAttached {
                        id: nic.id.clone(),
                        status: "ACTIVE".to_string(),
                        mac_address: nic.mac_address.clone(),
                        private_ips: Some(vec![bcs::FixedIp {
                            ip_address: Some(nic.private_ip.to_string()),
                            subnet_id: Some(nic.subnet_id.clone()),
                        }]),
                    },
                },
            )
        }
        ("DELETE", ["instances", id, "network-interfaces", nic_id]) => {
            sim.detach_nic(id, nic_id)
                .map_err(refused(Refusal::Conflict))?;
            Ok(Reply::json(202, serde_json::json!({})))
        }
        (_, segments) if known_path(segments) => Err(super::method_not_allowed(
            method,
            &format!("{}/{}", super::API_PREFIX, segments.join("/")),
        )),
        (_, segments) => Err(Reply::error(
            404,
            "not_found",
            format!("no such path: {}/{}", super::API_PREFIX, segments.join("/")),
        )),
    }
}

/// Names are fixed in the simulator: a `PUT` may repeat the name but not change it.
fn check_same_name(kind: &str, current: &str, asked: Option<&str>) -> Result<(), Reply> {
    match asked {
        Some(name) if name != current => Err(Reply::bad_request(format!(
            "the simulator cannot rename {kind} {current} to {name}"
        ))),
        _ => Ok(()),
    }
}

fn create_nic(shared: &Shared, body: &[u8]) -> Answer {
    let b: vpc::CreateNicBody = parse(body)?;
    let n = b.inner;
    let private_ip = n
        .private_ip
        .map(|ip| parse_ip(&["network_interface", "private_ip"], &ip))
        .transpose()?;
    let request = NicRequest {
        name: n.name,
        description: n.description.unwrap_or_default(),
        subnet_id: n.subnet_id,
        private_ip,
        secondary_ips: Vec::new(),
        security_group_ids: n.security_groups,
        source_dest_check: true,
    };
    let nic = shared
        .sim
        .create_nic(&request)
        .map_err(refused(Refusal::Invalid))?;
    reply(
        201,
        &vpc::NicWrittenAnswer {
            inner: nic_written(&nic),
        },
    )
}

/// The simulator's update of a NIC, with every field the call leaves out kept as is.
fn update_from(current: &CloudNic) -> NicUpdate {
    NicUpdate {
        description: current.description.clone(),
        security_group_ids: current.security_group_ids.clone(),
        source_dest_check: current.source_dest_check,
        secondary_ips: current.secondary_ips.clone(),
    }
}

fn update_nic(shared: &Shared, id: &str, body: &[u8]) -> Answer {
    let b: vpc::EditNicBody = parse(body)?;
    let n = b.inner;
    let current = shared.sim.nic(id).map_err(refused(Refusal::Invalid))?;
    check_same_name("network interface", &current.name, n.name.as_deref())?;
    let mut update = update_from(&current);
    if let Some(description) = n.description {
        update.description = description;
    }
    if let Some(groups) = n.security_groups {
        update.security_group_ids = groups;
    }
    let nic = shared
        .sim
        .update_nic(id, &update)
        .map_err(refused(Refusal::Invalid))?;
    reply(
        200,
        &vpc::NicWrittenAnswer {
            inner: nic_written(&nic),
        },
    )
}

fn set_address_pairs(shared: &Shared, id: &str, body: &[u8]) -> Answer {
    let b: vpc::EditAddressPairsBody = parse(body)?;
    let asked: Vec<Option<&str>> = b
        .allowed_address_pairs
        .iter()
        .map(|p| p.ip_address.as_deref())
        .collect();
    let source_dest_check = match asked.as_slice() {
        // No pair, or the clearing form.
        [] | [None] => true,
        [Some(pair)] if *pair == ANY_ADDRESS_PAIR => false,
        _ => {
            return Err(Reply::bad_request(format!(
                "the simulator models allowed address pairs only as the source/destination check: clear them ([{{\"ip_address\": null}}], check on) or send exactly one pair {ANY_ADDRESS_PAIR} (check off)"
            )));
        }
    };
    let current = shared.sim.nic(id).map_err(refused(Refusal::Invalid))?;
    let update = NicUpdate {
        source_dest_check,
        ..update_from(&current)
    };
    let nic = shared
        .sim
        .update_nic(id, &update)
        .map_err(refused(Refusal::Invalid))?;
    reply(
        200,
        &vpc::NicWrittenAnswer {
            inner: nic_written(&nic),
        },
    )
}

fn create_instance(shared: &Shared, body: &[u8]) -> Answer {
    let b: bcs::CreateInstanceBody = parse(body)?;
    let i = b.inner;
    if i.count.is_some_and(|c| c != 1) {
        return Err(Reply::bad_request(
            "the simulator creates one instance per call (count 1)",
        ));
    }
    let flavor = flavor_by_id(&i.flavor_id).ok_or_else(|| {
        bad_field(
            &["instance", "flavor_id"],
            format!(
                "flavor ID {} does not exist; GET /api/v1/flavors lists them",
                i.flavor_id
            ),
        )
    })?;
    // As the platform's tools require: a VM boots from a root volume, bare metal
    // takes none; a NIC made beforehand carries its own groups.
    match (flavor.is_bare_metal(), i.volumes.as_slice()) {
        (true, []) => {}
        (true, _) => {
            return Err(bad_field(
                &["instance", "volumes"],
                format!(
                    "flavor {} is bare metal and takes no volumes",
                    flavor.name()
                ),
            ));
        }
        (false, [root]) if root.size > 0 => {}
        (false, _) => {
            return Err(bad_field(
                &["instance", "volumes"],
                format!(
                    "flavor {} needs exactly one root volume with a size",
                    flavor.name()
                ),
            ));
        }
    }
    if i.is_bonding.is_some() && !flavor.is_bare_metal() {
        return Err(bad_field(
            &["instance", "is_bonding"],
            "is_bonding is for bare metal only",
        ));
    }
    let [subnet] = i.subnets.as_slice() else {
        return Err(Reply::bad_request(
            "the simulator creates an instance around one existing network interface: give exactly one subnets entry, with network_interface_id, and attach the others afterwards",
        ));
    };
    let nic_id = subnet.network_interface_id.clone().ok_or_else(|| {
        Reply::bad_request(
            "subnets[0].network_interface_id is required: create the primary network interface first",
        )
    })?;
    if subnet.private_ip.is_some() {
        return Err(Reply::bad_request(
            "subnets[0] names a network interface made beforehand, which has its own private_ip: send none",
        ));
    }
    if !i.security_groups.is_empty() {
        return Err(Reply::bad_request(
            "security_groups cannot go with a network interface made beforehand: it carries its own",
        ));
    }
    let inv = near(shared, &nic_id)?;
    if let Some(nic) = inv.nics.get(&nic_id) {
        if subnet.id != nic.subnet_id {
            return Err(Reply::bad_request(format!(
                "subnets[0].id is {} but network interface {nic_id} is in subnet {}",
                subnet.id, nic.subnet_id
            )));
        }
        let zone = inv
            .subnets
            .get(&nic.subnet_id)
            .map(|s| &s.availability_zone);
        if let (Some(asked), Some(zone)) = (&i.availability_zone, zone)
            && asked != zone
        {
            return Err(Reply::bad_request(format!(
                "availability_zone is {asked} but network interface {nic_id} is in zone {zone}"
            )));
        }
    }
    let request = InstanceRequest {
        name: i.name,
        description: i.description.unwrap_or_default(),
        flavor: flavor.name(),
        image: i.image_id,
        primary_nic_id: nic_id,
        root_volume_gb: i
            .volumes
            .first()
            .and_then(|v| u32::try_from(v.size).ok())
            .unwrap_or(0),
        bonding: i.is_bonding.unwrap_or(false),
    };
    let instance = shared
        .sim
        .create_instance(&request)
        .map_err(refused(Refusal::Invalid))?;
    reply(
        201,
        &bcs::InstanceCreatedAnswer {
            inner: bcs::InstanceCreated {
                id: instance.id,
                security_groups: Vec::new(),
                admin_pass: None,
                disk_config: "MANUAL".to_string(),
            },
        },
    )
}
