//! The plan as a GitHub pull-request comment: what a reviewer without credentials needs
//! to judge a change. A title and the summary line (a refused plan opens with the
//! refusal instead, its counts after it in plain text); a `[!CAUTION]` block naming
//! everything destroyed or replaced; a `[!TIP]` for what looks renamed; the drift;
//! the steps in order, with what each waits for and why; one collapsible `diff` of the
//! attributes per resource (and per attachment or association move); the capacity of
//! the instances touched; the diagnostics, errors first; a collapsible Mermaid diagram
//! of the part of the network the plan touches.
//!
//! Invariants:
//! - The comment never exceeds [`MAX_COMMENT_CHARS`] characters. Everything but the
//!   per-resource diffs is mandatory and shares the room fairly; a list too long for its
//!   share is cut between two items and ends in a note saying how many were left out.
//!   The diffs then fill what is left, in order, and a note stands in for the rest.
//!   The diagram comes last in priority: it shows only when everything else fits whole
//!   beside it, and a one-line note stands in for it otherwise.
//!   Nothing is ever cut inside a block, so the Markdown stays well formed.
//! - User text (descriptions, images, messages quoting them, the file name) is escaped
//!   for the context it lands in: inline Markdown, a table cell, a code span, HTML, or a
//!   fenced block whose fence is longer than any backtick run inside it.
//! - Same plan, same bytes: every input is already ordered and nothing here reads a
//!   clock or the environment.

use serde_json::{Map, Value};
use similar::{Algorithm, ChangeTag};

use super::json::JsonDiagnostic;
use super::mermaid::{self, Diagram, Network};
use crate::address::{Address, Kind};
use crate::diagnostic::{Counts, Diagnostic, Severity};
use crate::plan::{Capacity, Change, ChangeKind, Move, Plan, Reason, Step, step_at};
use crate::refresh::{Drift, DriftKind};
use crate::resource::Attributes;
use crate::source::Source;

/// What stands in for the diagram when the rest of the comment leaves no room for it.
pub const DIAGRAM_LEFT_OUT: &str = "> The diagram did not fit in this comment (60,000 characters); run `nicplan graph --format mermaid` to see the network.\n\n";

/// The most characters a comment holds (GitHub refuses comments over 65,536).
pub const MAX_COMMENT_CHARS: usize = 60_000;

/// The whole comment when there is nothing to do and nothing to report.
pub const NO_CHANGES: &str = "**nicplan:** no changes. The cloud matches the file.\n";

