//! The embedded simulator of KakaoCloud: the platform nicplan is tested against.
//!
//! It is a real implementation of [`Cloud`] with its own checks, written from the
//! platform's NIC page and API reference and deliberately independent of the planner's
//! rules (`crate::rules`): when the two disagree, a test finds it. Every refusal is a
//! [`CloudError::Rejected`] naming the objects involved (the platform's 4xx), every
//! unknown ID a [`CloudError::NotFound`].
//!
//! Invariants:
//! - A call either succeeds completely or changes nothing: each call works on the world
//!   it loaded and, when it is refused, the world is put back as it was before the call.
//!   The ID counter only moves on success.
//! - IDs (`vpc-000001`, `subnet-000002`, `sg-`, `i-`, `nic-`, `pip-`) come from one
//!   counter per world, MAC addresses (`fa:16:3e:00:XX:YY`) from the NIC's ID number,
//!   public addresses from 203.0.113.0/24 then 198.51.100.0/24 (first free), private IPs
//!   from network+2 up to broadcast-1 (lowest free): the same calls on two fresh worlds
//!   give identical worlds.
//! - In a subnet, an address is held by at most one NIC, as primary or secondary IP;
//!   the network address, network+1 (the gateway) and the broadcast address are never
//!   held.
//! - A NIC's `device_id` names a living instance; an instance's primary NIC is attached
//!   to it for the instance's whole life; an instance never holds more NICs than its
//!   flavor allows, nor (unless bare metal) a NIC without security group.
//! - A public IP maps to one of its NIC's IPs, and no two public IPs map to the same
//!   private IP of the same NIC.
//! - New instances are `building` until a deadline (milliseconds since the Unix epoch,
//!   kept in the world); any call first turns instances past their deadline `active`.
//!
//! Persistence: [`Sim::open`] keeps the world in a JSON file. Every call takes an
//! exclusive OS lock on `PATH.lock`, loads the file (so another process's changes, such
//! as `nicplan sim set-instance-status`, are seen), checks, mutates, and saves the world
//! atomically (a fsynced temporary file in the same folder renamed over the old one)
//! before it returns. A missing file is an empty world; a file that does not parse is
//! [`CloudError::Unavailable`] and is never overwritten. [`Sim::in_memory`] keeps the
//! world in memory, for tests. Either way a `Mutex` serialises calls from several
//! threads.
//!
//! Environment: `NICPLAN_SIM_BUILD_MS`, when set to an integer, is the number of
//! milliseconds a new instance of a [`Sim::open`]ed simulator stays `building` (default
//! 2000; 0 makes instances active at once). [`Sim::set_build_time`] overrides it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::{
    Cloud, CloudError, CloudInstance, CloudNic, CloudPublicIp, CloudSecurityGroup, CloudSubnet,
    CloudVpc, InstanceRequest, Inventory, NicRequest, NicUpdate,
};
use crate::catalogue::{self, InstanceType};
use crate::resource::Status;

/// How long a new instance builds unless told otherwise.
pub const DEFAULT_BUILD_TIME: Duration = Duration::from_secs(2);

/// The environment variable that sets the build time of [`Sim::open`], in milliseconds.
pub const BUILD_MS_VAR: &str = "NICPLAN_SIM_BUILD_MS";

/// The public address pools, used in this order.
const PUBLIC_POOLS: [[u8; 3]; 2] = [[203, 0, 113], [198, 51, 100]];

/// The platform's regions whose zones (`-a`, `-b`, `-c`) subnets may use.
const REGIONS: [&str; 3] = ["kr-central-1", "kr-central-2", "kr-central-3"];

/// Everything the simulated platform holds: its objects by ID, the ID counter and the
/// build deadlines of instances still building.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct World {
    /// The last number handed out in an ID; the next ID uses this plus one.
    pub counter: u64,
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
    /// For each instance still building, when it turns active, in milliseconds since the
    /// Unix epoch.
    pub build_deadlines: BTreeMap<String, u64>,
}

/// The embedded simulator. See the module documentation for what it guarantees.
pub struct Sim {
    /// The file the world lives in, or `None` for a world in memory.
    path: Option<PathBuf>,
    /// The world when in memory; with a file it stays empty and the mutex only
    /// serialises this process's calls.
    memory: Mutex<World>,
    /// Whether NICs may hold secondary IPs.
    multiple_ips: bool,
    /// How long new instances build.
    build_time: Duration,
}

/// What a call needs besides the world.
struct Ctx {
    /// Now, in milliseconds since the Unix epoch.
    now_ms: u64,
    /// The build time, in milliseconds.
    build_ms: u64,
    /// Whether NICs may hold secondary IPs.
    multiple_ips: bool,
}

impl Sim {
    /// A simulator whose world lives in memory only, empty at first.
    pub fn in_memory(multiple_ips: bool) -> Sim {
        Sim {
            path: None,
            memory: Mutex::new(World::default()),
            multiple_ips,
            build_time: DEFAULT_BUILD_TIME,
        }
    }

