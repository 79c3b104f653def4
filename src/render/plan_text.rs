//! The plan as text, like `terraform plan`: drift, then per resource `+ create`,
//! `~ update`, `-/+ replace`, `- destroy` with only the changed attributes, then the
//! numbered steps with the reason of each ordering constraint, then the diagnostics,
//! then the summary line.

use std::fmt::Write;

use serde_json::Value;

use super::text::{self, Style};
use crate::address::Address;
use crate::plan::{ChangeKind, Plan};
use crate::refresh::{Drift, DriftKind};
use crate::resource::Attributes;
use crate::source::Source;

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
}

/// A JSON value as the plan prints it.
fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(none)".to_string(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(Value::Array(items)) => {
            let inner: Vec<String> = items.iter().map(|i| show(Some(i))).collect();
            format!("[{}]", inner.join(", "))
        }
        Some(other) => other.to_string(),
    }
}

fn fields(a: Option<&Attributes>) -> serde_json::Map<String, Value> {
    match a.map(Attributes::to_value) {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// Attributes that only the cloud knows (or that follow from others): not shown as
/// planned changes.
fn observed(kind: crate::address::Kind, key: &str) -> bool {
    matches!(key, "status" | "mac_address" | "address")
        || (kind == crate::address::Kind::Instance && key == "availability_zone")
}

/// What the plan shows for a value the cloud chooses when it makes the object.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// The attributes of a created object that the cloud chooses and a reviewer asks
/// about: a NIC's address when the file leaves it open, a public IP's address.
pub fn unknown_until_applied(
    kind: crate::address::Kind,
    after: &serde_json::Map<String, Value>,
) -> Vec<&'static str> {
    use crate::address::Kind;
    match kind {
        Kind::NetworkInterface if after.get("private_ip").is_none_or(Value::is_null) => {
            vec!["private_ip"]
        }
        Kind::PublicIp => vec!["address"],
        _ => Vec::new(),
    }
}

/// The closing line of a plan without changes.
pub const NO_CHANGES: &str = "No changes. The cloud matches the file.\n";

/// What a plan made without reading the cloud (`nicplan diff`, `--refresh=false`)
/// could not check.
pub const NOT_READ: &str = "The cloud was not read for this plan: objects outside the file and its state (NICs holding addresses or places on instances, subnets, public IP mappings, quotas used by others) were not considered. `nicplan plan` checks them.";

/// Renders the drift section (empty when there is none).
pub fn drift(drift: &[Drift]) -> String {
    if drift.is_empty() {
        return String::new();
    }
    let mut out = String::from("Changes outside nicplan since the last apply:\n\n");
    for d in drift {
        let _ = match &d.kind {
            DriftKind::Gone => {
                writeln!(out, "  {} no longer exists; it leaves the state", d.address)
            }
            DriftKind::Adopted => writeln!(
                out,
                "  {} was created by an interrupted run; found by its tag and adopted",
                d.address
            ),
            DriftKind::Changed(names) => {
                let before = fields(d.before.as_ref());
                let after = fields(d.after.as_ref());
                let _ = writeln!(out, "  {} changed:", d.address);
                for n in names {
                    let _ = writeln!(
                        out,
                        "      {n}: {} -> {}",
                        show(before.get(n)),
                        show(after.get(n))
                    );
                }
                Ok(())
            }
        };
    }
    out.push('\n');
    out
}

/// Attachment and association moves of resources that are otherwise unchanged.
fn moves(plan: &Plan, p: &Paint) -> String {
    let mut out = String::new();
    for m in plan.moves() {
        let _ = writeln!(out, "  # {} {}", m.address, m.words());
        if m.is_reattachment() {
            out.push('\n');
            continue;
        }
        let _ = writeln!(
            out,
            "{} {}",
            p.yellow("  ~"),
            p.bold(&m.address.to_string())
        );
        let show_name = |n: Option<&str>| n.map_or("(none)".to_string(), |n| format!("{n:?}"));
        let _ = writeln!(
            out,
            "      {}: {} -> {}\n",
            m.field(),
            show_name(m.from),
            show_name(m.to)
        );
    }
    out
}

/// The top of a plan: the backend and the state in one line, then each warning about
/// them, then a blank line.
pub fn header(context: &crate::render::context::Context, style: Style) -> String {
    let p = Paint { on: style.color };
    let mut out = context.line();
    out.push('\n');
    for warning in &context.warnings {
        let _ = writeln!(out, "{} {warning}", p.yellow("warning:"));
    }
    out.push('\n');
    out
}

/// Renders a plan, with its diagnostics pointing into `source`, into `out` as it is
/// made: a large plan goes to the terminal without being held whole in memory. Errors
/// of `out` are left to it (a writer that fails keeps its first error and takes
/// nothing more).
pub fn write(out: &mut impl Write, plan: &Plan, source: &Source, style: Style) {
    write_ending(out, plan, source, style, NO_CHANGES);
}

/// [`write`], with `no_changes` as the last line of a plan that changes nothing.
pub fn write_ending(
    out: &mut impl Write,
    plan: &Plan,
    source: &Source,
    style: Style,
    no_changes: &str,
) {
    let p = Paint { on: style.color };
    // Instances resized by a stop and a start, looked up once per change.
    let stopped: std::collections::HashSet<&crate::address::Address> = plan
        .steps
        .iter()
        .filter(|s| s.action == crate::plan::Action::Stop)
        .map(|s| &s.address)
        .collect();
    if !plan.changes.is_empty() || !plan.steps.is_empty() {
        let _ = out.write_str("nicplan will perform the following actions:\n\n");
    }
    for change in &plan.changes {
        let before = fields(change.before.as_deref());
        let after = fields(change.after.as_deref());
        let (sign, words) = match change.kind {
            ChangeKind::Create => (p.green("  +"), "will be created"),
            ChangeKind::Update => (p.yellow("  ~"), "will be updated in place"),
            ChangeKind::Replace => (p.red("-/+"), "will be replaced"),
            ChangeKind::Delete => (p.red("  -"), "will be destroyed"),
        };
        let _ = writeln!(out, "  # {} {words}", change.address);
        if let Some(reason) = &change.reason {
            let _ = writeln!(out, "  # ({reason})");
        }
        if stopped.contains(&change.address) {
            let _ = writeln!(
                out,
                "  # (it runs: it is stopped, resized and started again, as the platform resizes only stopped instances)"
            );
        }
        let _ = writeln!(out, "{sign} {}", p.bold(&change.address.to_string()));
        match change.kind {
            ChangeKind::Create => {
                for (k, v) in &after {
                    let empty = v.is_null() || v.as_str() == Some("");
                    if !observed(change.address.kind, k) && !empty {
                        let _ = writeln!(out, "      {k} = {}", show(Some(v)));
                    }
                }
                for k in unknown_until_applied(change.address.kind, &after) {
                    let _ = writeln!(out, "      {k} = {KNOWN_AFTER_APPLY}");
                }
            }
            ChangeKind::Update | ChangeKind::Replace => {
                let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    if observed(change.address.kind, k)
                        || k == "attach_to"
                        || k == "network_interface"
                    {
                        continue;
                    }
                    let (b, a) = (before.get(k), after.get(k));
                    // An IP the cloud assigned stays when the file leaves it open; a
                    // new NIC gets a new one.
                    if k == "private_ip" && a.is_none_or(Value::is_null) {
                        if change.kind == ChangeKind::Replace && b.is_some_and(|b| !b.is_null()) {
                            let _ = writeln!(out, "      {k}: {} -> {KNOWN_AFTER_APPLY}", show(b));
                        }
                        continue;
                    }
                    if b != a {
                        let _ = writeln!(out, "      {k}: {} -> {}", show(b), show(a));
                    }
                }
            }
            ChangeKind::Delete => {
                // What is lost: a public IP's address (a NIC's addresses are in the
                // subnet's range, and come back from it).
                for (k, v) in before
                    .iter()
                    .filter(|_| change.address.kind == crate::address::Kind::PublicIp)
                {
                    let empty = v.is_null()
                        || v.as_str() == Some("")
                        || v.as_array().is_some_and(Vec::is_empty);
                    if k != "status" && k != "mac_address" && !empty {
                        let _ = writeln!(out, "      {k} = {}", show(Some(v)));
                    }
                }
            }
        }
        let _ = out.write_char('\n');
    }
    let _ = out.write_str(&moves(plan, &p));
    if !plan.steps.is_empty() {
        let _ = out.write_str("Steps, in order:\n");
        let width = plan.steps.len().to_string().len();
        for step in &plan.steps {
            let _ = writeln!(out, "  {:>width$}. {}", step.index, step.describe());
            for dep in &step.depends_on {
                let _ = writeln!(
                    out,
                    "  {:>width$}    after {}: {}",
                    "",
                    dep.step,
                    dep.words(step, &plan.steps)
                );
            }
        }
        let _ = out.write_char('\n');
    }
    if !plan.diagnostics.is_empty() {
        // Without validate's summary line: the plan has its own.
        text::each_report(source, &plan.diagnostics, style, |last, block| {
            if last {
                let _ = out.write_str(block.trim_end());
                let _ = out.write_str("\n\n");
            } else {
                let _ = out.write_str(&block);
            }
        });
    }
    for (from, to) in plan.renames() {
        let _ = writeln!(out, "{} {}\n", p.bold("Hint:"), renamed(from, to));
    }
    if !plan.outside_checked && !plan.steps.is_empty() {
        let _ = writeln!(out, "Note: {NOT_READ}\n");
    }
    if plan.has_errors() {
        let _ = writeln!(
            out,
            "{} the plan breaks the rules above and cannot be applied.",
            p.red("Error:")
        );
    } else if plan.summary().is_empty() {
        let _ = out.write_str(no_changes);
    } else {
        let _ = writeln!(out, "{}", p.bold(&plan.summary().to_string()));
    }
}

/// The hint for a resource that looks renamed.
pub fn renamed(from: &Address, to: &Address) -> String {
    format!(
        "{from} is destroyed and {to} created with the same attributes. If it was only renamed, `nicplan state mv {from} {to}` keeps the object, and the plan then has neither step."
    )
}
