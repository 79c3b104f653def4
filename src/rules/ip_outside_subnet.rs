//! `nicplan::ip_outside_subnet`: every private IP of a NIC, primary or secondary, lies
//! inside its subnet's CIDR block.

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
        for ip in nic.pinned_ips() {
            if cidr.value.contains(&ip.value) {
                continue;
            }
            out.push(
                Diagnostic::new(
                    Code::IpOutsideSubnet,
                    format!(
                        "{} of network interface {} is outside its subnet {} ({})",
                        ip.value, nic.name.value, subnet.name.value, cidr.value
                    ),
                )
                .label(ip.span, format!("not in {}", cidr.value))
                .label(cidr.span, format!("subnet {}'s range", subnet.name.value))
                .help(usable_help(&subnet.name.value, cidr.value)),
            );
        }
    }
}