    /// A simulator whose world lives in the JSON file at `path` (created on the first
    /// change, with its folder). Fails when the file exists but cannot be read as a
    /// world. The build time comes from `NICPLAN_SIM_BUILD_MS` when that is an integer.
    pub fn open(path: impl Into<PathBuf>, multiple_ips: bool) -> Result<Sim, CloudError> {
        let path = path.into();
        load(&path)?;
        let build_time = std::env::var(BUILD_MS_VAR)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(DEFAULT_BUILD_TIME, Duration::from_millis);
        Ok(Sim {
            path: Some(path),
            memory: Mutex::new(World::default()),
            multiple_ips,
            build_time,
        })
    }

    /// The file the world lives in, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Sets how long instances created from now on stay `building`; zero makes them
    /// active at once.
    pub fn set_build_time(&mut self, d: Duration) {
        self.build_time = d;
    }

    /// Operator control: sets the status of the instance with this ID, or else with this
    /// name, and ends its build. A name several instances share is refused.
    pub fn set_instance_status(&self, name_or_id: &str, status: Status) -> Result<(), CloudError> {
        self.transact(|w, _| {
            let id = w.find_instance(name_or_id)?;
            if let Some(instance) = w.instances.get_mut(&id) {
                instance.status = status;
            }
            w.build_deadlines.remove(&id);
            Ok(())
        })
    }

    /// A copy of the whole world, builds past their deadline completed.
    pub fn world(&self) -> Result<World, CloudError> {
        self.transact(|w, _| Ok(w.clone()))
    }

    /// Runs one call: loads the world, completes due builds, runs `op`, and keeps the
    /// result only when `op` succeeded; with a file, saves when anything changed.
    fn transact<T>(
        &self,
        op: impl FnOnce(&mut World, &Ctx) -> Result<T, CloudError>,
    ) -> Result<T, CloudError> {
        let cx = Ctx {
            now_ms: now_ms(),
            build_ms: u64::try_from(self.build_time.as_millis()).unwrap_or(u64::MAX),
            multiple_ips: self.multiple_ips,
        };
        let mut memory = self.memory.lock().map_err(|_| {
            CloudError::Unavailable(
                "the simulator is unusable after a panic in an earlier call".to_string(),
            )
        })?;
        match &self.path {
            None => run(&mut memory, &cx, op),
            Some(path) => {
                let _lock = lock_file(path)?;
                let loaded = load(path)?;
                let mut world = loaded.clone();
                let result = run(&mut world, &cx, op);
                if world != loaded {
                    save(path, &world)?;
                }
                result
            }
        }
    }
}

/// Completes due builds, then runs `op`, restoring the world when `op` fails.
fn run<T>(
    world: &mut World,
    cx: &Ctx,
    op: impl FnOnce(&mut World, &Ctx) -> Result<T, CloudError>,
) -> Result<T, CloudError> {
    world.complete_builds(cx.now_ms);
    let before = world.clone();
    let result = op(world, cx);
    if result.is_err() {
        *world = before;
    }
    result
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// The folder of `path`, `.` for a bare file name.
fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Takes the exclusive OS lock on `PATH.lock` (creating it and its folder), which
/// serialises calls from several processes; released when the file is dropped.
fn lock_file(path: &Path) -> Result<File, CloudError> {
    let lock_path = sibling(path, ".lock");
    let fail = |e: std::io::Error| {
        CloudError::Unavailable(format!(
            "cannot lock the simulator file {}: {e}",
            path.display()
        ))
    };
    fs::create_dir_all(folder(path)).map_err(fail)?;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(fail)?;
    file.lock().map_err(fail)?;
    Ok(file)
}

/// Reads the world in `path`; a missing file is an empty world.
fn load(path: &Path) -> Result<World, CloudError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(World::default()),
        Err(e) => {
            return Err(CloudError::Unavailable(format!(
                "cannot read the simulator file {}: {e}",
                path.display()
            )));
        }
    };
    serde_json::from_str(&text).map_err(|e| {
        CloudError::Unavailable(format!(
            "the simulator file {} is corrupt ({e}); repair or remove it",
            path.display()
        ))
    })
}

/// Replaces the file at `path` with `world`, atomically.
fn save(path: &Path, world: &World) -> Result<(), CloudError> {
    let fail = |e: std::io::Error| {
        CloudError::Unavailable(format!(
            "cannot write the simulator file {}: {e}",
            path.display()
        ))
    };
    let dir = folder(path);
    fs::create_dir_all(dir).map_err(fail)?;
    let mut text = serde_json::to_string_pretty(world)
        .map_err(|e| fail(std::io::Error::other(e.to_string())))?;
    text.push('\n');
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    // Make the rename itself durable; folders cannot be opened everywhere, so this is
    // best effort.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// `id (name)`, or just `id` when the name is empty.
fn label(id: &str, name: &str) -> String {
    if name.is_empty() {
        id.to_string()
    } else {
        format!("{id} ({name})")
    }
}

/// What an address is to its subnet when it is reserved: network, gateway or broadcast.
fn reserved_role(net: Ipv4Net, ip: Ipv4Addr) -> Option<&'static str> {
    let network = u32::from(net.network());
    let ip_n = u32::from(ip);
    if ip_n == network {
        Some("network address")
    } else if ip == net.broadcast() {
        Some("broadcast address")
    } else if network.checked_add(1) == Some(ip_n) {
        Some("gateway address")
    } else {
        None
    }
}

