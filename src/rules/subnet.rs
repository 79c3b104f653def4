//! `nicplan::subnet`: a VPC's block is /16 to /24, a subnet sits in a real availability
//! zone, its CIDR lies inside its VPC's, and subnets of one VPC do not overlap.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Model, Subnet};

/// KakaoCloud's zones: regions kr-central-1 to -3, zones a to c.
fn is_zone(zone: &str) -> bool {
    zone.strip_prefix("kr-central-")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(region, letter)| {
            matches!(region, "1" | "2" | "3") && matches!(letter, "a" | "b" | "c")
        })
}

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    for vpc in model.vpcs.values() {
        let Some(cidr) = &vpc.cidr_block else {
            continue;
        };
        if !(16..=24).contains(&cidr.value.prefix_len()) {
            out.push(
                Diagnostic::new(
                    Code::Subnet,
                    format!(
                        "VPC {} has the block {}, but a VPC's block must be from /16 to /24",
                        vpc.name.value, cidr.value
                    ),
                )
                .label(cidr.span, format!("a /{} block", cidr.value.prefix_len()))
                .help("choose a prefix length from 16 (65,536 addresses) to 24 (256)"),
            );
        }
    }
    for subnet in model.subnets.values() {
        let zone = &subnet.availability_zone;
        if !is_zone(&zone.value) {
            out.push(
                Diagnostic::new(
                    Code::Subnet,
                    format!(
                        "subnet {} is in `{}`, which is not a KakaoCloud availability zone",
                        subnet.name.value, zone.value
                    ),
                )
                .label(zone.span, "unknown zone")
                .help("zones are kr-central-N-a, -b or -c, N from 1 to 3 (the default region is kr-central-2)"),
            );
        }
    }
    for subnet in model.subnets.values() {
        let (Some(vpc), Some(cidr)) = (model.vpcs.get(&subnet.vpc.value), &subnet.cidr_block)
        else {
            continue;
        };
        let Some(vpc_cidr) = &vpc.cidr_block else {
            continue;
        };
        if vpc_cidr.value.contains(&cidr.value) {
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::Subnet,
                format!(
                    "subnet {} ({}) lies outside its VPC {} ({})",
                    subnet.name.value, cidr.value, vpc.name.value, vpc_cidr.value
                ),
            )
            .label(cidr.span, format!("not inside {}", vpc_cidr.value))
            .label(vpc_cidr.span, format!("VPC {}'s range", vpc.name.value))
            .help(format!("choose a block inside {}", vpc_cidr.value)),
        );
    }
    overlaps(model, out);
}

/// Sweeps each VPC's subnets in address order; a subnet starting before the furthest end
/// seen so far overlaps the subnet that reached it. O(n log n) per VPC.
fn overlaps(model: &Model, out: &mut Vec<Diagnostic>) {
    let mut by_vpc: indexmap::IndexMap<&str, Vec<(usize, &Subnet)>> = indexmap::IndexMap::new();
    for (index, subnet) in model.subnets.values().enumerate() {
        if subnet.cidr_block.is_some() {
            by_vpc
                .entry(&subnet.vpc.value)
                .or_default()
                .push((index, subnet));
        }
    }
    for subnets in by_vpc.values_mut() {
        let range = |s: &Subnet| {
            let net = s.cidr_block.as_ref().map(|c| c.value).unwrap_or_default();
            (u32::from(net.network()), u32::from(net.broadcast()))
        };
        subnets.sort_by_key(|&(index, s)| (range(s), index));
        let mut reach: Option<(u32, usize, &Subnet)> = None;
        for &(index, subnet) in subnets.iter() {
            let (start, end) = range(subnet);
            if let Some((far, far_index, holder)) = reach
                && start <= far
            {
                // Report on whichever of the two comes later in the file.
                let (later, earlier) = if index > far_index {
                    (subnet, holder)
                } else {
                    (holder, subnet)
                };
                push_overlap(out, later, earlier);
            }
            if reach.is_none_or(|(far, _, _)| end > far) {
                reach = Some((end, index, subnet));
            }
        }
    }
}

fn push_overlap(out: &mut Vec<Diagnostic>, later: &Subnet, earlier: &Subnet) {
    let (Some(a), Some(b)) = (&later.cidr_block, &earlier.cidr_block) else {
        return;
    };
    out.push(
        Diagnostic::new(
            Code::Subnet,
            format!(
                "subnet {} ({}) overlaps subnet {} ({}) in VPC {}",
                later.name.value, a.value, earlier.name.value, b.value, later.vpc.value
            ),
        )
        .label(a.span, "overlaps")
        .label(b.span, format!("subnet {}'s range", earlier.name.value))
        .help("subnets of one VPC need disjoint blocks"),
    );
}
