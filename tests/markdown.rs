//! The Markdown plan, as a pull-request comment: real plans built with the library
//! against the in-memory simulator, rendered and snapshotted; the size limit, the
//! refusal block and determinism checked structurally.

use std::time::Duration;

use nicplan::Source;
use nicplan::cloud::Cloud;
use nicplan::cloud::sim::Sim;
use nicplan::model::Model;
use nicplan::ops;
use nicplan::plan::Plan;
use nicplan::refresh::Drift;
use nicplan::render::mermaid::Network;
use nicplan::render::plan_markdown::{MAX_COMMENT_CHARS, NO_CHANGES, markdown};
use nicplan::state::memory::MemoryStore;

/// A simulator and a state store with the file of `text` applied.
struct World {
    sim: Sim,
    store: MemoryStore,
}

fn base() -> String {
    std::fs::read_to_string("tests/e2e/base.yaml").expect("base file")
}

fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in file");
    text.replacen(from, to, 1)
}

/// The model and source of a file; errors are allowed (the planner reports them).
fn load(text: &str) -> (Model, Source) {
    let v = nicplan::validate("nicplan.yaml", text.as_bytes().to_vec(), None);
    (v.model.expect("the file parses"), v.source)
}

impl World {
    fn empty() -> World {
        let mut sim = Sim::in_memory(true);
        sim.set_build_time(Duration::ZERO);
        World {
            sim,
            store: MemoryStore::new(),
        }
    }

    /// A world with `text` applied.
    fn applied(text: &str) -> World {
        let w = World::empty();
        let (model, _) = load(text);
        let planned = w.planned(&model);
        assert!(
            !planned.plan.has_errors(),
            "{:#?}",
            planned.plan.diagnostics
        );
        // One step at a time: the cloud's assigned IPs and MACs appear in the diffs,
        // and must be the same on every run.
        let options = nicplan::apply::Options {
            parallelism: 1,
            ..nicplan::apply::Options::default()
        };
        let (_, outcome) = ops::apply(planned, &w.store, &w.sim, &options, &|_| {}).expect("apply");
        assert!(outcome.succeeded(), "{outcome:#?}");
        w
    }

    fn planned(&self, model: &Model) -> ops::Planned {
        ops::plan(
            model,
            &self.store,
            &self.sim,
            true,
            &nicplan::plan::Options::default(),
        )
        .expect("plan")
    }

    /// The plan from this world to `text`, its drift, the file, and the network on
    /// both sides.
    fn plan(&self, text: &str) -> (Plan, Vec<Drift>, Source, Network) {
        let (model, source) = load(text);
        let planned = self.planned(&model);
        let network = Network::between(&planned.state, &model);
        (planned.plan, planned.drift, source, network)
    }

    /// The comment for the plan from this world to `text`.
    fn markdown(&self, text: &str) -> String {
        let (plan, drift, source, network) = self.plan(text);
        markdown(&plan, &drift, &source, Some(&network), None)
    }
}

/// Every `<details>` closed, every fence closed by a fence at least as long, every
/// table row closed, every alert block a run of quoted lines: the checks a reader of
/// the raw comment would make.
fn assert_well_formed(md: &str) {
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count(),
        "unbalanced <details>"
    );
    assert_eq!(
        md.matches("<summary>").count(),
        md.matches("</summary>").count()
    );
    let mut fence: Option<usize> = None;
    let mut in_alert = false;
    for (n, line) in md.lines().enumerate() {
        let ticks = line.chars().take_while(|&c| c == '`').count();
        match fence {
            Some(open) => {
                if ticks >= open && line[ticks..].trim().is_empty() {
                    fence = None;
                }
                continue;
            }
            None if ticks >= 3 => {
                fence = Some(ticks);
                continue;
            }
            None => {}
        }
        if line.starts_with('|') {
            assert!(line.ends_with('|'), "line {n}: broken table row {line:?}");
        }
        if line.starts_with("> [!") {
            in_alert = true;
        } else if in_alert {
            if line.is_empty() {
                in_alert = false;
            } else {
                assert!(
                    line.starts_with('>'),
                    "line {n}: alert interrupted {line:?}"
                );
            }
        }
    }
    assert_eq!(fence, None, "a fence is left open");
    assert!(md.ends_with('\n') && !md.ends_with("\n\n"));
}