/// Renders `plan` (with the `drift` its refresh found) as a pull-request comment whose
/// diagnostics point into `source`, with a diagram of the part of `network` it touches
/// (none without one). At most [`MAX_COMMENT_CHARS`] characters.
pub fn markdown(
    plan: &Plan,
    drift: &[Drift],
    source: &Source,
    network: Option<&Network>,
    context: Option<&crate::render::context::Context>,
) -> String {
    let quiet = plan.changes.is_empty() && plan.steps.is_empty() && !plan.has_errors();
    let mut parts = Vec::new();
    if quiet {
        // Nothing to review: one line, then whatever was found on the way.
        parts.push(Part::fixed(NO_CHANGES.to_string()));
        if let Some(context) = context {
            parts.push(Part::fixed(format!("\n{}", context_part(context))));
        }
        if !drift.is_empty() || !plan.diagnostics.is_empty() {
            parts.push(Part::fixed("\n".to_string()));
        }
        parts.push(drift_part(drift));
        let mut findings = diagnostics_part(&plan.diagnostics, source);
        if drift.is_empty() {
            // Just the list under the line; a heading only to keep it apart from drift.
            findings.head.clear();
            findings.tail.clear();
        }
        parts.push(findings);
        parts.push(advice_part(&plan.diagnostics, source));
    } else {
        if plan.has_errors() {
            // The refusal first and in bold; the counts after it, in plain text, read
            // as what the file asks for, never as "nothing to do".
            let summary = plan.summary().to_string();
            let asked = summary.strip_prefix("Plan: ").unwrap_or(&summary);
            parts.push(Part::fixed(format!(
                "### nicplan plan: refused\n\n{}The file asks for: {asked}\n\n",
                refusal(&plan.diagnostics)
            )));
        } else {
            parts.push(Part::fixed(format!(
                "### nicplan plan\n\n**{}**\n\n",
                plan.summary()
            )));
        }
        if let Some(context) = context {
            parts.push(Part::fixed(context_part(context)));
        }
        if !plan.outside_checked && !plan.steps.is_empty() {
            parts.push(Part::fixed(format!(
                "> [!NOTE]\n> {}\n\n",
                crate::render::plan_text::NOT_READ
            )));
        }
        parts.push(caution_part(&plan.changes));
        parts.push(Part::fixed(renames_part(plan)));
        parts.push(stops_part(&plan.steps));
        parts.push(drift_part(drift));
        parts.push(steps_part(&plan.steps));
        parts.push(details_part(plan));
        parts.push(capacity_part(&plan.capacity));
        parts.push(diagnostics_part(&plan.diagnostics, source));
        parts.push(advice_part(&plan.diagnostics, source));
        if let Some(network) = network {
            let diagram = mermaid::bounded(plan, network);
            let drawn = diagram_part(&diagram);
            let whole: usize = parts.iter().map(|p| p.len_with(p.items.len())).sum();
            // The first thing to go when room is short, before any list is cut; a note
            // that the diagram was too big to draw stays, as short as the other.
            if matches!(diagram, Diagram::Drawn(_)) && whole + chars(&drawn) > MAX_COMMENT_CHARS {
                parts.push(Part::fixed(DIAGRAM_LEFT_OUT.to_string()));
            } else {
                parts.push(Part::fixed(drawn));
            }
        }
    }
    fit(&mut parts, MAX_COMMENT_CHARS);
    let mut out: String = parts.iter().map(Part::render).collect();
    while out.ends_with("\n\n") {
        out.pop();
    }
    debug_assert!(chars(&out) <= MAX_COMMENT_CHARS);
    out
}

// ---------------------------------------------------------------------------------------
// Parts and the size budget

/// What stands in for the items of a list that did not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Overflow {
    /// Items of the `[!CAUTION]` block (inside the block quote).
    Banner,
    /// Drift entries.
    Drift,
    /// Rows of the steps table.
    Steps,
    /// Per-resource details blocks.
    Diffs,
    /// Rows of the capacity table.
    Instances,
    /// Diagnostics.
    Findings,
}

impl Overflow {
    /// The note for `n` left-out items, with the blank lines it needs around it.
    fn note(self, n: usize) -> String {
        let limit = thousands(MAX_COMMENT_CHARS);
        let run = "run `nicplan plan` to see them.";
        let (one, many) = match self {
            Overflow::Banner => {
                return format!("> - and {n} more that did not fit in this comment; {run}\n");
            }
            Overflow::Drift => ("change outside nicplan", "changes outside nicplan"),
            Overflow::Steps => ("more step", "more steps"),
            Overflow::Diffs => ("resource diff", "resource diffs"),
            Overflow::Instances => ("more instance", "more instances"),
            Overflow::Findings => ("more finding", "more findings"),
        };
        let what = if n == 1 { one } else { many };
        let lead = if self == Overflow::Diffs { "" } else { "\n" };
        let trail = if self == Overflow::Diffs { "\n" } else { "" };
        format!(
            "{lead}> {n} {what} did not fit in this comment ({limit} characters); {run}\n{trail}"
        )
    }
}

/// A section of the comment: a head, items that may be left out from the end, a tail.
/// A list with no items is left out whole.
struct Part {
    head: String,
    items: Vec<String>,
    tail: String,
    /// `None` for fixed text, which always shows.
    overflow: Option<Overflow>,
    /// How many items show, decided by [`fit`].
    keep: usize,
}

impl Part {
    fn fixed(text: String) -> Part {
        Part {
            head: text,
            items: Vec::new(),
            tail: String::new(),
            overflow: None,
            keep: 0,
        }
    }

    fn list(head: String, items: Vec<String>, tail: String, overflow: Overflow) -> Part {
        Part {
            keep: items.len(),
            head,
            items,
            tail,
            overflow: Some(overflow),
        }
    }

