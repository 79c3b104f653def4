//! A Terraform state of the KakaoCloud provider (`kakaoenterprise/kakaocloud`), as
//! `terraform show -json` prints it, read as an inventory: what Terraform last saw in
//! the cloud. The provider's attributes are those of its `docs/resources/*.md`:
//!
//! - `kakaocloud_vpc`: `id`, `name`, `description`, `cidr_block`, and `subnet`, the main
//!   subnet made with the VPC (its block and zone; its ID is in no attribute);
//! - `kakaocloud_subnet`: `id`, `name`, `vpc_id`, `cidr_block`, `availability_zone`;
//! - `kakaocloud_security_group`: `id`, `name`, `description`, `rules`;
//! - `kakaocloud_network_interface`: `id`, `name`, `description`, `subnet_id`,
//!   `private_ip`, `secondary_ips`, `security_groups` (`{id, name}`),
//!   `allowed_address_pairs`, `device_id`, `mac_address`;
//! - `kakaocloud_instance`: `id`, `name`, `description`, `flavor.name`, `image_id`,
//!   `availability_zone`, `status`, `subnets` (`{id, network_interface_id, private_ip}`,
//!   the primary first), `addresses`, `security_groups`;
//! - `kakaocloud_public_ip`: `id`, `description`, `public_ip`, `private_ip`,
//!   `related_resource` (`device_type`, and `id`, the NIC, for an instance).
//!
//! A NIC the instance made itself has no resource: it is made from the instance's
//! `subnets` and `addresses`. Everything else is left out, each with a note.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::Value;

use crate::cloud::{
    CloudInstance, CloudNic, CloudPublicIp, CloudSecurityGroup, CloudSubnet, CloudVpc, Inventory,
    Provisioning, PublicIpStatus,
};
use crate::resource::Status;

/// An inventory made from a Terraform state, and what was left out.
#[derive(Debug)]
pub struct Converted {
    /// The objects.
    pub inventory: Inventory,
    /// What was not mapped, and what was made up from other resources.
    pub notes: Vec<String>,
}

/// One managed resource of the state.
struct Resource<'a> {
    address: String,
    kind: &'a str,
    values: &'a Value,
}

