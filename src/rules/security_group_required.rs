//! `nicplan::security_group_required`: a NIC of an instance that is not bare metal has at
//! least one security group. The platform applies no default group.

use crate::diagnostic::{Code, Diagnostic};
use crate::ident::Ident;
use crate::model::Model;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for nic in model.network_interfaces.values() {
        if !nic.security_groups.is_empty() {
            continue;
        }
        let Some(instance) = model.owner_of(nic) else {
            continue;
        };
        let Some(instance_type) = instance.instance_type else {
            continue;
        };
        if instance_type.is_bare_metal() {
            continue;
        }
        let (span, label) = match nic.security_groups_span {
            Some(span) => (span, "an empty list"),
            None => (nic.name.span, "no `security_groups`"),
        };
        // Suggest a group the instance's other interfaces use, else any declared group.
        let siblings = model.attachments(instance);
        let suggestion = siblings
            .iter()
            .flat_map(|a| &a.nic.security_groups)
            .map(|g| g.value.as_str())
            .find(|g| model.security_groups.contains_key(*g))
            .or_else(|| model.security_groups.keys().next().map(Ident::as_str))
            .unwrap_or("NAME");
        out.push(
            Diagnostic::new(
                Code::SecurityGroupRequired,
                format!(
                    "network interface {} of instance {} has no security group",
                    nic.name.value, instance.name.value
                ),
            )
            .label(span, label)
            .label(
                instance.type_name.span,
                format!("{} is not bare metal", instance_type.name()),
            )
            .help(format!(
                "add `security_groups: [{suggestion}]`; only bare-metal servers may go without"
            )),
        );
    }
}