    /// Whether the part shows at all.
    fn shows(&self) -> bool {
        self.overflow.is_none() || !self.items.is_empty()
    }

    /// Characters of the head and tail.
    fn frame(&self) -> usize {
        if self.shows() {
            chars(&self.head) + chars(&self.tail)
        } else {
            0
        }
    }

    /// Characters of the first `keep` items.
    fn kept(&self, keep: usize) -> usize {
        self.items.iter().take(keep).map(|i| chars(i)).sum()
    }

    /// Characters of the note when `keep` items show.
    fn note_len(&self, keep: usize) -> usize {
        match self.overflow {
            Some(o) if keep < self.items.len() => chars(&o.note(self.items.len() - keep)),
            _ => 0,
        }
    }

    /// Characters of the part as rendered with `keep` items.
    fn len_with(&self, keep: usize) -> usize {
        if self.shows() {
            self.frame() + self.kept(keep) + self.note_len(keep)
        } else {
            0
        }
    }

    /// The most leading items whose characters add up to at most `room`.
    fn fitting(&self, room: usize) -> usize {
        let mut used = 0;
        self.items
            .iter()
            .take_while(|i| {
                used += chars(i);
                used <= room
            })
            .count()
    }

    fn render(&self) -> String {
        if !self.shows() {
            return String::new();
        }
        let mut out = self.head.clone();
        for item in self.items.iter().take(self.keep) {
            out.push_str(item);
        }
        if let Some(o) = self.overflow
            && self.keep < self.items.len()
        {
            out.push_str(&o.note(self.items.len() - self.keep));
        }
        out.push_str(&self.tail);
        out
    }
}

/// Decides how many items of each part show so that the whole is at most `limit`
/// characters. The mandatory lists share the room fairly (a list shorter than its share
/// keeps everything and leaves the rest to the others); the diffs take what is left,
/// in order, up to the first that does not fit.
fn fit(parts: &mut [Part], limit: usize) {
    let optional = |p: &Part| p.overflow == Some(Overflow::Diffs);
    // Room for the diffs' heading and for their note in the worst case.
    let reserve: usize = parts
        .iter()
        .filter(|p| optional(p) && p.shows())
        .map(|p| p.frame() + p.note_len(0))
        .sum();
    let mandatory: Vec<usize> = (0..parts.len()).filter(|&i| !optional(&parts[i])).collect();
    let full: usize = mandatory
        .iter()
        .map(|&i| parts[i].len_with(parts[i].items.len()))
        .sum();
    if full + reserve > limit {
        // Every frame shows, and every list may need its note (counted at its longest).
        let fixed: usize = mandatory
            .iter()
            .map(|&i| parts[i].frame() + parts[i].note_len(0))
            .sum();
        let mut room = limit.saturating_sub(fixed + reserve);
        let mut lists: Vec<usize> = mandatory
            .iter()
            .copied()
            .filter(|&i| !parts[i].items.is_empty())
            .collect();
        lists.sort_by_key(|&i| (parts[i].kept(parts[i].items.len()), i));
        let mut left = lists.len();
        for i in lists {
            let share = room / left.max(1);
            let keep = parts[i].fitting(share);
            parts[i].keep = keep;
            room -= parts[i].kept(keep);
            left -= 1;
        }
    }
    let used: usize = mandatory
        .iter()
        .map(|&i| parts[i].len_with(parts[i].keep))
        .sum();
    for part in parts.iter_mut().filter(|p| optional(p) && p.shows()) {
        let room = limit.saturating_sub(used + part.frame());
        part.keep = if part.kept(part.items.len()) <= room {
            part.items.len()
        } else {
            part.fitting(room.saturating_sub(part.note_len(0)))
        };
    }
}

// ---------------------------------------------------------------------------------------
// The sections

/// The `[!WARNING]` block of a plan that breaks a rule.
/// The backend and the state under the summary, then a warning block for each thing
/// about them that may undo or duplicate what exists.
fn context_part(context: &crate::render::context::Context) -> String {
    let mut out = format!("{}\n\n", escape(&context.line()));
    for warning in &context.warnings {
        out.push_str(&format!("> [!WARNING]\n> {}\n\n", escape(warning)));
    }
    out
}

