//! `nicplan::ip_conflict`: a private IP is given once per subnet, across the primary and
//! secondary IPs of every NIC.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;
use crate::source::Span;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    // (subnet, ip) -> the NIC that took it first, in file order.
    let mut taken: BTreeMap<(&str, Ipv4Addr), (&str, Span)> = BTreeMap::new();
    for nic in model.network_interfaces.values() {
        for ip in nic.pinned_ips() {
            let key = (nic.subnet.value.as_str(), ip.value);
            match taken.get(&key) {
                None => {
                    taken.insert(key, (&nic.name.value, ip.span));
                }
                Some(&(holder, held_at)) => {
                    let whose = if holder == nic.name.value {
                        "already one of its own IPs".to_string()
                    } else {
                        format!("already held by network interface {holder}")
                    };
                    out.push(
                        Diagnostic::new(
                            Code::IpConflict,
                            format!(
                                "{} is given twice in subnet {}",
                                ip.value, nic.subnet.value
                            ),
                        )
                        .label(ip.span, format!("{}'s IP", nic.name.value))
                        .label(held_at, whose)
                        .help("give each interface its own address, or omit private_ip to let the cloud assign one"),
                    );
                }
            }
        }
    }
}
