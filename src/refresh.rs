//! Refresh: what the cloud holds now for every address in state, translated back from
//! IDs to names. Differences from the stored attributes are drift, reported apart from
//! the plan. Objects nicplan created but never recorded (a run killed between the cloud
//! call and the state write) are found by the marker in their description and adopted,
//! so they are never created twice.

use std::collections::BTreeMap;

use crate::address::{Address, Kind};
use crate::cloud::{self, Inventory};
use crate::ident::Ident;
use crate::plan::Outside;
use crate::plan::outside::{
    OutsideInstance, OutsideNic, OutsidePublicIp, OutsideSecurityGroup, OutsideSubnet, OutsideVpc,
};
use crate::resource::{self, Attributes};
use crate::state::{Entry, State};

/// How an address changed outside the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriftKind {
    /// Attributes differ from the state.
    Changed(Vec<String>),
    /// The object no longer exists; it leaves the state.
    Gone,
    /// A tagged object of this state that the state did not record; it joins the state.
    Adopted,
}

/// One address that changed outside the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    /// The resource.
    pub address: Address,
    /// What happened.
    pub kind: DriftKind,
    /// What the state held.
    pub before: Option<Attributes>,
    /// What the cloud holds.
    pub after: Option<Attributes>,
}

/// ID -> address of every object the state (and the adopted objects) name.
pub type Names = BTreeMap<String, Address>;

/// The name of the object `id` refers to, or `id:ID` for an object nicplan does not
/// manage (a NIC attached to an instance created by hand, say).
pub fn name_of(names: &Names, id: &str) -> Ident {
    names
        .get(id)
        .map_or_else(|| Ident::new(&format!("id:{id}")), |a| a.name)
}

/// The attributes of the object `id` of `kind`, as the cloud holds it now, or `None`
/// when it is gone. `previous` supplies what only the file knows (prevent_destroy).
pub fn observe(
    inventory: &Inventory,
    names: &Names,
    kind: Kind,
    id: &str,
    previous: Option<&Attributes>,
) -> Option<Attributes> {
    Some(match kind {
        Kind::Vpc => {
            let v = inventory.vpcs.get(id)?;
            Attributes::Vpc(resource::Vpc {
                cidr_block: v.cidr_block,
            })
        }
        Kind::Subnet => {
            let s = inventory.subnets.get(id)?;
            Attributes::Subnet(resource::Subnet {
                vpc: name_of(names, &s.vpc_id),
                cidr_block: s.cidr_block,
                availability_zone: Ident::new(&s.availability_zone),
            })
        }
        Kind::SecurityGroup => {
            let g = inventory.security_groups.get(id)?;
            Attributes::SecurityGroup(resource::SecurityGroup {
                description: Ident::new(&cloud::untag_description(&g.description).0),
            })
        }
        Kind::Instance => {
            let i = inventory.instances.get(id)?;
            let prevent_destroy =
                matches!(previous, Some(Attributes::Instance(p)) if p.prevent_destroy);
            // The platform shows the volume, not what it was made from: the size the
            // state recorded stays.
            let (root_volume_gb, bonding) = match previous {
                Some(Attributes::Instance(p)) => (p.root_volume_gb, p.bonding),
                _ => (None, None),
            };
            Attributes::Instance(resource::Instance {
                instance_type: Ident::new(&i.flavor),
                image: Ident::new(&i.image),
                primary_interface: name_of(names, &i.primary_nic_id),
                prevent_destroy,
                root_volume_gb,
                bonding,
                availability_zone: Some(Ident::new(&i.availability_zone)),
                status: Some(i.status),
            })
        }
        Kind::NetworkInterface => {
            let n = inventory.nics.get(id)?;
            let mut groups: Vec<Ident> = n
                .security_group_ids
                .iter()
                .map(|g| name_of(names, g))
                .collect();
            groups.sort();
            // Only a secondary attachment is an `attach_to`; the primary is the
            // instance's `primary_interface`.
            let attach_to = n.device_id.as_ref().and_then(|device| {
                let primary = inventory
                    .instances
                    .get(device)
                    .is_some_and(|i| i.primary_nic_id == n.id);
                (!primary).then(|| name_of(names, device))
            });
            Attributes::NetworkInterface(resource::NetworkInterface {
                subnet: name_of(names, &n.subnet_id),
                description: Ident::new(&cloud::untag_description(&n.description).0),
                private_ip: Some(n.private_ip),
                secondary_private_ips: n.secondary_ips.clone().into(),
                security_groups: groups.into(),
                source_dest_check: n.source_dest_check,
                attach_to,
                mac_address: Some(Ident::new(&n.mac_address)),
                status: Some(n.status()),
            })
        }
        Kind::PublicIp => {
            let p = inventory.public_ips.get(id)?;
            Attributes::PublicIp(resource::PublicIp {
                network_interface: p.nic_id.as_ref().map(|n| name_of(names, n)),
                private_ip: p.private_ip,
                address: Some(p.address),
            })
        }
    })
}