fn refusal(diagnostics: &[Diagnostic]) -> String {
    let errors = Counts::of(diagnostics).errors;
    let rules = if errors == 1 {
        "an error".to_string()
    } else {
        format!("{errors} errors")
    };
    format!(
        "> [!WARNING]\n> **This plan is refused and cannot be applied:** it has {rules} (see the diagnostics below). Fix the file and plan again.\n\n"
    )
}

/// The renames a `[!TIP]` spells out, at most; the text plan has all of them.
const RENAMES_SHOWN: usize = 10;

/// A `[!TIP]` naming the resources that look renamed, with the `state mv` that keeps
/// each object.
fn renames_part(plan: &Plan) -> String {
    let renames = plan.renames();
    let [first, ..] = renames[..] else {
        return String::new();
    };
    let mut out = if renames.len() == 1 {
        let (a, b) = (first.0.to_string(), first.1.to_string());
        format!(
            "> [!TIP]\n> {} is destroyed and {} created with the same attributes. If it was only renamed, {} keeps the object, and the plan then has neither step.\n",
            code(&a),
            code(&b),
            code(&format!("nicplan state mv {a} {b}"))
        )
    } else {
        let mut out = format!(
            "> [!TIP]\n> {} resources are destroyed and others of their kind created with the same attributes. If they were only renamed, these keep the objects, and the plan then has neither step:\n>\n",
            renames.len()
        );
        for (from, to) in renames.iter().take(RENAMES_SHOWN) {
            out.push_str(&format!(
                "> - {}\n",
                code(&format!("nicplan state mv {from} {to}"))
            ));
        }
        if renames.len() > RENAMES_SHOWN {
            out.push_str(&format!(
                "> - and {} more (`nicplan plan` lists them)\n",
                renames.len() - RENAMES_SHOWN
            ));
        }
        out
    };
    out.push('\n');
    out
}

/// The `[!CAUTION]` block naming every resource destroyed or replaced.
/// An `[!IMPORTANT]` block naming the running instances the plan stops to resize.
fn stops_part(steps: &[crate::plan::Step]) -> Part {
    let items: Vec<String> = steps
        .iter()
        .filter(|s| s.action == crate::plan::Action::Stop)
        .map(|s| format!("> - {}\n", code(&s.address.to_string())))
        .collect();
    let (what, rest) = match items.len() {
        1 => (
            "1 running instance".to_string(),
            "to resize it (the platform resizes only stopped instances); it starts again right after the resize",
        ),
        n => (
            format!("{n} running instances"),
            "to resize them (the platform resizes only stopped instances); each starts again right after its resize",
        ),
    };
    Part::list(
        format!("> [!IMPORTANT]\n> **This plan stops {what}** {rest}:\n"),
        items,
        "\n".to_string(),
        Overflow::Banner,
    )
}

fn caution_part(changes: &[Change]) -> Part {
    let destroyed = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Delete)
        .count();
    let replaced = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Replace)
        .count();
    let items: Vec<String> = changes
        .iter()
        .filter_map(|c| match c.kind {
            ChangeKind::Delete => Some(format!(
                "> - {} will be **destroyed**\n",
                code(&c.address.to_string())
            )),
            ChangeKind::Replace => Some(format!(
                "> - {} will be **replaced** (destroyed, then created anew){}\n",
                code(&c.address.to_string()),
                c.reason
                    .as_deref()
                    .map(|r| format!(": {}", escape(replace_reason(&c.address, r))))
                    .unwrap_or_default()
            )),
            ChangeKind::Create | ChangeKind::Update => None,
        })
        .collect();
    let count = |n: usize, verb: &str| match n {
        1 => format!("{verb} 1 resource"),
        n => format!("{verb} {n} resources"),
    };
    let what = match (destroyed, replaced) {
        (0, r) => count(r, "replaces"),
        (d, 0) => count(d, "destroys"),
        (d, r) => format!("{} and {}", count(d, "destroys"), count(r, "replaces")),
    };
    Part::list(
        format!(
            "> [!CAUTION]\n> **This plan {what}.** They are deleted in the cloud; a replaced one comes back as a new object:\n"
        ),
        items,
        "\n".to_string(),
        Overflow::Banner,
    )
}

