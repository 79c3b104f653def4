//! `nicplan::same_subnet` (warning): two NICs of one instance in the same subnet cause
//! asymmetric routing, and the firewall may drop the packets.

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;
use crate::source::Span;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for instance in model.instances.values() {
        let mut seen: BTreeMap<&str, (&str, Span)> = BTreeMap::new();
        for attachment in model.attachments(instance) {
            let nic = attachment.nic;
            match seen.get(nic.subnet.value.as_str()) {
                None => {
                    seen.insert(&nic.subnet.value, (&nic.name.value, nic.subnet.span));
                }
                Some(&(first, first_span)) => out.push(
                    Diagnostic::new(
                        Code::SameSubnet,
                        format!(
                            "network interfaces {first} and {} of instance {} are both in subnet {}: routing becomes asymmetric and packets may be dropped",
                            nic.name.value, instance.name.value, nic.subnet.value
                        ),
                    )
                    .label(nic.subnet.span, format!("{}'s subnet", nic.name.value))
                    .label(first_span, format!("{first}'s subnet"))
                    .help(format!(
                        "put each interface of {} in a different subnet",
                        instance.name.value
                    )),
                ),
            }
        }
    }
}
