//! The tables of the simulated world: maps by ID that file every row in indexes of
//! their own (so that a call looks only at the rows that concern it) and remember,
//! during a call, what each row it changes was before (so that a refused call is put
//! back and a successful one journals only what it changed).
//!
//! A table reads as the map it holds (it dereferences to it); every change goes
//! through [`Table::insert`], [`Table::remove`] or [`Table::modify`], which keep the
//! indexes and the undo log. The indexes are not stored: they are built when a table is
//! read from its JSON form.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv4Addr;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A row of a table, with the indexes it is filed in.
pub trait Row: Clone + PartialEq {
    /// The indexes of a table of such rows.
    type Index: Default + Clone;
    /// Files the row `id` in the indexes.
    fn file(index: &mut Self::Index, id: &str, row: &Self);
    /// Takes the row `id` out of the indexes, as it was filed.
    fn unfile(index: &mut Self::Index, id: &str, row: &Self);
}

/// Rows by ID, with their indexes and the undo log of the call in progress.
pub struct Table<T: Row> {
    rows: BTreeMap<String, T>,
    index: T::Index,
    /// The rows changed since the call began (or since its savepoint): each one's value
    /// then, `None` where there was none.
    undo: BTreeMap<String, Option<T>>,
    /// The rows changed by the call before its savepoint.
    touched: BTreeSet<String>,
}

impl<T: Row> Default for Table<T> {
    fn default() -> Self {
        Table {
            rows: BTreeMap::new(),
            index: T::Index::default(),
            undo: BTreeMap::new(),
            touched: BTreeSet::new(),
        }
    }
}

/// A copy holds the rows as they are, without the call in progress.
impl<T: Row> Clone for Table<T> {
    fn clone(&self) -> Self {
        Table {
            rows: self.rows.clone(),
            index: self.index.clone(),
            undo: BTreeMap::new(),
            touched: BTreeSet::new(),
        }
    }
}

impl<T: Row> Deref for Table<T> {
    type Target = BTreeMap<String, T>;
    fn deref(&self) -> &BTreeMap<String, T> {
        &self.rows
    }
}

impl<T: Row + fmt::Debug> fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.rows.fmt(f)
    }
}

impl<T: Row> PartialEq for Table<T> {
    fn eq(&self, other: &Self) -> bool {
        self.rows == other.rows
    }
}

impl<T: Row + Eq> Eq for Table<T> {}

impl<T: Row> PartialEq<BTreeMap<String, T>> for Table<T> {
    fn eq(&self, other: &BTreeMap<String, T>) -> bool {
        &self.rows == other
    }
}

impl<T: Row> PartialEq<Table<T>> for BTreeMap<String, T> {
    fn eq(&self, other: &Table<T>) -> bool {
        self == &other.rows
    }
}

impl<T: Row + Serialize> Serialize for Table<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.rows.serialize(serializer)
    }
}

impl<'de, T: Row + Deserialize<'de>> Deserialize<'de> for Table<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Table::from(BTreeMap::deserialize(deserializer)?))
    }
}

impl<T: Row> From<BTreeMap<String, T>> for Table<T> {
    fn from(rows: BTreeMap<String, T>) -> Self {
        let mut index = T::Index::default();
        for (id, row) in &rows {
            T::file(&mut index, id, row);
        }
        Table {
            rows,
            index,
            undo: BTreeMap::new(),
            touched: BTreeSet::new(),
        }
    }
}

impl<T: Row> Table<T> {
    /// The indexes.
    pub fn index(&self) -> &T::Index {
        &self.index
    }

    /// The rows, as a map.
    pub fn rows(&self) -> &BTreeMap<String, T> {
        &self.rows
    }

    /// Notes the value of `id` before the call's first change to it.
    fn remember(&mut self, id: &str, before: impl FnOnce(&Self) -> Option<T>) {
        if !self.undo.contains_key(id) {
            let value = before(self);
            self.undo.insert(id.to_string(), value);
        }
    }

    /// Puts `row` in under `id`, replacing any row there.
    pub fn insert(&mut self, id: String, row: T) {
        self.remember(&id, |t| t.rows.get(&id).cloned());
        self.put(id, Some(row));
    }

    /// Takes out the row `id`, if any.
    pub fn remove(&mut self, id: &str) -> Option<T> {
        if !self.rows.contains_key(id) {
            return None;
        }
        self.remember(id, |t| t.rows.get(id).cloned());
        let old = self.rows.remove(id)?;
        T::unfile(&mut self.index, id, &old);
        Some(old)
    }

