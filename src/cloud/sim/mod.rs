//! The embedded simulator of KakaoCloud: the platform nicplan is tested against.
//!
//! It is a real implementation of [`Cloud`] with its own checks, written from the
//! platform's NIC page and API reference and deliberately independent of the planner's
//! rules (`crate::rules`): when the two disagree, a test finds it. Every refusal is a
//! [`CloudError::Rejected`] naming the objects involved (the platform's 4xx), every
//! unknown ID a [`CloudError::NotFound`]. The objects and the rules of each call are in
//! [`world`], the tables that hold them and their indexes in [`table`] (so that a call
//! looks only at the objects it concerns: the NICs of a subnet or an instance, the
//! public IPs of a NIC, a name); this module keeps the world (in memory or in files)
//! and times it.
//!
//! Invariants:
//! - A call either succeeds completely or changes nothing: the world's tables remember
//!   the value each row had before the call first changed it ([`table`]), and a refused
//!   call puts those rows back (never a copy of the whole world). The ID counter only
//!   moves on success. What was due and finished at the start of a call stays finished
//!   even when the call is refused.
//! - IDs (`vpc-000001`, `subnet-000002`, `sg-`, `i-`, `nic-`, `pip-`) come from one
//!   counter per world, MAC addresses (`fa:16:3e:00:XX:YY`) from the NIC's ID number,
//!   public addresses from 203.0.113.0/24, 198.51.100.0/24, then 198.18.0.0/15 (first
//!   free), private IPs from network+2 up to broadcast-1 (lowest free, the worst case
//!   for an address a later call pins): the same calls on two fresh worlds give
//!   identical worlds.
//! - In a subnet, an address is held by at most one NIC, as primary or secondary IP;
//!   the network address, network+1 (the gateway) and the broadcast address are never
//!   held.
//! - A NIC's `device_id` names a living instance; an instance's primary NIC is attached
//!   to it for the instance's whole life; an instance never holds more NICs than its
//!   flavor allows, nor (unless bare metal) a NIC without security group.
//! - A public IP maps to one of its NIC's IPs, and no two public IPs map to the same
//!   private IP of the same NIC.
//! - The platform is asynchronous, as documented: VPCs and subnets are created
//!   `PENDING_CREATE` and turn `ACTIVE` later (a subnet needs an `ACTIVE` VPC, a NIC an
//!   `ACTIVE` subnet); deletes finish later (the object stays, holding what it held,
//!   until then); instances build, stop, start and resize over time, and resize only
//!   when stopped, only between `vm` flavors; attaches and detaches show on the
//!   instance later; a public IP is `attaching` before `in_use`, and stays mapped for a
//!   while after a disassociate. A change in progress is finished by the first call
//!   after its time.
//! - Quotas (3 VPCs, 30 subnets, 500 instances unless the world's settings say
//!   otherwise) and unique security group names per project.
//!
//! Persistence: [`Sim::open`] keeps the world in a JSON snapshot (`PATH`) and an
//! append-only journal beside it (`PATH.journal`, one line per change: its sequence
//! number and the new value of every object it touched; see the `store` module). The
//! process keeps the world it last saw in memory, with its indexes. Every call that
//! changes the world takes an exclusive OS lock on `PATH.lock`, reads only what other
//! processes appended to the journal since its last call (everything again when the
//! snapshot was replaced), so that their changes (`nicplan sim set-instance-status`,
//! another apply) are seen; checks, mutates, and appends its one record, synced, before
//! it returns. When the journal outgrows the snapshot, the change writes a new snapshot
//! instead (a synced temporary file renamed over the old one, holding the number of the
//! last record it took in) and empties the journal, so a call costs the same however
//! big the world is, amortised. A crash leaves a world that loads: a last record cut
//! short was never acknowledged and is ignored (and cut off by the next change); a
//! journal left beside the snapshot that took it in is skipped by number. A read
//! catches up the same way without lock, finishes the changes that are due in memory
//! and puts them back afterwards, and writes nothing. A missing snapshot is an empty
//! world (a journal without its snapshot is not read, and the first change replaces
//! it); a snapshot or a journal line that does not parse, or a journal out of step with
//! its snapshot, is [`CloudError::Unavailable`] and is never overwritten. Snapshots
//! written before the journal existed load as they are. [`Sim::in_memory`] keeps the
//! world in memory, for tests, through the same calls. Either way a `Mutex` serialises
//! calls from several threads.
//!
//! Environment: `NICPLAN_SIM_BUILD_MS`, when set to an integer, is the number of
//! milliseconds every simulated change takes (`0` makes them all immediate);
//! `NICPLAN_SIM_DELAYS` sets some apart, as `KIND=MS,...` with the kinds of
//! [`Delays`]. [`Sim::set_delays`] overrides both.

