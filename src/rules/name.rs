//! `nicplan::name`: names and descriptions the platform refuses. nicplan sends each
//! resource's name as the object's name, and its description followed by the marker
//! `[nicplan:LINEAGE/ADDRESS]`. The platform's tools allow NIC and instance names of 4
//! to 63 characters, VPC and subnet names of 4 to 200, security group names of 4 to
//! 250; letters, digits, `-` and `_`, starting and ending with a letter or a digit,
//! never `--`, `__`, `-_` or `_-`; descriptions of at most 100 characters.
//!
//! Whether the API itself enforces these is not documented, so the finding is an error
//! with the `kakaocloud` backend and a warning with the simulator. Public IPs carry no
//! name.

use crate::address::{Address, Kind, tagged_description};
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::ident::Ident;
use crate::model::Model;
use crate::source::{At, Span};

/// The longest description the platform takes.
pub const MAX_DESCRIPTION: usize = 100;

/// Why the platform refuses a name of `kind`, if it does: the reason in a sentence,
/// and in a few words for a label.
pub fn name_problem(kind: Kind, name: &str) -> Option<(String, String)> {
    let max = match kind {
        Kind::Vpc | Kind::Subnet => 200,
        Kind::SecurityGroup => 250,
        _ => 63,
    };
    let len = name.chars().count();
    if !(4..=max).contains(&len) {
        return Some((
            format!("it has {len} characters; the platform wants 4 to {max}"),
            format!("{len} characters"),
        ));
    }
    if let Some(last) = name.chars().last().filter(|c| matches!(c, '-' | '_')) {
        return Some((
            "it must end with a letter or a digit".to_string(),
            format!("ends with `{last}`"),
        ));
    }
    ["--", "__", "-_", "_-"]
        .into_iter()
        .find(|pair| name.contains(pair))
        .map(|pair| {
            (
                format!("it contains `{pair}`, which the platform does not allow"),
                format!("contains `{pair}`"),
            )
        })
}

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    let level = if model.capabilities.backend == "kakaocloud" {
        Severity::Error
    } else {
        Severity::Warning
    };
    let mut names: Vec<(Kind, &At<Ident>)> = Vec::new();
    names.extend(model.vpcs.values().map(|v| (Kind::Vpc, &v.name)));
    names.extend(model.subnets.values().map(|v| (Kind::Subnet, &v.name)));
    names.extend(
        model
            .security_groups
            .values()
            .map(|v| (Kind::SecurityGroup, &v.name)),
    );
    names.extend(model.instances.values().map(|v| (Kind::Instance, &v.name)));
    names.extend(
        model
            .network_interfaces
            .values()
            .map(|v| (Kind::NetworkInterface, &v.name)),
    );
    for (kind, name) in names {
        if let Some((problem, short)) = name_problem(kind, &name.value) {
            out.push(
                Diagnostic::new(
                    Code::Name,
                    format!(
                        "the platform refuses `{}` as a {} name: {problem}",
                        name.value,
                        kind.noun()
                    ),
                )
                .with_severity(level)
                .label(name.span, short)
                .help(rename_help(model)),
            );
        }
    }
    let described = model
        .security_groups
        .values()
        .map(|g| (Kind::SecurityGroup, &g.name, g.description.as_ref()))
        .chain(
            model
                .instances
                .values()
                .map(|i| (Kind::Instance, &i.name, None)),
        )
        .chain(
            model
                .network_interfaces
                .values()
                .map(|n| (Kind::NetworkInterface, &n.name, n.description.as_ref())),
        )
        .chain(
            model
                .public_ips
                .values()
                .map(|p| (Kind::PublicIp, &p.name, None)),
        );
    for (kind, name, description) in described {
        let user = description.map_or("", |d| d.value.as_str());
        let address = Address::new(kind, name.value);
        // The lineage's length is fixed; its characters do not matter here.
        let sent = tagged_description(user, "00000000", &address);
        let len = sent.chars().count();
        if len <= MAX_DESCRIPTION {
            continue;
        }
        let span: Span = description.map_or(name.span, |d| d.span);
        let marker = len - user.chars().count();
        out.push(
            Diagnostic::new(
                Code::Name,
                format!(
                    "the description sent for {address} would have {len} characters, more than the platform's {MAX_DESCRIPTION}"
                ),
            )
            .with_severity(level)
            .label(span, format!("{marker} of them are nicplan's marker [nicplan:LINEAGE/{address}]"))
            .help("shorten the description or the name: nicplan appends its marker to every description it sends"),
        );
    }
}

fn rename_help(model: &Model) -> String {
    let then = "then `nicplan state mv` the old address to the new one if it is already applied";
    if model.capabilities.backend == "kakaocloud" {
        format!(
            "rename it: 4 or more letters, digits, - and _, ending with a letter or digit; {then}"
        )
    } else {
        format!(
            "the simulator takes it, the kakaocloud backend will not: rename it (4 or more characters, ending with a letter or digit); {then}"
        )
    }
}
