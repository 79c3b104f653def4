//! `nicplan::multi_ip_unsupported`: secondary private IPs only on a backend that supports
//! several IPs per NIC. Capabilities are static, so this is known offline.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    let caps = model.capabilities;
    if caps.multiple_ips {
        return;
    }
    for nic in model.network_interfaces.values() {
        let Some(span) = nic.secondary_private_ips_span else {
            continue;
        };
        if nic.secondary_private_ips.is_empty() {
            continue;
        }
        let (why, decided) = if caps.backend == "sim" {
            (
                "the sim backend is set to one IP per interface",
                "`multiple_ips: false` set here",
            )
        } else {
            (
                "the kakaocloud backend supports one IP per interface",
                "backend chosen here",
            )
        };
        let mut d = Diagnostic::new(
            Code::MultiIpUnsupported,
            format!(
                "network interface {} has secondary private IPs, but {why}",
                nic.name.value
            ),
        )
        .label(span, "secondary private IPs");
        if let Some(at) = caps.decided_at {
            d = d.label(at, decided);
        }
        out.push(d.help(
            "remove `secondary_private_ips`, or give each further address a network interface of its own",
        ));
    }
}
