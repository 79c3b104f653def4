//! Adopting a whole network: from what the cloud holds (or what a Terraform state says it
//! holds) to a desired-state file and the state entries that make its first plan empty.
//!
//! The objects are chosen by VPC and closed over their references (a NIC's subnet and
//! groups, the instance it is attached to and that instance's other NICs, the NIC a
//! public IP maps to), so the file never names what it does not declare. Names come from
//! the state when it already manages an object, then from nicplan's marker in the
//! description, then from the cloud's name made valid and unique.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::address::{Address, Kind};
use crate::cloud::{self, Inventory};
use crate::refresh::{self, Names};
use crate::state::Entry;

pub mod terraform;

/// The objects of an inventory to adopt, by ID.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// VPCs.
    pub vpcs: BTreeSet<String>,
    /// Subnets.
    pub subnets: BTreeSet<String>,
    /// Security groups.
    pub security_groups: BTreeSet<String>,
    /// Instances.
    pub instances: BTreeSet<String>,
    /// Network interfaces.
    pub nics: BTreeSet<String>,
    /// Public IPs.
    pub public_ips: BTreeSet<String>,
}

impl Selection {
    /// How many objects.
    pub fn len(&self) -> usize {
        self.vpcs.len()
            + self.subnets.len()
            + self.security_groups.len()
            + self.instances.len()
            + self.nics.len()
            + self.public_ips.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `id` of `kind` is chosen.
    pub fn contains(&self, kind: Kind, id: &str) -> bool {
        self.of(kind).contains(id)
    }

    fn of(&self, kind: Kind) -> &BTreeSet<String> {
        match kind {
            Kind::Vpc => &self.vpcs,
            Kind::Subnet => &self.subnets,
            Kind::SecurityGroup => &self.security_groups,
            Kind::Instance => &self.instances,
            Kind::NetworkInterface => &self.nics,
            Kind::PublicIp => &self.public_ips,
        }
    }

    /// Every chosen object, kind by kind in dependency order, then by ID.
    pub fn objects(&self) -> impl Iterator<Item = (Kind, &String)> {
        Kind::ALL
            .into_iter()
            .flat_map(move |kind| self.of(kind).iter().map(move |id| (kind, id)))
    }
}

/// Chooses what to adopt: everything in `inventory` when `vpcs` is empty, else the VPCs
/// named (by name or ID) and what their objects refer to. The notes say what was added
/// beyond the VPCs named and what was left out.
pub fn select(inventory: &Inventory, vpcs: &[String]) -> Result<(Selection, Vec<String>), String> {
    let mut notes = Vec::new();
    let mut chosen = BTreeSet::new();
    if vpcs.is_empty() {
        let all = Selection {
            vpcs: inventory.vpcs.keys().cloned().collect(),
            subnets: inventory.subnets.keys().cloned().collect(),
            security_groups: inventory.security_groups.keys().cloned().collect(),
            instances: inventory.instances.keys().cloned().collect(),
            nics: inventory.nics.keys().cloned().collect(),
            public_ips: inventory.public_ips.keys().cloned().collect(),
        };
        return Ok((close(inventory, all, &mut notes), notes));
    }
    for wanted in vpcs {
        if inventory.vpcs.contains_key(wanted) {
            chosen.insert(wanted.clone());
            continue;
        }
        let named: Vec<&String> = inventory
            .vpcs
            .values()
            .filter(|v| v.name == *wanted)
            .map(|v| &v.id)
            .collect();
        match named.as_slice() {
            [id] => {
                chosen.insert((*id).clone());
            }
            [] => {
                let mut names: Vec<&str> =
                    inventory.vpcs.values().map(|v| v.name.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                let known = if names.is_empty() {
                    "it holds no VPC".to_string()
                } else {
                    format!("its VPCs are {}", names.join(", "))
                };
                return Err(format!(
                    "the cloud has no VPC named or with the ID {wanted:?}; {known}"
                ));
            }
            many => {
                let ids: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                return Err(format!(
                    "{} VPCs are named {wanted:?} ({}); name the one to import by its ID",
                    ids.len(),
                    ids.join(", ")
                ));
            }
        }
    }
    let subnets: BTreeSet<String> = inventory
        .subnets
        .values()
        .filter(|s| chosen.contains(&s.vpc_id))
        .map(|s| s.id.clone())
        .collect();
    let nics: BTreeSet<String> = inventory
        .nics
        .values()
        .filter(|n| subnets.contains(&n.subnet_id))
        .map(|n| n.id.clone())
        .collect();
    let public_ips = inventory
        .public_ips
        .values()
        .filter(|p| p.nic_id.as_ref().is_some_and(|n| nics.contains(n)))
        .map(|p| p.id.clone())
        .collect();
    let unassociated = inventory
        .public_ips
        .values()
        .filter(|p| p.nic_id.is_none())
        .count();
    let start = Selection {
        vpcs: chosen.clone(),
        subnets,
        nics,
        public_ips,
        ..Selection::default()
    };
    let selection = close(inventory, start, &mut notes);
    for id in selection.vpcs.difference(&chosen) {
        notes.push(format!(
            "VPC {} ({id}) is imported too: objects of the VPCs named use it",
            inventory.vpcs[id].name
        ));
    }
    if unassociated > 0 {
        notes.push(format!(
            "{unassociated} unassociated public IP{} left out: they belong to no VPC (import without --vpc to take them)",
            if unassociated == 1 { " is" } else { "s are" }
        ));
    }
    Ok((selection, notes))
}

/// Adds what the chosen objects refer to, until nothing is missing; drops references to
/// objects the cloud does not show (a NIC attached to an instance being deleted).
fn close(inventory: &Inventory, mut s: Selection, notes: &mut Vec<String>) -> Selection {
    loop {
        let before = s.len();
        for id in s.public_ips.clone() {
            if let Some(nic) = inventory
                .public_ips
                .get(&id)
                .and_then(|p| p.nic_id.as_ref())
                && inventory.nics.contains_key(nic)
            {
                s.nics.insert(nic.clone());
            }
        }
        for id in s.instances.clone() {
            let Some(instance) = inventory.instances.get(&id) else {
                continue;
            };
            if inventory.nics.contains_key(&instance.primary_nic_id) {
                s.nics.insert(instance.primary_nic_id.clone());
            }
            for nic in inventory.nics.values() {
                if nic.device_id.as_deref() == Some(id.as_str()) {
                    s.nics.insert(nic.id.clone());
                }
            }
        }
        for id in s.nics.clone() {
            let Some(nic) = inventory.nics.get(&id) else {
                continue;
            };
            if inventory.subnets.contains_key(&nic.subnet_id) {
                s.subnets.insert(nic.subnet_id.clone());
            }
            for group in &nic.security_group_ids {
                if inventory.security_groups.contains_key(group) {
                    s.security_groups.insert(group.clone());
                }
            }
            if let Some(device) = &nic.device_id
                && inventory.instances.contains_key(device)
            {
                s.instances.insert(device.clone());
            }
            // A primary NIC brings its instance even when the instance does not list
            // it as attached (yet).
            for instance in inventory.instances.values() {
                if instance.primary_nic_id == id {
                    s.instances.insert(instance.id.clone());
                }
            }
        }
        for id in s.subnets.clone() {
            if let Some(subnet) = inventory.subnets.get(&id)
                && inventory.vpcs.contains_key(&subnet.vpc_id)
            {
                s.vpcs.insert(subnet.vpc_id.clone());
            }
        }
        if s.len() == before {
            break;
        }
    }
    // An object whose parent the cloud does not show cannot be declared.
    let mut dropped = Vec::new();
    s.subnets.retain(|id| {
        let keep = inventory
            .subnets
            .get(id)
            .is_some_and(|x| s.vpcs.contains(&x.vpc_id));
        if !keep {
            dropped.push(format!("subnet {id}"));
        }
        keep
    });
    s.nics.retain(|id| {
        let keep = inventory
            .nics
            .get(id)
            .is_some_and(|x| s.subnets.contains(&x.subnet_id));
        if !keep {
            dropped.push(format!("network interface {id}"));
        }
        keep
    });
    s.instances.retain(|id| {
        let keep = inventory
            .instances
            .get(id)
            .is_some_and(|x| s.nics.contains(&x.primary_nic_id));
        if !keep {
            dropped.push(format!("instance {id}"));
        }
        keep
    });
    for what in dropped {
        notes.push(format!(
            "{what} is left out: the cloud does not show what it belongs to"
        ));
    }
    s
}

/// What an adoption makes: the file's text, the state's entries, and what to tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adopted {
    /// The desired-state file.
    pub yaml: String,
    /// The state's entries, one per object adopted.
    pub resources: BTreeMap<Address, Entry>,
    /// Names changed, objects added or left out.
    pub notes: Vec<String>,
    /// IDs of objects that carry another state's marker, with the address that state
    /// gives them.
    pub claimed: Vec<(String, Address)>,
}

/// Where the file's state and backend come from, when they are not the defaults; written
/// into its `settings` so that the next command finds them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// `settings.backend.kind: kakaocloud`.
    pub kakaocloud: bool,
    /// A local state at another path than the default.
    pub state_path: Option<String>,
    /// What the objects were read from, in words: "what the cloud holds".
    pub source: String,
}