/// Why a resource is replaced, without the `ADDRESS is replaced because` the planner
/// puts in front.
fn replace_reason<'a>(address: &Address, reason: &'a str) -> &'a str {
    reason
        .strip_prefix(&format!("{address} is replaced because "))
        .unwrap_or(reason)
}

/// What changed outside nicplan.
fn drift_part(drift: &[Drift]) -> Part {
    let items = drift
        .iter()
        .map(|d| {
            let address = code(&d.address.to_string());
            match &d.kind {
                DriftKind::Gone => format!("- {address} no longer exists; it leaves the state\n"),
                DriftKind::Adopted => format!(
                    "- {address} was created by an interrupted run; found by its tag and adopted\n"
                ),
                DriftKind::Changed(names) => {
                    let before = object(d.before.as_ref());
                    let after = object(d.after.as_ref());
                    let what: Vec<String> = names
                        .iter()
                        .map(|n| {
                            format!(
                                "{} {} → {}",
                                escape(n),
                                code(&show(before.get(n))),
                                code(&show(after.get(n)))
                            )
                        })
                        .collect();
                    format!("- {address} changed: {}\n", what.join("; "))
                }
            }
        })
        .collect();
    Part::list(
        "#### Changes outside nicplan since the last apply\n\n".to_string(),
        items,
        "\n".to_string(),
        Overflow::Drift,
    )
}

/// The steps table: number, step, the steps it waits for and why, in step order. A
/// reason that only says the step needs what that step makes (`needs vpc.main` after
/// `create vpc.main`) is the number alone; any other is given (`5: the detach makes
/// room on instance.web-1`).
fn steps_part(steps: &[Step]) -> Part {
    let items = steps
        .iter()
        .map(|s| {
            // (step, reason in words, whether it only says the step needs what that
            // step makes).
            let mut after: Vec<(usize, String, bool)> = s
                .depends_on
                .iter()
                .map(|d| {
                    let plain = d.reason == Reason::Needs && step_at(steps, d.step).is_some();
                    (d.step, d.words(s, steps), plain)
                })
                .collect();
            after.sort_unstable();
            after.dedup();
            let after = if after.is_empty() {
                "—".to_string()
            } else {
                // The steps waited for with one reason go together; the plain ones
                // (no reason given) are one group too.
                let mut groups: Vec<(Vec<usize>, Option<&str>)> = Vec::new();
                for (step, reason, plain) in &after {
                    let (step, reason) = (*step, reason.as_str());
                    let reason = (!plain).then_some(reason);
                    match groups.iter_mut().find(|(_, r)| *r == reason) {
                        Some((steps, _)) => steps.push(step),
                        None => groups.push((vec![step], reason)),
                    }
                }
                let groups: Vec<String> = groups
                    .iter()
                    .map(|(steps, reason)| {
                        let steps: Vec<String> = steps.iter().map(usize::to_string).collect();
                        match reason {
                            Some(reason) => format!("{}: {}", steps.join(", "), cell(reason)),
                            None => steps.join(", "),
                        }
                    })
                    .collect();
                groups.join("; ")
            };
            format!("| {} | {} | {after} |\n", s.index, cell_code(&s.describe()))
        })
        .collect();
    Part::list(
        "#### Steps, in order\n\n| # | step | after |\n|---:|---|---|\n".to_string(),
        items,
        "\n".to_string(),
        Overflow::Steps,
    )
}

/// One collapsible diff per changed resource, then one per attachment or association
/// move of a resource that is otherwise unchanged.
fn details_part(plan: &Plan) -> Part {
    let mut items: Vec<String> = plan.changes.iter().map(change_details).collect();
    items.extend(plan.moves().into_iter().map(|m| move_details(&m)));
    Part::list(
        "#### Resource changes\n\n".to_string(),
        items,
        String::new(),
        Overflow::Diffs,
    )
}