mod store;
pub mod table;
pub mod world;

use std::fs::{self, File, OpenOptions};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipnet::Ipv4Net;

pub use world::{SimQuotas, SimSettings, World};

use store::{Store, folder, sibling};

use super::{
    Cloud, CloudError, CloudInstance, CloudNic, CloudPublicIp, CloudSecurityGroup, CloudSubnet,
    CloudVpc, InstanceRequest, Inventory, NicRequest, NicUpdate,
};
use crate::resource::Status;

/// How long a new instance builds unless told otherwise.
pub const DEFAULT_BUILD_TIME: Duration = Duration::from_secs(2);

/// The environment variable that sets every simulated delay of [`Sim::open`], in
/// milliseconds.
pub const BUILD_MS_VAR: &str = "NICPLAN_SIM_BUILD_MS";

/// The environment variable that sets some delays apart: `KIND=MS,...`.
pub const DELAYS_VAR: &str = "NICPLAN_SIM_DELAYS";

/// How long the simulated platform takes to finish each kind of change, in
/// milliseconds. The defaults have the platform's shape (instances build longest, VPCs
/// and subnets provision, deletes and mappings take a moment) at a fraction of its
/// minutes, so a demo stays quick while every wait is exercised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delays {
    /// A VPC or subnet turning `ACTIVE` (`provision`).
    pub provision: u64,
    /// An instance building (`build`).
    pub build: u64,
    /// An instance stopping, starting or resizing (`power`).
    pub power: u64,
    /// A NIC attaching or detaching, a public IP associating or disassociating
    /// (`attach`).
    pub attach: u64,
    /// A VPC, subnet, NIC, instance or public IP going away (`delete`).
    pub delete: u64,
}

impl Delays {
    /// The defaults.
    pub const DEFAULT: Delays = Delays {
        provision: 1000,
        build: 2000,
        power: 1000,
        attach: 300,
        delete: 500,
    };

    /// Every change takes `ms`.
    pub fn all(ms: u64) -> Delays {
        Delays {
            provision: ms,
            build: ms,
            power: ms,
            attach: ms,
            delete: ms,
        }
    }

    /// The delays the environment asks for: `NICPLAN_SIM_BUILD_MS` for all of them
    /// (else the defaults), then `NICPLAN_SIM_DELAYS` for some apart.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Delays, String> {
        let mut delays = match var(BUILD_MS_VAR) {
            Some(v) => Delays::all(v.trim().parse::<u64>().map_err(|_| {
                format!("{BUILD_MS_VAR}=`{v}` is not a whole number of milliseconds")
            })?),
            None => Delays::DEFAULT,
        };
        if let Some(list) = var(DELAYS_VAR) {
            for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                let bad = || {
                    format!(
                        "{DELAYS_VAR}: `{item}` is not KIND=MS with KIND one of provision, build, power, attach, delete"
                    )
                };
                let (kind, ms) = item.split_once('=').ok_or_else(bad)?;
                let ms: u64 = ms.trim().parse().map_err(|_| bad())?;
                match kind.trim() {
                    "provision" => delays.provision = ms,
                    "build" => delays.build = ms,
                    "power" => delays.power = ms,
                    "attach" => delays.attach = ms,
                    "delete" => delays.delete = ms,
                    _ => return Err(bad()),
                }
            }
        }
        Ok(delays)
    }
}