    /// Changes the row `id` with `f`; whether there was one.
    pub fn modify(&mut self, id: &str, f: impl FnOnce(&mut T)) -> bool {
        if !self.rows.contains_key(id) {
            return false;
        }
        self.remember(id, |t| t.rows.get(id).cloned());
        let Some(row) = self.rows.get_mut(id) else {
            return false;
        };
        T::unfile(&mut self.index, id, row);
        f(row);
        T::file(&mut self.index, id, row);
        true
    }

    /// Sets or removes the row `id`, outside the undo log.
    fn put(&mut self, id: String, row: Option<T>) {
        if let Some(old) = self.rows.remove(&id) {
            T::unfile(&mut self.index, &id, &old);
        }
        if let Some(row) = row {
            T::file(&mut self.index, &id, &row);
            self.rows.insert(id, row);
        }
    }

    /// Sets or removes the row `id` as a stored change says, outside any call.
    pub fn restore(&mut self, id: String, row: Option<T>) {
        self.put(id, row);
    }

    /// Keeps what the call changed so far: a later rollback goes back to here only.
    pub fn savepoint(&mut self) {
        for (id, _) in std::mem::take(&mut self.undo) {
            self.touched.insert(id);
        }
    }

    /// Puts back every row the call changed since it began or since its savepoint.
    pub fn rollback(&mut self) {
        for (id, row) in std::mem::take(&mut self.undo) {
            self.put(id, row);
        }
    }

    /// The rows the call changed, with their new values (`None`: removed), by ID.
    pub fn changes(&self) -> BTreeMap<&str, Option<&T>> {
        let mut out = BTreeMap::new();
        for id in &self.touched {
            out.insert(id.as_str(), self.rows.get(id));
        }
        for (id, before) in &self.undo {
            let now = self.rows.get(id);
            if self.touched.contains(id) || before.as_ref() != now {
                out.insert(id.as_str(), now);
            }
        }
        out
    }

    /// Ends the call: what it changed stays.
    pub fn commit(&mut self) {
        self.undo.clear();
        self.touched.clear();
    }
}

/// IDs filed under keys.
#[derive(Clone, Debug)]
pub struct Multi<K: Ord>(BTreeMap<K, BTreeSet<String>>);

impl<K: Ord> Default for Multi<K> {
    fn default() -> Self {
        Multi(BTreeMap::new())
    }
}

impl<K: Ord + Clone> Multi<K> {
    /// Files `id` under `key`.
    pub fn add(&mut self, key: &K, id: &str) {
        if let Some(ids) = self.0.get_mut(key) {
            ids.insert(id.to_string());
        } else {
            self.0.insert(key.clone(), BTreeSet::from([id.to_string()]));
        }
    }

    /// Takes `id` from under `key`.
    pub fn del(&mut self, key: &K, id: &str) {
        if let Some(ids) = self.0.get_mut(key) {
            ids.remove(id);
            if ids.is_empty() {
                self.0.remove(key);
            }
        }
    }

    /// The IDs under `key`, in order.
    pub fn get<Q>(&self, key: &Q) -> impl Iterator<Item = &str>
    where
        K: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0
            .get(key)
            .into_iter()
            .flat_map(|ids| ids.iter().map(String::as_str))
    }

    /// Whether anything is under `key`.
    pub fn any<Q>(&self, key: &Q) -> bool
    where
        K: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.contains_key(key)
    }
}

/// The addresses held in one subnet: by whom, and as runs of consecutive held
/// addresses, so that the lowest free one is found without walking the held ones.
#[derive(Clone, Debug, Default)]
pub struct Held {
    /// Address, NIC, how many times the NIC lists it.
    holders: BTreeMap<u32, BTreeMap<String, u32>>,
    /// Maximal runs of held addresses: first to last.
    runs: BTreeMap<u32, u32>,
}

impl Held {
    fn hold(&mut self, ip: u32, id: &str) {
        let holders = self.holders.entry(ip).or_default();
        let fresh = holders.is_empty();
        *holders.entry(id.to_string()).or_insert(0) += 1;
        if !fresh {
            return;
        }
        let left = ip
            .checked_sub(1)
            .and_then(|before| self.runs.range(..=before).next_back())
            .filter(|(_, end)| Some(**end) == ip.checked_sub(1))
            .map(|(start, _)| *start);
        let right = ip.checked_add(1).and_then(|after| self.runs.remove(&after));
        let start = left.unwrap_or(ip);
        self.runs.insert(start, right.unwrap_or(ip));
    }

