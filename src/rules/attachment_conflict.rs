//! `nicplan::attachment_conflict`: a NIC belongs to one instance at most: it is the
//! primary of one instance, or attached to one, never both and never twice.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for nic in model.network_interfaces.values() {
        let owners = model.primary_of(&nic.name.value);
        let Some(first) = owners.first() else {
            continue;
        };
        for other in &owners[1..] {
            out.push(
                Diagnostic::new(
                    Code::AttachmentConflict,
                    format!(
                        "network interface {} is the primary interface of both {} and {}",
                        nic.name.value, first.name.value, other.name.value
                    ),
                )
                .label(
                    other.primary_interface.span,
                    format!("primary of {}", other.name.value),
                )
                .label(
                    first.primary_interface.span,
                    format!("already primary of {}", first.name.value),
                )
                .help(format!(
                    "give {} a network interface of its own",
                    other.name.value
                )),
            );
        }
        let Some(attach) = &nic.attach_to else {
            continue;
        };
        let (message, help) = if attach.value == first.name.value {
            (
                format!(
                    "network interface {} is the primary interface of {} and cannot also be attached to it",
                    nic.name.value, first.name.value
                ),
                "remove `attach_to`: a primary interface is attached with its instance".to_string(),
            )
        } else {
            (
                format!(
                    "network interface {} is the primary interface of {} and cannot be attached to {}",
                    nic.name.value, first.name.value, attach.value
                ),
                format!(
                    "remove `attach_to`, or give {} another primary interface",
                    first.name.value
                ),
            )
        };
        out.push(
            Diagnostic::new(Code::AttachmentConflict, message)
                .label(attach.span, "attach_to on a primary interface")
                .label(
                    first.primary_interface.span,
                    format!("primary of {}", first.name.value),
                )
                .help(help),
        );
    }
}