/// The embedded simulator. See the module documentation for what it guarantees.
pub struct Sim {
    /// The file the world lives in, or `None` for a world in memory.
    path: Option<PathBuf>,
    /// The world, and with a file what of the files it holds; the mutex serialises
    /// this process's calls.
    state: Mutex<State>,
    /// Whether NICs may hold secondary IPs.
    multiple_ips: bool,
    /// How long changes take.
    delays: Delays,
    /// Whether the world is switched to the platform's form of ID by its next change.
    platform_ids: bool,
}

/// The world as this process knows it.
struct State {
    /// In memory, the world; with a file, the world as the files held it at the end of
    /// this process's last call, brought up to date at the start of the next.
    world: World,
    /// The files, `None` in memory.
    store: Option<Store>,
}

/// What a call needs besides the world.
pub(crate) struct Ctx {
    /// Now, in milliseconds since the Unix epoch.
    pub now_ms: u64,
    /// How long changes take.
    pub delays: Delays,
    /// Whether NICs may hold secondary IPs.
    pub multiple_ips: bool,
    /// The world's settings, as the call started.
    pub settings: SimSettings,
}

impl Sim {
    /// A simulator whose world lives in memory only, empty at first, with the default
    /// delays.
    pub fn in_memory(multiple_ips: bool) -> Sim {
        Sim {
            path: None,
            state: Mutex::new(State {
                world: World::default(),
                store: None,
            }),
            multiple_ips,
            delays: Delays::DEFAULT,
            platform_ids: false,
        }
    }

    /// A simulator whose world lives in the JSON file at `path` (created on the first
    /// change, with its folder). Fails when the file exists but cannot be read as a
    /// world, or when the delay variables do not parse.
    pub fn open(path: impl Into<PathBuf>, multiple_ips: bool) -> Result<Sim, CloudError> {
        let path = path.into();
        let mut store = Store::new(path.clone());
        let mut world = World::default();
        store.refresh(&mut world)?;
        let delays =
            Delays::from_vars(|name| std::env::var(name).ok()).map_err(CloudError::Unavailable)?;
        Ok(Sim {
            path: Some(path),
            state: Mutex::new(State {
                world,
                store: Some(store),
            }),
            multiple_ips,
            delays,
            platform_ids: false,
        })
    }

    /// The world the files at `path` hold (the snapshot with its journal folded in),
    /// as stored: changes past their time are not finished. A missing file is an empty
    /// world. Reads only.
    pub fn stored(path: impl Into<PathBuf>) -> Result<World, CloudError> {
        let mut world = World::default();
        Store::new(path.into()).refresh(&mut world)?;
        Ok(world)
    }

