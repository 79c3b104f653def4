//! `nicplan::static_routing` (advice): an instance with more than one NIC needs static
//! routes configured on the instance itself. The planner narrows this to instances that
//! gain their second NIC.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Instance, Model};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for instance in model.instances.values() {
        out.extend(advice(model, instance, false));
    }
}

/// The advice for one instance with several NICs, pointing at its first secondary
/// interface; `gains` words it for a plan that brings the second NIC.
pub(crate) fn advice(model: &Model, instance: &Instance, gains: bool) -> Option<Diagnostic> {
    let attachments = model.attachments(instance);
    let second = attachments.iter().find(|a| !a.primary)?;
    if attachments.len() < 2 {
        return None;
    }
    let span = second
        .nic
        .attach_to
        .as_ref()
        .map_or(second.nic.name.span, |a| a.span);
    let what = if gains {
        "gains its second network interface".to_string()
    } else {
        format!("has {} network interfaces", attachments.len())
    };
    Some(
        Diagnostic::new(
            Code::StaticRouting,
            format!(
                "instance {} {what}: static routes must be configured on the instance",
                instance.name.value
            ),
        )
        .label(span, format!("{} is a secondary interface", second.nic.name.value))
        .help("add a route for each secondary interface's subnet in the instance's network configuration"),
    )
}