fn change_details(change: &Change) -> String {
    let kind = change.address.kind;
    let mut before = shown(kind, change.before.as_deref());
    let mut after = shown(kind, change.after.as_deref());
    match change.kind {
        // What the cloud will choose, as Terraform says it: a public IP's address (a
        // NIC's open address too, in the text plan; here the room goes to the diffs).
        ChangeKind::Create if kind == Kind::PublicIp => {
            after.insert(
                "address".to_string(),
                Value::String(super::plan_text::KNOWN_AFTER_APPLY.to_string()),
            );
        }
        // What is lost with it: a public IP's address.
        ChangeKind::Delete if kind == Kind::PublicIp => {
            before = object(change.before.as_deref())
                .into_iter()
                .filter(|(k, v)| {
                    !matches!(k.as_str(), "status" | "mac_address")
                        && !v.is_null()
                        && v.as_str() != Some("")
                })
                .collect();
        }
        _ => {}
    }
    let (sign, words) = match change.kind {
        ChangeKind::Create => ("+", "will be created"),
        ChangeKind::Update => ("~", "will be updated in place"),
        ChangeKind::Replace => ("-/+", "will be replaced"),
        ChangeKind::Delete => ("-", "will be destroyed"),
    };
    // A replacement whose file leaves the IP open gets a new one from the cloud.
    if change.kind == ChangeKind::Replace
        && before.contains_key("private_ip")
        && !after.contains_key("private_ip")
    {
        after.insert(
            "private_ip".to_string(),
            Value::String("(known after apply)".to_string()),
        );
    }
    let note = change.reason.as_deref().map(|r| {
        let r = replace_reason(&change.address, r);
        format!("Replaced because {}.\n\n", escape(r.trim_end_matches('.')))
    });
    details(
        &format!("{sign} {}", change.address),
        words,
        note.as_deref().unwrap_or(""),
        &diff(&lines(&before, None), &lines(&after, None)),
    )
}

/// A move's collapsible block.
fn move_details(m: &Move<'_>) -> String {
    let field = m.field();
    let side = |v: Option<&str>| {
        let mut map = Map::new();
        if let Some(v) = v {
            map.insert(field.to_string(), Value::String(v.to_string()));
        }
        map
    };
    // A re-attachment is a detach and an attach even though the value is the same.
    let again = m.is_reattachment().then_some(field);
    details(
        &format!("~ {}", m.address),
        &m.words(),
        "",
        &diff(&lines(&side(m.from), None), &lines(&side(m.to), again)),
    )
}

/// A `<details>` block: the summary, an optional paragraph, the diff.
fn details(label: &str, words: &str, note: &str, diff: &str) -> String {
    let fence = "`".repeat(longest_run(diff, '`').max(2) + 1);
    format!(
        "<details><summary><code>{}</code> {}</summary>\n\n{note}{fence}diff\n{diff}{fence}\n\n</details>\n\n",
        html(label),
        html(words),
    )
}

/// The collapsible diagram, or the note that stands in for one too big; nothing when
/// the plan touches nothing that can be drawn.
fn diagram_part(diagram: &Diagram) -> String {
    match diagram {
        Diagram::Nothing => String::new(),
        Diagram::Skipped(note) => format!("> {note}\n\n"),
        Diagram::Drawn(text) => format!(
            "<details><summary>Diagram</summary>\n\nSigns: `+` created, `~` changed in place or moved, `-/+` replaced, `-` destroyed; a dotted arrow is a link the plan removes.\n\n```mermaid\n{text}```\n\n</details>\n\n"
        ),
    }
}

