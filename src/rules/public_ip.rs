//! `nicplan::public_ip`: a public IP maps to an IP its NIC actually has, and no two public
//! IPs map to the same private IP.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;
use crate::source::Span;

/// Which private IP of a NIC a public IP maps to: a given address, or the NIC's primary
/// IP when the cloud assigns it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Assigned,
    Address(Ipv4Addr),
}

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    let mut mapped: BTreeMap<(&str, Target), (&str, Span)> = BTreeMap::new();
    for public_ip in model.public_ips.values() {
        let name = &public_ip.name.value;
        let Some(nic_ref) = &public_ip.network_interface else {
            if let Some(ip) = &public_ip.private_ip {
                out.push(
                    Diagnostic::new(
                        Code::PublicIp,
                        format!("public IP {name} names a private IP but no network interface"),
                    )
                    .label(ip.span, "mapped to which interface?")
                    .help("add `network_interface:`, or remove `private_ip`"),
                );
            }
            continue;
        };
        let Some(nic) = model.network_interfaces.get(&nic_ref.value) else {
            continue;
        };
        let (target, span) = match &public_ip.private_ip {
            None => (
                nic.private_ip
                    .as_ref()
                    .map_or(Target::Assigned, |ip| Target::Address(ip.value)),
                nic_ref.span,
            ),
            Some(ip) => {
                if !nic.pinned_ips().any(|own| own.value == ip.value) {
                    let help = if nic.private_ip.is_none() {
                        format!(
                            "{}'s primary IP is assigned by the cloud: pin it with `private_ip: {}` there, or omit `private_ip` here to use it",
                            nic.name.value, ip.value
                        )
                    } else {
                        let own: Vec<String> =
                            nic.pinned_ips().map(|a| a.value.to_string()).collect();
                        format!("{} has {}", nic.name.value, own.join(", "))
                    };
                    out.push(
                        Diagnostic::new(
                            Code::PublicIp,
                            format!(
                                "public IP {name} maps to {}, which is not an IP of network interface {}",
                                ip.value, nic.name.value
                            ),
                        )
                        .label(ip.span, format!("not an IP of {}", nic.name.value))
                        .label(nic.name.span, "the interface")
                        .help(help),
                    );
                    continue;
                }
                (Target::Address(ip.value), ip.span)
            }
        };
        match mapped.get(&(nic.name.value.as_str(), target)) {
            None => {
                mapped.insert((&nic.name.value, target), (name, span));
            }
            Some(&(other, other_span)) => {
                let which = match target {
                    Target::Assigned => format!("the primary IP of {}", nic.name.value),
                    Target::Address(ip) => ip.to_string(),
                };
                out.push(
                    Diagnostic::new(
                        Code::PublicIp,
                        format!("public IPs {other} and {name} both map to {which}"),
                    )
                    .label(span, format!("{name} maps here"))
                    .label(other_span, format!("already mapped by {other}"))
                    .help(
                        "one public IP per private IP: map it to another private IP, or remove it",
                    ),
                );
            }
        }
    }
}
