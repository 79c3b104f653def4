//! `nicplan::subnet_full`: a subnet has room for every address placed in it. Each
//! network interface takes one address (pinned or assigned by the cloud) and one more
//! per secondary private IP; the network, gateway and broadcast addresses are never
//! given out. The planner counts the addresses held outside the state on top of these.

use indexmap::IndexMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Model, NetworkInterface};

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    let mut placed: IndexMap<&str, Vec<&NetworkInterface>> = IndexMap::new();
    for nic in model.network_interfaces.values() {
        placed
            .entry(nic.subnet.value.as_str())
            .or_default()
            .push(nic);
    }
    for (subnet_name, nics) in placed {
        let Some(subnet) = model.subnets.get(subnet_name) else {
            continue;
        };
        let Some(cidr) = &subnet.cidr_block else {
            continue;
        };
        let size = 1usize << (32 - u32::from(cidr.value.prefix_len()));
        let usable = size.saturating_sub(3);
        let mut needed = 0usize;
        let mut first_extra = None;
        for nic in &nics {
            needed += 1 + nic.secondary_private_ips.len();
            if needed > usable && first_extra.is_none() {
                first_extra = Some(*nic);
            }
        }
        let Some(extra) = first_extra else {
            continue;
        };
        out.push(
            Diagnostic::new(
                Code::SubnetFull,
                format!(
                    "subnet {subnet_name} ({}) has {usable} usable addresses, but the file places {needed} in it",
                    cidr.value
                ),
            )
            .label(
                extra.subnet.span,
                format!("network interface {} finds no address left", extra.name.value),
            )
            .label(
                cidr.span,
                format!("{usable} usable: network, gateway and broadcast addresses are reserved"),
            )
            .help("use a larger block for the subnet, or place some interfaces in another subnet"),
        );
    }
}