    /// The file the world lives in, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Sets how long every change started from now on takes; zero makes them all
    /// immediate (as `NICPLAN_SIM_BUILD_MS` does).
    pub fn set_build_time(&mut self, d: Duration) {
        self.delays = Delays::all(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    }

    /// Sets how long each kind of change takes.
    pub fn set_delays(&mut self, delays: Delays) {
        self.delays = delays;
    }

    /// The delays in force.
    pub fn delays(&self) -> Delays {
        self.delays
    }

    /// Gives every object made from now on an ID of the platform's form (a UUID), as
    /// `sim serve` does. The world records it with its next change, so that operator
    /// commands on the same file follow; until then nothing is written.
    pub fn hand_out_platform_ids(&mut self) {
        self.platform_ids = true;
    }

    /// Operator control: sets the status of the instance with this ID, or else with this
    /// name, and ends whatever change it was going through. A name several instances
    /// share is refused.
    pub fn set_instance_status(&self, name_or_id: &str, status: Status) -> Result<(), CloudError> {
        self.transact(|w, _| {
            let id = w.find_instance(name_or_id)?;
            w.set_status(&id, status);
            w.pending.remove(&id);
            Ok(())
        })
    }

    /// The platform's settings (quotas, what happens to a primary NIC).
    pub fn settings(&self) -> Result<SimSettings, CloudError> {
        self.read(|w| Ok(w.settings))
    }

    /// Operator control: changes the platform's settings.
    pub fn set_settings(&self, settings: SimSettings) -> Result<(), CloudError> {
        self.transact(|w, _| {
            w.settings = settings;
            Ok(())
        })
    }

    /// What [`Cloud::inventory`] shows of the objects with these IDs and of what
    /// reading them names (see `World::inventory_near`), without copying the rest:
    /// `sim serve` answers a read of one object from it.
    pub fn inventory_near(&self, ids: &[&str]) -> Result<Inventory, CloudError> {
        self.read(|w| Ok(w.inventory_near(ids)))
    }

    /// A copy of the whole world, changes past their time finished.
    pub fn world(&self) -> Result<World, CloudError> {
        self.read(|w| Ok(w.clone()))
    }

    /// Runs one call: brings the world up to date, finishes due changes, runs `op`,
    /// and keeps what `op` did only when it succeeded; with a file, under the OS lock,
    /// and stores what changed before it returns.
    fn transact<T>(
        &self,
        op: impl FnOnce(&mut World, &Ctx) -> Result<T, CloudError>,
    ) -> Result<T, CloudError> {
        self.transact_with(self.delays, op)
    }

    fn lock_state(&self) -> Result<std::sync::MutexGuard<'_, State>, CloudError> {
        self.state.lock().map_err(|_| {
            CloudError::Unavailable(
                "the simulator is unusable after a panic in an earlier call".to_string(),
            )
        })
    }

    fn transact_with<T>(
        &self,
        delays: Delays,
        op: impl FnOnce(&mut World, &Ctx) -> Result<T, CloudError>,
    ) -> Result<T, CloudError> {
        let mut state = self.lock_state()?;
        let State { world, store } = &mut *state;
        let _lock = match store {
            Some(store) => {
                let lock = lock_file(self.path.as_deref().unwrap_or(Path::new("")))?;
                store.refresh(world)?;
                Some(lock)
            }
            None => None,
        };
        let cx = Ctx {
            now_ms: now_ms(),
            delays,
            multiple_ips: self.multiple_ips,
            settings: world.settings,
        };
        let begun = world.mark();
        // What is due is finished even when `op` is refused.
        world.complete_due(cx.now_ms, cx.settings.keep_primary_nic);
        let due = world.savepoint();
        world.settings.platform_ids |= self.platform_ids;
        let result = op(world, &cx);
        if result.is_err() {
            world.rollback(due);
        }
        let Some(record) = world.record(begun) else {
            world.commit(world.seq);
            return result;
        };
        let seq = record.seq;
        let Some(store) = store else {
            world.commit(seq);
            return result;
        };
        let line = serde_json::to_string(&record);
        world.commit(seq);
        match line {
            Ok(line) => store.write(world, &line)?,
            Err(e) => {
                store.forget();
                return Err(CloudError::Unavailable(format!(
                    "cannot record a change of the simulator: {e}"
                )));
            }
        }
        result
    }

    /// Runs a read: the world is brought up to date (for a file, with no lock and no
    /// write), due changes are finished for `op` to see, and put back after it, so the
    /// world stays what the files hold.
    fn read<T>(&self, op: impl FnOnce(&World) -> Result<T, CloudError>) -> Result<T, CloudError> {
        let mut state = self.lock_state()?;
        let State { world, store } = &mut *state;
        // No lock and no write: a read sees whole records only, and a change that is
        // due is as finished in a world read from the files as in one saved again. A
        // read leaves the disk as it was (`plan` writes nothing), even where the file
        // does not exist yet.
        if let Some(store) = store {
            store.refresh(world)?;
        }
        let begun = world.mark();
        let keep = world.settings.keep_primary_nic;
        world.complete_due(now_ms(), keep);
        let result = op(world);
        world.rollback(begun);
        world.commit(world.seq);
        result
    }

