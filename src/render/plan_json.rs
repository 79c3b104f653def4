//! The plan as JSON (`--format json` of `plan`, `show` and `diff`): every change and
//! step, the capacity of the instances touched, drift and diagnostics. Its JSON Schema
//! is `schemas/plan.schema.json`, generated from these types.

use serde::{Deserialize, Serialize};

use super::json::FORMAT_VERSION;
use crate::ident::Ident;
use crate::plan::{Action, Capacity, ChangeKind, Plan, Summary};
use crate::refresh::{Drift, DriftKind};
use crate::resource::Attributes;
use crate::source::Source;

/// One resource's change.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct JsonChange<'a> {
    /// `KIND.NAME`.
    pub address: String,
    /// create, update, replace or delete.
    pub action: ChangeKind,
    /// Attributes in state.
    pub before: Option<&'a Attributes>,
    /// Attributes after the plan.
    pub after: Option<&'a Attributes>,
    /// Names of the attributes that change in place.
    pub changed: Vec<String>,
    /// Names of the attributes of `after` whose value the cloud chooses when it makes
    /// the object, as Terraform's `after_unknown`: a NIC's `private_ip` when the file
    /// leaves it open, a public IP's `address`. Empty unless created or replaced.
    pub after_unknown: Vec<&'static str>,
    /// Why it is replaced, in words.
    pub reason: Option<String>,
}

/// The attributes the cloud chooses for the object `change` makes, if it makes one.
fn after_unknown(change: &crate::plan::Change) -> Vec<&'static str> {
    if !matches!(change.kind, ChangeKind::Create | ChangeKind::Replace) {
        return Vec::new();
    }
    match change.after.as_deref() {
        Some(Attributes::NetworkInterface(n)) if n.private_ip.is_none() => vec!["private_ip"],
        Some(Attributes::PublicIp(_)) => vec!["address"],
        _ => Vec::new(),
    }
}

/// Why a step waits for another.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct JsonDependency {
    /// The index of the step that comes first.
    pub step: usize,
    /// The constraint, in words.
    pub reason: String,
}

/// One step.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct JsonStep<'a> {
    /// Position, from 1.
    pub index: usize,
    /// The call.
    pub action: Action,
    /// The resource acted on.
    pub address: String,
    /// The instance of an attach, detach or resize.
    pub instance: Option<Ident>,
    /// The NIC of an associate or disassociate.
    pub network_interface: Option<Ident>,
    /// Attributes before the step.
    pub before: Option<&'a Attributes>,
    /// Attributes after the step.
    pub after: Option<&'a Attributes>,
    /// The steps that come first, with the reason of each constraint.
    pub depends_on: Vec<JsonDependency>,
    /// Why the step is there, when it is not plain: part of a replacement, a deletion
    /// that happens with an instance.
    pub reason: Option<String>,
}

/// What changed outside nicplan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JsonDrift {
    /// `KIND.NAME`.
    pub address: String,
    /// changed, gone or adopted.
    pub kind: String,
    /// The attributes that changed.
    pub changed: Vec<String>,
    /// What the state held.
    pub before: Option<serde_json::Value>,
    /// What the cloud holds.
    pub after: Option<serde_json::Value>,
}

/// The JSON document of a plan.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(title = "nicplan plan")]
pub struct PlanDocument<'a> {
    /// Always "1".
    pub format_version: &'static str,
    /// The backend, the state and the file it was last applied from, with warnings
    /// about them; absent where the plan reads neither (`nicplan diff`, a saved plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<super::context::Context>,
    /// Whether the plan has no error and can be applied.
    pub applicable: bool,
    /// The counts of the summary line.
    pub summary: Summary,
    /// The summary line, as text output prints it.
    pub summary_line: String,
    /// Resource changes, in address order.
    pub changes: Vec<JsonChange<'a>>,
    /// Steps, in the order they run.
    pub steps: Vec<JsonStep<'a>>,
    /// Instances the plan touches: NICs before and after, and what their type allows.
    pub capacity: &'a [Capacity],
    /// Whether the cloud's objects outside the state took part in the checks; false
    /// when the cloud was not read (`nicplan diff`, `--refresh=false`).
    pub outside_checked: bool,
    /// Changes made outside nicplan, found by the refresh.
    pub drift: Vec<JsonDrift>,
    /// Every finding.
    pub diagnostics: Vec<super::json::JsonDiagnostic<'a>>,
}

/// Drift as JSON.
pub fn drift_json(drift: &[Drift]) -> Vec<JsonDrift> {
    drift
        .iter()
        .map(|d| JsonDrift {
            address: d.address.to_string(),
            kind: match d.kind {
                DriftKind::Changed(_) => "changed",
                DriftKind::Gone => "gone",
                DriftKind::Adopted => "adopted",
            }
            .to_string(),
            changed: match &d.kind {
                DriftKind::Changed(names) => names.clone(),
                _ => Vec::new(),
            },
            before: d.before.as_ref().map(Attributes::to_value),
            after: d.after.as_ref().map(Attributes::to_value),
        })
        .collect()
}