    fn release(&mut self, ip: u32, id: &str) {
        let Some(holders) = self.holders.get_mut(&ip) else {
            return;
        };
        if let Some(count) = holders.get_mut(id) {
            *count -= 1;
            if *count == 0 {
                holders.remove(id);
            }
        }
        if !holders.is_empty() {
            return;
        }
        self.holders.remove(&ip);
        let Some((&start, &end)) = self.runs.range(..=ip).next_back() else {
            return;
        };
        if end < ip {
            return;
        }
        self.runs.remove(&start);
        if start < ip {
            self.runs.insert(start, ip - 1);
        }
        if ip < end {
            self.runs.insert(ip + 1, end);
        }
    }

    /// A NIC other than `except` holding `ip`, the first by ID.
    pub fn holder(&self, ip: Ipv4Addr, except: Option<&str>) -> Option<&str> {
        self.holders
            .get(&u32::from(ip))?
            .keys()
            .map(String::as_str)
            .find(|h| Some(*h) != except)
    }

    /// The lowest address from `first` to `last` that nobody holds and that is not in
    /// `also`.
    pub fn lowest_free(&self, first: u32, last: u32, also: &[Ipv4Addr]) -> Option<Ipv4Addr> {
        let mut at = first;
        while at <= last {
            if let Some((_, &end)) = self.runs.range(..=at).next_back()
                && end >= at
            {
                at = end.checked_add(1)?;
                continue;
            }
            if also.contains(&Ipv4Addr::from(at)) {
                at = at.checked_add(1)?;
                continue;
            }
            return Some(Ipv4Addr::from(at));
        }
        None
    }
}

/// The indexes of the NICs.
#[derive(Clone, Debug, Default)]
pub struct NicIndex {
    /// By subnet.
    pub by_subnet: Multi<String>,
    /// By the instance they are attached to.
    pub by_device: Multi<String>,
    /// By the security groups they have.
    pub by_group: Multi<String>,
    /// By name.
    pub by_name: Multi<String>,
    /// The addresses held, by subnet.
    pub held: BTreeMap<String, Held>,
}

impl NicIndex {
    /// The addresses held in a subnet.
    pub fn held_in(&self, subnet_id: &str) -> Option<&Held> {
        self.held.get(subnet_id)
    }
}

/// Every IP of a NIC, primary first.
fn ips(nic: &crate::cloud::CloudNic) -> impl Iterator<Item = u32> + '_ {
    std::iter::once(nic.private_ip)
        .chain(nic.secondary_ips.iter().copied())
        .map(u32::from)
}

/// The distinct security groups of a NIC.
fn groups(nic: &crate::cloud::CloudNic) -> impl Iterator<Item = &String> {
    let list = &nic.security_group_ids;
    list.iter()
        .enumerate()
        .filter(move |(i, g)| !list[..*i].contains(g))
        .map(|(_, g)| g)
}

impl Row for crate::cloud::CloudNic {
    type Index = NicIndex;
    fn file(ix: &mut NicIndex, id: &str, nic: &Self) {
        ix.by_subnet.add(&nic.subnet_id, id);
        if let Some(device) = &nic.device_id {
            ix.by_device.add(device, id);
        }
        for g in groups(nic) {
            ix.by_group.add(g, id);
        }
        ix.by_name.add(&nic.name, id);
        let held = match ix.held.get_mut(&nic.subnet_id) {
            Some(held) => held,
            None => ix.held.entry(nic.subnet_id.clone()).or_default(),
        };
        for ip in ips(nic) {
            held.hold(ip, id);
        }
    }
    fn unfile(ix: &mut NicIndex, id: &str, nic: &Self) {
        ix.by_subnet.del(&nic.subnet_id, id);
        if let Some(device) = &nic.device_id {
            ix.by_device.del(device, id);
        }
        for g in groups(nic) {
            ix.by_group.del(g, id);
        }
        ix.by_name.del(&nic.name, id);
        if let Some(held) = ix.held.get_mut(&nic.subnet_id) {
            for ip in ips(nic) {
                held.release(ip, id);
            }
            if held.holders.is_empty() {
                ix.held.remove(&nic.subnet_id);
            }
        }
    }
}

