//! Lookups over the state, built once per plan so that diff, ordering and diagnostics
//! stay linear in the size of the network instead of scanning the state per resource.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::address::{Address, Kind};
use crate::ident::Ident;
use crate::resource::Attributes;
use crate::state::State;

/// Who holds what, in state.
#[derive(Debug, Default)]
pub(super) struct StateIndex {
    /// NIC name -> the instance it is primary of.
    pub primary_owner: BTreeMap<Ident, Ident>,
    /// Instance name -> its secondary NICs.
    pub secondaries: BTreeMap<Ident, Vec<Ident>>,
    /// NIC name -> the public IPs associated with it.
    pub public_ips_on: BTreeMap<Ident, Vec<Address>>,
    /// Address -> the resources whose attributes refer to it.
    pub referrers: BTreeMap<Address, Vec<Address>>,
    /// (subnet, IP) -> the NIC holding it.
    pub ip_holder: BTreeMap<(Ident, Ipv4Addr), Address>,
    /// VPC name -> its subnets.
    pub subnets_in: BTreeMap<Ident, Vec<Address>>,
}

/// What a resource's attributes refer to and need to exist.
pub(super) fn refs(attributes: &Attributes) -> Vec<Address> {
    match attributes {
        Attributes::Subnet(s) => vec![Address::new(Kind::Vpc, s.vpc)],
        Attributes::NetworkInterface(n) => std::iter::once(Address::new(Kind::Subnet, n.subnet))
            .chain(
                n.security_groups
                    .iter()
                    .map(|g| Address::new(Kind::SecurityGroup, g)),
            )
            .collect(),
        Attributes::Instance(i) => vec![Address::new(Kind::NetworkInterface, i.primary_interface)],
        _ => Vec::new(),
    }
}

impl StateIndex {
    /// Indexes a state.
    pub fn new(state: &State) -> StateIndex {
        let mut ix = StateIndex::default();
        for (address, entry) in &state.resources {
            for target in refs(&entry.attributes) {
                ix.referrers.entry(target).or_default().push(*address);
            }
            match &entry.attributes {
                Attributes::Subnet(s) => {
                    ix.subnets_in.entry(s.vpc).or_default().push(*address);
                }
                Attributes::Instance(i) => {
                    ix.primary_owner.insert(i.primary_interface, address.name);
                }
                Attributes::NetworkInterface(n) => {
                    if let Some(owner) = &n.attach_to {
                        ix.secondaries.entry(*owner).or_default().push(address.name);
                    }
                    for ip in n.private_ip.iter().chain(&n.secondary_private_ips) {
                        ix.ip_holder.insert((n.subnet, *ip), *address);
                    }
                }
                Attributes::PublicIp(p) => {
                    if let Some(nic) = &p.network_interface {
                        ix.public_ips_on.entry(*nic).or_default().push(*address);
                    }
                }
                _ => {}
            }
        }
        ix
    }

    /// NICs an instance holds in state, primary included (0 when it is not there).
    pub fn nic_count(&self, state: &State, instance: &str) -> usize {
        if !state
            .resources
            .contains_key(&Address::new(Kind::Instance, instance))
        {
            return 0;
        }
        1 + self.secondaries.get(instance).map_or(0, Vec::len)
    }
}