/// The first characters of a lineage, as markers carry it.
fn marker_prefix(lineage: &str) -> String {
    lineage.chars().take(8).collect()
}

/// How many objects of the inventory carry the marker of a lineage other than
/// `lineage`, by that lineage's prefix: what other states made and may manage still.
pub fn made_by_others(inventory: &Inventory, lineage: &str) -> BTreeMap<String, usize> {
    let own = marker_prefix(lineage);
    let descriptions = inventory
        .vpcs
        .values()
        .map(|v| &v.description)
        .chain(inventory.security_groups.values().map(|g| &g.description))
        .chain(inventory.instances.values().map(|i| &i.description))
        .chain(inventory.nics.values().map(|n| &n.description))
        .chain(inventory.public_ips.values().map(|p| &p.description));
    let mut counts = BTreeMap::new();
    for description in descriptions {
        if let (_, Some((prefix, _))) = cloud::untag_description(description)
            && prefix != own
        {
            *counts.entry(prefix.to_string()).or_insert(0) += 1;
        }
    }
    counts
}

/// An entry of the state whose object carries the marker of another state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    /// The entry.
    pub address: Address,
    /// Its object.
    pub id: String,
    /// The other state's lineage, as far as the marker holds it.
    pub lineage_prefix: String,
    /// The address the other state gives the object.
    pub as_address: Address,
}

/// The marker of another lineage on object `id` of `kind`, if it carries one: the
/// other lineage's prefix and the address it gives the object. Subnets carry no marker.
pub fn other_marker(
    inventory: &Inventory,
    lineage: &str,
    kind: Kind,
    id: &str,
) -> Option<(String, Address)> {
    let description = match kind {
        Kind::Vpc => inventory.vpcs.get(id).map(|v| &v.description),
        Kind::SecurityGroup => inventory.security_groups.get(id).map(|g| &g.description),
        Kind::Instance => inventory.instances.get(id).map(|i| &i.description),
        Kind::NetworkInterface => inventory.nics.get(id).map(|n| &n.description),
        Kind::PublicIp => inventory.public_ips.get(id).map(|p| &p.description),
        Kind::Subnet => None,
    }?;
    let (_, marker) = cloud::untag_description(description);
    marker.filter(|(prefix, _)| *prefix != marker_prefix(lineage))
}

/// The entries of `state` whose objects carry another lineage's marker: another state
/// made them and may manage them still. Objects imported with `--take-over` are not.
pub fn claimed_by_others(state: &State, inventory: &Inventory) -> Vec<Claimed> {
    state
        .resources
        .iter()
        .filter(|(_, entry)| !state.taken_over.contains(&entry.id))
        .filter_map(|(address, entry)| {
            let (lineage_prefix, as_address) =
                other_marker(inventory, &state.lineage, address.kind, &entry.id)?;
            Some(Claimed {
                address: *address,
                id: entry.id.clone(),
                lineage_prefix,
                as_address,
            })
        })
        .collect()
}