/// The capacity table of the instances the plan touches.
fn capacity_part(capacity: &[Capacity]) -> Part {
    let mut marked = false;
    let items = capacity
        .iter()
        .map(|c| {
            let kind = match (&c.type_before, &c.type_after) {
                (Some(a), Some(b)) if a != b => format!("{} → {}", cell(a), cell(b)),
                (_, Some(b)) => cell(b),
                (Some(a), None) => format!("{} → (destroyed)", cell(a)),
                (None, None) => "?".to_string(),
            };
            let allowed = match (c.max_after, &c.type_after) {
                (Some(m), _) => m.to_string(),
                (None, None) => "—".to_string(),
                (None, Some(_)) => "?".to_string(),
            };
            let mark = match c.max_after {
                Some(m) if c.nics_after > m as usize => " 🛑",
                Some(m) if c.nics_after == m as usize => " ⚠️",
                _ => "",
            };
            marked |= !mark.is_empty();
            format!(
                "| {} | {kind} | {} | {}{mark} | {allowed} |\n",
                cell_code(&format!("instance.{}", c.instance)),
                c.nics_before,
                c.nics_after,
            )
        })
        .collect();
    let legend = if marked {
        "\n⚠️ full: no room for another NIC without a resize. 🛑 over the type's limit.\n\n"
    } else {
        "\n"
    };
    Part::list(
        "#### Instance capacity\n\n| instance | type | NICs before | NICs after | allowed |\n|---|---|---:|---:|---:|\n"
            .to_string(),
        items,
        legend.to_string(),
        Overflow::Instances,
    )
}

/// The errors, then the warnings, each in full and in file order within each (advice
/// has its own collapsed part).
fn diagnostics_part(diagnostics: &[Diagnostic], source: &Source) -> Part {
    let mut sorted: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| d.severity() != Severity::Advice)
        .collect();
    sorted.sort_by_key(|d| d.severity());
    let items = sorted
        .into_iter()
        .map(|d| {
            let severity = if d.severity() == Severity::Error {
                "**error**"
            } else {
                "**warning**"
            };
            let at = location(source, d);
            let mut item = format!(
                "- {severity} {}{at} — {}",
                code(d.code.as_str()),
                escape(&d.message)
            );
            if let Some(help) = &d.help {
                item.push_str(&format!("\\\n  help: {}", escape(help)));
            }
            item.push('\n');
            item
        })
        .collect();
    Part::list(
        "#### Diagnostics\n\n".to_string(),
        items,
        "\n".to_string(),
        Overflow::Findings,
    )
}

/// ` FILE:LINE:COLUMN` of a finding, or nothing.
fn location(source: &Source, d: &Diagnostic) -> String {
    let j = JsonDiagnostic::new(source, d);
    match (j.file, j.line, j.column) {
        (Some(f), Some(l), Some(c)) => format!(" {}:{l}:{c}", escape(f)),
        _ => String::new(),
    }
}

/// The advice, collapsed and summed up: one line per code with its count and its first
/// note, so that advice for thousands of instances costs a few lines of the comment
/// and never pushes out the steps or the diffs (`nicplan plan --format json` lists
/// every note).
fn advice_part(diagnostics: &[Diagnostic], source: &Source) -> Part {
    let mut codes: Vec<(crate::diagnostic::Code, usize, &Diagnostic)> = Vec::new();
    for d in diagnostics
        .iter()
        .filter(|d| d.severity() == Severity::Advice)
    {
        match codes.iter_mut().find(|(c, _, _)| *c == d.code) {
            Some((_, n, _)) => *n += 1,
            None => codes.push((d.code, 1, d)),
        }
    }
    let total: usize = codes.iter().map(|(_, n, _)| n).sum();
    let items = codes
        .into_iter()
        .map(|(c, n, first)| {
            let mut item = if n == 1 {
                format!(
                    "- {}{} — {}",
                    code(c.as_str()),
                    location(source, first),
                    escape(&first.message)
                )
            } else {
                format!(
                    "- {} — {} notes, the first{}: {}",
                    code(c.as_str()),
                    thousands(n),
                    location(source, first),
                    escape(&first.message)
                )
            };
            if let Some(help) = &first.help {
                item.push_str(&format!("\\\n  help: {}", escape(help)));
            }
            item.push('\n');
            item
        })
        .collect();
    let noun = if total == 1 {
        "advice note"
    } else {
        "advice notes"
    };
    Part::list(
        format!(
            "<details><summary>{} {noun}</summary>\n\n",
            thousands(total)
        ),
        items,
        "\n</details>\n\n".to_string(),
        Overflow::Findings,
    )
}

// ---------------------------------------------------------------------------------------
// Attribute diffs