/// Adopts `selection` of `inventory`: the file and the state's entries. `known` gives
/// the names the state already uses (ID -> address), `lineage` is the state's.
pub fn adopt(
    inventory: &Inventory,
    selection: &Selection,
    known: &Names,
    lineage: &str,
    origin: &Origin,
    mut notes: Vec<String>,
) -> Adopted {
    let mut claimed = Vec::new();
    for (kind, id) in selection.objects() {
        if !known.contains_key(id)
            && let Some((_, as_address)) = refresh::other_marker(inventory, lineage, kind, id)
        {
            claimed.push((id.clone(), as_address));
        }
    }
    let names = name_all(inventory, selection, known, &mut notes);
    let mut resources = BTreeMap::new();
    for (kind, id) in selection.objects() {
        let address = names[id];
        if let Some(mut attributes) = refresh::observe(inventory, &names, kind, id, None) {
            // A MAC address nobody recorded (a NIC known only from its instance, in a
            // Terraform state) is learnt by the next refresh.
            if let crate::resource::Attributes::NetworkInterface(n) = &mut attributes
                && n.mac_address.as_deref() == Some("")
            {
                n.mac_address = None;
            }
            resources.insert(
                address,
                Entry {
                    id: id.clone(),
                    attributes,
                },
            );
        }
    }
    let yaml = write_file(inventory, selection, &names, origin);
    Adopted {
        yaml,
        resources,
        notes,
        claimed,
    }
}

