//! One step: the platform calls it takes, the waits until the platform shows it done,
//! and the state it records. What the cloud did is recorded as soon as it did it (a
//! created object before its wait, so a timeout never loses it), what went away only
//! once it is gone.

use std::collections::BTreeSet;
use std::sync::Mutex;

use super::wait::{self, Probe};
use super::{Event, Options, lock};
use crate::address::{Address, Kind};
use crate::cloud::{
    self, Cloud, CloudError, InstanceRequest, NicRequest, NicUpdate, Provisioning, PublicIpStatus,
};
use crate::ident::Ident;
use crate::plan::{Action, Step};
use crate::resource::{self, Attributes, Status};
use crate::state::{Entry, Intent, State, StateError, StateStore};

/// Why a step failed.
pub(super) enum StepError {
    /// The cloud refused or failed, or did not finish in time.
    Cloud(String),
    /// The cloud call succeeded but the state could not be written.
    State(String),
}

impl From<CloudError> for StepError {
    fn from(e: CloudError) -> StepError {
        StepError::Cloud(e.to_string())
    }
}

/// What every step of one apply shares.
pub(super) struct Run<'a> {
    pub cloud: &'a dyn Cloud,
    pub store: &'a dyn StateStore,
    pub state: &'a Mutex<State>,
    pub options: &'a Options,
    pub on_event: &'a (dyn Fn(Event<'_>) + Sync),
    /// IDs of VPCs and subnets seen `ACTIVE` during this apply.
    pub ready: &'a Mutex<BTreeSet<String>>,
}

