//! The simulated platform's objects and the rules each call checks.
//!
//! Changes that the platform finishes later are recorded in `pending`, one per object,
//! with the time they finish; until then the object shows the in-between status
//! (`PENDING_CREATE`, `building`, `attaching`, ...) and the calls that need the change
//! finished are refused, as the platform refuses them. Every call first finishes what
//! is due.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::Ctx;
use super::table::{Multi, Table};
use crate::catalogue::{self, FlavorKind, InstanceType};
use crate::cloud::{
    CloudError, CloudInstance, CloudNic, CloudPublicIp, CloudSecurityGroup, CloudSubnet, CloudVpc,
    InstanceRequest, Inventory, NicRequest, NicUpdate, Provisioning, PublicIpStatus,
};
use crate::resource::Status;

/// The public address pools, used in this order: the two documentation networks, then
/// the benchmarking network (RFC 2544), so that the pool is no limit of its own at the
/// sizes nicplan is used at (no source gives the platform's); addresses ending in `.0`
/// or `.255` are skipped.
const PUBLIC_POOLS: [([u8; 4], u8); 3] = [
    ([203, 0, 113, 0], 24),
    ([198, 51, 100, 0], 24),
    ([198, 18, 0, 0], 15),
];

/// Every address of the public pools, in order.
fn public_addresses() -> impl Iterator<Item = Ipv4Addr> {
    PUBLIC_POOLS.iter().flat_map(|&(base, prefix)| {
        let start = u32::from(Ipv4Addr::from(base));
        (start..start + (1u32 << (32 - u32::from(prefix))))
            .map(Ipv4Addr::from)
            .filter(|ip| !matches!(ip.octets()[3], 0 | 255))
    })
}

/// The platform's regions whose zones (`-a`, `-b`, `-c`) subnets may use.
const REGIONS: [&str; 3] = ["kr-central-1", "kr-central-2", "kr-central-3"];

/// A change the platform accepted and finishes later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A VPC or subnet turns `ACTIVE`.
    Provision,
    /// A VPC, subnet, NIC or public IP goes away.
    Remove,
    /// An instance finishes building and runs.
    Build,
    /// An instance stops.
    Stop,
    /// An instance starts.
    Start,
    /// An instance takes its new flavor and stays stopped.
    Resize {
        /// The new flavor.
        flavor: String,
    },
    /// An instance goes away, freeing its NICs (its primary NIC too, or not).
    DeleteInstance,
    /// A NIC shows on its instance.
    Attach,
    /// A NIC leaves its instance.
    Detach,
    /// A public IP's mapping takes effect.
    Associate {
        /// The private IP it maps to.
        private_ip: Ipv4Addr,
    },
    /// A public IP's mapping goes away.
    Disassociate,
}

/// A change in progress on one object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// When it finishes, in milliseconds since the Unix epoch.
    pub due_ms: u64,
    /// What it does then.
    #[serde(flatten)]
    pub change: Change,
}

/// The project's quotas, as the simulated platform enforces them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimQuotas {
    /// VPCs.
    pub vpcs: u32,
    /// Subnets.
    pub subnets: u32,
    /// Instances.
    pub instances: u32,
}

impl Default for SimQuotas {
    fn default() -> SimQuotas {
        SimQuotas {
            vpcs: 3,
            subnets: 30,
            instances: 500,
        }
    }
}

/// How the simulated platform behaves where its documentation is silent or where it
/// depends on the project.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimSettings {
    /// Whether deleting an instance leaves a primary NIC that was made beforehand (no
    /// source says which; the default deletes it, as a NIC the platform made itself).
    pub keep_primary_nic: bool,
    /// The project's quotas.
    pub quotas: SimQuotas,
    /// Whether new objects get IDs of the platform's form (UUIDs), as `sim serve` asks
    /// so that the `kakaocloud` backend sees what the platform hands out; otherwise
    /// `vpc-000001` and the like, which are easier to read in the simulator's own tests.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub platform_ids: bool,
}

/// Everything the simulated platform holds: its objects by ID, the ID counter, the
/// changes in progress and its settings.
///
/// The tables read as maps by ID; they change only through the world's calls, which
/// keep their indexes and remember what each call changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct World {
    /// How many changes the world has gone through: the sequence number of the last
    /// one (in a file, the last journal record the snapshot holds).
    #[serde(skip_serializing_if = "is_zero")]
    pub seq: u64,
    /// The last number handed out in an ID; the next ID uses this plus one.
    pub counter: u64,
    /// VPCs.
    pub vpcs: Table<CloudVpc>,
    /// Subnets.
    pub subnets: Table<CloudSubnet>,
    /// Security groups.
    pub security_groups: Table<CloudSecurityGroup>,
    /// Instances.
    pub instances: Table<CloudInstance>,
    /// Network interfaces.
    pub nics: Table<CloudNic>,
    /// Public IPs.
    pub public_ips: Table<CloudPublicIp>,
    /// Changes in progress, by the ID of the object they change.
    pub pending: Table<Pending>,
    /// How the platform behaves.
    pub settings: SimSettings,
    /// Build deadlines written by an older simulator: read, turned into `pending`.
    #[serde(skip_serializing)]
    pub build_deadlines: BTreeMap<String, u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The counter and settings as a call found them, to put back or to compare with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Mark {
    counter: u64,
    settings: SimSettings,
}

/// What one successful call changed, as the journal records it: its sequence number,
/// the new value of every object it touched (`None`: removed), and the counter and
/// settings when they changed. Applying a record twice gives the same world.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct Record {
    pub seq: u64,
    pub counter: Option<u64>,
    pub settings: Option<SimSettings>,
    pub vpcs: BTreeMap<String, Option<CloudVpc>>,
    pub subnets: BTreeMap<String, Option<CloudSubnet>>,
    pub security_groups: BTreeMap<String, Option<CloudSecurityGroup>>,
    pub instances: BTreeMap<String, Option<CloudInstance>>,
    pub nics: BTreeMap<String, Option<CloudNic>>,
    pub public_ips: BTreeMap<String, Option<CloudPublicIp>>,
    pub pending: BTreeMap<String, Option<Pending>>,
}