/// Case (a): every step kind, a replacement, a deletion, an in-place update, a resize,
/// attach and detach, associate and disassociate, warnings.
fn everything() -> String {
    let text = base();
    // Replacement: web-2's primary NIC moves subnet, so web-2 is replaced and its
    // secondary NICs are detached and attached again (and warn: two NICs in db-a).
    let text = edit(
        &text,
        "  web-2-eth0:\n    subnet: app-a\n    private_ip: 10.0.1.11",
        "  web-2-eth0:\n    subnet: db-a\n    private_ip: 10.0.2.11",
    );
    // Deletion.
    let text = edit(
        &text,
        "  spare:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n",
        "",
    );
    // In place, with text a comment must not let loose, and a warning.
    let text = edit(
        &text,
        "web-sg: { description: web tier }",
        "web-sg: { description: 'web | tier `edge` <b>*hot*</b> ```' }",
    );
    let text = edit(
        &text,
        "  web-1-eth1:\n    subnet: db-a\n    security_groups: [db-sg]",
        "  web-1-eth1:\n    subnet: db-a\n    source_dest_check: false\n    security_groups: [db-sg, web-sg]",
    );
    // Resize to make room for a new NIC in a new subnet, which takes the public IP.
    let text = edit(
        &text,
        "    type: m2a.large\n    image: ubuntu-22.04\n    primary_interface: web-1-eth0",
        "    type: m2a.xlarge\n    image: ubuntu-22.04\n    primary_interface: web-1-eth0\n    lifecycle: { allow_stop: true }",
    );
    let text = edit(
        &text,
        "  mgmt-a:\n",
        "  edge-a:\n    vpc: main\n    cidr_block: 10.0.4.0/24\n    availability_zone: kr-central-2-a\n  mgmt-a:\n",
    );
    let text = edit(
        &text,
        "network_interfaces:\n",
        "network_interfaces:\n  web-1-eth3:\n    subnet: edge-a\n    security_groups: [web-sg]\n    attach_to: web-1\n",
    );
    edit(
        &text,
        "    network_interface: web-1-eth0",
        "    network_interface: web-1-eth3",
    )
}

#[test]
fn a_plan_with_every_kind_of_step() {
    let w = World::applied(&base());
    let (plan, drift, source, network) = w.plan(&everything());
    assert!(!plan.has_errors(), "{:#?}", plan.diagnostics);
    let md = markdown(&plan, &drift, &source, Some(&network), None);
    insta::assert_snapshot!("every_kind_of_step", md);
    assert_well_formed(&md);

    let summary = plan.summary();
    for n in [
        summary.create,
        summary.update,
        summary.replace,
        summary.destroy,
        summary.attach,
        summary.detach,
        summary.associate,
        summary.disassociate,
    ] {
        assert!(n > 0, "{summary}");
    }
    assert!(md.starts_with("### nicplan plan\n\n"));
    assert!(md.contains(&format!("**{summary}**")));
    assert!(md.contains("> [!CAUTION]"));
    assert!(md.contains("> - `network_interface.spare` will be **destroyed**"));
    assert!(md.contains("> - `instance.web-2` will be **replaced** (destroyed, then created anew): its primary interface network\\_interface.web-2-eth0 is replaced: it moves to subnet db-a"), "{md}");
    assert!(!md.contains("[!WARNING]"));
    assert!(
        md.contains("> [!IMPORTANT]\n> **This plan stops 1 running instance** to resize it"),
        "{md}"
    );
    assert!(md.contains("> - `instance.web-1`\n"), "{md}");
    // Every step in order, with its dependencies.
    for step in &plan.steps {
        let row = format!("| {} | `{}` |", step.index, step.describe());
        assert!(md.contains(&row), "no row {row}");
    }
    // One details block per change and per move, each with a diff.
    assert!(md.contains("<details><summary><code>~ network_interface.web-1-eth1</code> will be updated in place</summary>"));
    assert!(md.contains("<details><summary><code>~ public_ip.web-public</code> moves from network_interface.web-1-eth0 to network_interface.web-1-eth3</summary>"));
    assert!(md.contains(
        "-  \"network_interface\": \"web-1-eth0\"\n+  \"network_interface\": \"web-1-eth3\"\n"
    ));
    // Observed attributes stay out.
    assert!(!md.contains("mac_address") && !md.contains("\"status\""));
    // The hostile description stays inside its code block: the fence grows.
    assert!(md.contains("````diff\n"), "{md}");
    // Capacity: web-1 is resized and full.
    assert!(
        md.contains("| `instance.web-1` | m2a.large → m2a.xlarge | 3 | 4 ⚠️ | 4 |"),
        "{md}"
    );
    // Warnings, after any error, with their position.
    assert!(md.contains("- **warning** `nicplan::source_dest_check_disabled` nicplan.yaml:"));
}