/// Gives every chosen object an address: the state's, else the marker's, else the
/// cloud's name made valid, each unique within its kind.
fn name_all(
    inventory: &Inventory,
    selection: &Selection,
    known: &Names,
    notes: &mut Vec<String>,
) -> Names {
    let mut names = Names::new();
    let mut taken: BTreeSet<Address> = BTreeSet::new();
    // First what is already fixed: the state's names, then markers of valid names.
    for (kind, id) in selection.objects() {
        if let Some(address) = known.get(id)
            && address.kind == kind
            && taken.insert(*address)
        {
            names.insert(id.clone(), *address);
        }
    }
    for (kind, id) in selection.objects() {
        if names.contains_key(id) {
            continue;
        }
        if let Some(address) = marker_address(inventory, kind, id)
            && crate::model::name_problem(&address.name).is_none()
            && taken.insert(address)
        {
            names.insert(id.clone(), address);
        }
    }
    // Then the cloud's names, in order of name and ID so that the same cloud gives the
    // same file. Public IPs have no name: they are called after their NIC, so NICs are
    // named first (kinds go in dependency order).
    for kind in Kind::ALL {
        let mut pending: Vec<(bool, String, &String)> = selection
            .of(kind)
            .iter()
            .filter(|id| !names.contains_key(*id))
            .map(|id| {
                let cloud = cloud_name(inventory, &names, kind, id);
                // A name that is valid as it is goes first: it keeps itself.
                (valid_name(&cloud, kind, id) != cloud, cloud, id)
            })
            .collect();
        pending.sort();
        for (_, cloud, id) in pending {
            let base = valid_name(&cloud, kind, id);
            let mut name = base.clone();
            let mut n = 2;
            while taken.contains(&Address::new(kind, name.clone())) {
                let suffix = format!("-{n}");
                let keep = base.len().min(63 - suffix.len());
                name = format!("{}{suffix}", base[..keep].trim_end_matches(['-', '_']));
                n += 1;
            }
            if kind != Kind::PublicIp && name != cloud {
                notes.push(format!(
                    "{} {:?} ({id}) is named {name} in the file{}",
                    kind.noun(),
                    cloud,
                    if base == cloud {
                        ": another one has that name"
                    } else {
                        ""
                    }
                ));
            }
            let address = Address::new(kind, name);
            taken.insert(address);
            names.insert(id.clone(), address);
        }
    }
    names
}

