//! `nicplan::bandwidth` (advice): several NICs do not add bandwidth, except bonding on
//! bare metal.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for instance in model.instances.values() {
        let Some(instance_type) = instance.instance_type else {
            continue;
        };
        let count = model.attachments(instance).len();
        let bonded = instance.bonding.as_ref().is_some_and(|b| b.value);
        if count < 2 || (bonded && instance_type.is_bare_metal()) {
            continue;
        }
        let (message, help) = if instance_type.is_bare_metal() {
            (
                format!(
                    "bare-metal instance {} has {count} network interfaces: they add bandwidth only when bonded",
                    instance.name.value
                ),
                "set `bonding: true` on the server to use their combined bandwidth",
            )
        } else {
            (
                format!(
                    "instance {} has {count} network interfaces: they do not add bandwidth",
                    instance.name.value
                ),
                "use several interfaces to separate traffic, not to gain throughput",
            )
        };
        out.push(
            Diagnostic::new(Code::Bandwidth, message)
                .label(
                    instance.type_name.span,
                    format!("{} sets the bandwidth", instance_type.name()),
                )
                .help(help),
        );
    }
}