#[test]
fn no_changes_is_one_line() {
    let w = World::applied(&base());
    let md = w.markdown(&base());
    assert_eq!(md, NO_CHANGES);
    assert_eq!(md, "**nicplan:** no changes. The cloud matches the file.\n");
}

#[test]
fn no_changes_with_warnings_is_the_line_and_the_list() {
    let text = edit(
        &base(),
        "  spare:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n",
        "  spare:\n    subnet: mgmt-a\n    source_dest_check: false\n    security_groups: [db-sg]\n",
    );
    let w = World::applied(&text);
    let md = w.markdown(&text);
    insta::assert_snapshot!("no_changes_with_warnings", md);
    assert!(
        md.starts_with(&format!("{NO_CHANGES}\n- **warning** ")),
        "{md}"
    );
    assert!(!md.contains("###"));
}

/// A file of `n` instances, each with one NIC, a few with source/destination check off.
fn many_instances(n: usize) -> String {
    let mut text = String::from(
        "version: 1\n\nsettings:\n  quotas: { instances: 5000 }\n\nvpcs:\n  main:\n    cidr_block: 10.0.0.0/16\n\nsubnets:\n  app-a:\n    vpc: main\n    cidr_block: 10.0.0.0/20\n    availability_zone: kr-central-2-a\n\nsecurity_groups:\n  web-sg: {}\n\ninstances:\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "  vm-{i:04}:\n    type: m2a.large\n    image: ubuntu-22.04\n    primary_interface: vm-{i:04}-eth0\n"
        ));
    }
    text.push_str("\nnetwork_interfaces:\n");
    for i in 0..n {
        let check = if i % 500 == 0 {
            "    source_dest_check: false\n"
        } else {
            ""
        };
        text.push_str(&format!(
            "  vm-{i:04}-eth0:\n    subnet: app-a\n{check}    security_groups: [web-sg]\n"
        ));
    }
    text
}

#[test]
fn a_huge_plan_fits_in_one_comment() {
    let w = World::empty();
    // The project's quota is raised, as the file says.
    let mut settings = w.sim.settings().expect("settings");
    settings.quotas.instances = 5_000;
    w.sim.set_settings(settings).expect("raised");
    let (plan, drift, source, network) = w.plan(&many_instances(2_000));
    assert_eq!(plan.summary().create, 4_003);
    let md = markdown(&plan, &drift, &source, Some(&network), None);
    assert!(
        md.chars().count() <= MAX_COMMENT_CHARS,
        "{} characters",
        md.chars().count()
    );
    assert_well_formed(&md);
    assert!(md.contains(&format!("**{}**", plan.summary())));
    // The mandatory sections are there, cut between rows with a note.
    assert!(md.contains("#### Steps, in order\n"));
    assert!(md.contains("more steps did not fit in this comment (60,000 characters); run `nicplan plan` to see them."), "{md}");
    assert!(md.contains("#### Instance capacity\n"));
    assert!(md.contains("more instances did not fit in this comment (60,000 characters)"));
    // Far too many resources to draw: a one-line note stands in for the diagram.
    assert!(!md.contains("```mermaid"), "{md}");
    assert!(md.contains("> Diagram skipped: the plan touches 4003 resources (limit 150). Run `nicplan graph --format mermaid` to see the whole network.\n"), "{md}");
    // The few diagnostics are kept whole.
    assert!(md.contains("#### Diagnostics\n"));
    assert_eq!(
        md.matches("- **warning** `nicplan::source_dest_check_disabled`")
            .count(),
        4
    );
    // The diffs left out are counted.
    let diffs = plan.changes.len();
    let shown = md.matches("<details>").count();
    assert!(
        md.contains(&format!(
            "> {} resource diffs did not fit in this comment (60,000 characters); run `nicplan plan` to see them.",
            diffs - shown
        )),
        "{md}"
    );
    // The table rows shown are the first ones, in order.
    assert!(
        md.contains("| 1 | `create security_group.web` |")
            || md.contains("| 1 | `create vpc.main` |")
    );
}