/// The address nicplan's marker in the object's description gives it.
fn marker_address(inventory: &Inventory, kind: Kind, id: &str) -> Option<Address> {
    let description = match kind {
        Kind::Vpc => &inventory.vpcs.get(id)?.description,
        Kind::SecurityGroup => &inventory.security_groups.get(id)?.description,
        Kind::Instance => &inventory.instances.get(id)?.description,
        Kind::NetworkInterface => &inventory.nics.get(id)?.description,
        Kind::PublicIp => &inventory.public_ips.get(id)?.description,
        Kind::Subnet => return None,
    };
    let (_, marker) = cloud::untag_description(description);
    marker
        .map(|(_, address)| address)
        .filter(|a| a.kind == kind)
}

/// The name the cloud gives an object; for a public IP, its NIC's name and `-public`,
/// or its address.
fn cloud_name(inventory: &Inventory, names: &Names, kind: Kind, id: &str) -> String {
    match kind {
        Kind::Vpc => inventory.vpcs[id].name.clone(),
        Kind::Subnet => inventory.subnets[id].name.clone(),
        Kind::SecurityGroup => inventory.security_groups[id].name.clone(),
        Kind::Instance => inventory.instances[id].name.clone(),
        Kind::NetworkInterface => inventory.nics[id].name.clone(),
        Kind::PublicIp => {
            let ip = &inventory.public_ips[id];
            match ip.nic_id.as_ref().and_then(|n| names.get(n)) {
                Some(nic) => format!("{}-public", nic.name),
                None => format!("ip-{}", ip.address.to_string().replace('.', "-")),
            }
        }
    }
}

/// `name` made a valid resource name: lower case, other characters as `-`, starting
/// with a letter or digit, at most 63 characters; a name with nothing left is made
/// from the kind and the ID.
pub fn valid_name(name: &str, kind: Kind, id: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        if c == '_' && out.is_empty() {
            continue;
        }
        out.push(c);
    }
    out.truncate(63);
    let out = out.trim_end_matches(['-', '_']).to_string();
    if out.is_empty() {
        let short: String = id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect::<String>()
            .to_ascii_lowercase();
        return format!("{}-{short}", kind.as_str().replace('_', "-"));
    }
    out
}

/// The project's quotas, when they are not the platform's defaults: as the backend
/// tells them, else at least what the project holds (the platform let it grow past a
/// default, so its quota was raised).
fn quotas(inventory: &Inventory) -> Option<(u32, u32, u32)> {
    let default = crate::model::Quotas::DEFAULT;
    let defaults = (
        default.vpcs.limit,
        default.subnets.limit,
        default.instances.limit,
    );
    let held = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let found = match inventory.quotas {
        Some(q) => (q.vpcs, q.subnets, q.instances),
        None => (
            defaults.0.max(held(inventory.vpcs.len())),
            defaults.1.max(held(inventory.subnets.len())),
            defaults.2.max(held(inventory.instances.len())),
        ),
    };
    (found != defaults).then_some(found)
}

/// A YAML scalar for `text`: plain when it reads back as that very string, else
/// double-quoted (a JSON string is a valid YAML one).
fn scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '_' | '-' | '/'))
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !text.ends_with(' ')
        && matches!(
            serde_saphyr::from_str::<serde_json::Value>(text),
            Ok(serde_json::Value::String(s)) if s == text
        );
    if plain {
        text.to_string()
    } else {
        serde_json::Value::String(text.to_string()).to_string()
    }
}