/// Refuses a CIDR with host bits set: the platform takes network addresses only.
fn check_network_address(what: &str, cidr: Ipv4Net) -> Result<(), CloudError> {
    if cidr.addr() != cidr.network() {
        return Err(CloudError::Rejected(format!(
            "{what} CIDR {cidr} has host bits set; did you mean {}?",
            cidr.trunc()
        )));
    }
    Ok(())
}

/// Whether `zone` is `kr-central-N-[a-c]` for one of the platform's regions.
fn valid_zone(zone: &str) -> bool {
    REGIONS.iter().any(|region| {
        zone.strip_prefix(region)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|z| matches!(z, "a" | "b" | "c"))
    })
}

/// The catalogue entry of `flavor`, or a refusal.
fn flavor(flavor: &str) -> Result<&'static InstanceType, CloudError> {
    catalogue::lookup(flavor).ok_or_else(|| {
        CloudError::Rejected(format!(
            "flavor {flavor} is not offered by the platform (expected FAMILY.SIZE from its flavor table)"
        ))
    })
}

/// Refuses NIC changes on an instance that is not active or stopped.
fn check_changeable(instance: &CloudInstance, action: &str) -> Result<(), CloudError> {
    let who = label(&instance.id, &instance.name);
    match instance.status {
        Status::Active | Status::Stopped => Ok(()),
        Status::Building => Err(CloudError::Rejected(format!(
            "instance {who} is still building; {action} needs it active or stopped"
        ))),
        other => Err(CloudError::Rejected(format!(
            "instance {who} is {}; {action} needs it active or stopped",
            other.as_str()
        ))),
    }
}

fn not_found(kind: &'static str, id: &str) -> CloudError {
    CloudError::NotFound {
        kind,
        id: id.to_string(),
    }
}