/// Every object in the inventory with the marker of this lineage: ID -> address.
fn tagged(inventory: &Inventory, lineage: &str) -> Vec<(Kind, String, Address)> {
    let short = marker_prefix(lineage);
    let mut out = Vec::new();
    let mut take = |kind: Kind, id: &str, description: &str| {
        if let (_, Some((prefix, address))) = cloud::untag_description(description)
            && prefix == short
            && address.kind == kind
        {
            out.push((kind, id.to_string(), address));
        }
    };
    for v in inventory.vpcs.values() {
        take(Kind::Vpc, &v.id, &v.description);
    }
    for g in inventory.security_groups.values() {
        take(Kind::SecurityGroup, &g.id, &g.description);
    }
    for i in inventory.instances.values() {
        take(Kind::Instance, &i.id, &i.description);
    }
    for n in inventory.nics.values() {
        take(Kind::NetworkInterface, &n.id, &n.description);
    }
    for p in inventory.public_ips.values() {
        take(Kind::PublicIp, &p.id, &p.description);
    }
    out
}

/// Refreshes `state` from `inventory`: the new state (same lineage and serial) and the
/// drift found.
pub fn refresh(state: &State, inventory: &Inventory) -> (State, Vec<Drift>) {
    let mut names: Names = state
        .resources
        .iter()
        .map(|(a, e)| (e.id.clone(), *a))
        .collect();
    let mut adopted: Vec<(String, Address)> = Vec::new();
    for (kind, id, address) in tagged(inventory, &state.lineage) {
        if state.forgotten.contains(&id) {
            continue;
        }
        let recorded = state.resources.get(&address);
        // Adopt only what the state does not hold, or holds under an ID that is gone.
        let missing = match recorded {
            None => true,
            Some(e) => e.id != id && observe(inventory, &names, kind, &e.id, None).is_none(),
        };
        if missing && !names.contains_key(&id) {
            names.insert(id.clone(), address);
            adopted.push((id, address));
        }
    }
    for (address, intent) in &state.intents {
        if state.resources.contains_key(address) || adopted.iter().any(|(_, a)| a == address) {
            continue;
        }
        let cidr = |c: &ipnet::Ipv4Net| c.to_string() == intent.cidr_block;
        let candidates: Vec<&String> = match address.kind {
            Kind::Vpc => inventory
                .vpcs
                .values()
                .filter(|v| v.name == intent.name && cidr(&v.cidr_block))
                .map(|v| &v.id)
                .collect(),
            Kind::Subnet => inventory
                .subnets
                .values()
                .filter(|s| {
                    s.name == intent.name
                        && cidr(&s.cidr_block)
                        && intent.availability_zone.as_deref() == Some(&s.availability_zone)
                        && intent.vpc_id.as_deref() == Some(&s.vpc_id)
                })
                .map(|s| &s.id)
                .collect(),
            _ => Vec::new(),
        };
        let new: Vec<&String> = candidates
            .into_iter()
            .filter(|id| {
                !intent.existing.contains(*id)
                    && !names.contains_key(*id)
                    && !state.forgotten.contains(*id)
            })
            .collect();
        // Exactly one new object with its identity: the one the call made. None: the
        // call never reached the platform, and the create is still to do.
        if let [id] = new.as_slice() {
            names.insert((*id).clone(), *address);
            adopted.push(((*id).clone(), *address));
        }
    }
    let adopted_addresses: BTreeMap<&Address, &String> =
        adopted.iter().map(|(id, a)| (a, id)).collect();
    let mut next = State {
        lineage: state.lineage.clone(),
        serial: state.serial,
        resources: BTreeMap::new(),
        forgotten: state.forgotten.clone(),
        taken_over: state.taken_over.clone(),
        // Resolved here: adopted below, or still to do.
        intents: BTreeMap::new(),
        applied_from: state.applied_from.clone(),
    };
    let mut drift = Vec::new();
    for (address, entry) in &state.resources {
        if adopted_addresses.contains_key(address) {
            continue;
        }
        match observe(
            inventory,
            &names,
            address.kind,
            &entry.id,
            Some(&entry.attributes),
        ) {
            None => drift.push(Drift {
                address: *address,
                kind: DriftKind::Gone,
                before: Some(entry.attributes.clone()),
                after: None,
            }),
            Some(now) => {
                // A reference that now reads `id:X` because the state forgot X
                // (`state rm`) is the state's doing, not a change in the cloud.
                let changed: Vec<String> = differences(&entry.attributes, &now)
                    .into_iter()
                    .filter(|key| !forgotten_only(&entry.attributes, &now, key, &state.forgotten))
                    .collect();
                if !changed.is_empty() {
                    drift.push(Drift {
                        address: *address,
                        kind: DriftKind::Changed(changed),
                        before: Some(entry.attributes.clone()),
                        after: Some(now.clone()),
                    });
                }
                next.resources.insert(
                    *address,
                    Entry {
                        id: entry.id.clone(),
                        attributes: now,
                    },
                );
            }
        }
    }
    for (id, address) in &adopted {
        let previous = state.resources.get(address).map(|e| &e.attributes);
        if let Some(now) = observe(inventory, &names, address.kind, id, previous) {
            drift.push(Drift {
                address: *address,
                kind: DriftKind::Adopted,
                before: previous.cloned(),
                after: Some(now.clone()),
            });
            next.resources.insert(
                *address,
                Entry {
                    id: id.clone(),
                    attributes: now,
                },
            );
        }
    }
    drift.sort_by_key(|a| a.address);
    (next, drift)
}

