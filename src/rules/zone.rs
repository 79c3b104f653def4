//! `nicplan::zone`: a secondary NIC sits in the availability zone of its instance, which
//! is the zone of the instance's primary interface's subnet.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for instance in model.instances.values() {
        let Some(home) = model.primary_subnet(instance) else {
            continue;
        };
        let zone = &home.availability_zone.value;
        for attachment in model.attachments(instance) {
            if attachment.primary {
                continue;
            }
            let nic = attachment.nic;
            let Some(subnet) = model.subnets.get(&nic.subnet.value) else {
                continue;
            };
            if subnet.availability_zone.value == *zone {
                continue;
            }
            let mut d = Diagnostic::new(
                Code::Zone,
                format!(
                    "network interface {} is in zone {} but instance {} is in zone {zone}",
                    nic.name.value, subnet.availability_zone.value, instance.name.value
                ),
            )
            .label(
                nic.subnet.span,
                format!(
                    "subnet {} is in {}",
                    subnet.name.value, subnet.availability_zone.value
                ),
            );
            if let Some(attach) = &nic.attach_to {
                d = d.label(attach.span, format!("attached to {}", instance.name.value));
            }
            out.push(
                d.label(
                    home.availability_zone.span,
                    format!(
                        "{}'s zone, from its primary interface's subnet {}",
                        instance.name.value, home.name.value
                    ),
                )
                .help(format!(
                    "use a subnet in {zone}, or attach the interface to an instance in {}",
                    subnet.availability_zone.value
                )),
            );
        }
    }
}
