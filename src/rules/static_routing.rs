//! `nicplan::static_routing` (advice): an instance with more than one NIC needs static
//! routes configured on the instance itself. The planner narrows this to instances that
//! gain their second NIC.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for instance in model.instances.values() {
        let attachments = model.attachments(instance);
        let Some(second) = attachments.iter().find(|a| !a.primary) else {
            continue;
        };
        if attachments.len() < 2 {
            continue;
        }
        let span = second
            .nic
            .attach_to
            .as_ref()
            .map_or(second.nic.name.span, |a| a.span);
        out.push(
            Diagnostic::new(
                Code::StaticRouting,
                format!(
                    "instance {} has {} network interfaces: static routes must be configured on the instance",
                    instance.name.value,
                    attachments.len()
                ),
            )
            .label(span, format!("{} is a secondary interface", second.nic.name.value))
            .help("add a route for each secondary interface's subnet in the instance's network configuration"),
        );
    }
}