/// A record as a call writes it, borrowing from the world.
#[derive(Debug, Serialize)]
pub(super) struct NewRecord<'a> {
    pub seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counter: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<SimSettings>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub vpcs: BTreeMap<&'a str, Option<&'a CloudVpc>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub subnets: BTreeMap<&'a str, Option<&'a CloudSubnet>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub security_groups: BTreeMap<&'a str, Option<&'a CloudSecurityGroup>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub instances: BTreeMap<&'a str, Option<&'a CloudInstance>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub nics: BTreeMap<&'a str, Option<&'a CloudNic>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub public_ips: BTreeMap<&'a str, Option<&'a CloudPublicIp>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub pending: BTreeMap<&'a str, Option<&'a Pending>>,
}

impl NewRecord<'_> {
    fn is_empty(&self) -> bool {
        self.counter.is_none()
            && self.settings.is_none()
            && self.vpcs.is_empty()
            && self.subnets.is_empty()
            && self.security_groups.is_empty()
            && self.instances.is_empty()
            && self.nics.is_empty()
            && self.public_ips.is_empty()
            && self.pending.is_empty()
    }
}

/// The platform's form of the `n`th ID: a version-4 UUID whose first groups are mixed
/// from `n` and whose last group is `n` itself, so IDs never repeat and are the same in
/// every run.
fn platform_id(n: u64) -> String {
    // splitmix64: a few multiplications that spread every bit of `n`.
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        z >> 32,
        (z >> 16) & 0xffff,
        z & 0xfff,
        8 + ((z >> 12) & 0x3),
        (z >> 40) & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

/// Whether `id` is one `platform_id` makes: the UUID of the number in its last group.
pub(super) fn is_own_platform_id(id: &str) -> bool {
    id.rsplit_once('-')
        .and_then(|(_, last)| u64::from_str_radix(last, 16).ok())
        .is_some_and(|n| platform_id(n) == id)
}

/// `id (name)`, or just `id` when the name is empty.
pub(super) fn label(id: &str, name: &str) -> String {
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

pub(super) fn not_found(kind: &'static str, id: &str) -> CloudError {
    CloudError::NotFound {
        kind,
        id: id.to_string(),
    }
}

/// A refused call that asks for something over a quota.
fn over_quota(what: &str, limit: u32) -> CloudError {
    CloudError::Rejected(format!(
        "quota exceeded: the project may hold {limit} {what}; delete one, or ask for a higher quota"
    ))
}

impl World {
    /// The counter and settings now, to roll back to or compare with.
    pub(super) fn mark(&self) -> Mark {
        Mark {
            counter: self.counter,
            settings: self.settings,
        }
    }

    /// Keeps what the call changed so far: a later [`World::rollback`] goes back to
    /// here, and the call's record still holds it.
    pub(super) fn savepoint(&mut self) -> Mark {
        self.vpcs.savepoint();
        self.subnets.savepoint();
        self.security_groups.savepoint();
        self.instances.savepoint();
        self.nics.savepoint();
        self.public_ips.savepoint();
        self.pending.savepoint();
        self.mark()
    }

    /// Puts back what the call changed since it began (or since its savepoint, whose
    /// mark `to` is).
    pub(super) fn rollback(&mut self, to: Mark) {
        self.vpcs.rollback();
        self.subnets.rollback();
        self.security_groups.rollback();
        self.instances.rollback();
        self.nics.rollback();
        self.public_ips.rollback();
        self.pending.rollback();
        self.counter = to.counter;
        self.settings = to.settings;
    }

    /// What the call that began at `begun` changed, as the record numbered after the
    /// world's last change; `None` when it changed nothing.
    pub(super) fn record(&self, begun: Mark) -> Option<NewRecord<'_>> {
        let record = NewRecord {
            seq: self.seq + 1,
            counter: (self.counter != begun.counter).then_some(self.counter),
            settings: (self.settings != begun.settings).then_some(self.settings),
            vpcs: self.vpcs.changes(),
            subnets: self.subnets.changes(),
            security_groups: self.security_groups.changes(),
            instances: self.instances.changes(),
            nics: self.nics.changes(),
            public_ips: self.public_ips.changes(),
            pending: self.pending.changes(),
        };
        (!record.is_empty()).then_some(record)
    }

    /// Ends the call: what it changed stays, numbered `seq` when it changed anything.
    pub(super) fn commit(&mut self, seq: u64) {
        self.vpcs.commit();
        self.subnets.commit();
        self.security_groups.commit();
        self.instances.commit();
        self.nics.commit();
        self.public_ips.commit();
        self.pending.commit();
        self.seq = seq;
    }

    /// Applies a stored record, outside any call.
    pub(super) fn apply(&mut self, record: Record) {
        fn put<T: super::table::Row>(table: &mut Table<T>, rows: BTreeMap<String, Option<T>>) {
            for (id, row) in rows {
                table.restore(id, row);
            }
        }
        put(&mut self.vpcs, record.vpcs);
        put(&mut self.subnets, record.subnets);
        put(&mut self.security_groups, record.security_groups);
        put(&mut self.instances, record.instances);
        put(&mut self.nics, record.nics);
        put(&mut self.public_ips, record.public_ips);
        put(&mut self.pending, record.pending);
        if let Some(counter) = record.counter {
            self.counter = counter;
        }
        if let Some(settings) = record.settings {
            self.settings = settings;
        }
        self.seq = record.seq;
    }

    /// Turns the build deadlines an older simulator wrote into changes in progress, as
    /// the world is read.
    pub(super) fn adopt_build_deadlines(&mut self) {
        for (id, deadline) in std::mem::take(&mut self.build_deadlines) {
            if !self.pending.contains_key(&id) {
                self.pending.restore(
                    id,
                    Some(Pending {
                        due_ms: deadline,
                        change: Change::Build,
                    }),
                );
            }
        }
    }

    /// Finishes every change due by `now_ms`, earliest first; whether any was.
    pub(super) fn complete_due(&mut self, now_ms: u64, keep_primary: bool) -> bool {
        self.adopt_build_deadlines();
        let due: Vec<String> = self
            .pending
            .index()
            .by_due
            .iter()
            .take_while(|(due, _)| *due <= now_ms)
            .map(|(_, id)| id.clone())
            .collect();
        let any = !due.is_empty();
        for id in due {
            if let Some(pending) = self.pending.remove(&id) {
                self.finish(&id, pending.change, keep_primary);
            }
        }
        any
    }

    /// Puts a finished change into effect.
    fn finish(&mut self, id: &str, change: Change, keep_primary: bool) {
        match change {
            Change::Provision => {
                self.vpcs.modify(id, |v| v.status = Provisioning::Active);
                self.subnets.modify(id, |s| s.status = Provisioning::Active);
            }
            Change::Remove => {
                self.vpcs.remove(id);
                self.subnets.remove(id);
                self.nics.remove(id);
                self.public_ips.remove(id);
            }
            Change::Build | Change::Start => self.set_status(id, Status::Active),
            Change::Stop => self.set_status(id, Status::Stopped),
            Change::Resize { flavor } => {
                self.instances.modify(id, |i| {
                    i.flavor = flavor;
                    i.status = Status::Stopped;
                });
            }
            Change::DeleteInstance => {
                let Some(instance) = self.instances.remove(id) else {
                    return;
                };
                let attached: Vec<String> = self
                    .nics
                    .index()
                    .by_device
                    .get(id)
                    .map(str::to_string)
                    .collect();
                for nic_id in attached {
                    self.pending.remove(&nic_id);
                    if nic_id == instance.primary_nic_id && !keep_primary {
                        self.nics.remove(&nic_id);
                    } else {
                        self.nics.modify(&nic_id, |nic| nic.device_id = None);
                    }
                }
            }
            Change::Attach => {}
            Change::Detach => {
                self.nics.modify(id, |nic| nic.device_id = None);
            }
            Change::Associate { private_ip } => {
                self.public_ips.modify(id, |p| {
                    p.private_ip = Some(private_ip);
                    p.status = PublicIpStatus::InUse;
                });
            }
            Change::Disassociate => {
                self.public_ips.modify(id, |p| {
                    p.nic_id = None;
                    p.private_ip = None;
                    p.status = PublicIpStatus::Available;
                });
            }
        }
    }

    pub(super) fn set_status(&mut self, id: &str, status: Status) {
        self.instances.modify(id, |i| i.status = status);
    }

    /// Records a change that finishes after `delay_ms`; with no delay it finishes now.
    fn schedule(&mut self, cx: &Ctx, id: &str, delay_ms: u64, change: Change) {
        if delay_ms == 0 {
            self.finish(id, change, cx.settings.keep_primary_nic);
        } else {
            self.pending.insert(
                id.to_string(),
                Pending {
                    due_ms: cx.now_ms.saturating_add(delay_ms),
                    change,
                },
            );
        }
    }

    /// The change in progress on an object, if any.
    fn pending_on(&self, id: &str) -> Option<&Change> {
        self.pending.get(id).map(|p| &p.change)
    }

    /// Whether an object is on its way out.
    fn going(&self, id: &str) -> bool {
        matches!(
            self.pending_on(id),
            Some(Change::Remove | Change::DeleteInstance)
        )
    }

    /// Refuses a change to an object that another change still works on.
    fn check_idle(&self, id: &str, what: &str) -> Result<(), CloudError> {
        match self.pending_on(id) {
            None => Ok(()),
            Some(Change::Remove | Change::DeleteInstance) => Err(CloudError::Rejected(format!(
                "{what} {id} is being deleted"
            ))),
            Some(change) => Err(CloudError::Rejected(format!(
                "{what} {id} is busy ({}); try again when it has finished",
                change_words(change)
            ))),
        }
    }

    /// The next ID with this prefix, and its number.
    fn next_id(&mut self, prefix: &str) -> (String, u64) {
        self.counter += 1;
        let id = if self.settings.platform_ids {
            platform_id(self.counter)
        } else {
            format!("{prefix}-{:06}", self.counter)
        };
        (id, self.counter)
    }

    pub(super) fn vpc(&self, id: &str) -> Result<&CloudVpc, CloudError> {
        self.vpcs.get(id).ok_or_else(|| not_found("VPC", id))
    }

    pub(super) fn subnet(&self, id: &str) -> Result<&CloudSubnet, CloudError> {
        self.subnets.get(id).ok_or_else(|| not_found("subnet", id))
    }

    pub(super) fn security_group(&self, id: &str) -> Result<&CloudSecurityGroup, CloudError> {
        self.security_groups
            .get(id)
            .ok_or_else(|| not_found("security group", id))
    }

    pub(super) fn instance(&self, id: &str) -> Result<&CloudInstance, CloudError> {
        self.instances
            .get(id)
            .ok_or_else(|| not_found("instance", id))
    }

    pub(super) fn nic(&self, id: &str) -> Result<&CloudNic, CloudError> {
        self.nics
            .get(id)
            .ok_or_else(|| not_found("network interface", id))
    }

    pub(super) fn public_ip(&self, id: &str) -> Result<&CloudPublicIp, CloudError> {
        self.public_ips
            .get(id)
            .ok_or_else(|| not_found("public IP", id))
    }

    /// An instance as a read shows it: with the NICs it shows, primary first (a NIC
    /// still attaching does not show yet; one still detaching does).
    pub(super) fn instance_view(&self, id: &str) -> Result<CloudInstance, CloudError> {
        let mut instance = self.instance(id)?.clone();
        let mut shown: Vec<String> = self
            .nics_of(id)
            .filter(|n| !matches!(self.pending_on(&n.id), Some(Change::Attach)))
            .map(|n| n.id.clone())
            .collect();
        shown.sort_by_key(|n| *n != instance.primary_nic_id);
        instance.attached_nic_ids = shown;
        Ok(instance)
    }

    /// The ID of the instance with this ID, or else with this name.
    pub(super) fn find_instance(&self, name_or_id: &str) -> Result<String, CloudError> {
        let named = &self.instances.index().by_name;
        find(&self.instances, named, name_or_id, "instance")
    }

    /// The ID of the subnet with this ID, or else with this name.
    pub(super) fn find_subnet(&self, name_or_id: &str) -> Result<String, CloudError> {
        find(
            &self.subnets,
            &self.subnets.index().by_name,
            name_or_id,
            "subnet",
        )
    }

    /// The ID of the VPC with this ID, or else with this name.
    pub(super) fn find_vpc(&self, name_or_id: &str) -> Result<String, CloudError> {
        find(&self.vpcs, &self.vpcs.index().by_name, name_or_id, "VPC")
    }

    /// The ID of the security group with this ID, or else with this name.
    pub(super) fn find_security_group(&self, name_or_id: &str) -> Result<String, CloudError> {
        let named = &self.security_groups.index().by_name;
        find(&self.security_groups, named, name_or_id, "security group")
    }

    /// The ID of the NIC with this ID, or else with this name.
    pub(super) fn find_nic(&self, name_or_id: &str) -> Result<String, CloudError> {
        let named = &self.nics.index().by_name;
        find(&self.nics, named, name_or_id, "network interface")
    }

    /// The NICs attached to an instance, primary included, by ID.
    fn nics_of(&self, instance_id: &str) -> impl Iterator<Item = &CloudNic> {
        self.nics
            .index()
            .by_device
            .get(instance_id)
            .filter_map(|id| self.nics.get(id))
    }

    /// The public IPs associated with a NIC, by ID.
    fn public_ips_on(&self, nic_id: &str) -> impl Iterator<Item = &CloudPublicIp> {
        self.public_ips
            .index()
            .by_nic
            .get(nic_id)
            .filter_map(|id| self.public_ips.get(id))
    }

    /// The NIC other than `except` that holds `ip` in a subnet, if any.
    fn holder(&self, subnet_id: &str, ip: Ipv4Addr, except: Option<&str>) -> Option<&str> {
        self.nics
            .index()
            .held_in(subnet_id)
            .and_then(|held| held.holder(ip, except))
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
            if let Some(holder) = self.holder(&subnet.id, *ip, own) {
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

    /// Refuses a change that needs an `ACTIVE` VPC or subnet.
    fn check_active(
        what: &str,
        id: &str,
        name: &str,
        status: Provisioning,
        for_what: &str,
    ) -> Result<(), CloudError> {
        if status == Provisioning::Active {
            return Ok(());
        }
        Err(CloudError::Rejected(format!(
            "{what} {} is {}; {for_what} needs it ACTIVE",
            label(id, name),
            status.as_str()
        )))
    }

    pub(super) fn create_vpc(
        &mut self,
        cx: &Ctx,
        name: &str,
        cidr: Ipv4Net,
    ) -> Result<String, CloudError> {
        check_network_address("VPC", cidr)?;
        if !(16..=24).contains(&cidr.prefix_len()) {
            return Err(CloudError::Rejected(format!(
                "VPC {name} has CIDR {cidr}, but a VPC's prefix must be between /16 and /24"
            )));
        }
        let limit = self.settings.quotas.vpcs;
        if self.vpcs.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
            return Err(over_quota("VPCs", limit));
        }
        let (id, _) = self.next_id("vpc");
        let vpc = CloudVpc {
            id: id.clone(),
            name: name.to_string(),
            description: String::new(),
            cidr_block: cidr,
            status: Provisioning::PendingCreate,
        };
        self.vpcs.insert(id.clone(), vpc);
        self.schedule(cx, &id, cx.delays.provision, Change::Provision);
        Ok(id)
    }

    pub(super) fn delete_vpc(&mut self, cx: &Ctx, id: &str) -> Result<(), CloudError> {
        let vpc = self.vpc(id)?;
        if self.going(id) {
            return Ok(());
        }
        Self::check_active("VPC", id, &vpc.name, vpc.status, "a delete")?;
        if let Some(subnet) = self
            .subnets
            .index()
            .by_vpc
            .get(id)
            .find_map(|s| self.subnets.get(s))
        {
            return Err(CloudError::Rejected(format!(
                "VPC {} still holds subnet {}; delete its subnets first",
                label(&vpc.id, &vpc.name),
                label(&subnet.id, &subnet.name)
            )));
        }
        self.vpcs
            .modify(id, |v| v.status = Provisioning::PendingDelete);
        self.schedule(cx, id, cx.delays.delete, Change::Remove);
        Ok(())
    }

    pub(super) fn create_subnet(
        &mut self,
        cx: &Ctx,
        name: &str,
        vpc_id: &str,
        cidr: Ipv4Net,
        zone: &str,
    ) -> Result<String, CloudError> {
        let vpc = self.vpc(vpc_id)?;
        Self::check_active("VPC", &vpc.id, &vpc.name, vpc.status, "a new subnet")?;
        check_network_address("subnet", cidr)?;
        if !vpc.cidr_block.contains(&cidr) {
            return Err(CloudError::Rejected(format!(
                "subnet {name} ({cidr}) lies outside VPC {} ({})",
                label(&vpc.id, &vpc.name),
                vpc.cidr_block
            )));
        }
        if let Some(other) = self
            .subnets
            .index()
            .by_vpc
            .get(vpc_id)
            .filter_map(|s| self.subnets.get(s))
            .find(|s| s.cidr_block.contains(&cidr) || cidr.contains(&s.cidr_block))
        {
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
        let limit = self.settings.quotas.subnets;
        if self.subnets.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
            return Err(over_quota("subnets", limit));
        }
        let (id, _) = self.next_id("subnet");
        let subnet = CloudSubnet {
            id: id.clone(),
            name: name.to_string(),
            vpc_id: vpc_id.to_string(),
            cidr_block: cidr,
            availability_zone: zone.to_string(),
            status: Provisioning::PendingCreate,
        };
        self.subnets.insert(id.clone(), subnet);
        self.schedule(cx, &id, cx.delays.provision, Change::Provision);
        Ok(id)
    }

    pub(super) fn delete_subnet(&mut self, cx: &Ctx, id: &str) -> Result<(), CloudError> {
        let subnet = self.subnet(id)?;
        if self.going(id) {
            return Ok(());
        }
        Self::check_active("subnet", id, &subnet.name, subnet.status, "a delete")?;
        if let Some(nic) = self
            .nics
            .index()
            .by_subnet
            .get(id)
            .find_map(|n| self.nics.get(n))
        {
            return Err(CloudError::Rejected(format!(
                "subnet {} still holds network interface {}; delete its network interfaces first",
                label(&subnet.id, &subnet.name),
                label(&nic.id, &nic.name)
            )));
        }
        self.subnets
            .modify(id, |s| s.status = Provisioning::PendingDelete);
        self.schedule(cx, id, cx.delays.delete, Change::Remove);
        Ok(())
    }

    pub(super) fn create_security_group(
        &mut self,
        name: &str,
        description: &str,
    ) -> Result<String, CloudError> {
        if let Some(other) = self
            .security_groups
            .index()
            .by_name
            .get(name)
            .find_map(|g| self.security_groups.get(g))
        {
            return Err(CloudError::Rejected(format!(
                "a security group named {name} already exists ({}); security group names are unique in a project",
                other.id
            )));
        }
        let (id, _) = self.next_id("sg");
        let group = CloudSecurityGroup {
            id: id.clone(),
            name: name.to_string(),
            description: description.to_string(),
        };
        self.security_groups.insert(id.clone(), group);
        Ok(id)
    }

    pub(super) fn update_security_group(
        &mut self,
        id: &str,
        description: &str,
    ) -> Result<(), CloudError> {
        self.security_group(id)?;
        self.security_groups
            .modify(id, |g| g.description = description.to_string());
        Ok(())
    }

    pub(super) fn delete_security_group(&mut self, id: &str) -> Result<(), CloudError> {
        let group = self.security_group(id)?;
        if let Some(nic) = self
            .nics
            .index()
            .by_group
            .get(id)
            .find_map(|n| self.nics.get(n))
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

    pub(super) fn create_nic(
        &mut self,
        cx: &Ctx,
        request: &NicRequest,
    ) -> Result<String, CloudError> {
        let subnet = self.subnet(&request.subnet_id)?.clone();
        Self::check_active(
            "subnet",
            &subnet.id,
            &subnet.name,
            subnet.status,
            "a new network interface",
        )?;
        self.check_security_groups(&request.security_group_ids)?;
        Self::check_multiple_ips(cx, &request.name, &request.secondary_ips)?;
        let mut wanted: Vec<Ipv4Addr> = request.private_ip.into_iter().collect();
        wanted.extend(&request.secondary_ips);
        self.check_ips(&subnet, &request.name, None, &wanted)?;
        let private_ip = match request.private_ip {
            Some(ip) => ip,
            None => {
                // The lowest free address: the worst case for pinned addresses.
                let held = self.nics.index().held_in(&subnet.id);
                let net = subnet.cidr_block;
                let first = u32::from(net.network()).checked_add(2);
                let last = u32::from(net.broadcast()).checked_sub(1);
                first
                    .zip(last)
                    .and_then(|(first, last)| match held {
                        Some(held) => held.lowest_free(first, last, &request.secondary_ips),
                        None => (first..=last)
                            .map(Ipv4Addr::from)
                            .find(|ip| !request.secondary_ips.contains(ip)),
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
            // Follows from `device_id` on every read.
            reported_status: None,
        };
        self.nics.insert(id.clone(), nic);
        Ok(id)
    }

    pub(super) fn update_nic(
        &mut self,
        cx: &Ctx,
        id: &str,
        update: &NicUpdate,
    ) -> Result<(), CloudError> {
        let nic = self.nic(id)?.clone();
        let who = label(&nic.id, &nic.name);
        if self.going(id) {
            return Err(CloudError::Rejected(format!(
                "network interface {who} is being deleted"
            )));
        }
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
        if let Some(public) = self.public_ips_on(id).find(|p| {
            self.mapped_ip(p)
                .is_some_and(|ip| ip != nic.private_ip && !update.secondary_ips.contains(&ip))
        }) {
            return Err(CloudError::Rejected(format!(
                "secondary IP {} of network interface {who} is mapped to public IP {} ({}); disassociate it first",
                self.mapped_ip(public)
                    .map(|ip| ip.to_string())
                    .unwrap_or_default(),
                public.id,
                public.address
            )));
        }
        if !self.nics.modify(id, |nic| {
            nic.description = update.description.clone();
            nic.security_group_ids = update.security_group_ids.clone();
            nic.source_dest_check = update.source_dest_check;
            nic.secondary_ips = update.secondary_ips.clone();
        }) {
            return Err(not_found("network interface", id));
        }
        Ok(())
    }

    /// The private IP a public IP maps to, or is about to.
    fn mapped_ip(&self, p: &CloudPublicIp) -> Option<Ipv4Addr> {
        match self.pending_on(&p.id) {
            Some(Change::Associate { private_ip }) => Some(*private_ip),
            _ => p.private_ip,
        }
    }

    pub(super) fn delete_nic(&mut self, cx: &Ctx, id: &str) -> Result<(), CloudError> {
        let nic = self.nic(id)?;
        if self.going(id) {
            return Ok(());
        }
        let who = label(&nic.id, &nic.name);
        if let Some(instance_id) = &nic.device_id {
            return Err(CloudError::Rejected(format!(
                "network interface {who} is attached to instance {instance_id}; detach it first"
            )));
        }
        if let Some(public) = self.public_ips_on(id).next() {
            return Err(CloudError::Rejected(format!(
                "network interface {who} has public IP {} ({}) associated; disassociate it first",
                public.id, public.address
            )));
        }
        self.schedule(cx, id, cx.delays.delete, Change::Remove);
        Ok(())
    }

    pub(super) fn create_instance(
        &mut self,
        cx: &Ctx,
        request: &InstanceRequest,
    ) -> Result<String, CloudError> {
        let kind = flavor(&request.flavor)?;
        let nic = self.nic(&request.primary_nic_id)?;
        let who = label(&nic.id, &nic.name);
        self.check_idle(&nic.id, "network interface")?;
        if let Some(other) = &nic.device_id {
            return Err(CloudError::Rejected(format!(
                "network interface {who} is already attached to instance {other}"
            )));
        }
        let subnet = self.subnet(&nic.subnet_id)?;
        Self::check_active(
            "subnet",
            &subnet.id,
            &subnet.name,
            subnet.status,
            "a new instance",
        )?;
        let zone = subnet.availability_zone.clone();
        if !kind.is_bare_metal() && nic.security_group_ids.is_empty() {
            return Err(CloudError::Rejected(format!(
                "network interface {who} has no security group, which instance {} of flavor {} (not bare metal) requires",
                request.name, request.flavor
            )));
        }
        let limit = self.settings.quotas.instances;
        if self.instances.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
            return Err(over_quota("instances", limit));
        }
        let (id, _) = self.next_id("i");
        let instance = CloudInstance {
            id: id.clone(),
            name: request.name.clone(),
            description: request.description.clone(),
            flavor: request.flavor.clone(),
            image: request.image.clone(),
            availability_zone: zone,
            status: Status::Building,
            primary_nic_id: request.primary_nic_id.clone(),
            attached_nic_ids: Vec::new(),
        };
        self.nics.modify(&request.primary_nic_id, |nic| {
            nic.device_id = Some(id.clone())
        });
        self.instances.insert(id.clone(), instance);
        self.schedule(cx, &id, cx.delays.build, Change::Build);
        Ok(id)
    }

    pub(super) fn resize_instance(
        &mut self,
        cx: &Ctx,
        id: &str,
        new: &str,
    ) -> Result<(), CloudError> {
        let instance = self.instance(id)?;
        let who = label(&instance.id, &instance.name);
        if instance.status != Status::Stopped {
            return Err(CloudError::Rejected(format!(
                "instance {who} is {}; the platform resizes only a stopped instance",
                instance.status.as_str()
            )));
        }
        let to = flavor(new)?;
        let from = flavor(&instance.flavor)?;
        if from.kind() != FlavorKind::Vm || to.kind() != FlavorKind::Vm {
            return Err(CloudError::Rejected(format!(
                "instance {who} cannot be resized from {} ({}) to {new} ({}): only vm flavors are resized",
                instance.flavor,
                from.kind().as_str(),
                to.kind().as_str()
            )));
        }
        let count = self.nics_of(id).count();
        let max = usize::try_from(to.max_network_interfaces).unwrap_or(usize::MAX);
        if count > max {
            return Err(CloudError::Rejected(format!(
                "instance {who} holds {count} network interfaces, more than the {max} flavor {new} allows"
            )));
        }
        self.set_status(id, Status::Resizing);
        self.schedule(
            cx,
            id,
            cx.delays.power,
            Change::Resize {
                flavor: new.to_string(),
            },
        );
        Ok(())
    }

    pub(super) fn stop_instance(&mut self, cx: &Ctx, id: &str) -> Result<(), CloudError> {
        let instance = self.instance(id)?;
        let who = label(&instance.id, &instance.name);
        match instance.status {
            // A repeat of a stop in progress or done changes nothing.
            Status::Stopping | Status::Stopped => Ok(()),
            Status::Active => {
                self.set_status(id, Status::Stopping);
                self.schedule(cx, id, cx.delays.power, Change::Stop);
                Ok(())
            }
            other => Err(CloudError::Rejected(format!(
                "instance {who} is {}; only an active instance can be stopped",
                other.as_str()
            ))),
        }
    }

    pub(super) fn start_instance(&mut self, cx: &Ctx, id: &str) -> Result<(), CloudError> {
        let instance = self.instance(id)?;
        let who = label(&instance.id, &instance.name);
        match instance.status {
            Status::Starting | Status::Active => Ok(()),
            Status::Stopped => {
                self.set_status(id, Status::Starting);
                self.schedule(cx, id, cx.delays.power, Change::Start);
                Ok(())
            }
            other => Err(CloudError::Rejected(format!(
                "instance {who} is {}; only a stopped instance can be started",
                other.as_str()
            ))),
        }
    }

    pub(super) fn delete_instance(&mut self, cx: &Ctx, id: &str) -> Result<(), CloudError> {
        let instance = self.instance(id)?;
        if self.going(id) {
            return Ok(());
        }
        // The first by ID of the public IPs on any of its NICs.
        if let Some(public) = self
            .nics_of(id)
            .filter_map(|n| self.public_ips_on(&n.id).next())
            .min_by(|a, b| a.id.cmp(&b.id))
        {
            return Err(CloudError::Rejected(format!(
                "public IP {} ({}) is associated with network interface {} of instance {}; disassociate it first",
                public.id,
                public.address,
                public.nic_id.as_deref().unwrap_or_default(),
                label(&instance.id, &instance.name)
            )));
        }
        self.set_status(id, Status::Deleting);
        self.schedule(cx, id, cx.delays.delete, Change::DeleteInstance);
        Ok(())
    }

    pub(super) fn attach_nic(
        &mut self,
        cx: &Ctx,
        instance_id: &str,
        nic_id: &str,
    ) -> Result<(), CloudError> {
        let instance = self.instance(instance_id)?;
        let nic = self.nic(nic_id)?;
        let who = label(&instance.id, &instance.name);
        let nic_who = label(&nic.id, &nic.name);
        check_changeable(instance, "attaching a network interface")?;
        self.check_idle(nic_id, "network interface")?;
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
        self.nics
            .modify(nic_id, |nic| nic.device_id = Some(instance_id.to_string()));
        self.schedule(cx, nic_id, cx.delays.attach, Change::Attach);
        Ok(())
    }

    pub(super) fn detach_nic(
        &mut self,
        cx: &Ctx,
        instance_id: &str,
        nic_id: &str,
    ) -> Result<(), CloudError> {
        let instance = self.instance(instance_id)?;
        let nic = self.nic(nic_id)?;
        let who = label(&instance.id, &instance.name);
        let nic_who = label(&nic.id, &nic.name);
        if nic.device_id.as_deref() != Some(instance_id) {
            return Err(CloudError::Rejected(format!(
                "network interface {nic_who} is not attached to instance {who}"
            )));
        }
        // A repeat of a detach in progress changes nothing.
        if matches!(self.pending_on(nic_id), Some(Change::Detach)) {
            return Ok(());
        }
        if instance.primary_nic_id == nic_id {
            return Err(CloudError::Rejected(format!(
                "the primary network interface cannot be detached: {nic_who} is the primary of instance {who}"
            )));
        }
        check_changeable(instance, "detaching a network interface")?;
        self.check_idle(nic_id, "network interface")?;
        self.schedule(cx, nic_id, cx.delays.attach, Change::Detach);
        Ok(())
    }

    pub(super) fn create_public_ip(&mut self, description: &str) -> Result<String, CloudError> {
        let used = &self.public_ips.index().by_address;
        let address = public_addresses()
            .find(|ip| !used.any(ip))
            .ok_or_else(|| CloudError::Rejected("the public IP pool is exhausted".to_string()))?;
        let (id, _) = self.next_id("pip");
        let public = CloudPublicIp {
            id: id.clone(),
            description: description.to_string(),
            address,
            nic_id: None,
            private_ip: None,
            status: PublicIpStatus::Available,
        };
        self.public_ips.insert(id.clone(), public);
        Ok(id)
    }

    pub(super) fn associate_public_ip(
        &mut self,
        cx: &Ctx,
        id: &str,
        nic_id: &str,
        private_ip: Option<Ipv4Addr>,
    ) -> Result<(), CloudError> {
        let public = self.public_ip(id)?;
        let who = format!("{} ({})", public.id, public.address);
        self.check_idle(id, "public IP")?;
        if let Some(other) = &public.nic_id {
            return Err(CloudError::Rejected(format!(
                "public IP {who} is already associated with network interface {other}"
            )));
        }
        let nic = self.nic(nic_id)?;
        let nic_who = label(&nic.id, &nic.name);
        if self.going(nic_id) {
            return Err(CloudError::Rejected(format!(
                "network interface {nic_who} is being deleted"
            )));
        }
        let ip = private_ip.unwrap_or(nic.private_ip);
        if ip != nic.private_ip && !nic.secondary_ips.contains(&ip) {
            return Err(CloudError::Rejected(format!(
                "IP {ip} is not an IP of network interface {nic_who}"
            )));
        }
        if let Some(other) = self
            .public_ips_on(nic_id)
            .find(|p| self.mapped_ip(p) == Some(ip))
        {
            return Err(CloudError::Rejected(format!(
                "IP {ip} of network interface {nic_who} is already mapped to public IP {} ({})",
                other.id, other.address
            )));
        }
        if !self.public_ips.modify(id, |public| {
            public.nic_id = Some(nic_id.to_string());
            public.status = PublicIpStatus::Attaching;
            public.private_ip = None;
        }) {
            return Err(not_found("public IP", id));
        }
        self.schedule(
            cx,
            id,
            cx.delays.attach,
            Change::Associate { private_ip: ip },
        );
        Ok(())
    }

    pub(super) fn disassociate_public_ip(
        &mut self,
        cx: &Ctx,
        id: &str,
        nic_id: &str,
    ) -> Result<(), CloudError> {
        let public = self.public_ip(id)?;
        if public.nic_id.as_deref() != Some(nic_id) {
            return Err(CloudError::Rejected(format!(
                "public IP {} ({}) is not associated with network interface {nic_id}",
                public.id, public.address
            )));
        }
        if matches!(self.pending_on(id), Some(Change::Disassociate)) {
            return Ok(());
        }
        self.check_idle(id, "public IP")?;
        self.schedule(cx, id, cx.delays.attach, Change::Disassociate);
        Ok(())
    }

    pub(super) fn delete_public_ip(&mut self, cx: &Ctx, id: &str) -> Result<(), CloudError> {
        let public = self.public_ip(id)?;
        if self.going(id) {
            return Ok(());
        }
        if let Some(nic) = &public.nic_id {
            return Err(CloudError::Rejected(format!(
                "public IP {} ({}) is associated with network interface {nic}; disassociate it first",
                public.id, public.address
            )));
        }
        self.schedule(cx, id, cx.delays.delete, Change::Remove);
        Ok(())
    }

    /// Everything, as a bulk read shows it: one pass over the NICs for what every
    /// instance shows, as `instance_view` shows it for one.
    /// An inventory of the objects with these IDs and of what reading them names: a
    /// subnet's VPC; a NIC's subnet (and its VPC), security groups and public IPs; an
    /// instance's NICs (and theirs); a public IP's NIC (and its). Each object is as
    /// [`World::inventory`] shows it, at a cost that does not grow with the world.
    pub(super) fn inventory_near(&self, ids: &[&str]) -> Inventory {
        let mut inv = Inventory {
            quotas: self.inventory_quotas(),
            ..Inventory::default()
        };
        for id in ids {
            if let Some(v) = self.vpcs.get(*id) {
                inv.vpcs.insert(v.id.clone(), v.clone());
            }
            if let Some(s) = self.subnets.get(*id) {
                self.near_subnet(&mut inv, s);
            }
            if let Some(g) = self.security_groups.get(*id) {
                inv.security_groups.insert(g.id.clone(), g.clone());
            }
            if let Some(n) = self.nics.get(*id) {
                self.near_nic(&mut inv, n);
            }
            if let Ok(instance) = self.instance_view(id) {
                for n in self.nics_of(id) {
                    self.near_nic(&mut inv, n);
                }
                if let Some(n) = self.nics.get(&instance.primary_nic_id) {
                    self.near_nic(&mut inv, n);
                }
                inv.instances.insert(instance.id.clone(), instance);
            }
            if let Some(p) = self.public_ips.get(*id) {
                inv.public_ips.insert(p.id.clone(), p.clone());
                if let Some(n) = p.nic_id.as_deref().and_then(|n| self.nics.get(n)) {
                    self.near_nic(&mut inv, n);
                }
            }
        }
        inv
    }

    fn near_subnet(&self, inv: &mut Inventory, s: &CloudSubnet) {
        inv.subnets.insert(s.id.clone(), s.clone());
        if let Some(v) = self.vpcs.get(&s.vpc_id) {
            inv.vpcs.insert(v.id.clone(), v.clone());
        }
    }

    fn near_nic(&self, inv: &mut Inventory, n: &CloudNic) {
        inv.nics.insert(n.id.clone(), n.clone());
        if let Some(s) = self.subnets.get(&n.subnet_id) {
            self.near_subnet(inv, s);
        }
        for g in &n.security_group_ids {
            if let Some(g) = self.security_groups.get(g) {
                inv.security_groups.insert(g.id.clone(), g.clone());
            }
        }
        for p in self.public_ips_on(&n.id) {
            inv.public_ips.insert(p.id.clone(), p.clone());
        }
    }

    fn inventory_quotas(&self) -> Option<crate::cloud::CloudQuotas> {
        Some(crate::cloud::CloudQuotas {
            vpcs: self.settings.quotas.vpcs,
            subnets: self.settings.quotas.subnets,
            instances: self.settings.quotas.instances,
        })
    }

    pub(super) fn inventory(&self) -> Inventory {
        let mut shown: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for nic in self.nics.values() {
            if let Some(device) = nic.device_id.as_deref()
                && !matches!(self.pending_on(&nic.id), Some(Change::Attach))
            {
                shown.entry(device).or_default().push(nic.id.clone());
            }
        }
        let instances = self
            .instances
            .iter()
            .map(|(id, i)| {
                let mut instance = i.clone();
                let mut nics = shown.remove(id.as_str()).unwrap_or_default();
                nics.sort_by_key(|n| *n != instance.primary_nic_id);
                instance.attached_nic_ids = nics;
                (id.clone(), instance)
            })
            .collect();
        Inventory {
            vpcs: self.vpcs.rows().clone(),
            subnets: self.subnets.rows().clone(),
            security_groups: self.security_groups.rows().clone(),
            instances,
            nics: self.nics.rows().clone(),
            public_ips: self.public_ips.rows().clone(),
            quotas: self.inventory_quotas(),
        }
    }
}

/// A change in a few words, for refusals.
fn change_words(change: &Change) -> &'static str {
    match change {
        Change::Provision => "being created",
        Change::Remove | Change::DeleteInstance => "being deleted",
        Change::Build => "building",
        Change::Stop => "stopping",
        Change::Start => "starting",
        Change::Resize { .. } => "resizing",
        Change::Attach => "attaching",
        Change::Detach => "detaching",
        Change::Associate { .. } => "being associated",
        Change::Disassociate => "being disassociated",
    }
}

/// The ID of the object with this ID, or else the only one with this name.
fn find<T>(
    objects: &BTreeMap<String, T>,
    by_name: &Multi<String>,
    name_or_id: &str,
    kind: &'static str,
) -> Result<String, CloudError> {
    if objects.contains_key(name_or_id) {
        return Ok(name_or_id.to_string());
    }
    let named: Vec<&str> = by_name.get(name_or_id).collect();
    match named.as_slice() {
        [] => Err(not_found(kind, name_or_id)),
        [id] => Ok((*id).to_string()),
        several => Err(CloudError::Rejected(format!(
            "{} {kind}s are named {name_or_id} ({}); name one by its ID",
            several.len(),
            several.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_pools_hold_the_documentation_networks_first_then_thousands_more() {
        let all: Vec<Ipv4Addr> = public_addresses().collect();
        assert_eq!(all[0], Ipv4Addr::new(203, 0, 113, 1));
        assert_eq!(all[253], Ipv4Addr::new(203, 0, 113, 254));
        assert_eq!(all[254], Ipv4Addr::new(198, 51, 100, 1));
        assert_eq!(all[508], Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(all.len(), 508 + 512 * 254);
        let unique: BTreeSet<Ipv4Addr> = all.iter().copied().collect();
        assert_eq!(unique.len(), all.len());
    }

    #[test]
    fn platform_ids_are_uuids_that_never_repeat_and_that_only_the_simulator_makes() {
        let ids: std::collections::BTreeSet<String> = (1..=20_000).map(platform_id).collect();
        assert_eq!(ids.len(), 20_000);
        for id in &ids {
            assert!(crate::cloud::is_platform_id(id), "{id}");
            assert!(is_own_platform_id(id), "{id}");
        }
        assert_eq!(platform_id(7), platform_id(7));
        assert!(!is_own_platform_id("3f2a3c2e-1111-4444-8888-123456789abc"));
        assert!(!is_own_platform_id("vpc-000001"));
    }
}