    /// Operator control: a call made outside nicplan (the console, another tool),
    /// finished at once.
    fn operator<T>(
        &self,
        op: impl FnOnce(&mut World, &Ctx) -> Result<T, CloudError>,
    ) -> Result<T, CloudError> {
        self.transact_with(Delays::all(0), op)
    }

    /// Operator control: makes a VPC outside any state; its ID.
    pub fn operator_create_vpc(&self, name: &str, cidr: Ipv4Net) -> Result<String, CloudError> {
        self.operator(|w, cx| w.create_vpc(cx, name, cidr))
    }

    /// Operator control: makes a subnet outside any state in the VPC with this ID or
    /// name; its ID.
    pub fn operator_create_subnet(
        &self,
        name: &str,
        vpc: &str,
        cidr: Ipv4Net,
        zone: &str,
    ) -> Result<String, CloudError> {
        self.operator(|w, cx| {
            let vpc = w.find_vpc(vpc)?;
            w.create_subnet(cx, name, &vpc, cidr, zone)
        })
    }

    /// Operator control: makes a security group outside any state; its ID.
    pub fn operator_create_security_group(&self, name: &str) -> Result<String, CloudError> {
        self.operator(|w, _| w.create_security_group(name, ""))
    }

    /// Operator control: makes a NIC outside any state in the subnet with this ID or
    /// name, with a pinned address or the lowest free one, and attaches it to the
    /// instance with this ID or name when one is given; its ID.
    pub fn operator_create_nic(
        &self,
        name: &str,
        subnet: &str,
        ip: Option<Ipv4Addr>,
        security_groups: &[String],
        attach_to: Option<&str>,
    ) -> Result<String, CloudError> {
        self.operator(|w, cx| {
            let subnet_id = w.find_subnet(subnet)?;
            let groups = security_groups
                .iter()
                .map(|g| w.find_security_group(g))
                .collect::<Result<Vec<_>, _>>()?;
            let request = NicRequest {
                name: name.to_string(),
                description: String::new(),
                subnet_id,
                private_ip: ip,
                secondary_ips: Vec::new(),
                security_group_ids: groups,
                source_dest_check: true,
            };
            let id = w.create_nic(cx, &request)?;
            if let Some(instance) = attach_to {
                let instance = w.find_instance(instance)?;
                w.attach_nic(cx, &instance, &id)?;
            }
            Ok(id)
        })
    }

    /// Operator control: makes an instance outside any state, with a new primary NIC
    /// in the subnet with this ID or name; its ID.
    pub fn operator_create_instance(
        &self,
        name: &str,
        flavor: &str,
        subnet: &str,
        ip: Option<Ipv4Addr>,
        security_groups: &[String],
    ) -> Result<String, CloudError> {
        self.operator(|w, cx| {
            let subnet_id = w.find_subnet(subnet)?;
            let groups = security_groups
                .iter()
                .map(|g| w.find_security_group(g))
                .collect::<Result<Vec<_>, _>>()?;
            let request = NicRequest {
                name: format!("{name}-eth0"),
                description: String::new(),
                subnet_id,
                private_ip: ip,
                secondary_ips: Vec::new(),
                security_group_ids: groups,
                source_dest_check: true,
            };
            let nic = w.create_nic(cx, &request)?;
            w.create_instance(
                cx,
                &InstanceRequest {
                    name: name.to_string(),
                    description: String::new(),
                    flavor: flavor.to_string(),
                    image: "ubuntu-22.04".to_string(),
                    primary_nic_id: nic,
                    root_volume_gb: crate::resource::DEFAULT_ROOT_VOLUME_GB,
                    bonding: false,
                },
            )
        })
    }