/// Drift back from JSON (a saved plan); entries that do not parse are left out.
pub fn drift_from_json(items: &[JsonDrift]) -> Vec<Drift> {
    items
        .iter()
        .filter_map(|d| {
            let address: crate::address::Address = d.address.parse().ok()?;
            let attrs = |v: &Option<serde_json::Value>| {
                v.clone()
                    .and_then(|v| Attributes::from_value(address.kind, v).ok())
            };
            let kind = match d.kind.as_str() {
                "gone" => DriftKind::Gone,
                "adopted" => DriftKind::Adopted,
                _ => DriftKind::Changed(d.changed.clone()),
            };
            Some(Drift {
                before: attrs(&d.before),
                after: attrs(&d.after),
                address,
                kind,
            })
        })
        .collect()
}

/// Why each replaced resource is replaced, for the steps of its replacement.
type Replaced<'a> = std::collections::HashMap<&'a crate::address::Address, &'a String>;

fn replaced(plan: &Plan) -> Replaced<'_> {
    plan.changes
        .iter()
        .filter_map(|c| c.reason.as_ref().map(|r| (&c.address, r)))
        .collect()
}

fn change_json(c: &crate::plan::Change) -> JsonChange<'_> {
    JsonChange {
        address: c.address.to_string(),
        action: c.kind,
        before: c.before.as_deref(),
        after: c.after.as_deref(),
        changed: c.changed.iter().map(|c| c.to_string()).collect(),
        after_unknown: after_unknown(c),
        reason: c.reason.clone(),
    }
}

fn step_json<'a>(
    s: &'a crate::plan::Step,
    plan: &'a Plan,
    replaced: &Replaced<'_>,
) -> JsonStep<'a> {
    JsonStep {
        index: s.index,
        action: s.action,
        address: s.address.to_string(),
        instance: s.instance(),
        network_interface: s.network_interface(),
        before: s.before.as_deref(),
        after: s.after.as_deref(),
        depends_on: s
            .depends_on
            .iter()
            .map(|d| JsonDependency {
                step: d.step,
                reason: d.words(s, &plan.steps),
            })
            .collect(),
        reason: match (&s.with_instance(), s.replace) {
            (Some(owner), _) => Some(format!("deleted with instance.{owner}")),
            (None, true) => replaced.get(&s.address).map(|r| (*r).clone()),
            _ => None,
        },
    }
}

/// The plan as a pretty JSON document (a [`PlanDocument`]) ending in a newline, written
/// into `out` as it is serialised (a large plan is never held whole as text).
pub fn write(
    out: &mut dyn std::io::Write,
    plan: &Plan,
    drift: &[Drift],
    source: &Source,
    context: Option<&super::context::Context>,
) -> std::io::Result<()> {
    write_as(out, plan, drift, source, context, true)?;
    out.write_all(b"\n")
}

/// The document of `plan` on one line, as a saved plan holds it.
pub fn compact(plan: &Plan, drift: &[Drift], source: &Source) -> String {
    let mut out = Vec::new();
    match write_as(&mut out, plan, drift, source, None, false) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => format!("{{\"error\": \"{e}\"}}"),
    }
}

fn write_as(
    out: &mut dyn std::io::Write,
    plan: &Plan,
    drift: &[Drift],
    source: &Source,
    context: Option<&super::context::Context>,
    pretty: bool,
) -> std::io::Result<()> {
    /// A sequence made item by item as it is written.
    struct Each<F>(F);
    impl<I: Serialize, T: Iterator<Item = I>, F: Fn() -> T> Serialize for Each<F> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq((self.0)())
        }
    }
    /// [`PlanDocument`], field for field, its long lists made as they are written.
    #[derive(Serialize)]
    #[serde(bound(serialize = "Each<C>: Serialize, Each<T>: Serialize, Each<D>: Serialize"))]
    struct Streamed<'a, C, T, D> {
        format_version: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        context: Option<&'a super::context::Context>,
        applicable: bool,
        summary: Summary,
        summary_line: String,
        changes: Each<C>,
        steps: Each<T>,
        capacity: &'a [Capacity],
        outside_checked: bool,
        drift: Vec<JsonDrift>,
        diagnostics: Each<D>,
    }
    let replaced = replaced(plan);
    let document = Streamed {
        format_version: FORMAT_VERSION,
        context,
        applicable: !plan.has_errors(),
        summary: plan.summary(),
        summary_line: plan.summary().to_string(),
        changes: Each(|| plan.changes.iter().map(change_json)),
        steps: Each(|| plan.steps.iter().map(|s| step_json(s, plan, &replaced))),
        capacity: &plan.capacity,
        outside_checked: plan.outside_checked,
        drift: drift_json(drift),
        diagnostics: Each(|| {
            plan.diagnostics
                .iter()
                .map(|d| super::json::JsonDiagnostic::new(source, d))
        }),
    };
    if pretty {
        serde_json::to_writer_pretty(&mut *out, &document)?;
    } else {
        serde_json::to_writer(&mut *out, &document)?;
    }
    Ok(())
}

/// The JSON Schema of the plan document.
pub fn schema() -> schemars::Schema {
    schemars::schema_for!(PlanDocument<'static>)
}

/// The JSON Schema of the `validate --format json` document.
pub fn validate_schema() -> schemars::Schema {
    schemars::schema_for!(super::json::Document<'static>)
}