impl World {
    /// Turns every instance whose build deadline has passed `active`.
    fn complete_builds(&mut self, now_ms: u64) {
        let due: Vec<String> = self
            .build_deadlines
            .iter()
            .filter(|(_, deadline)| **deadline <= now_ms)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            self.build_deadlines.remove(&id);
            if let Some(instance) = self.instances.get_mut(&id)
                && instance.status == Status::Building
            {
                instance.status = Status::Active;
            }
        }
    }

    /// The next ID with this prefix, and its number.
    fn next_id(&mut self, prefix: &str) -> (String, u64) {
        self.counter += 1;
        (format!("{prefix}-{:06}", self.counter), self.counter)
    }

    fn vpc(&self, id: &str) -> Result<&CloudVpc, CloudError> {
        self.vpcs.get(id).ok_or_else(|| not_found("VPC", id))
    }

    fn subnet(&self, id: &str) -> Result<&CloudSubnet, CloudError> {
        self.subnets.get(id).ok_or_else(|| not_found("subnet", id))
    }

    fn security_group(&self, id: &str) -> Result<&CloudSecurityGroup, CloudError> {
        self.security_groups
            .get(id)
            .ok_or_else(|| not_found("security group", id))
    }

    fn instance(&self, id: &str) -> Result<&CloudInstance, CloudError> {
        self.instances
            .get(id)
            .ok_or_else(|| not_found("instance", id))
    }

    fn nic(&self, id: &str) -> Result<&CloudNic, CloudError> {
        self.nics
            .get(id)
            .ok_or_else(|| not_found("network interface", id))
    }

    fn public_ip(&self, id: &str) -> Result<&CloudPublicIp, CloudError> {
        self.public_ips
            .get(id)
            .ok_or_else(|| not_found("public IP", id))
    }

    /// The ID of the instance with this ID, or else with this name.
    fn find_instance(&self, name_or_id: &str) -> Result<String, CloudError> {
        if self.instances.contains_key(name_or_id) {
            return Ok(name_or_id.to_string());
        }
        let named: Vec<&String> = self
            .instances
            .values()
            .filter(|i| i.name == name_or_id)
            .map(|i| &i.id)
            .collect();
        match named.as_slice() {
            [] => Err(not_found("instance", name_or_id)),
            [id] => Ok((*id).clone()),
            several => Err(CloudError::Rejected(format!(
                "{} instances are named {name_or_id} ({}); name one by its ID",
                several.len(),
                several
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The NICs attached to an instance, primary included.
    fn nics_of(&self, instance_id: &str) -> impl Iterator<Item = &CloudNic> {
        self.nics
            .values()
            .filter(move |n| n.device_id.as_deref() == Some(instance_id))
    }

    /// Every address held in a subnet, with the NIC holding it, leaving out `except`.
    fn held_ips(&self, subnet_id: &str, except: Option<&str>) -> BTreeMap<Ipv4Addr, String> {
        let mut held = BTreeMap::new();
        for nic in self.nics.values() {
            if nic.subnet_id != subnet_id || Some(nic.id.as_str()) == except {
                continue;
            }
            held.insert(nic.private_ip, nic.id.clone());
            for ip in &nic.secondary_ips {
                held.insert(*ip, nic.id.clone());
            }
        }
        held
    }

    /// Refuses unknown security groups.
    fn check_security_groups(&self, ids: &[String]) -> Result<(), CloudError> {
        for id in ids {
            self.security_group(id)?;
        }
        Ok(())
    }

    /// Whether a NIC without security group is refused on this instance: unless bare
    /// metal, an instance's NICs need one.
    fn needs_security_group(&self, instance: &CloudInstance) -> Result<bool, CloudError> {
        Ok(!flavor(&instance.flavor)?.is_bare_metal())
    }

    /// Checks the IPs a NIC asks for in `subnet`: inside it, not reserved, not held by
    /// another NIC, none given twice. `nic` names the NIC in messages; `own` is its ID
    /// when it exists already, so its current IPs do not count against it.
    fn check_ips(
        &self,
        subnet: &CloudSubnet,
        nic: &str,
        own: Option<&str>,
        ips: &[Ipv4Addr],
    ) -> Result<(), CloudError> {
        let net = subnet.cidr_block;
        let held = self.held_ips(&subnet.id, own);
        let who = label(&subnet.id, &subnet.name);
        let mut seen = BTreeSet::new();
        for ip in ips {
            if !net.contains(ip) {
                return Err(CloudError::Rejected(format!(
                    "IP {ip} of network interface {nic} is outside subnet {who} ({net})"
                )));
            }
            if let Some(role) = reserved_role(net, *ip) {
                return Err(CloudError::Rejected(format!(
                    "IP {ip} of network interface {nic} is the {role} of subnet {who} ({net}), which is reserved"
                )));
            }
            if let Some(holder) = held.get(ip) {
                return Err(CloudError::Rejected(format!(
                    "IP {ip} is already used by network interface {holder} in subnet {who}"
                )));
            }
            if !seen.insert(*ip) {
                return Err(CloudError::Rejected(format!(
                    "IP {ip} is given twice for network interface {nic}"
                )));
            }
        }
        Ok(())
    }

    /// Refuses secondary IPs on a platform without several IPs per NIC.
    fn check_multiple_ips(cx: &Ctx, nic: &str, secondary: &[Ipv4Addr]) -> Result<(), CloudError> {
        if !cx.multiple_ips && !secondary.is_empty() {
            return Err(CloudError::Rejected(format!(
                "network interface {nic} asks for secondary IPs, but this platform supports one IP per network interface"
            )));
        }
        Ok(())
    }

    fn create_vpc(
        &mut self,
        name: &str,
        description: &str,
        cidr: Ipv4Net,
    ) -> Result<CloudVpc, CloudError> {
        check_network_address("VPC", cidr)?;
        if !(16..=24).contains(&cidr.prefix_len()) {
            return Err(CloudError::Rejected(format!(
                "VPC {name} has CIDR {cidr}, but a VPC's prefix must be between /16 and /24"
            )));
        }
        let (id, _) = self.next_id("vpc");
        let vpc = CloudVpc {
            id: id.clone(),
            name: name.to_string(),
            description: description.to_string(),
            cidr_block: cidr,
        };
        self.vpcs.insert(id, vpc.clone());
        Ok(vpc)
    }

    fn delete_vpc(&mut self, id: &str) -> Result<(), CloudError> {
        let vpc = self.vpc(id)?;
        if let Some(subnet) = self.subnets.values().find(|s| s.vpc_id == id) {
            return Err(CloudError::Rejected(format!(
                "VPC {} still holds subnet {}; delete its subnets first",
                label(&vpc.id, &vpc.name),
                label(&subnet.id, &subnet.name)
            )));
        }
        self.vpcs.remove(id);
        Ok(())
    }

    fn create_subnet(
        &mut self,
        name: &str,
        description: &str,
        vpc_id: &str,
        cidr: Ipv4Net,
        zone: &str,
    ) -> Result<CloudSubnet, CloudError> {
        let vpc = self.vpc(vpc_id)?;
        check_network_address("subnet", cidr)?;
        if !vpc.cidr_block.contains(&cidr) {
            return Err(CloudError::Rejected(format!(
                "subnet {name} ({cidr}) lies outside VPC {} ({})",
                label(&vpc.id, &vpc.name),
                vpc.cidr_block
            )));
        }
        if let Some(other) = self.subnets.values().find(|s| {
            s.vpc_id == vpc_id && (s.cidr_block.contains(&cidr) || cidr.contains(&s.cidr_block))
        }) {
            return Err(CloudError::Rejected(format!(
                "subnet {name} ({cidr}) overlaps subnet {} ({}) of VPC {}",
                label(&other.id, &other.name),
                other.cidr_block,
                label(&vpc.id, &vpc.name)
            )));
        }
        if !valid_zone(zone) {
            return Err(CloudError::Rejected(format!(
                "subnet {name} names zone {zone}, which does not exist (zones are kr-central-N-a, -b or -c for regions 1 to 3)"
            )));
        }
        let (id, _) = self.next_id("subnet");
        let subnet = CloudSubnet {
            id: id.clone(),
            name: name.to_string(),
            description: description.to_string(),
            vpc_id: vpc_id.to_string(),
            cidr_block: cidr,
            availability_zone: zone.to_string(),
        };
        self.subnets.insert(id, subnet.clone());
        Ok(subnet)
    }

    fn delete_subnet(&mut self, id: &str) -> Result<(), CloudError> {
        let subnet = self.subnet(id)?;
        if let Some(nic) = self.nics.values().find(|n| n.subnet_id == id) {
            return Err(CloudError::Rejected(format!(
                "subnet {} still holds network interface {}; delete its network interfaces first",
                label(&subnet.id, &subnet.name),
                label(&nic.id, &nic.name)
            )));
        }
        self.subnets.remove(id);
        Ok(())
    }

    fn create_security_group(
        &mut self,
        name: &str,
        description: &str,
    ) -> Result<CloudSecurityGroup, CloudError> {
        let (id, _) = self.next_id("sg");
        let group = CloudSecurityGroup {
            id: id.clone(),
            name: name.to_string(),
            description: description.to_string(),
        };
        self.security_groups.insert(id, group.clone());
        Ok(group)
    }

    fn update_security_group(
        &mut self,
        id: &str,
        description: &str,
    ) -> Result<CloudSecurityGroup, CloudError> {
        self.security_group(id)?;
        let group = self
            .security_groups
            .get_mut(id)
            .ok_or_else(|| not_found("security group", id))?;
        group.description = description.to_string();
        Ok(group.clone())
    }

    fn delete_security_group(&mut self, id: &str) -> Result<(), CloudError> {
        let group = self.security_group(id)?;
        if let Some(nic) = self
            .nics
            .values()
            .find(|n| n.security_group_ids.iter().any(|g| g == id))
        {
            return Err(CloudError::Rejected(format!(
                "security group {} is still used by network interface {}",
                label(&group.id, &group.name),
                label(&nic.id, &nic.name)
            )));
        }
        self.security_groups.remove(id);
        Ok(())
    }

    fn create_nic(&mut self, cx: &Ctx, request: &NicRequest) -> Result<CloudNic, CloudError> {
        let subnet = self.subnet(&request.subnet_id)?.clone();
        self.check_security_groups(&request.security_group_ids)?;
        Self::check_multiple_ips(cx, &request.name, &request.secondary_ips)?;
        let mut wanted: Vec<Ipv4Addr> = request.private_ip.into_iter().collect();
        wanted.extend(&request.secondary_ips);
        self.check_ips(&subnet, &request.name, None, &wanted)?;
        let private_ip = match request.private_ip {
            Some(ip) => ip,
            None => {
                let held = self.held_ips(&subnet.id, None);
                let net = subnet.cidr_block;
                let first = u32::from(net.network()).checked_add(2);
                let last = u32::from(net.broadcast()).checked_sub(1);
                first
                    .zip(last)
                    .and_then(|(first, last)| {
                        (first..=last).map(Ipv4Addr::from).find(|ip| {
                            !held.contains_key(ip) && !request.secondary_ips.contains(ip)
                        })
                    })
                    .ok_or_else(|| {
                        CloudError::Rejected(format!(
                            "subnet {} ({net}) has no free address left for network interface {}",
                            label(&subnet.id, &subnet.name),
                            request.name
                        ))
                    })?
            }
        };
        let (id, n) = self.next_id("nic");
        let nic = CloudNic {
            id: id.clone(),
            name: request.name.clone(),
            description: request.description.clone(),
            subnet_id: subnet.id.clone(),
            private_ip,
            secondary_ips: request.secondary_ips.clone(),
            security_group_ids: request.security_group_ids.clone(),
            source_dest_check: request.source_dest_check,
            device_id: None,
            mac_address: format!(
                "fa:16:3e:{:02x}:{:02x}:{:02x}",
                (n >> 16) & 0xff,
                (n >> 8) & 0xff,
                n & 0xff
            ),
        };
        self.nics.insert(id, nic.clone());
        Ok(nic)
    }

    fn update_nic(
        &mut self,
        cx: &Ctx,
        id: &str,
        update: &NicUpdate,
    ) -> Result<CloudNic, CloudError> {
        let nic = self.nic(id)?.clone();
        let who = label(&nic.id, &nic.name);
        self.check_security_groups(&update.security_group_ids)?;
        if let Some(instance_id) = &nic.device_id {
            let instance = self.instance(instance_id)?;
            if update.security_group_ids.is_empty() && self.needs_security_group(instance)? {
                return Err(CloudError::Rejected(format!(
                    "network interface {who} is attached to instance {}, which is not bare metal, so it must keep at least one security group",
                    label(&instance.id, &instance.name)
                )));
            }
        }
        Self::check_multiple_ips(cx, &who, &update.secondary_ips)?;
        let subnet = self.subnet(&nic.subnet_id)?;
        if update.secondary_ips.contains(&nic.private_ip) {
            return Err(CloudError::Rejected(format!(
                "IP {} is already the primary IP of network interface {who}",
                nic.private_ip
            )));
        }
        self.check_ips(subnet, &who, Some(id), &update.secondary_ips)?;
        if let Some(public) = self.public_ips.values().find(|p| {
            p.nic_id.as_deref() == Some(id)
                && p.private_ip
                    .is_some_and(|ip| ip != nic.private_ip && !update.secondary_ips.contains(&ip))
        }) {
            return Err(CloudError::Rejected(format!(
                "secondary IP {} of network interface {who} is mapped to public IP {} ({}); disassociate it first",
                public
                    .private_ip
                    .map(|ip| ip.to_string())
                    .unwrap_or_default(),
                public.id,
                public.address
            )));
        }
        let nic = self
            .nics
            .get_mut(id)
            .ok_or_else(|| not_found("network interface", id))?;
        nic.description = update.description.clone();
        nic.security_group_ids = update.security_group_ids.clone();
        nic.source_dest_check = update.source_dest_check;
        nic.secondary_ips = update.secondary_ips.clone();
        Ok(nic.clone())
    }

    fn delete_nic(&mut self, id: &str) -> Result<(), CloudError> {
        let nic = self.nic(id)?;
        let who = label(&nic.id, &nic.name);
        if let Some(instance_id) = &nic.device_id {
            return Err(CloudError::Rejected(format!(
                "network interface {who} is attached to instance {instance_id}; detach it first"
            )));
        }
        if let Some(public) = self
            .public_ips
            .values()
            .find(|p| p.nic_id.as_deref() == Some(id))
        {
            return Err(CloudError::Rejected(format!(
                "network interface {who} has public IP {} ({}) associated; disassociate it first",
                public.id, public.address
            )));
        }
        self.nics.remove(id);
        Ok(())
    }

    fn create_instance(
        &mut self,
        cx: &Ctx,
        request: &InstanceRequest,
    ) -> Result<CloudInstance, CloudError> {
        let kind = flavor(&request.flavor)?;
        let nic = self.nic(&request.primary_nic_id)?;
        let who = label(&nic.id, &nic.name);
        if let Some(other) = &nic.device_id {
            return Err(CloudError::Rejected(format!(
                "network interface {who} is already attached to instance {other}"
            )));
        }
        let zone = self.subnet(&nic.subnet_id)?.availability_zone.clone();
        if !kind.is_bare_metal() && nic.security_group_ids.is_empty() {
            return Err(CloudError::Rejected(format!(
                "network interface {who} has no security group, which instance {} of flavor {} (not bare metal) requires",
                request.name, request.flavor
            )));
        }
        let (id, _) = self.next_id("i");
        let status = if cx.build_ms == 0 {
            Status::Active
        } else {
            self.build_deadlines
                .insert(id.clone(), cx.now_ms.saturating_add(cx.build_ms));
            Status::Building
        };
        let instance = CloudInstance {
            id: id.clone(),
            name: request.name.clone(),
            description: request.description.clone(),
            flavor: request.flavor.clone(),
            image: request.image.clone(),
            availability_zone: zone,
            status,
            primary_nic_id: request.primary_nic_id.clone(),
        };
        if let Some(nic) = self.nics.get_mut(&request.primary_nic_id) {
            nic.device_id = Some(id.clone());
        }
        self.instances.insert(id, instance.clone());
        Ok(instance)
    }

    fn resize_instance(&mut self, id: &str, new: &str) -> Result<CloudInstance, CloudError> {
        let instance = self.instance(id)?;
        let who = label(&instance.id, &instance.name);
        check_changeable(instance, "a resize")?;
        let to = flavor(new)?;
        let from = flavor(&instance.flavor)?;
        let count = self.nics_of(id).count();
        let max = usize::try_from(to.max_network_interfaces).unwrap_or(usize::MAX);
        if count > max {
            return Err(CloudError::Rejected(format!(
                "instance {who} holds {count} network interfaces, more than the {max} flavor {new} allows"
            )));
        }
        if from.is_bare_metal() != to.is_bare_metal() {
            return Err(CloudError::Rejected(format!(
                "instance {who} cannot be resized from {} to {new}: a resize cannot move between bare metal and virtual machines",
                instance.flavor
            )));
        }
        let instance = self
            .instances
            .get_mut(id)
            .ok_or_else(|| not_found("instance", id))?;
        instance.flavor = new.to_string();
        Ok(instance.clone())
    }

    fn delete_instance(&mut self, id: &str) -> Result<(), CloudError> {
        let instance = self.instance(id)?;
        let nics: BTreeSet<&str> = self.nics_of(id).map(|n| n.id.as_str()).collect();
        if let Some(public) = self
            .public_ips
            .values()
            .find(|p| p.nic_id.as_deref().is_some_and(|n| nics.contains(n)))
        {
            return Err(CloudError::Rejected(format!(
                "public IP {} ({}) is associated with network interface {} of instance {}; disassociate it first",
                public.id,
                public.address,
                public.nic_id.as_deref().unwrap_or_default(),
                label(&instance.id, &instance.name)
            )));
        }
        let primary = instance.primary_nic_id.clone();
        let nics: Vec<String> = nics.into_iter().map(str::to_string).collect();
        for nic_id in nics {
            if nic_id == primary {
                self.nics.remove(&nic_id);
            } else if let Some(nic) = self.nics.get_mut(&nic_id) {
                nic.device_id = None;
            }
        }
        self.instances.remove(id);
        self.build_deadlines.remove(id);
        Ok(())
    }

    fn attach_nic(&mut self, instance_id: &str, nic_id: &str) -> Result<(), CloudError> {
        let instance = self.instance(instance_id)?;
        let nic = self.nic(nic_id)?;
        let who = label(&instance.id, &instance.name);
        let nic_who = label(&nic.id, &nic.name);
        check_changeable(instance, "attaching a network interface")?;
        if let Some(other) = &nic.device_id {
            return Err(CloudError::Rejected(format!(
                "network interface {nic_who} is already attached to instance {other}"
            )));
        }
        let subnet = self.subnet(&nic.subnet_id)?;
        if subnet.availability_zone != instance.availability_zone {
            return Err(CloudError::Rejected(format!(
                "network interface {nic_who} is in zone {} (subnet {}) but instance {who} is in zone {}",
                subnet.availability_zone,
                label(&subnet.id, &subnet.name),
                instance.availability_zone
            )));
        }
        let kind = flavor(&instance.flavor)?;
        let count = self.nics_of(instance_id).count();
        let max = usize::try_from(kind.max_network_interfaces).unwrap_or(usize::MAX);
        if count >= max {
            return Err(CloudError::Rejected(format!(
                "instance {who} already holds {count} network interfaces, the most flavor {} allows",
                instance.flavor
            )));
        }
        if !kind.is_bare_metal() && nic.security_group_ids.is_empty() {
            return Err(CloudError::Rejected(format!(
                "network interface {nic_who} has no security group, which instance {who} (flavor {}, not bare metal) requires",
                instance.flavor
            )));
        }
        if let Some(nic) = self.nics.get_mut(nic_id) {
            nic.device_id = Some(instance_id.to_string());
        }
        Ok(())
    }

    fn detach_nic(&mut self, instance_id: &str, nic_id: &str) -> Result<(), CloudError> {
        let instance = self.instance(instance_id)?;
        let nic = self.nic(nic_id)?;
        let who = label(&instance.id, &instance.name);
        let nic_who = label(&nic.id, &nic.name);
        if nic.device_id.as_deref() != Some(instance_id) {
            return Err(CloudError::Rejected(format!(
                "network interface {nic_who} is not attached to instance {who}"
            )));
        }
        if instance.primary_nic_id == nic_id {
            return Err(CloudError::Rejected(format!(
                "the primary network interface cannot be detached: {nic_who} is the primary of instance {who}"
            )));
        }
        check_changeable(instance, "detaching a network interface")?;
        if let Some(nic) = self.nics.get_mut(nic_id) {
            nic.device_id = None;
        }
        Ok(())
    }

    fn create_public_ip(&mut self, description: &str) -> Result<CloudPublicIp, CloudError> {
        let used: BTreeSet<Ipv4Addr> = self.public_ips.values().map(|p| p.address).collect();
        let address = PUBLIC_POOLS
            .iter()
            .flat_map(|[a, b, c]| (1..=254).map(move |d| Ipv4Addr::new(*a, *b, *c, d)))
            .find(|ip| !used.contains(ip))
            .ok_or_else(|| CloudError::Rejected("the public IP pool is exhausted".to_string()))?;
        let (id, _) = self.next_id("pip");
        let public = CloudPublicIp {
            id: id.clone(),
            description: description.to_string(),
            address,
            nic_id: None,
            private_ip: None,
        };
        self.public_ips.insert(id, public.clone());
        Ok(public)
    }

    fn associate_public_ip(
        &mut self,
        id: &str,
        nic_id: &str,
        private_ip: Option<Ipv4Addr>,
    ) -> Result<CloudPublicIp, CloudError> {
        let public = self.public_ip(id)?;
        let who = format!("{} ({})", public.id, public.address);
        if let Some(other) = &public.nic_id {
            return Err(CloudError::Rejected(format!(
                "public IP {who} is already associated with network interface {other}"
            )));
        }
        let nic = self.nic(nic_id)?;
        let nic_who = label(&nic.id, &nic.name);
        let ip = private_ip.unwrap_or(nic.private_ip);
        if ip != nic.private_ip && !nic.secondary_ips.contains(&ip) {
            return Err(CloudError::Rejected(format!(
                "IP {ip} is not an IP of network interface {nic_who}"
            )));
        }
        if let Some(other) = self
            .public_ips
            .values()
            .find(|p| p.nic_id.as_deref() == Some(nic_id) && p.private_ip == Some(ip))
        {
            return Err(CloudError::Rejected(format!(
                "IP {ip} of network interface {nic_who} is already mapped to public IP {} ({})",
                other.id, other.address
            )));
        }
        let public = self
            .public_ips
            .get_mut(id)
            .ok_or_else(|| not_found("public IP", id))?;
        public.nic_id = Some(nic_id.to_string());
        public.private_ip = Some(ip);
        Ok(public.clone())
    }

    fn disassociate_public_ip(&mut self, id: &str, nic_id: &str) -> Result<(), CloudError> {
        let public = self.public_ip(id)?;
        if public.nic_id.as_deref() != Some(nic_id) {
            return Err(CloudError::Rejected(format!(
                "public IP {} ({}) is not associated with network interface {nic_id}",
                public.id, public.address
            )));
        }
        if let Some(public) = self.public_ips.get_mut(id) {
            public.nic_id = None;
            public.private_ip = None;
        }
        Ok(())
    }

    fn delete_public_ip(&mut self, id: &str) -> Result<(), CloudError> {
        let public = self.public_ip(id)?;
        if let Some(nic) = &public.nic_id {
            return Err(CloudError::Rejected(format!(
                "public IP {} ({}) is associated with network interface {nic}; disassociate it first",
                public.id, public.address
            )));
        }
        self.public_ips.remove(id);
        Ok(())
    }

    fn inventory(&self) -> Inventory {
        Inventory {
            vpcs: self.vpcs.clone(),
            subnets: self.subnets.clone(),
            security_groups: self.security_groups.clone(),
            instances: self.instances.clone(),
            nics: self.nics.clone(),
            public_ips: self.public_ips.clone(),
        }
    }
}

impl Cloud for Sim {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn multiple_ips(&self) -> bool {
        self.multiple_ips
    }

    fn inventory(&self) -> Result<Inventory, CloudError> {
        self.transact(|w, _| Ok(w.inventory()))
    }

    fn instance(&self, id: &str) -> Result<CloudInstance, CloudError> {
        self.transact(|w, _| w.instance(id).cloned())
    }

    fn create_vpc(
        &self,
        name: &str,
        description: &str,
        cidr: Ipv4Net,
    ) -> Result<CloudVpc, CloudError> {
        self.transact(|w, _| w.create_vpc(name, description, cidr))
    }

    fn delete_vpc(&self, id: &str) -> Result<(), CloudError> {
        self.transact(|w, _| w.delete_vpc(id))
    }

    fn create_subnet(
        &self,
        name: &str,
        description: &str,
        vpc_id: &str,
        cidr: Ipv4Net,
        zone: &str,
    ) -> Result<CloudSubnet, CloudError> {
        self.transact(|w, _| w.create_subnet(name, description, vpc_id, cidr, zone))
    }

    fn delete_subnet(&self, id: &str) -> Result<(), CloudError> {
        self.transact(|w, _| w.delete_subnet(id))
    }

    fn create_security_group(
        &self,
        name: &str,
        description: &str,
    ) -> Result<CloudSecurityGroup, CloudError> {
        self.transact(|w, _| w.create_security_group(name, description))
    }

    fn update_security_group(
        &self,
        id: &str,
        description: &str,
    ) -> Result<CloudSecurityGroup, CloudError> {
        self.transact(|w, _| w.update_security_group(id, description))
    }

    fn delete_security_group(&self, id: &str) -> Result<(), CloudError> {
        self.transact(|w, _| w.delete_security_group(id))
    }

    fn create_nic(&self, request: &NicRequest) -> Result<CloudNic, CloudError> {
        self.transact(|w, cx| w.create_nic(cx, request))
    }

    fn update_nic(&self, id: &str, update: &NicUpdate) -> Result<CloudNic, CloudError> {
        self.transact(|w, cx| w.update_nic(cx, id, update))
    }

    fn delete_nic(&self, id: &str) -> Result<(), CloudError> {
        self.transact(|w, _| w.delete_nic(id))
    }

    fn create_instance(&self, request: &InstanceRequest) -> Result<CloudInstance, CloudError> {
        self.transact(|w, cx| w.create_instance(cx, request))
    }

    fn resize_instance(&self, id: &str, flavor: &str) -> Result<CloudInstance, CloudError> {
        self.transact(|w, _| w.resize_instance(id, flavor))
    }

    fn delete_instance(&self, id: &str) -> Result<(), CloudError> {
        self.transact(|w, _| w.delete_instance(id))
    }

    fn attach_nic(&self, instance_id: &str, nic_id: &str) -> Result<(), CloudError> {
        self.transact(|w, _| w.attach_nic(instance_id, nic_id))
    }

    fn detach_nic(&self, instance_id: &str, nic_id: &str) -> Result<(), CloudError> {
        self.transact(|w, _| w.detach_nic(instance_id, nic_id))
    }

    fn create_public_ip(&self, description: &str) -> Result<CloudPublicIp, CloudError> {
        self.transact(|w, _| w.create_public_ip(description))
    }

    fn associate_public_ip(
        &self,
        id: &str,
        nic_id: &str,
        private_ip: Option<Ipv4Addr>,
    ) -> Result<CloudPublicIp, CloudError> {
        self.transact(|w, _| w.associate_public_ip(id, nic_id, private_ip))
    }

    fn disassociate_public_ip(&self, id: &str, nic_id: &str) -> Result<(), CloudError> {
        self.transact(|w, _| w.disassociate_public_ip(id, nic_id))
    }

    fn delete_public_ip(&self, id: &str) -> Result<(), CloudError> {
        self.transact(|w, _| w.delete_public_ip(id))
    }
}