/// What the cloud holds outside `state` (a refreshed state): every VPC, subnet,
/// security group and instance nicplan does not manage, the unmanaged NICs in managed
/// subnets, on managed instances or in managed security groups, and the unmanaged
/// public IPs on any of those NICs.
pub fn outside(state: &State, inventory: &Inventory) -> Outside {
    let names: Names = state
        .resources
        .iter()
        .map(|(a, e)| (e.id.clone(), *a))
        .collect();
    let managed = |id: &str| names.contains_key(id);
    let mut out = Outside::empty();
    out.quotas = inventory.quotas;
    for v in inventory.vpcs.values().filter(|v| !managed(&v.id)) {
        out.vpcs.push(OutsideVpc {
            id: v.id.clone(),
            name: v.name.clone(),
            cidr_block: v.cidr_block,
        });
    }
    for s in inventory.subnets.values().filter(|s| !managed(&s.id)) {
        out.subnets.push(OutsideSubnet {
            id: s.id.clone(),
            name: s.name.clone(),
            vpc: name_of(&names, &s.vpc_id).into(),
            cidr_block: s.cidr_block,
            availability_zone: s.availability_zone.clone(),
        });
    }
    for g in inventory
        .security_groups
        .values()
        .filter(|g| !managed(&g.id))
    {
        out.security_groups.push(OutsideSecurityGroup {
            id: g.id.clone(),
            name: g.name.clone(),
        });
    }
    for i in inventory.instances.values().filter(|i| !managed(&i.id)) {
        out.instances.push(OutsideInstance {
            id: i.id.clone(),
            name: i.name.clone(),
            flavor: i.flavor.clone(),
            primary_interface: name_of(&names, &i.primary_nic_id).into(),
        });
    }
    let mut kept: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for n in inventory.nics.values().filter(|n| !managed(&n.id)) {
        let on_managed = n.device_id.as_deref().is_some_and(managed);
        let uses_managed_group = n.security_group_ids.iter().any(|g| managed(g));
        if !managed(&n.subnet_id) && !on_managed && !uses_managed_group {
            continue;
        }
        kept.insert(&n.id);
        let attached = n.device_id.as_ref().map(|device| {
            let primary = inventory
                .instances
                .get(device)
                .is_some_and(|i| i.primary_nic_id == n.id);
            (name_of(&names, device).into(), primary)
        });
        let mut groups: Vec<String> = n
            .security_group_ids
            .iter()
            .map(|g| name_of(&names, g).into())
            .collect();
        groups.sort();
        out.nics.push(OutsideNic {
            id: n.id.clone(),
            name: n.name.clone(),
            subnet: name_of(&names, &n.subnet_id).into(),
            ips: std::iter::once(n.private_ip)
                .chain(n.secondary_ips.iter().copied())
                .collect(),
            security_groups: groups,
            attached,
        });
    }
    for p in inventory.public_ips.values().filter(|p| !managed(&p.id)) {
        let Some(nic) = &p.nic_id else { continue };
        if !managed(nic) && !kept.contains(nic.as_str()) {
            continue;
        }
        out.public_ips.push(OutsidePublicIp {
            id: p.id.clone(),
            address: p.address,
            network_interface: name_of(&names, nic).into(),
            private_ip: p.private_ip,
        });
    }
    out
}

