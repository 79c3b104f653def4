//! `nicplan show` without a plan file, as text: per address its cloud ID and what the
//! cloud assigned, one `name = value` line each, aligned. A value the state does not
//! hold says so ([`NOT_RECORDED`]) instead of being left out or guessed.

use std::fmt::Write;

use super::state_view::{Details, Ref, Shown};
use super::text::escape_controls;

/// What a value the state does not hold reads as.
pub const NOT_RECORDED: &str = "(not recorded; run nicplan refresh)";

/// A reference as `ADDRESS (ID)`, or the address alone when the state holds no ID.
fn reference(r: &Ref) -> String {
    match &r.id {
        Some(id) if !r.address.starts_with("id:") => {
            format!("{} ({})", escape_controls(&r.address), escape_controls(id))
        }
        _ => escape_controls(&r.address).into_owned(),
    }
}

fn recorded<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(
        || NOT_RECORDED.to_string(),
        |v| escape_controls(&v.to_string()).into_owned(),
    )
}

/// Items on one line, `(none)` when there are none.
fn list(items: &[String], separator: &str) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(separator)
    }
}

/// The lines of one resource's details, as `(name, value)`.
fn lines(details: &Details) -> Vec<(&'static str, String)> {
    match details {
        Details::Vpc { cidr_block } => vec![("cidr_block", cidr_block.to_string())],
        Details::Subnet {
            vpc,
            cidr_block,
            availability_zone,
        } => vec![
            ("cidr_block", cidr_block.to_string()),
            (
                "availability_zone",
                escape_controls(availability_zone).into_owned(),
            ),
            ("vpc", reference(vpc)),
        ],
        Details::SecurityGroup { description } => vec![(
            "description",
            if description.is_empty() {
                "(none)".to_string()
            } else {
                format!("{:?}", escape_controls(description))
            },
        )],
        Details::NetworkInterface {
            private_ip,
            secondary_private_ips,
            mac_address,
            attachment,
            status,
            subnet,
            security_groups,
            public_ips,
        } => vec![
            ("private_ip", recorded(*private_ip)),
            (
                "secondary_private_ips",
                list(
                    &secondary_private_ips
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>(),
                    ", ",
                ),
            ),
            ("mac_address", recorded(mac_address.as_deref())),
            (
                "attachment",
                attachment.as_ref().map_or_else(
                    || "(none)".to_string(),
                    |a| format!("{} of {}", a.role.as_str(), reference(&a.instance)),
                ),
            ),
            ("status", recorded(status.map(|s| s.as_str()))),
            ("subnet", reference(subnet)),
            (
                "security_groups",
                list(
                    &security_groups.iter().map(reference).collect::<Vec<_>>(),
                    ", ",
                ),
            ),
            (
                "public_ips",
                list(&public_ips.iter().map(reference).collect::<Vec<_>>(), ", "),
            ),
        ],
        Details::Instance {
            instance_type,
            availability_zone,
            status,
            network_interfaces,
        } => vec![
            ("type", escape_controls(instance_type).into_owned()),
            ("availability_zone", recorded(availability_zone.as_deref())),
            ("status", recorded(status.map(|s| s.as_str()))),
            (
                "network_interfaces",
                list(
                    &network_interfaces
                        .iter()
                        .map(|n| {
                            format!(
                                "{}: {}, {}",
                                reference(&n.network_interface),
                                n.role.as_str(),
                                recorded(n.private_ip)
                            )
                        })
                        .collect::<Vec<_>>(),
                    "; ",
                ),
            ),
        ],
        Details::PublicIp {
            public_ip,
            network_interface,
            private_ip,
        } => vec![
            ("public_ip", recorded(*public_ip)),
            (
                "maps_to",
                match network_interface {
                    None => "(nothing: not associated)".to_string(),
                    Some(n) => format!("{}, {}", reference(n), recorded(*private_ip)),
                },
            ),
        ],
    }
}

/// The text of `shown`, headed by the store it was read from.
pub fn text(store: &str, shown: &Shown) -> String {
    let mut out = format!(
        "# state {} (lineage {}, serial {})\n",
        escape_controls(store),
        escape_controls(&shown.lineage),
        shown.serial
    );
    for resource in &shown.resources {
        let _ = writeln!(
            out,
            "\n{} ({})",
            escape_controls(&resource.address),
            escape_controls(&resource.id)
        );
        let lines = lines(&resource.details);
        let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (name, value) in lines {
            let _ = writeln!(out, "    {name:<width$} = {value}");
        }
    }
    if shown.resources.is_empty() {
        out.push_str("\nNo resources in state.\n");
    }
    out
}