/// Every resource of a module and its child modules.
fn collect<'a>(module: &'a Value, out: &mut Vec<Resource<'a>>, data: &mut usize) {
    for r in module
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if r.get("mode").and_then(Value::as_str) == Some("data") {
            *data += 1;
            continue;
        }
        out.push(Resource {
            address: text(r, "address").unwrap_or_default(),
            kind: r.get("type").and_then(Value::as_str).unwrap_or(""),
            values: r.get("values").unwrap_or(&Value::Null),
        });
    }
    for child in module
        .get("child_modules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect(child, out, data);
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn ip(v: &Value, key: &str) -> Option<Ipv4Addr> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Whether an attribute holds something: not null, not empty.
fn set(v: &Value, key: &str) -> bool {
    match v.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// The attributes of a resource that nicplan does not manage and that are set, each
/// worth a note.
fn left_out(r: &Resource<'_>, keys: &[&str]) -> Option<String> {
    let found: Vec<&str> = keys.iter().copied().filter(|k| set(r.values, k)).collect();
    (!found.is_empty()).then(|| {
        format!(
            "{}: {} left out (nicplan does not manage {})",
            r.address,
            found.join(", "),
            if found.len() == 1 { "it" } else { "them" }
        )
    })
}

/// Reads the JSON of `terraform show -json`.
pub fn inventory(json: &str) -> Result<Converted, String> {
    let doc: Value = serde_json::from_str(json)
        .map_err(|e| format!("not the JSON of `terraform show -json`: {e}"))?;
    let Some(root) = doc.get("values").and_then(|v| v.get("root_module")) else {
        return Err(if doc.get("format_version").is_some() {
            "the state holds no resources (no values.root_module)".to_string()
        } else {
            "not the JSON of `terraform show -json` (no format_version, no values.root_module); a raw terraform.tfstate is read with `terraform show -json terraform.tfstate`".to_string()
        });
    };
    let mut resources = Vec::new();
    let mut data = 0;
    collect(root, &mut resources, &mut data);
    let mut inv = Inventory::default();
    let mut notes = Vec::new();
    let mut unmapped: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut main_subnets: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut instances = Vec::new();
    for r in &resources {
        let id = text(r.values, "id").filter(|s| !s.is_empty());
        let Some(id) = id else {
            if r.kind.starts_with("kakaocloud_") {
                notes.push(format!("{}: no id, left out", r.address));
            }
            continue;
        };
        let name = text(r.values, "name").unwrap_or_default();
        let description = text(r.values, "description").unwrap_or_default();
        match r.kind {
            "kakaocloud_vpc" => {
                let Some(cidr) = text(r.values, "cidr_block").and_then(|c| c.parse().ok()) else {
                    notes.push(format!("{}: no valid cidr_block, left out", r.address));
                    continue;
                };
                if let Some(main) = r.values.get("subnet").filter(|s| s.is_object())
                    && let (Some(block), Some(zone)) =
                        (text(main, "cidr_block"), text(main, "availability_zone"))
                {
                    main_subnets.insert(id.clone(), (block, zone));
                }
                inv.vpcs.insert(
                    id.clone(),
                    CloudVpc {
                        id,
                        name,
                        description,
                        cidr_block: cidr,
                        status: Provisioning::Active,
                    },
                );
            }
            "kakaocloud_subnet" => {
                let (Some(vpc_id), Some(cidr), Some(zone)) = (
                    text(r.values, "vpc_id"),
                    text(r.values, "cidr_block").and_then(|c| c.parse().ok()),
                    text(r.values, "availability_zone"),
                ) else {
                    notes.push(format!(
                        "{}: vpc_id, cidr_block or availability_zone missing, left out",
                        r.address
                    ));
                    continue;
                };
                notes.extend(left_out(r, &["route_table_id"]));
                inv.subnets.insert(
                    id.clone(),
                    CloudSubnet {
                        id,
                        name,
                        vpc_id,
                        cidr_block: cidr,
                        availability_zone: zone,
                        status: Provisioning::Active,
                    },
                );
            }
            "kakaocloud_security_group" => {
                let rules = list(r.values, "rules").len();
                if rules > 0 {
                    notes.push(format!(
                        "{}: {rules} rule{} left out (nicplan does not manage security group rules)",
                        r.address,
                        if rules == 1 { "" } else { "s" }
                    ));
                }
                inv.security_groups.insert(
                    id.clone(),
                    CloudSecurityGroup {
                        id,
                        name,
                        description,
                    },
                );
            }
            "kakaocloud_network_interface" => {
                let (Some(subnet_id), Some(private_ip)) =
                    (text(r.values, "subnet_id"), ip(r.values, "private_ip"))
                else {
                    notes.push(format!(
                        "{}: subnet_id or private_ip missing, left out",
                        r.address
                    ));
                    continue;
                };
                let pairs = list(r.values, "allowed_address_pairs");
                // As the platform's backend reads it: any pair with an address stands
                // for the check turned off.
                let source_dest_check = pairs.iter().all(|p| !set(p, "ip_address"));
                inv.nics.insert(
                    id.clone(),
                    CloudNic {
                        id,
                        name,
                        description,
                        subnet_id,
                        private_ip,
                        secondary_ips: list(r.values, "secondary_ips")
                            .iter()
                            .filter_map(|v| v.as_str().and_then(|s| s.parse().ok()))
                            .collect(),
                        security_group_ids: list(r.values, "security_groups")
                            .iter()
                            .filter_map(|g| text(g, "id"))
                            .collect(),
                        source_dest_check,
                        device_id: text(r.values, "device_id").filter(|s| !s.is_empty()),
                        mac_address: text(r.values, "mac_address").unwrap_or_default(),
                        // Follows from device_id, as the refresh reads it.
                        reported_status: None,
                    },
                );
            }
            "kakaocloud_instance" => instances.push((r, id, name, description)),
            "kakaocloud_public_ip" => {
                let Some(address) = ip(r.values, "public_ip") else {
                    notes.push(format!("{}: no public_ip address, left out", r.address));
                    continue;
                };
                let related = r.values.get("related_resource").filter(|v| v.is_object());
                let device_type = related.and_then(|v| text(v, "device_type"));
                if related.is_some() && device_type.as_deref() != Some("instance") {
                    notes.push(format!(
                        "{}: associated with a {} that nicplan does not manage, left out",
                        r.address,
                        device_type.as_deref().unwrap_or("device")
                    ));
                    continue;
                }
                let nic_id = related
                    .and_then(|v| text(v, "id"))
                    .filter(|s| !s.is_empty());
                inv.public_ips.insert(
                    id.clone(),
                    CloudPublicIp {
                        id,
                        description,
                        address,
                        private_ip: nic_id.as_ref().and(ip(r.values, "private_ip")),
                        status: if nic_id.is_some() {
                            PublicIpStatus::InUse
                        } else {
                            PublicIpStatus::Available
                        },
                        nic_id,
                    },
                );
            }
            other => unmapped.entry(other).or_default().push(r.address.clone()),
        }
    }
    for (r, id, name, description) in instances {
        let subnets = list(r.values, "subnets");
        let nic_ids: Vec<String> = subnets
            .iter()
            .filter_map(|s| text(s, "network_interface_id"))
            .filter(|s| !s.is_empty())
            .collect();
        let (Some(flavor), Some(primary)) = (
            r.values.get("flavor").and_then(|f| text(f, "name")),
            nic_ids.first().cloned(),
        ) else {
            notes.push(format!(
                "{}: flavor.name or its primary network interface (subnets[0].network_interface_id) missing, left out",
                r.address
            ));
            continue;
        };
        let groups: Vec<String> = list(r.values, "security_groups")
            .iter()
            .filter_map(|g| text(g, "id"))
            .collect();
        // NICs the instance made itself: no resource of their own.
        for (index, s) in subnets.iter().enumerate() {
            let Some(nic_id) = text(s, "network_interface_id").filter(|n| !n.is_empty()) else {
                continue;
            };
            if let Some(nic) = inv.nics.get_mut(&nic_id) {
                nic.device_id.get_or_insert_with(|| id.clone());
                continue;
            }
            let address = ip(s, "private_ip").or_else(|| {
                list(r.values, "addresses")
                    .iter()
                    .find(|a| text(a, "network_interface_id").as_deref() == Some(nic_id.as_str()))
                    .and_then(|a| ip(a, "private_ip"))
            });
            let (Some(subnet_id), Some(private_ip)) = (text(s, "id"), address) else {
                notes.push(format!(
                    "{}: the network interface {nic_id} of subnets[{index}] has no subnet or address, left out",
                    r.address
                ));
                continue;
            };
            notes.push(format!(
                "{}: network interface {nic_id} is not a resource of the state; it is made from the instance's subnets[{index}] (its MAC address comes with the refresh)",
                r.address
            ));
            inv.nics.insert(
                nic_id.clone(),
                CloudNic {
                    id: nic_id.clone(),
                    name: format!("{name}-eth{index}"),
                    description: String::new(),
                    subnet_id,
                    private_ip,
                    secondary_ips: Vec::new(),
                    security_group_ids: groups.clone(),
                    source_dest_check: true,
                    device_id: Some(id.clone()),
                    mac_address: String::new(),
                    reported_status: None,
                },
            );
        }
        notes.extend(left_out(
            r,
            &[
                "key_name",
                "volumes",
                "user_data",
                "initial_security_groups",
            ],
        ));
        let status = text(r.values, "status")
            .and_then(|s| s.to_ascii_lowercase().parse::<Status>().ok())
            .unwrap_or(Status::Active);
        inv.instances.insert(
            id.clone(),
            CloudInstance {
                id,
                name,
                description,
                flavor,
                image: text(r.values, "image_id")
                    .or_else(|| r.values.get("image").and_then(|i| text(i, "id")))
                    .unwrap_or_default(),
                availability_zone: text(r.values, "availability_zone").unwrap_or_default(),
                status,
                primary_nic_id: primary,
                attached_nic_ids: nic_ids,
            },
        );
    }
    // A NIC in a VPC's main subnet names a subnet no resource holds: it is the one made
    // with its VPC, whose block and zone the VPC gives.
    let missing: Vec<(String, String)> = inv
        .nics
        .values()
        .filter(|n| !inv.subnets.contains_key(&n.subnet_id))
        .map(|n| (n.subnet_id.clone(), n.id.clone()))
        .collect();
    for (subnet_id, nic_id) in missing {
        if inv.subnets.contains_key(&subnet_id) {
            continue;
        }
        let vpc = resources
            .iter()
            .find(|r| text(r.values, "id").as_deref() == Some(nic_id.as_str()))
            .and_then(|r| text(r.values, "vpc_id"))
            .or_else(|| {
                (main_subnets.len() == 1)
                    .then(|| main_subnets.keys().next().cloned())
                    .flatten()
            });
        let made = vpc.as_ref().and_then(|vpc| {
            let (block, zone) = main_subnets.get(vpc)?;
            let taken = inv
                .subnets
                .values()
                .any(|s| s.vpc_id == *vpc && s.cidr_block.to_string() == *block);
            (!taken).then(|| (vpc.clone(), block.parse().ok(), zone.clone()))
        });
        match made {
            Some((vpc_id, Some(cidr_block), zone)) => {
                let vpc_name = inv.vpcs.get(&vpc_id).map(|v| v.name.clone()).unwrap_or_default();
                notes.push(format!(
                    "subnet {subnet_id} is the main subnet of VPC {vpc_name} ({cidr_block}, {zone}), which the state holds no resource for"
                ));
                inv.subnets.insert(
                    subnet_id.clone(),
                    CloudSubnet {
                        id: subnet_id,
                        name: format!("{vpc_name}-main"),
                        vpc_id,
                        cidr_block,
                        availability_zone: zone,
                        status: Provisioning::Active,
                    },
                );
            }
            _ => notes.push(format!(
                "subnet {subnet_id} is in no resource of the state: the network interfaces in it are left out"
            )),
        }
    }
    for (kind, addresses) in unmapped {
        notes.push(format!(
            "{} left out: {kind} is not a network object nicplan manages",
            addresses.join(", ")
        ));
    }
    if data > 0 {
        notes.push(format!(
            "{data} data source{} left out: Terraform reads them, it does not manage them",
            if data == 1 { "" } else { "s" }
        ));
    }
    Ok(Converted {
        inventory: inv,
        notes,
    })
}
