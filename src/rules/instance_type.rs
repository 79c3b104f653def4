//! `nicplan::instance_type`: an instance's type is FAMILY.SIZE of the NIC limit table.

use crate::catalogue;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;
use crate::suggest;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for instance in model.instances.values() {
        if instance.instance_type.is_some() {
            continue;
        }
        let written = &instance.type_name.value;
        let (family, size) = written.split_once('.').unwrap_or((written, ""));
        let sizes = catalogue::sizes_of(family);
        let (message, label, help) = if sizes.is_empty() {
            let families = catalogue::families();
            let close = suggest::closest(family, families.iter().copied());
            let help = if close.is_empty() {
                format!("instance families are {}", families.join(", "))
            } else {
                format!(
                    "did you mean family {}? (`nicplan instance-types` lists every type)",
                    suggest::one_of(&close)
                )
            };
            (
                format!(
                    "instance {} has type `{written}`, which is not in the NIC limit table",
                    instance.name.value
                ),
                format!("unknown family `{family}`"),
                help,
            )
        } else {
            let names: Vec<String> = sizes
                .iter()
                .map(|t| format!("{} ({} NICs)", t.size, t.max_network_interfaces))
                .collect();
            (
                format!(
                    "instance {} has type `{written}`, but family {family} has no size `{size}`",
                    instance.name.value
                ),
                format!("not a size of {family}"),
                format!("{family} sizes: {}", names.join(", ")),
            )
        };
        out.push(
            Diagnostic::new(Code::InstanceType, message)
                .label(instance.type_name.span, label)
                .help(help),
        );
    }
}