    /// Operator control: allocates a public IP outside any state, associated with the
    /// NIC with this ID or name when one is given; its ID.
    pub fn operator_create_public_ip(&self, nic: Option<&str>) -> Result<String, CloudError> {
        self.operator(|w, cx| {
            let id = w.create_public_ip("")?;
            if let Some(nic) = nic {
                let nic = w.find_nic(nic)?;
                w.associate_public_ip(cx, &id, &nic, None)?;
            }
            Ok(id)
        })
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
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

impl Cloud for Sim {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn id_problem(&self, kind: crate::address::Kind, id: &str) -> Option<String> {
        use crate::address::Kind;
        let prefix = match kind {
            Kind::Vpc => "vpc",
            Kind::Subnet => "subnet",
            Kind::SecurityGroup => "sg",
            Kind::Instance => "i",
            Kind::NetworkInterface => "nic",
            Kind::PublicIp => "pip",
        };
        let number = id
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('-'));
        match number {
            Some(n) if n.len() >= 6 && n.chars().all(|c| c.is_ascii_digit()) => None,
            // What it hands out once it has served the platform's API.
            _ if world::is_own_platform_id(id) => None,
            _ => Some(format!(
                "the simulator names a {} `{prefix}-NNNNNN`, or, once it has served the platform's API, with a UUID of its own making",
                kind.as_str().replace('_', " ")
            )),
        }
    }

    fn target(&self) -> String {
        match &self.path {
            Some(path) => format!(
                "sim {}",
                std::path::absolute(path)
                    .unwrap_or_else(|_| path.clone())
                    .display()
            ),
            None => "sim (in memory)".to_string(),
        }
    }

    fn described(&self) -> String {
        match &self.path {
            Some(path) => format!(
                "the embedded simulator ({}), which touches nothing real",
                path.display()
            ),
            None => "the embedded simulator (in memory), which touches nothing real".to_string(),
        }
    }

    fn multiple_ips(&self) -> bool {
        self.multiple_ips
    }

    fn inventory(&self) -> Result<Inventory, CloudError> {
        self.read(|w| Ok(w.inventory()))
    }

    fn instance(&self, id: &str) -> Result<CloudInstance, CloudError> {
        self.read(|w| w.instance_view(id))
    }

    fn vpc(&self, id: &str) -> Result<CloudVpc, CloudError> {
        self.read(|w| w.vpc(id).cloned())
    }

    fn subnet(&self, id: &str) -> Result<CloudSubnet, CloudError> {
        self.read(|w| w.subnet(id).cloned())
    }

    fn security_group(&self, id: &str) -> Result<CloudSecurityGroup, CloudError> {
        self.read(|w| w.security_group(id).cloned())
    }

    fn nic(&self, id: &str) -> Result<CloudNic, CloudError> {
        self.read(|w| w.nic(id).cloned())
    }

    fn public_ip(&self, id: &str) -> Result<CloudPublicIp, CloudError> {
        self.read(|w| w.public_ip(id).cloned())
    }

    fn create_vpc(&self, name: &str, cidr: Ipv4Net) -> Result<CloudVpc, CloudError> {
        self.transact(|w, cx| {
            let id = w.create_vpc(cx, name, cidr)?;
            w.vpc(&id).cloned()
        })
    }

    fn delete_vpc(&self, id: &str) -> Result<(), CloudError> {
        self.transact(|w, cx| w.delete_vpc(cx, id))
    }

    fn create_subnet(
        &self,
        name: &str,
        vpc_id: &str,
        cidr: Ipv4Net,
        zone: &str,
    ) -> Result<CloudSubnet, CloudError> {
        self.transact(|w, cx| {
            let id = w.create_subnet(cx, name, vpc_id, cidr, zone)?;
            w.subnet(&id).cloned()
        })
    }

    fn delete_subnet(&self, id: &str) -> Result<(), CloudError> {
        self.transact(|w, cx| w.delete_subnet(cx, id))
    }

    fn create_security_group(
        &self,
        name: &str,
        description: &str,
    ) -> Result<CloudSecurityGroup, CloudError> {
        self.transact(|w, _| {
            let id = w.create_security_group(name, description)?;
            w.security_group(&id).cloned()
        })
    }

    fn update_security_group(
        &self,
        id: &str,
        description: &str,
    ) -> Result<CloudSecurityGroup, CloudError> {
        self.transact(|w, _| {
            w.update_security_group(id, description)?;
            w.security_group(id).cloned()
        })
    }

    fn delete_security_group(&self, id: &str) -> Result<(), CloudError> {
        self.transact(|w, _| w.delete_security_group(id))
    }

    fn create_nic(&self, request: &NicRequest) -> Result<CloudNic, CloudError> {
        self.transact(|w, cx| {
            let id = w.create_nic(cx, request)?;
            w.nic(&id).cloned()
        })
    }

    fn update_nic(&self, id: &str, update: &NicUpdate) -> Result<CloudNic, CloudError> {
        self.transact(|w, cx| {
            w.update_nic(cx, id, update)?;
            w.nic(id).cloned()
        })
    }

    fn delete_nic(&self, id: &str) -> Result<(), CloudError> {
        self.transact(|w, cx| w.delete_nic(cx, id))
    }

    fn create_instance(&self, request: &InstanceRequest) -> Result<CloudInstance, CloudError> {
        self.transact(|w, cx| {
            let id = w.create_instance(cx, request)?;
            w.instance_view(&id)
        })
    }

    fn resize_instance(&self, id: &str, flavor: &str) -> Result<CloudInstance, CloudError> {
        self.transact(|w, cx| {
            w.resize_instance(cx, id, flavor)?;
            w.instance_view(id)
        })
    }

    fn stop_instance(&self, id: &str) -> Result<(), CloudError> {
        self.transact(|w, cx| w.stop_instance(cx, id))
    }

    fn start_instance(&self, id: &str) -> Result<(), CloudError> {
        self.transact(|w, cx| w.start_instance(cx, id))
    }

    fn delete_instance(&self, id: &str) -> Result<(), CloudError> {
        self.transact(|w, cx| w.delete_instance(cx, id))
    }

    fn attach_nic(&self, instance_id: &str, nic_id: &str) -> Result<(), CloudError> {
        self.transact(|w, cx| w.attach_nic(cx, instance_id, nic_id))
    }

    fn detach_nic(&self, instance_id: &str, nic_id: &str) -> Result<(), CloudError> {
        self.transact(|w, cx| w.detach_nic(cx, instance_id, nic_id))
    }

    fn create_public_ip(&self, description: &str) -> Result<CloudPublicIp, CloudError> {
        self.transact(|w, _| {
            let id = w.create_public_ip(description)?;
            w.public_ip(&id).cloned()
        })
    }

    fn associate_public_ip(
        &self,
        id: &str,
        nic_id: &str,
        private_ip: Option<Ipv4Addr>,
    ) -> Result<CloudPublicIp, CloudError> {
        self.transact(|w, cx| {
            w.associate_public_ip(cx, id, nic_id, private_ip)?;
            w.public_ip(id).cloned()
        })
    }

    fn disassociate_public_ip(&self, id: &str, nic_id: &str) -> Result<(), CloudError> {
        self.transact(|w, cx| w.disassociate_public_ip(cx, id, nic_id))
    }

    fn delete_public_ip(&self, id: &str) -> Result<(), CloudError> {
        self.transact(|w, cx| w.delete_public_ip(cx, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_come_from_the_environment() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Delays::from_vars(vars(&[])), Ok(Delays::DEFAULT));
        assert_eq!(
            Delays::from_vars(vars(&[(BUILD_MS_VAR, "0")])),
            Ok(Delays::all(0))
        );
        let apart = Delays::from_vars(vars(&[
            (BUILD_MS_VAR, "5"),
            (DELAYS_VAR, "build=40, delete=7"),
        ]))
        .unwrap_or(Delays::all(0));
        assert_eq!(apart.build, 40);
        assert_eq!(apart.delete, 7);
        assert_eq!(apart.provision, 5);
        assert!(Delays::from_vars(vars(&[(DELAYS_VAR, "boot=3")])).is_err());
        assert!(Delays::from_vars(vars(&[(BUILD_MS_VAR, "soon")])).is_err());
    }
}
