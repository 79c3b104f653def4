//! `nicplan::capacity`: an instance holds no more NICs, primary included, than its type
//! allows. The planner checks the same limit at every intermediate step.

use crate::catalogue;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for instance in model.instances.values() {
        let Some(limit) = instance.instance_type else {
            continue;
        };
        let attachments = model.attachments(instance);
        let max = limit.max_network_interfaces as usize;
        if attachments.len() <= max {
            continue;
        }
        let first_extra = &attachments[max];
        let span = first_extra
            .nic
            .attach_to
            .as_ref()
            .map_or(first_extra.nic.name.span, |a| a.span);
        let bigger = catalogue::sizes_of(limit.family)
            .into_iter()
            .find(|t| t.max_network_interfaces as usize >= attachments.len());
        let excess = attachments.len() - max;
        let help = match bigger {
            Some(t) => format!(
                "detach {excess} interface{} or resize to {} ({} NICs)",
                if excess == 1 { "" } else { "s" },
                t.name(),
                t.max_network_interfaces
            ),
            None => format!(
                "detach {excess} interface{}: no {} size holds {}",
                if excess == 1 { "" } else { "s" },
                limit.family,
                attachments.len()
            ),
        };
        out.push(
            Diagnostic::new(
                Code::Capacity,
                format!(
                    "instance {} would hold {} network interfaces, but {} allows {max}",
                    instance.name.value,
                    attachments.len(),
                    limit.name()
                ),
            )
            .label(
                span,
                format!(
                    "network interface {} is one too many",
                    first_extra.nic.name.value
                ),
            )
            .label(
                instance.type_name.span,
                format!("{} allows {max}, primary included", limit.name()),
            )
            .help(help),
        );
    }
}
