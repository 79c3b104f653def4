//! `nicplan::source_dest_check_disabled` (warning): a NIC without the check forwards
//! traffic not addressed to it, which is right only for NAT, routers and firewalls.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for nic in model.network_interfaces.values() {
        let Some(check) = &nic.source_dest_check else {
            continue;
        };
        if check.value {
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::SourceDestCheckDisabled,
                format!(
                    "network interface {} has its source/destination check off: it will forward traffic not addressed to it",
                    nic.name.value
                ),
            )
            .label(check.span, "check disabled")
            .help("keep it off only on NAT instances, routers and firewalls"),
        );
    }
}