#[test]
fn a_refused_plan_says_so() {
    let w = World::applied(&base());
    let text = edit(
        &base(),
        "  spare:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n",
        "  spare:\n    subnet: mgmt-a\n    security_groups: [db-sg]\n    attach_to: web-1\n",
    );
    let (plan, drift, source, network) = w.plan(&text);
    assert!(plan.has_errors());
    let md = markdown(&plan, &drift, &source, Some(&network), None);
    insta::assert_snapshot!("refused", md);
    assert_well_formed(&md);
    // The refusal opens the comment, in bold; the counts follow in plain words and
    // never read as a bold "nothing to do".
    assert!(
        md.starts_with(
            "### nicplan plan: refused\n\n> [!WARNING]\n> **This plan is refused and cannot be applied:**"
        ),
        "{md}"
    );
    assert!(
        md.contains(
            "\n\nThe file asks for: 0 to create, 0 to update, 0 to replace, 0 to destroy; 1 attach,"
        ),
        "{md}"
    );
    assert!(!md.contains("**Plan:"), "{md}");
    assert!(
        md.contains("- **error** `nicplan::capacity` nicplan.yaml:"),
        "{md}"
    );
    // Errors come before anything else in the list.
    let list = md
        .split("#### Diagnostics\n\n")
        .nth(1)
        .expect("diagnostics");
    assert!(list.starts_with("- **error**"), "{list}");
    assert!(md.contains("| 4 🛑 | 3 |"), "{md}");
}

#[test]
fn the_same_plan_renders_the_same_bytes() {
    let w = World::applied(&base());
    let (plan, drift, source, network) = w.plan(&everything());
    let first = markdown(&plan, &drift, &source, Some(&network), None);
    assert_eq!(
        first,
        markdown(&plan, &drift, &source, Some(&network), None)
    );
    // And a world built again from nothing plans and renders the same comment.
    let again = World::applied(&base()).markdown(&everything());
    assert_eq!(first, again);
}

#[test]
fn drift_is_listed_before_the_steps() {
    let w = World::applied(&base());
    // By hand: the spare NIC deleted, the web group's description rewritten.
    let inventory = w.sim.inventory().expect("inventory");
    let spare = inventory
        .nics
        .values()
        .find(|n| n.name == "spare")
        .expect("spare");
    w.sim.delete_nic(&spare.id).expect("delete");
    let web = inventory
        .security_groups
        .values()
        .find(|g| g.name == "web-sg")
        .expect("web-sg");
    w.sim
        .update_security_group(&web.id, "edited by *hand* | `x`")
        .expect("update");
    let md = w.markdown(&base());
    insta::assert_snapshot!("drift", md);
    assert_well_formed(&md);
    let drift = md
        .split("#### Changes outside nicplan since the last apply\n\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("drift section");
    assert_eq!(
        drift,
        "- `security_group.web-sg` changed: description `\"web tier\"` → ``\"edited by *hand* | `x`\"``\n\
         - `network_interface.spare` no longer exists; it leaves the state"
    );
    assert!(md.find("#### Changes outside") < md.find("#### Steps"));
}

/// `n` instances with a secondary interface each: two advice notes per instance.
fn instances_with_two_nics(n: usize) -> String {
    let mut text = String::from(
        "version: 1\nsettings:\n  quotas: { instances: 5000 }\nvpcs:\n  main:\n    cidr_block: 10.0.0.0/16\nsubnets:\n  app-a:\n    vpc: main\n    cidr_block: 10.0.0.0/20\n    availability_zone: kr-central-2-a\n  db-a:\n    vpc: main\n    cidr_block: 10.0.16.0/20\n    availability_zone: kr-central-2-a\nsecurity_groups:\n  web-sg: {}\ninstances:\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "  vm-{i:04}:\n    type: m2a.xlarge\n    image: ubuntu-22.04\n    primary_interface: vm-{i:04}-eth0\n"
        ));
    }
    text.push_str("network_interfaces:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  vm-{i:04}-eth0:\n    subnet: app-a\n    security_groups: [web-sg]\n  vm-{i:04}-eth1:\n    subnet: db-a\n    security_groups: [web-sg]\n    attach_to: vm-{i:04}\n"
        ));
    }
    text
}

