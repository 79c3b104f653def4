//! `nicplan::ip_reserved`: no NIC takes its subnet's network address, broadcast address
//! or first host address (the gateway).

use std::net::Ipv4Addr;

use super::usable_help;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for nic in model.network_interfaces.values() {
        let Some(subnet) = model.subnets.get(&nic.subnet.value) else {
            continue;
        };
        let Some(cidr) = &subnet.cidr_block else {
            continue;
        };
        let net = cidr.value;
        let gateway = u32::from(net.network()).checked_add(1).map(Ipv4Addr::from);
        for ip in nic.pinned_ips() {
            let role = if ip.value == net.network() {
                "network address"
            } else if ip.value == net.broadcast() {
                "broadcast address"
            } else if Some(ip.value) == gateway {
                "gateway address"
            } else {
                continue;
            };
            out.push(
                Diagnostic::new(
                    Code::IpReserved,
                    format!(
                        "{} is the {role} of subnet {} and cannot be given to network interface {}",
                        ip.value, subnet.name.value, nic.name.value
                    ),
                )
                .label(ip.span, format!("reserved: the {role}"))
                .label(cidr.span, format!("subnet {}'s range", subnet.name.value))
                .help(usable_help(&subnet.name.value, net)),
            );
        }
    }
}