/// The desired-state file declaring `selection`, formatted as the examples are.
fn write_file(
    inventory: &Inventory,
    selection: &Selection,
    names: &Names,
    origin: &Origin,
) -> String {
    let name = |id: &str| names[id].name.to_string();
    let mut out = String::new();
    out.push_str("# yaml-language-server: $schema=nicplan.schema.json\n");
    let _ = writeln!(out, "# Written by `nicplan import` from {}.", origin.source);
    out.push_str(
        "# `nicplan schema > nicplan.schema.json` writes the schema the first line names.\n",
    );
    out.push_str("version: 1\n");
    let quotas = quotas(inventory);
    if origin.kakaocloud || origin.state_path.is_some() || quotas.is_some() {
        out.push_str("\nsettings:\n");
        if origin.kakaocloud {
            out.push_str("  backend: { kind: kakaocloud }\n");
        }
        if let Some(path) = &origin.state_path {
            let _ = writeln!(out, "  state: {{ kind: local, path: {} }}", scalar(path));
        }
        if let Some((vpcs, subnets, instances)) = quotas {
            let _ = writeln!(
                out,
                "  quotas: {{ vpcs: {vpcs}, subnets: {subnets}, instances: {instances} }}"
            );
        }
    }
    let sorted = |kind: Kind| {
        let mut ids: Vec<&String> = selection.of(kind).iter().collect();
        ids.sort_by_key(|id| name(id));
        ids
    };

    let vpcs = sorted(Kind::Vpc);
    if !vpcs.is_empty() {
        out.push_str("\nvpcs:\n");
        for id in vpcs {
            let v = &inventory.vpcs[id];
            let _ = writeln!(out, "  {}:\n    cidr_block: {}", name(id), v.cidr_block);
        }
    }
    let subnets = sorted(Kind::Subnet);
    if !subnets.is_empty() {
        out.push_str("\nsubnets:\n");
        for id in subnets {
            let s = &inventory.subnets[id];
            let _ = writeln!(
                out,
                "  {}:\n    vpc: {}\n    cidr_block: {}\n    availability_zone: {}",
                name(id),
                name(&s.vpc_id),
                s.cidr_block,
                scalar(&s.availability_zone)
            );
        }
    }
    let groups = sorted(Kind::SecurityGroup);
    if !groups.is_empty() {
        out.push_str("\nsecurity_groups:\n");
        for id in groups {
            let (description, _) =
                cloud::untag_description(&inventory.security_groups[id].description);
            if description.is_empty() {
                let _ = writeln!(out, "  {}: {{}}", name(id));
            } else {
                let _ = writeln!(
                    out,
                    "  {}: {{ description: {} }}",
                    name(id),
                    scalar(&description)
                );
            }
        }
    }
    let instances = sorted(Kind::Instance);
    if !instances.is_empty() {
        out.push_str("\ninstances:\n");
        for id in instances {
            let i = &inventory.instances[id];
            let _ = writeln!(
                out,
                "  {}:\n    type: {}\n    image: {}\n    primary_interface: {}",
                name(id),
                scalar(&i.flavor),
                scalar(&i.image),
                name(&i.primary_nic_id)
            );
        }
    }
    let nics = sorted(Kind::NetworkInterface);
    if !nics.is_empty() {
        out.push_str("\nnetwork_interfaces:\n");
        for id in nics {
            let n = &inventory.nics[id];
            let _ = writeln!(out, "  {}:\n    subnet: {}", name(id), name(&n.subnet_id));
            let (description, _) = cloud::untag_description(&n.description);
            if !description.is_empty() {
                let _ = writeln!(out, "    description: {}", scalar(&description));
            }
            let _ = writeln!(out, "    private_ip: {}", n.private_ip);
            if !n.secondary_ips.is_empty() {
                let ips: Vec<String> = n.secondary_ips.iter().map(|ip| ip.to_string()).collect();
                let _ = writeln!(out, "    secondary_private_ips: [{}]", ips.join(", "));
            }
            let mut groups: Vec<String> = n
                .security_group_ids
                .iter()
                .filter(|g| names.contains_key(*g))
                .map(|g| name(g))
                .collect();
            groups.sort();
            if !groups.is_empty() {
                let _ = writeln!(out, "    security_groups: [{}]", groups.join(", "));
            }
            if !n.source_dest_check {
                out.push_str("    source_dest_check: false\n");
            }
            let primary = |device: &String| {
                inventory
                    .instances
                    .get(device)
                    .is_some_and(|i| i.primary_nic_id == n.id)
            };
            if let Some(device) = &n.device_id
                && !primary(device)
                && names.contains_key(device)
            {
                let _ = writeln!(out, "    attach_to: {}", name(device));
            }
        }
    }
    let public_ips = sorted(Kind::PublicIp);
    if !public_ips.is_empty() {
        out.push_str("\npublic_ips:\n");
        for id in public_ips {
            let p = &inventory.public_ips[id];
            let _ = write!(out, "  {}: ", name(id));
            match p.nic_id.as_ref().filter(|n| names.contains_key(*n)) {
                None => out.push_str("{}\n"),
                Some(nic) => {
                    let _ = write!(out, "{{ network_interface: {}", name(nic));
                    let primary = inventory.nics.get(nic).map(|n| n.private_ip);
                    if let Some(ip) = p.private_ip
                        && Some(ip) != primary
                    {
                        let _ = write!(out, ", private_ip: {ip}");
                    }
                    out.push_str(" }\n");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_valid() {
        assert_eq!(
            valid_name("Web Server 1", Kind::Instance, "x"),
            "web-server-1"
        );
        assert_eq!(valid_name("--db__a--", Kind::Subnet, "x"), "db__a");
        assert_eq!(valid_name("_x", Kind::Vpc, "x"), "x");
        assert_eq!(
            valid_name("한글", Kind::Vpc, "AB-12-cd-34ef"),
            "vpc-ab12cd34"
        );
        assert_eq!(valid_name(&"a".repeat(80), Kind::Vpc, "x").len(), 63);
        assert_eq!(
            valid_name("", Kind::SecurityGroup, "0f1e"),
            "security-group-0f1e"
        );
    }

    #[test]
    fn quotas_are_written_only_when_not_the_defaults() {
        let mut inventory = Inventory::default();
        assert_eq!(quotas(&inventory), None);
        inventory.quotas = Some(cloud::CloudQuotas {
            vpcs: 3,
            subnets: 30,
            instances: 500,
        });
        assert_eq!(quotas(&inventory), None);
        inventory.quotas = Some(cloud::CloudQuotas {
            vpcs: 5,
            subnets: 30,
            instances: 800,
        });
        assert_eq!(quotas(&inventory), Some((5, 30, 800)));
        // A backend that cannot tell: at least what the project holds.
        inventory.quotas = None;
        for i in 0..4 {
            inventory.vpcs.insert(
                format!("v{i}"),
                cloud::CloudVpc {
                    id: format!("v{i}"),
                    name: format!("vpc-{i}"),
                    description: String::new(),
                    cidr_block: "10.0.0.0/16".parse().unwrap(),
                    status: cloud::Provisioning::Active,
                },
            );
        }
        assert_eq!(quotas(&inventory), Some((4, 30, 500)));
    }

    #[test]
    fn scalars_read_back_as_themselves() {
        for text in [
            "web tier",
            "yes",
            "no",
            "null",
            "1.5",
            "50",
            "a: b",
            "#x",
            "{x}",
            "x, y",
            "",
            " x",
            "it's",
            "tab\there",
            "é",
        ] {
            let written = scalar(text);
            let read: String = serde_yaml::from_str(&written).unwrap();
            assert_eq!(read, text, "{written}");
            let flow: BTreeMap<String, String> =
                serde_yaml::from_str(&format!("{{ d: {written} }}")).unwrap();
            assert_eq!(flow["d"], text, "{written}");
        }
        assert_eq!(scalar("web tier"), "web tier");
        assert_eq!(scalar("yes"), "\"yes\"");
    }
}