/// Attributes as a JSON object, or an empty one.
fn object(a: Option<&Attributes>) -> Map<String, Value> {
    match a.map(Attributes::to_value) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// The attributes a plan shows: without what only the cloud knows (as the text plan)
/// and without empty values.
fn shown(kind: Kind, a: Option<&Attributes>) -> Map<String, Value> {
    object(a)
        .into_iter()
        .filter(|(k, v)| {
            let observed = matches!(k.as_str(), "status" | "mac_address" | "address")
                || (kind == Kind::Instance && k == "availability_zone");
            !observed && !v.is_null() && v.as_str() != Some("")
        })
        .collect()
}

/// One line of pretty JSON, with whether it stands for a new value even when the text
/// is the same (a re-attachment to the same instance).
type Line = (String, bool);

/// `map` as pretty JSON lines (none when empty); the line of `again` is marked new.
fn lines(map: &Map<String, Value>, again: Option<&str>) -> Vec<Line> {
    if map.is_empty() {
        return Vec::new();
    }
    let text = serde_json::to_string_pretty(&Value::Object(map.clone())).unwrap_or_default();
    let key = again.map(|k| format!("  \"{k}\":"));
    text.lines()
        .map(|l| {
            let marked = key.as_deref().is_some_and(|k| l.starts_with(k));
            (l.to_string(), marked)
        })
        .collect()
}

/// A line diff of `old` to `new`: every line, prefixed `-`, `+` or a space.
fn diff(old: &[Line], new: &[Line]) -> String {
    let mut out = String::new();
    for op in similar::capture_diff_slices(Algorithm::Myers, old, new) {
        for change in op.iter_changes(old, new) {
            let sign = match change.tag() {
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
                ChangeTag::Equal => ' ',
            };
            out.push(sign);
            out.push_str(&change.value_ref().0);
            out.push('\n');
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Text helpers

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `60000` as `60,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A JSON value in a sentence: strings quoted, lists bracketed.
fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(none)".to_string(),
        Some(other) => other.to_string(),
    }
}

/// The longest run of `c` in `s`.
fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for x in s.chars() {
        run = if x == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// Free text as inline Markdown: every character that could start markup is escaped,
/// line breaks become spaces.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '#' | '$' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Free text in a table cell.
fn cell(s: &str) -> String {
    escape(s)
}

/// A code span that holds `s` whatever backticks it contains.
fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    let fence = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A code span in a table cell, where `|` must be escaped even inside the span.
fn cell_code(s: &str) -> String {
    code(s).replace('|', "\\|")
}

/// Text inside HTML.
fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_cannot_open_markup() {
        assert_eq!(escape("a|b *c* `d`\nx"), "a\\|b \\*c\\* \\`d\\` x");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
        assert_eq!(cell_code("a|b"), "`a\\|b`");
        assert_eq!(html("<b>&\""), "&lt;b&gt;&amp;&quot;");
        assert_eq!(thousands(60_000), "60,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn a_fence_is_longer_than_any_backtick_run_inside() {
        let block = details("+ x", "will be created", "", "+```\n");
        assert!(block.contains("````diff\n+```\n````\n"), "{block}");
    }

    #[test]
    fn lists_share_the_room_and_cut_between_items() {
        let many = |n: usize| (0..n).map(|i| format!("- item {i:04}\n")).collect();
        let mut parts = vec![
            Part::fixed("# t\n\n".to_string()),
            Part::list("## a\n\n".into(), many(500), "\n".into(), Overflow::Steps),
            Part::list("## b\n\n".into(), many(3), "\n".into(), Overflow::Findings),
            Part::list("## c\n\n".into(), many(500), String::new(), Overflow::Diffs),
        ];
        fit(&mut parts, 2_000);
        let out: String = parts.iter().map(Part::render).collect();
        assert!(chars(&out) <= 2_000, "{}", chars(&out));
        assert_eq!(parts[2].keep, 3, "a short list keeps everything");
        assert!(parts[1].keep > 0 && parts[1].keep < 500);
        // The optional part takes only what the mandatory ones left over.
        let diffs = parts[3].keep;
        assert!(diffs < 10, "{diffs}");
        let note = format!("{} resource diffs did not fit", 500 - diffs);
        assert!(out.contains(&note), "{out}");
    }
}