/// The indexes of the public IPs.
#[derive(Clone, Debug, Default)]
pub struct PublicIpIndex {
    /// By address.
    pub by_address: Multi<Ipv4Addr>,
    /// By the NIC they are associated with.
    pub by_nic: Multi<String>,
}

impl Row for crate::cloud::CloudPublicIp {
    type Index = PublicIpIndex;
    fn file(ix: &mut PublicIpIndex, id: &str, p: &Self) {
        ix.by_address.add(&p.address, id);
        if let Some(nic) = &p.nic_id {
            ix.by_nic.add(nic, id);
        }
    }
    fn unfile(ix: &mut PublicIpIndex, id: &str, p: &Self) {
        ix.by_address.del(&p.address, id);
        if let Some(nic) = &p.nic_id {
            ix.by_nic.del(nic, id);
        }
    }
}

/// The index of objects by name.
#[derive(Clone, Debug, Default)]
pub struct NameIndex {
    /// By name.
    pub by_name: Multi<String>,
}

/// The indexes of the subnets.
#[derive(Clone, Debug, Default)]
pub struct SubnetIndex {
    /// By name.
    pub by_name: Multi<String>,
    /// By VPC.
    pub by_vpc: Multi<String>,
}

impl Row for crate::cloud::CloudSubnet {
    type Index = SubnetIndex;
    fn file(ix: &mut SubnetIndex, id: &str, s: &Self) {
        ix.by_name.add(&s.name, id);
        ix.by_vpc.add(&s.vpc_id, id);
    }
    fn unfile(ix: &mut SubnetIndex, id: &str, s: &Self) {
        ix.by_name.del(&s.name, id);
        ix.by_vpc.del(&s.vpc_id, id);
    }
}

macro_rules! named_row {
    ($($t:ty),*) => {$(
        impl Row for $t {
            type Index = NameIndex;
            fn file(ix: &mut NameIndex, id: &str, row: &Self) {
                ix.by_name.add(&row.name, id);
            }
            fn unfile(ix: &mut NameIndex, id: &str, row: &Self) {
                ix.by_name.del(&row.name, id);
            }
        }
    )*};
}

named_row!(
    crate::cloud::CloudVpc,
    crate::cloud::CloudSecurityGroup,
    crate::cloud::CloudInstance
);

/// The index of changes in progress by when they are due.
#[derive(Clone, Debug, Default)]
pub struct DueIndex {
    /// Due time and object ID.
    pub by_due: BTreeSet<(u64, String)>,
}

impl Row for super::world::Pending {
    type Index = DueIndex;
    fn file(ix: &mut DueIndex, id: &str, p: &Self) {
        ix.by_due.insert((p.due_ms, id.to_string()));
    }
    fn unfile(ix: &mut DueIndex, id: &str, p: &Self) {
        ix.by_due.remove(&(p.due_ms, id.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> Ipv4Addr {
        Ipv4Addr::from(n)
    }

    #[test]
    fn held_runs_find_the_lowest_free_address() {
        let mut h = Held::default();
        for n in [2, 3, 4, 6, 7] {
            h.hold(n, &format!("n{n}"));
        }
        assert_eq!(h.runs, BTreeMap::from([(2, 4), (6, 7)]));
        assert_eq!(h.lowest_free(2, 10, &[]), Some(ip(5)));
        assert_eq!(h.lowest_free(2, 10, &[ip(5)]), Some(ip(8)));
        h.hold(5, "n5");
        assert_eq!(h.runs, BTreeMap::from([(2, 7)]));
        assert_eq!(h.lowest_free(2, 7, &[]), None);
        h.release(4, "n4");
        assert_eq!(h.runs, BTreeMap::from([(2, 3), (5, 7)]));
        assert_eq!(h.lowest_free(2, 10, &[]), Some(ip(4)));
        // Two holders of one address: it stays held until both let go.
        h.hold(6, "other");
        h.release(6, "n6");
        assert_eq!(h.holder(ip(6), None), Some("other"));
        assert_eq!(h.holder(ip(6), Some("other")), None);
        h.release(6, "other");
        assert_eq!(h.runs, BTreeMap::from([(2, 3), (5, 5), (7, 7)]));
        h.hold(u32::MAX, "top");
        h.hold(0, "bottom");
        assert_eq!(h.lowest_free(u32::MAX, u32::MAX, &[]), None);
        h.release(u32::MAX, "top");
        h.release(0, "bottom");
        assert_eq!(h.runs, BTreeMap::from([(2, 3), (5, 5), (7, 7)]));
    }
}
