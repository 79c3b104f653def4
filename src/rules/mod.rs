//! The NIC rules that need no cloud, one module each, all run on every model.
//!
//! Each rule appends its findings and never stops the others; a rule skips quietly what
//! another rule reports (a reference to nothing, an unknown type, an unparsable IP), so
//! one mistake yields one diagnostic. The rules that need observed state or a plan
//! (instance status, primary detach, prevent_destroy, the capacity of intermediate
//! steps) run in the planner over the same model.

mod attachment_conflict;
mod bandwidth;
mod capacity;
mod instance_type;
mod ip_conflict;
mod ip_outside_subnet;
mod ip_reserved;
mod multi_ip_unsupported;
mod name;
mod public_ip;
mod quota;
mod reference;
mod same_subnet;
mod security_group_required;
mod source_dest_check_disabled;
mod static_routing;
mod subnet;
mod subnet_full;
mod zone;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Model;

/// A rule over the desired state.
pub type Check = fn(&Model, &mut Vec<Diagnostic>);

pub use name::name_problem as platform_name_problem;

/// Every offline rule with the code it reports, in catalogue order.
pub const OFFLINE: &[(Code, Check)] = &[
    (Code::Reference, reference::check),
    (Code::InstanceType, instance_type::check),
    (Code::Capacity, capacity::check),
    (Code::Zone, zone::check),
    (Code::AttachmentConflict, attachment_conflict::check),
    (Code::IpOutsideSubnet, ip_outside_subnet::check),
    (Code::IpReserved, ip_reserved::check),
    (Code::IpConflict, ip_conflict::check),
    (Code::SecurityGroupRequired, security_group_required::check),
    (Code::PublicIp, public_ip::check),
    (Code::MultiIpUnsupported, multi_ip_unsupported::check),
    (Code::Subnet, subnet::check),
    (Code::Quota, quota::check),
    (Code::SubnetFull, subnet_full::check),
    (Code::Name, name::check),
    (Code::SameSubnet, same_subnet::check),
    (
        Code::SourceDestCheckDisabled,
        source_dest_check_disabled::check,
    ),
    (Code::StaticRouting, static_routing::check),
    (Code::Bandwidth, bandwidth::check),
];

/// The static-routing advice worded for a plan in which the instance gains its second
/// NIC.
pub(crate) fn static_routing_advice(
    model: &Model,
    instance: &crate::model::Instance,
) -> Option<Diagnostic> {
    static_routing::advice(model, instance, true)
}

/// Runs every offline rule over a model.
pub fn check(model: &Model) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (_, rule) in OFFLINE {
        rule(model, &mut out);
    }
    out
}

/// The usable host range of a subnet: after the network and gateway addresses, before
/// the broadcast address.
pub(crate) fn usable_range(
    net: ipnet::Ipv4Net,
) -> Option<(std::net::Ipv4Addr, std::net::Ipv4Addr)> {
    let first = u32::from(net.network()).checked_add(2)?;
    let last = u32::from(net.broadcast()).checked_sub(1)?;
    (first <= last).then(|| (first.into(), last.into()))
}

/// "usable addresses run from A to B", or a note that the subnet has none.
pub(crate) fn usable_help(subnet: &str, net: ipnet::Ipv4Net) -> String {
    match usable_range(net) {
        Some((first, last)) => {
            format!("usable addresses of subnet {subnet} ({net}) run from {first} to {last}")
        }
        None => format!("subnet {subnet} ({net}) has no usable address"),
    }
}