impl Run<'_> {
    /// The cloud ID of a resource: from state, or the raw ID of an unmanaged object
    /// (`id:...`).
    fn id_of(&self, kind: Kind, name: &str) -> Result<String, StepError> {
        if let Some(raw) = name.strip_prefix("id:") {
            return Ok(raw.to_string());
        }
        let address = Address::new(kind, name);
        lock(self.state)
            .resources
            .get(&address)
            .map(|e| e.id.clone())
            .ok_or_else(|| StepError::Cloud(format!("{address} has no cloud ID in state")))
    }

    fn ids_of(&self, kind: Kind, names: &[Ident]) -> Result<Vec<String>, StepError> {
        names.iter().map(|n| self.id_of(kind, n)).collect()
    }

    /// Applies a change of what `address` holds to the state and records it durably.
    fn record(&self, address: &Address, change: impl FnOnce(&mut State)) -> Result<(), StepError> {
        self.record_many(|s| {
            change(s);
            vec![*address]
        })
    }

    /// Applies a change to the state and records it durably: one journal record of what
    /// the addresses the change returns hold now. The state's lock is held while the
    /// record is written, not while it is synced, so that the records of parallel
    /// steps share a sync.
    fn record_many(
        &self,
        change: impl FnOnce(&mut State) -> Vec<Address>,
    ) -> Result<(), StepError> {
        let failed = |e: StateError| StepError::State(e.to_string());
        let serial = {
            let mut s = lock(self.state);
            let touched = change(&mut s);
            let changes: Vec<_> = touched.iter().map(|a| s.change_at(a)).collect();
            self.store.append(&mut s, &changes).map_err(failed)?
        };
        self.store.sync(serial).map_err(failed)
    }

    /// Records a created object under the step's address.
    fn record_created(
        &self,
        step: &Step,
        id: &str,
        attributes: Attributes,
    ) -> Result<(), StepError> {
        let address = step.address;
        let id = id.to_string();
        self.record(&step.address, move |s| {
            s.intents.remove(&address);
            s.resources.insert(address, Entry { id, attributes });
        })
    }

    /// Writes down, before a VPC or subnet create, what identifies the object it will
    /// make and which objects so identified are there already: those carry no marker,
    /// and this is how the next run finds the object if this one dies before recording
    /// it.
    fn record_intent(&self, step: &Step, intent: Intent) -> Result<(), StepError> {
        let address = step.address;
        self.record(&step.address, move |s| {
            s.intents.insert(address, intent);
        })
    }

    /// Forgets an intent whose create the platform refused: nothing was made.
    fn drop_intent(&self, step: &Step, error: StepError) -> StepError {
        if matches!(error, StepError::Cloud(_)) {
            let address = step.address;
            let _ = self.record(&step.address, move |s| {
                s.intents.remove(&address);
            });
        }
        error
    }

    /// Waits until a VPC or subnet is `ACTIVE` (once per apply and object).
    fn until_active(&self, step: &Step, kind: Kind, id: &str) -> Result<(), StepError> {
        if lock(self.ready).contains(id) {
            return Ok(());
        }
        wait::until(step, kind, self.options, self.on_event, || {
            let status = match kind {
                Kind::Vpc => self.cloud.vpc(id)?.status,
                _ => self.cloud.subnet(id)?.status,
            };
            match status {
                Provisioning::Active => Ok(Probe::Done(())),
                Provisioning::Error | Provisioning::Deleted | Provisioning::PendingDelete => {
                    Err(StepError::Cloud(format!(
                        "{} {id} is {} instead of turning ACTIVE",
                        kind.noun(),
                        status.as_str()
                    )))
                }
                other => Ok(Probe::Waiting(format!(
                    "{} {id} to turn ACTIVE (it is {})",
                    kind.noun(),
                    other.as_str()
                ))),
            }
        })?;
        lock(self.ready).insert(id.to_string());
        Ok(())
    }

    /// Waits until an object is gone (its read answers "not found").
    fn until_gone(
        &self,
        step: &Step,
        kind: Kind,
        id: &str,
        read: impl Fn(&str) -> Result<(), CloudError>,
    ) -> Result<(), StepError> {
        wait::until(step, kind, self.options, self.on_event, || match read(id) {
            Err(CloudError::NotFound { .. }) => Ok(Probe::Done(())),
            Err(e) => Err(e.into()),
            Ok(()) => Ok(Probe::Waiting(format!("{} {id} to go away", kind.noun()))),
        })
    }

    /// The outcome of an attach, detach, associate or disassociate, which counts as
    /// done when the platform refuses it with the object already as asked (`already`):
    /// a run killed during such a call leaves the change to the platform, and the next
    /// run, whose refresh saw it not yet made or not yet finished, asks for it again
    /// after the platform has done it.
    fn unless_done(
        &self,
        called: Result<(), CloudError>,
        already: impl FnOnce() -> Result<bool, CloudError>,
    ) -> Result<(), StepError> {
        match called {
            Err(e @ CloudError::Rejected(_)) => {
                if already()? {
                    Ok(())
                } else {
                    Err(e.into())
                }
            }
            other => Ok(other?),
        }
    }

    /// Waits until an instance is out of any transition and active or stopped, for a
    /// step that changes its NICs, flavor or power.
    fn until_settled(&self, step: &Step, instance: &str) -> Result<resource::Status, StepError> {
        let id = self.id_of(Kind::Instance, instance)?;
        wait::until(step, Kind::Instance, self.options, self.on_event, || {
            let status = self.cloud.instance(&id)?.status;
            if status.allows_nic_changes() {
                Ok(Probe::Done(status))
            } else if status.is_transient() && status != Status::Deleting {
                Ok(Probe::Waiting(format!(
                    "instance {instance} ({id}) to finish {}",
                    transition_words(status)
                )))
            } else {
                Err(StepError::Cloud(format!(
                    "instance {instance} is {}; NICs can be attached or detached, and an instance stopped, started or resized, only when it is active or stopped",
                    status.as_str()
                )))
            }
        })
    }

    /// Waits until an instance reaches `target`, after a stop, start or resize.
    fn until_status(
        &self,
        step: &Step,
        instance: &str,
        id: &str,
        target: Status,
        flavor: Option<&str>,
    ) -> Result<cloud::CloudInstance, StepError> {
        wait::until(step, Kind::Instance, self.options, self.on_event, || {
            let now = self.cloud.instance(id)?;
            let flavor_done = flavor.is_none_or(|f| now.flavor == f);
            if now.status == target && flavor_done {
                Ok(Probe::Done(now))
            } else if now.status.is_transient() || (now.status == target && !flavor_done) {
                Ok(Probe::Waiting(format!(
                    "instance {instance} ({id}) to be {} (it is {})",
                    target.as_str(),
                    now.status.as_str()
                )))
            } else {
                Err(StepError::Cloud(format!(
                    "instance {instance} is {} instead of {}",
                    now.status.as_str(),
                    target.as_str()
                )))
            }
        })
    }

    /// Runs one step.
    pub(super) fn step(&self, step: &Step) -> Result<String, StepError> {
        match (step.action, step.after.as_deref()) {
            (Action::Create, Some(after)) => self.create(step, after),
            (Action::Delete, _) => self.delete(step),
            (Action::Update, Some(after)) => self.update(step, after),
            (Action::Resize, Some(Attributes::Instance(after))) => self.resize(step, after),
            (Action::Stop | Action::Start, _) => self.power(step),
            (Action::Attach | Action::Detach, _) => self.attachment(step),
            (Action::Associate, _) => self.associate(step),
            (Action::Disassociate, _) => self.disassociate(step),
            (action, _) => Err(StepError::Cloud(format!(
                "{action} of {} has nothing to apply",
                step.address
            ))),
        }
    }

    fn tag(&self, step: &Step, user: &str) -> String {
        let lineage = lock(self.state).lineage.clone();
        cloud::tag_description(user, &lineage, &step.address)
    }

    fn create(&self, step: &Step, after: &Attributes) -> Result<String, StepError> {
        let name = step.address.name.as_str();
        let cloud = self.cloud;
        match after {
            Attributes::Vpc(v) => {
                let existing = cloud.vpcs_like(name, v.cidr_block)?;
                self.record_intent(
                    step,
                    Intent {
                        name: name.to_string(),
                        cidr_block: v.cidr_block.to_string(),
                        availability_zone: None,
                        vpc_id: None,
                        existing: existing.into_iter().collect(),
                    },
                )?;
                let id = match cloud.create_vpc(name, v.cidr_block) {
                    Ok(vpc) => vpc.id,
                    Err(e @ CloudError::Rejected(_)) => {
                        return Err(self.drop_intent(step, e.into()));
                    }
                    Err(e) => return Err(e.into()),
                };
                self.record_created(step, &id, after.clone())?;
                self.until_active(step, Kind::Vpc, &id)?;
                Ok(id)
            }
            Attributes::Subnet(s) => {
                let vpc = self.id_of(Kind::Vpc, &s.vpc)?;
                self.until_active(step, Kind::Vpc, &vpc)?;
                let existing =
                    cloud.subnets_like(name, &vpc, s.cidr_block, &s.availability_zone)?;
                self.record_intent(
                    step,
                    Intent {
                        name: name.to_string(),
                        cidr_block: s.cidr_block.to_string(),
                        availability_zone: Some(s.availability_zone.to_string()),
                        vpc_id: Some(vpc.clone()),
                        existing: existing.into_iter().collect(),
                    },
                )?;
                let created =
                    match cloud.create_subnet(name, &vpc, s.cidr_block, &s.availability_zone) {
                        Ok(created) => created,
                        Err(e @ CloudError::Rejected(_)) => {
                            return Err(self.drop_intent(step, e.into()));
                        }
                        Err(e) => return Err(e.into()),
                    };
                self.record_created(step, &created.id, after.clone())?;
                self.until_active(step, Kind::Subnet, &created.id)?;
                Ok(created.id)
            }
            Attributes::SecurityGroup(g) => {
                let id = cloud
                    .create_security_group(name, &self.tag(step, &g.description))?
                    .id;
                self.record_created(step, &id, after.clone())?;
                Ok(id)
            }
            Attributes::NetworkInterface(n) => {
                let subnet_id = self.id_of(Kind::Subnet, &n.subnet)?;
                self.until_active(step, Kind::Subnet, &subnet_id)?;
                let request = NicRequest {
                    name: name.to_string(),
                    description: self.tag(step, &n.description),
                    subnet_id,
                    private_ip: n.private_ip,
                    secondary_ips: n.secondary_private_ips.to_vec(),
                    security_group_ids: self.ids_of(Kind::SecurityGroup, &n.security_groups)?,
                    source_dest_check: n.source_dest_check,
                };
                let created = cloud.create_nic(&request)?;
                let mut observed = n.clone();
                observed.private_ip = Some(created.private_ip);
                observed.mac_address = Some(Ident::new(&created.mac_address));
                observed.status = Some(created.status());
                // Attachment is a step of its own.
                observed.attach_to = None;
                self.record_created(step, &created.id, Attributes::NetworkInterface(observed))?;
                Ok(format!("{}, {}", created.id, created.private_ip))
            }
            Attributes::Instance(i) => {
                let request = InstanceRequest {
                    name: name.to_string(),
                    description: self.tag(step, ""),
                    flavor: i.instance_type.to_string(),
                    image: i.image.to_string(),
                    primary_nic_id: self.id_of(Kind::NetworkInterface, &i.primary_interface)?,
                    root_volume_gb: i.root_volume_gb.unwrap_or(resource::DEFAULT_ROOT_VOLUME_GB),
                    bonding: i.bonding.unwrap_or(false),
                };
                let created = cloud.create_instance(&request)?;
                let mut observed = i.clone();
                observed.status = Some(created.status);
                observed.availability_zone = Some(Ident::new(&created.availability_zone));
                let address = step.address;
                let primary = Address::new(Kind::NetworkInterface, i.primary_interface);
                let id = created.id.clone();
                // The primary NIC is in use from the create on.
                self.record_many(move |s| {
                    s.intents.remove(&address);
                    s.resources.insert(
                        address,
                        Entry {
                            id,
                            attributes: Attributes::Instance(observed),
                        },
                    );
                    let mut touched = vec![address];
                    if let Some(Entry {
                        attributes: Attributes::NetworkInterface(n),
                        ..
                    }) = s.resources.get_mut(&primary)
                    {
                        n.status = Some(resource::NicStatus::InUse);
                        touched.push(primary);
                    }
                    touched
                })?;
                Ok(created.id)
            }
            Attributes::PublicIp(_) => {
                let created = cloud.create_public_ip(&self.tag(step, ""))?;
                let observed = resource::PublicIp {
                    network_interface: None,
                    private_ip: None,
                    address: Some(created.address),
                };
                self.record_created(step, &created.id, Attributes::PublicIp(observed))?;
                Ok(format!("{}, {}", created.id, created.address))
            }
        }
    }

    fn delete(&self, step: &Step) -> Result<String, StepError> {
        let address = step.address;
        let name = address.name;
        let id = self.id_of(address.kind, &name)?;
        let cloud = self.cloud;
        let mut detail = id.clone();
        match address.kind {
            Kind::Vpc => {
                deleted(cloud.delete_vpc(&id))?;
                self.until_gone(step, Kind::Vpc, &id, |i| cloud.vpc(i).map(drop))?;
            }
            Kind::Subnet => {
                deleted(cloud.delete_subnet(&id))?;
                self.until_gone(step, Kind::Subnet, &id, |i| cloud.subnet(i).map(drop))?;
            }
            Kind::SecurityGroup => {
                deleted(cloud.delete_security_group(&id))?;
                self.until_gone(step, Kind::SecurityGroup, &id, |i| {
                    cloud.security_group(i).map(drop)
                })?;
            }
            Kind::NetworkInterface => {
                if step.with_instance().is_some() {
                    // No source says whether the platform deletes a NIC an instance
                    // was created with: if it is still there, it goes now.
                    match cloud.nic(&id) {
                        Err(CloudError::NotFound { .. }) => {
                            detail = format!("{id}, deleted with its instance");
                        }
                        Err(e) => return Err(e.into()),
                        Ok(_) => {
                            self.until_unattached(step, &id)?;
                            deleted(cloud.delete_nic(&id))?;
                            self.until_gone(step, Kind::NetworkInterface, &id, |i| {
                                cloud.nic(i).map(drop)
                            })?;
                            detail = format!("{id}, left by its instance and deleted");
                        }
                    }
                } else {
                    deleted(cloud.delete_nic(&id))?;
                    self.until_gone(step, Kind::NetworkInterface, &id, |i| {
                        cloud.nic(i).map(drop)
                    })?;
                }
            }
            Kind::Instance => {
                deleted(cloud.delete_instance(&id))?;
                self.until_gone(step, Kind::Instance, &id, |i| cloud.instance(i).map(drop))?;
            }
            Kind::PublicIp => {
                deleted(cloud.delete_public_ip(&id))?;
                self.until_gone(step, Kind::PublicIp, &id, |i| cloud.public_ip(i).map(drop))?;
            }
        }
        self.record_many(|s| {
            s.resources.remove(&address);
            let mut touched = vec![address];
            if address.kind == Kind::Instance {
                // The platform frees the secondary NICs of a deleted instance.
                for (nic, entry) in &mut s.resources {
                    if let Attributes::NetworkInterface(n) = &mut entry.attributes
                        && n.attach_to.as_deref() == Some(name.as_str())
                    {
                        n.attach_to = None;
                        n.status = Some(resource::NicStatus::Available);
                        touched.push(*nic);
                    }
                }
            }
            touched
        })?;
        Ok(detail)
    }

    /// Waits until a NIC is attached to nothing (an instance's deletion frees it).
    fn until_unattached(&self, step: &Step, id: &str) -> Result<(), StepError> {
        wait::until(
            step,
            Kind::NetworkInterface,
            self.options,
            self.on_event,
            || match self.cloud.nic(id) {
                Ok(nic) => match nic.device_id {
                    None => Ok(Probe::Done(())),
                    Some(device) => Ok(Probe::Waiting(format!(
                        "network interface {id} to leave instance {device}"
                    ))),
                },
                Err(CloudError::NotFound { .. }) => Ok(Probe::Done(())),
                Err(e) => Err(e.into()),
            },
        )
    }

    fn update(&self, step: &Step, after: &Attributes) -> Result<String, StepError> {
        let address = step.address;
        let id = self.id_of(address.kind, &address.name)?;
        let mut updated = None;
        match after {
            Attributes::SecurityGroup(g) => {
                self.cloud
                    .update_security_group(&id, &self.tag(step, &g.description))?;
            }
            Attributes::NetworkInterface(n) => {
                let update = NicUpdate {
                    description: self.tag(step, &n.description),
                    security_group_ids: self.ids_of(Kind::SecurityGroup, &n.security_groups)?,
                    source_dest_check: n.source_dest_check,
                    secondary_ips: n.secondary_private_ips.to_vec(),
                };
                updated = Some(self.cloud.update_nic(&id, &update)?.status());
            }
            // Lifecycle settings live in the state only.
            _ => {}
        }
        // Change only what the update changes, in place: an attach or detach of the
        // same NIC may have been recorded since this step started.
        let after = after.clone();
        self.record(&address, |s| {
            let Some(entry) = s.resources.get_mut(&address) else {
                return;
            };
            match (&mut entry.attributes, after) {
                (Attributes::NetworkInterface(old), Attributes::NetworkInterface(n)) => {
                    old.description = n.description;
                    old.security_groups = n.security_groups;
                    old.source_dest_check = n.source_dest_check;
                    old.secondary_private_ips = n.secondary_private_ips;
                    if updated.is_some() {
                        old.status = updated;
                    }
                }
                (Attributes::Instance(old), Attributes::Instance(i)) => {
                    old.prevent_destroy = i.prevent_destroy;
                }
                (slot, other) => *slot = other,
            }
        })?;
        Ok(id)
    }

    /// Records an instance's observed status and flavor.
    fn record_instance(&self, step: &Step, now: &cloud::CloudInstance) -> Result<(), StepError> {
        let address = step.address;
        self.record(&address, |s| {
            if let Some(Entry {
                attributes: Attributes::Instance(i),
                ..
            }) = s.resources.get_mut(&address)
            {
                i.instance_type = Ident::new(&now.flavor);
                i.status = Some(now.status);
            }
        })
    }

    fn resize(&self, step: &Step, after: &resource::Instance) -> Result<String, StepError> {
        let name = step.address.name.as_str();
        self.until_settled(step, name)?;
        let id = self.id_of(Kind::Instance, name)?;
        self.cloud.resize_instance(&id, &after.instance_type)?;
        let now = self.until_status(
            step,
            name,
            &id,
            Status::Stopped,
            Some(after.instance_type.as_str()),
        )?;
        self.record_instance(step, &now)?;
        Ok(format!("{id} is {}", now.flavor))
    }

    fn power(&self, step: &Step) -> Result<String, StepError> {
        let name = step.address.name.as_str();
        self.until_settled(step, name)?;
        let id = self.id_of(Kind::Instance, name)?;
        let target = if step.action == Action::Stop {
            self.cloud.stop_instance(&id)?;
            Status::Stopped
        } else {
            self.cloud.start_instance(&id)?;
            Status::Active
        };
        let now = self.until_status(step, name, &id, target, None)?;
        self.record_instance(step, &now)?;
        Ok(format!("{id} is {}", now.status.as_str()))
    }

    fn attachment(&self, step: &Step) -> Result<String, StepError> {
        let instance = step.instance().unwrap_or_default();
        self.until_settled(step, &instance)?;
        let instance_id = self.id_of(Kind::Instance, &instance)?;
        let nic_id = self.id_of(Kind::NetworkInterface, &step.address.name)?;
        let attach = step.action == Action::Attach;
        let called = if attach {
            self.cloud.attach_nic(&instance_id, &nic_id)
        } else {
            self.cloud.detach_nic(&instance_id, &nic_id)
        };
        self.unless_done(called, || {
            let on = self.cloud.nic(&nic_id)?.device_id.as_deref() == Some(instance_id.as_str());
            Ok(on == attach)
        })?;
        wait::until(
            step,
            Kind::NetworkInterface,
            self.options,
            self.on_event,
            || {
                let shown = self
                    .cloud
                    .instance(&instance_id)?
                    .attached_nic_ids
                    .contains(&nic_id);
                if shown == attach {
                    Ok(Probe::Done(()))
                } else {
                    Ok(Probe::Waiting(format!(
                        "network interface {nic_id} to {} instance {instance} ({instance_id})",
                        if attach { "show on" } else { "leave" }
                    )))
                }
            },
        )?;
        let address = step.address;
        self.record(&address, |s| {
            if let Some(Entry {
                attributes: Attributes::NetworkInterface(n),
                ..
            }) = s.resources.get_mut(&address)
            {
                n.attach_to = attach.then_some(instance);
                n.status = Some(resource::NicStatus::of_attached(attach));
            }
        })?;
        Ok(format!(
            "{nic_id} {} {instance_id}",
            if attach { "on" } else { "off" }
        ))
    }

    fn associate(&self, step: &Step) -> Result<String, StepError> {
        let nic = step.network_interface().unwrap_or_default();
        let id = self.id_of(Kind::PublicIp, &step.address.name)?;
        let nic_id = self.id_of(Kind::NetworkInterface, &nic)?;
        let ip = match step.after.as_deref() {
            Some(Attributes::PublicIp(p)) => p.private_ip,
            _ => None,
        };
        self.unless_done(
            self.cloud.associate_public_ip(&id, &nic_id, ip).map(drop),
            || Ok(self.cloud.public_ip(&id)?.nic_id.as_deref() == Some(nic_id.as_str())),
        )?;
        let mapped = wait::until(step, Kind::PublicIp, self.options, self.on_event, || {
            let now = self.cloud.public_ip(&id)?;
            match (now.status, now.private_ip) {
                (PublicIpStatus::InUse, Some(_)) if now.nic_id.as_deref() == Some(&nic_id) => {
                    Ok(Probe::Done(now))
                }
                (PublicIpStatus::Available, _) => Err(StepError::Cloud(format!(
                    "public IP {id} is available again instead of mapped to network interface {nic_id}"
                ))),
                (status, _) => Ok(Probe::Waiting(format!(
                    "public IP {id} to be in_use on network interface {nic_id} (it is {})",
                    status.as_str()
                ))),
            }
        })?;
        let address = step.address;
        self.record(&address, |s| {
            if let Some(Entry {
                attributes: Attributes::PublicIp(p),
                ..
            }) = s.resources.get_mut(&address)
            {
                p.network_interface = Some(nic);
                p.private_ip = mapped.private_ip;
                p.address = Some(mapped.address);
            }
        })?;
        Ok(format!(
            "{} -> {}",
            mapped.address,
            mapped.private_ip.map(|i| i.to_string()).unwrap_or_default()
        ))
    }

    fn disassociate(&self, step: &Step) -> Result<String, StepError> {
        let nic = step.network_interface().unwrap_or_default();
        let id = self.id_of(Kind::PublicIp, &step.address.name)?;
        let nic_id = self.id_of(Kind::NetworkInterface, &nic)?;
        self.unless_done(self.cloud.disassociate_public_ip(&id, &nic_id), || {
            Ok(self.cloud.public_ip(&id)?.nic_id.as_deref() != Some(nic_id.as_str()))
        })?;
        wait::until(step, Kind::PublicIp, self.options, self.on_event, || {
            let now = self.cloud.public_ip(&id)?;
            if now.status == PublicIpStatus::Available && now.nic_id.is_none() {
                Ok(Probe::Done(()))
            } else {
                Ok(Probe::Waiting(format!(
                    "public IP {id} to leave network interface {nic_id} (it is {})",
                    now.status.as_str()
                )))
            }
        })?;
        let address = step.address;
        self.record(&address, |s| {
            if let Some(Entry {
                attributes: Attributes::PublicIp(p),
                ..
            }) = s.resources.get_mut(&address)
            {
                p.network_interface = None;
                p.private_ip = None;
            }
        })?;
        Ok(id)
    }
}

/// The outcome of a delete, which is done when the platform answers that the object is
/// not there: a run killed during a delete leaves it to the platform, and the next run,
/// whose refresh still saw the object, asks for it again after it has gone.
fn deleted(called: Result<(), CloudError>) -> Result<(), CloudError> {
    match called {
        Err(CloudError::NotFound { .. }) => Ok(()),
        other => other,
    }
}

/// What an instance in transition is doing, in words.
fn transition_words(status: Status) -> &'static str {
    match status {
        Status::Stopping => "stopping",
        Status::Starting => "starting",
        Status::Resizing => "resizing",
        Status::Deleting => "deleting",
        _ => "building",
    }
}
