//! `nicplan::quota`: the file declares no more VPCs, subnets and instances than the
//! project may hold (`settings.quotas`, else the platform's defaults of 3, 30 and 500).
//! The planner counts the objects the cloud holds outside the state on top of these.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Model, Quota};
use crate::source::Span;

pub fn check(model: &Model, out: &mut Vec<Diagnostic>) {
    let quotas = model.settings.quotas;
    one(
        out,
        "VPCs",
        "vpcs",
        quotas.vpcs,
        model.vpcs.values().map(|v| v.name.span).collect(),
    );
    one(
        out,
        "subnets",
        "subnets",
        quotas.subnets,
        model.subnets.values().map(|s| s.name.span).collect(),
    );
    one(
        out,
        "instances",
        "instances",
        quotas.instances,
        model.instances.values().map(|i| i.name.span).collect(),
    );
}

fn one(out: &mut Vec<Diagnostic>, noun: &str, key: &str, quota: Quota, names: Vec<Span>) {
    let limit = usize::try_from(quota.limit).unwrap_or(usize::MAX);
    let Some(&extra) = names.get(limit) else {
        return;
    };
    let mut d = Diagnostic::new(
        Code::Quota,
        format!(
            "the file declares {} {noun}, more than the project's quota of {limit}",
            names.len()
        ),
    )
    .label(
        extra,
        format!("the first {} beyond the quota", &noun[..noun.len() - 1]),
    );
    let help = match quota.span {
        Some(span) => {
            d = d.label(span, "the quota set here");
            format!(
                "declare fewer {noun}, or raise settings.quotas.{key} once the platform has raised the quota"
            )
        }
        None => format!(
            "the platform's default is {limit} {noun} per project; if its support raised yours, set settings.quotas.{key}"
        ),
    };
    out.push(d.help(help));
}