/// The attributes of `kind` that only the cloud gives (never desired): one the state
/// lacks and the cloud reports is learned, not drift (a state written before nicplan
/// recorded it, or by an import that could not see it).
fn assigned_only(kind: Kind, key: &str) -> bool {
    match kind {
        Kind::NetworkInterface => matches!(key, "private_ip" | "mac_address" | "status"),
        Kind::Instance => matches!(key, "availability_zone" | "status"),
        Kind::PublicIp => key == "address",
        Kind::Vpc | Kind::Subnet | Kind::SecurityGroup => false,
    }
}

/// Whether attribute `key` differs only as the state forgot an object: the new value
/// names some forgotten object by its ID where the old one did not.
fn forgotten_only(
    before: &Attributes,
    after: &Attributes,
    key: &str,
    forgotten: &std::collections::BTreeSet<String>,
) -> bool {
    fn ids(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) => {
                if let Some(id) = s.strip_prefix("id:") {
                    out.push(id.to_string());
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| ids(v, out)),
            _ => {}
        }
    }
    let (mut old, mut new) = (Vec::new(), Vec::new());
    ids(&before.to_value()[key], &mut old);
    ids(&after.to_value()[key], &mut new);
    let appeared: Vec<&String> = new.iter().filter(|id| !old.contains(id)).collect();
    !appeared.is_empty() && appeared.iter().all(|id| forgotten.contains(*id))
}

/// Names of the top-level attributes that differ, status excluded (it is observed,
/// never desired, and changes on its own), and so is a value only the cloud assigns
/// that the state never had.
pub fn differences(before: &Attributes, after: &Attributes) -> Vec<String> {
    let (serde_json::Value::Object(b), serde_json::Value::Object(a)) =
        (before.to_value(), after.to_value())
    else {
        return Vec::new();
    };
    let kind = before.kind();
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| k.as_str() != "status" && b.get(*k) != a.get(*k))
        // A value the cloud assigns that the state never held is learnt, not drift.
        .filter(|k| !(assigned_only(kind, k) && b.get(*k).is_none_or(serde_json::Value::is_null)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nic(mac: Option<&str>, status: Option<resource::NicStatus>, sdc: bool) -> Attributes {
        Attributes::NetworkInterface(resource::NetworkInterface {
            subnet: "a".into(),
            description: Ident::default(),
            private_ip: Some("10.0.1.5".parse().expect("ip")),
            secondary_private_ips: Box::default(),
            security_groups: crate::ident::IdentList::default(),
            source_dest_check: sdc,
            attach_to: None,
            mac_address: mac.map(Ident::new),
            status,
        })
    }

    #[test]
    fn a_value_only_the_cloud_assigns_is_learned_not_drift_but_a_changed_one_is() {
        let seen = nic(
            Some("fa:16:3e:00:00:01"),
            Some(resource::NicStatus::InUse),
            true,
        );
        assert!(differences(&nic(None, None, true), &seen).is_empty());
        assert_eq!(
            differences(&nic(Some("fa:16:3e:00:00:02"), None, true), &seen),
            ["mac_address"]
        );
        assert_eq!(
            differences(&nic(None, None, false), &seen),
            ["source_dest_check"]
        );
    }
}