#[test]
fn advice_for_many_instances_is_one_collapsed_summary_and_leaves_the_room_to_the_diffs() {
    let w = World::empty();
    let (plan, drift, source, network) = w.plan(&instances_with_two_nics(60));
    let advice = plan
        .diagnostics
        .iter()
        .filter(|d| d.severity() == nicplan::Severity::Advice)
        .count();
    assert_eq!(advice, 120);
    let md = markdown(&plan, &drift, &source, Some(&network), None);
    assert_well_formed(&md);
    assert!(
        md.contains("<details><summary>120 advice notes</summary>\n\n"),
        "{md}"
    );
    assert!(md.contains("- `nicplan::bandwidth` — 60 notes, the first nicplan.yaml:"));
    assert!(md.contains("- `nicplan::static_routing` — 60 notes, the first nicplan.yaml:"));
    assert!(!md.contains("**advice**"), "advice drawn one by one");
    // Every resource diff fits: the advice no longer takes their room.
    assert!(!md.contains("resource diffs did not fit"), "{md}");
    assert_eq!(
        md.matches("<details><summary><code>").count(),
        plan.changes.len()
    );
}

/// `n` spare NICs in one subnet, each with a description of 90 characters: long diffs,
/// a small diagram.
fn described_nics(n: usize) -> String {
    let mut text = String::from(
        "version: 1\nvpcs:\n  main: { cidr_block: 10.0.0.0/16 }\nsubnets:\n  app: { vpc: main, cidr_block: 10.0.0.0/16, availability_zone: kr-central-2-a }\nnetwork_interfaces:\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "  nic-{i:03}: {{ subnet: app, description: \"{}\" }}\n",
            "d".repeat(90)
        ));
    }
    text
}

#[test]
fn the_diagram_gives_way_before_any_resource_diff() {
    let w = World::empty();
    let mut drawn_before = false;
    for n in 60..140 {
        let (plan, drift, source, network) = w.plan(&described_nics(n));
        let md = markdown(&plan, &drift, &source, Some(&network), None);
        assert!(md.chars().count() <= MAX_COMMENT_CHARS);
        assert_well_formed(&md);
        if md.contains("```mermaid\n") {
            assert!(
                md.contains("<details><summary>Diagram</summary>\n\n"),
                "{md}"
            );
            drawn_before = true;
            continue;
        }
        // The first size without the diagram: every diff is still there, whole.
        assert!(drawn_before, "no diagram even for {n} NICs");
        assert!(md.contains("> The diagram did not fit in this comment (60,000 characters); run `nicplan graph --format mermaid` to see the network.\n"), "{md}");
        assert!(!md.contains("resource diffs did not fit"), "{md}");
        assert!(!md.contains("more steps did not fit"), "{md}");
        assert_eq!(
            md.matches("<details><summary><code>+ network_interface.nic-")
                .count(),
            n
        );
        return;
    }
    panic!("the diagram never gave way");
}

#[test]
fn the_steps_table_says_why_each_step_waits() {
    let row = |md: &str, step: &str| -> String {
        md.lines()
            .find(|l| l.starts_with("| ") && l.contains(&format!("`{step}`")))
            .unwrap_or_else(|| panic!("no row for {step}: {md}"))
            .to_string()
    };
    // Waiting for what the step before makes needs no words: the number says it.
    let made = World::empty().markdown(&base());
    assert!(row(&made, "create vpc.main").ends_with(" | — |"), "{made}");
    assert!(
        row(&made, "create subnet.app-a").ends_with(" | 1 |"),
        "{made}"
    );
    // Any other constraint is spelled out beside its number.
    let md = World::applied(&base()).markdown(&everything());
    let resize = row(&md, "resize instance.web-1 to m2a.xlarge");
    assert!(
        resize.contains(": the platform resizes instance.web-1 only when it is stopped"),
        "{resize}"
    );
}

#[test]
fn a_renamed_resource_gets_the_state_mv_that_keeps_it() {
    let w = World::applied(&base());
    let renamed = base().replace("web-1-eth1", "web-1-db");
    let md = w.markdown(&renamed);
    assert_well_formed(&md);
    assert!(
        md.contains(
            "> [!TIP]\n> `network_interface.web-1-eth1` is destroyed and `network_interface.web-1-db` created with the same attributes. If it was only renamed, `nicplan state mv network_interface.web-1-eth1 network_interface.web-1-db` keeps the object"
        ),
        "{md}"
    );
    // A real change is no rename: the new NIC in another subnet gets no tip.
    let moved = renamed.replacen(
        "  web-1-db:\n    subnet: db-a\n",
        "  web-1-db:\n    subnet: mgmt-a\n",
        1,
    );
    assert!(!w.markdown(&moved).contains("[!TIP]"));
}
