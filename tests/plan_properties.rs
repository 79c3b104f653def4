//! Property tests of the planner's guarantees, against a simulator that behaves like
//! the platform as documented: VPCs and subnets provision, deletes finish later,
//! instances build, stop, start and resize only when stopped, public IPs attach, all
//! with small random delays; addresses the cloud assigns are the lowest free ones.
//!
//! - Between random valid networks (`any_plan_between_valid_networks...`): every plan
//!   passes its own safety check unless it resizes a running instance the file does not
//!   allow to stop (then `stop_required`, and only then); a passing plan applies without
//!   a refusal and the next plan is empty.
//! - Dense subnets with pinned and assigned addresses mixed, and objects made outside
//!   nicplan holding addresses and NICs (`dense_subnets...`): the plan passes, applies
//!   cleanly, and the next plan is empty, although the cloud hands out the very
//!   addresses later NICs pin.
//!
//! `NICPLAN_PROPTEST_CASES` sets the number of cases (default 1,000 each).

use std::collections::BTreeSet;
use std::fmt::Write;
use std::time::Duration;

use nicplan::cloud::sim::{Delays, Sim};
use nicplan::plan::Options;
use nicplan::resource::Status;
use nicplan::state::memory::MemoryStore;
use nicplan::{Code, apply, ops};
use proptest::prelude::*;

const SUBNETS: [(&str, &str, &str); 4] = [
    ("a1", "10.0.1.0/24", "kr-central-2-a"),
    ("a2", "10.0.2.0/24", "kr-central-2-a"),
    ("b1", "10.0.3.0/24", "kr-central-2-b"),
    ("b2", "10.0.4.0/24", "kr-central-2-b"),
];
const TYPES: [&str; 5] = [
    "t1i.nano",
    "m2a.large",
    "m2a.xlarge",
    "r2a.baremetal",
    "t1i.medium",
];
const GROUPS: [&[&str]; 4] = [&["g1"], &["g2"], &["g1", "g2"], &[]];

#[derive(Clone, Debug)]
struct Nic {
    subnet: usize,
    /// Pins the slot's own address: each NIC slot has one address of its own in every
    /// subnet (100 + slot for secondaries, 200 + slot for primaries), far above the
    /// addresses the cloud assigns, so a pin never collides with an address another
    /// interface keeps (that conflict is refused by the planner, rightly).
    ip: bool,
    groups: usize,
    check: bool,
    /// Secondary attachment: index of an instance.
    attach: Option<usize>,
}

#[derive(Clone, Debug)]
struct Instance {
    kind: usize,
    image: bool,
    /// Which of two possible primary NICs it uses.
    primary_alt: bool,
    /// `lifecycle.allow_stop`.
    allow_stop: bool,
    primary: Nic,
}

#[derive(Clone, Debug)]
struct Network {
    instances: Vec<Option<Instance>>,
    secondaries: Vec<Option<Nic>>,
    /// Public IPs: `None` absent, `Some(None)` unassociated, `Some(Some(k))` on NIC k
    /// of the list of all NICs.
    public_ips: Vec<Option<Option<usize>>>,
}

fn nic() -> impl Strategy<Value = Nic> {
    (
        0..4usize,
        any::<bool>(),
        0..4usize,
        any::<bool>(),
        proptest::option::of(0..4usize),
    )
        .prop_map(|(subnet, ip, groups, check, attach)| Nic {
            subnet,
            ip,
            groups,
            check,
            attach,
        })
}

fn instance() -> impl Strategy<Value = Instance> {
    (
        0..TYPES.len(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.7),
        nic(),
    )
        .prop_map(|(kind, image, primary_alt, allow_stop, primary)| Instance {
            kind,
            image,
            primary_alt,
            allow_stop,
            primary,
        })
}

fn network() -> impl Strategy<Value = Network> {
    (
        prop::collection::vec(prop::option::weighted(0.8, instance()), 4),
        prop::collection::vec(prop::option::weighted(0.7, nic()), 6),
        prop::collection::vec(prop::option::of(prop::option::of(0..10usize)), 3),
    )
        .prop_map(|(instances, secondaries, public_ips)| Network {
            instances,
            secondaries,
            public_ips,
        })
}

/// Small delays for every kind of change, so the executor waits for each of them.
fn delays() -> impl Strategy<Value = Delays> {
    (0..4u64, 0..4u64, 0..4u64, 0..4u64, 0..4u64).prop_map(
        |(provision, build, power, attach, delete)| Delays {
            provision,
            build,
            power,
            attach,
            delete,
        },
    )
}

/// Renders a network as a desired-state file, dropping whatever would break a rule
/// (an attachment over capacity or across zones, an IP taken twice, a missing security
/// group), so every file is valid by construction. `allow_all` allows every instance
/// to stop, whatever the network says.
fn render(net: &Network, allow_all: bool) -> String {
    let mut y = String::from("version: 1\nvpcs:\n  main:\n    cidr_block: 10.0.0.0/16\nsubnets:\n");
    for (name, cidr, zone) in SUBNETS {
        let _ = write!(
            y,
            "  {name}:\n    vpc: main\n    cidr_block: {cidr}\n    availability_zone: {zone}\n"
        );
    }
    y.push_str("security_groups:\n  g1: {}\n  g2: { description: second }\n");
    let ip_of = |n: &Nic, slot: usize| -> Option<String> {
        n.ip.then(|| format!("10.0.{}.{slot}", n.subnet + 1))
    };
    let mut instances = String::from("instances:\n");
    let mut nics = String::from("network_interfaces:\n");
    let mut nic_names: Vec<String> = Vec::new();
    let mut counts = [0usize; 4];
    let write_nic = |out: &mut String,
                     name: &str,
                     n: &Nic,
                     bare_metal: bool,
                     attach: Option<usize>,
                     ip: Option<String>| {
        let _ = write!(out, "  {name}:\n    subnet: {}\n", SUBNETS[n.subnet].0);
        if let Some(ip) = ip {
            let _ = writeln!(out, "    private_ip: {ip}");
        }
        let groups = GROUPS[n.groups];
        let groups: &[&str] = if groups.is_empty() && !bare_metal {
            &["g1"]
        } else {
            groups
        };
        let _ = writeln!(out, "    security_groups: [{}]", groups.join(", "));
        if !n.check {
            out.push_str("    source_dest_check: false\n");
        }
        if let Some(i) = attach {
            let _ = writeln!(out, "    attach_to: i{i}");
        }
    };
    for (i, inst) in net.instances.iter().enumerate() {
        let Some(inst) = inst else { continue };
        let primary = if inst.primary_alt {
            format!("i{i}-alt")
        } else {
            format!("i{i}-eth0")
        };
        let _ = write!(
            instances,
            "  i{i}:\n    type: {}\n    image: {}\n    primary_interface: {primary}\n",
            TYPES[inst.kind],
            if inst.image {
                "ubuntu-22.04"
            } else {
                "rocky-9"
            }
        );
        if inst.allow_stop || allow_all {
            instances.push_str("    lifecycle: { allow_stop: true }\n");
        }
        let ip = ip_of(&inst.primary, 200 + i);
        write_nic(
            &mut nics,
            &primary,
            &inst.primary,
            TYPES[inst.kind] == "r2a.baremetal",
            None,
            ip,
        );
        nic_names.push(primary);
        counts[i] = 1;
    }
    for (k, n) in net.secondaries.iter().enumerate() {
        let Some(n) = n else { continue };
        let target = n.attach.and_then(|i| {
            let inst = net.instances[i].as_ref()?;
            let max = match TYPES[inst.kind] {
                "t1i.nano" | "r2a.baremetal" => 2,
                "m2a.large" | "t1i.medium" => 3,
                _ => 4,
            };
            let same_zone = SUBNETS[inst.primary.subnet].2 == SUBNETS[n.subnet].2;
            (same_zone && counts[i] < max).then_some(i)
        });
        if let Some(i) = target {
            counts[i] += 1;
        }
        let bare_metal = target
            .and_then(|i| net.instances[i].as_ref())
            .is_some_and(|inst| TYPES[inst.kind] == "r2a.baremetal");
        let ip = ip_of(n, 100 + k);
        let name = format!("s{k}");
        write_nic(&mut nics, &name, n, bare_metal, target, ip);
        nic_names.push(name);
    }
    let mut pips = String::from("public_ips:\n");
    let mut taken: Vec<String> = Vec::new();
    for (p, pip) in net.public_ips.iter().enumerate() {
        let Some(pip) = pip else { continue };
        match pip.and_then(|k| nic_names.get(k % nic_names.len().max(1))) {
            Some(nic) if !taken.contains(nic) => {
                taken.push(nic.clone());
                let _ = writeln!(pips, "  pip{p}:\n    network_interface: {nic}");
            }
            _ => {
                let _ = writeln!(pips, "  pip{p}: {{}}");
            }
        }
    }
    y.push_str(&instances);
    y.push_str(&nics);
    y.push_str(&pips);
    y
}

fn model(text: &str) -> Result<nicplan::model::Model, TestCaseError> {
    let v = nicplan::validate("gen.yaml", text.as_bytes().to_vec(), None);
    let errors: Vec<String> = v
        .diagnostics
        .iter()
        .filter(|d| d.severity() == nicplan::Severity::Error)
        .map(|d| d.message.to_string())
        .collect();
    prop_assert!(
        errors.is_empty(),
        "generated file breaks a rule: {errors:?}\n{text}"
    );
    v.model.ok_or_else(|| TestCaseError::fail("no model"))
}

fn apply_options() -> apply::Options {
    apply::Options {
        poll_interval: Duration::from_millis(1),
        timeouts: apply::Timeouts::all(Duration::from_secs(20)),
        ..apply::Options::default()
    }
}

fn plan_of(sim: &Sim, store: &MemoryStore, text: &str) -> Result<ops::Planned, TestCaseError> {
    let model = model(text)?;
    ops::plan(&model, store, sim, true, &Options::default())
        .map_err(|e| TestCaseError::fail(e.to_string()))
}

fn errors_of(planned: &ops::Planned) -> Vec<(Code, String)> {
    planned
        .plan
        .diagnostics
        .iter()
        .filter(|d| d.severity() == nicplan::Severity::Error)
        .map(|d| (d.code, d.message.to_string()))
        .collect()
}

/// Applies a plan that must have passed, then checks the next plan is empty.
fn apply_and_settle(
    sim: &Sim,
    store: &MemoryStore,
    text: &str,
    planned: ops::Planned,
) -> Result<(), TestCaseError> {
    let steps: Vec<String> = planned.plan.steps.iter().map(|s| s.describe()).collect();
    let (_, outcome) = ops::apply(planned, store, sim, &apply_options(), &|_| {})
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(
        outcome.succeeded(),
        "apply failed: {outcome:#?}\nsteps: {steps:#?}\n{text}"
    );
    let again = plan_of(sim, store, text)?;
    let left: Vec<String> = again.plan.steps.iter().map(|s| s.describe()).collect();
    prop_assert!(
        left.is_empty(),
        "second plan not empty: {left:#?}\nafter steps {steps:#?}\n{text}"
    );
    prop_assert!(
        again.drift.is_empty(),
        "drift after apply: {:#?}",
        again.drift
    );
    Ok(())
}

/// Plans, applies and checks that the next plan is empty; the plan must pass.
fn converge(sim: &Sim, store: &MemoryStore, text: &str) -> Result<(), TestCaseError> {
    let planned = plan_of(sim, store, text)?;
    let errors = errors_of(&planned);
    let steps: Vec<String> = planned.plan.steps.iter().map(|s| s.describe()).collect();
    prop_assert!(
        errors.is_empty(),
        "plan refused: {errors:#?}\nsteps: {steps:#?}\n{text}"
    );
    apply_and_settle(sim, store, text, planned)
}

fn cases() -> u32 {
    std::env::var("NICPLAN_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// A dense network: three /28 subnets (13 usable addresses each, from .2 to .14), up
/// to ten NICs, each either pinned to its slot's address in the low range (.2 + slot),
/// exactly where the cloud hands out assigned addresses first, or assigned; and NICs
/// made outside nicplan holding .13 and .14 of some subnets.
#[derive(Clone, Debug)]
struct Dense {
    /// Per NIC slot: subnet, pinned, attached to instance (index into `instances`).
    nics: Vec<Option<(usize, bool, Option<usize>)>>,
    /// Per instance: type index and the slot of its primary NIC.
    instances: Vec<Option<(usize, usize)>>,
    /// Per subnet: how many NICs outside nicplan hold its top addresses (0 to 2), and
    /// whether one of them is attached to a managed instance afterwards.
    strangers: Vec<usize>,
}

const DENSE: [(&str, &str, &str); 3] = [
    ("d1", "10.1.1.0/28", "kr-central-2-a"),
    ("d2", "10.1.1.16/28", "kr-central-2-a"),
    ("d3", "10.1.1.32/28", "kr-central-2-b"),
];

fn dense() -> impl Strategy<Value = Dense> {
    (
        prop::collection::vec(
            prop::option::weighted(
                0.85,
                (0..3usize, any::<bool>(), prop::option::of(0..4usize)),
            ),
            10,
        ),
        prop::collection::vec(prop::option::weighted(0.8, (0..TYPES.len(), 0..10usize)), 4),
        prop::collection::vec(0..3usize, 3),
    )
        .prop_map(|(nics, instances, strangers)| Dense {
            nics,
            instances,
            strangers,
        })
}

/// The third address of a dense subnet, plus `offset`.
fn dense_ip(subnet: usize, offset: usize) -> String {
    format!("10.1.1.{}", 16 * subnet + 2 + offset)
}

/// The network part every dense file shares: the VPC, the subnets, the groups.
fn dense_base() -> String {
    let mut y =
        String::from("version: 1\nvpcs:\n  dense:\n    cidr_block: 10.1.0.0/16\nsubnets:\n");
    for (name, cidr, zone) in DENSE {
        let _ = write!(
            y,
            "  {name}:\n    vpc: dense\n    cidr_block: {cidr}\n    availability_zone: {zone}\n"
        );
    }
    y.push_str("security_groups:\n  g1: {}\n");
    y
}

/// Renders a dense network, valid by construction: every instance's primary NIC is
/// the one in its slot (dropped when that slot is empty or taken), secondaries attach
/// within capacity and zone.
fn render_dense(d: &Dense) -> String {
    let mut y = dense_base();
    let mut primary_of: Vec<Option<usize>> = vec![None; d.instances.len()];
    let mut used_slots = BTreeSet::new();
    for (i, inst) in d.instances.iter().enumerate() {
        if let Some((_, slot)) = inst
            && d.nics[*slot].is_some()
            && used_slots.insert(*slot)
        {
            primary_of[i] = Some(*slot);
        }
    }
    let mut counts = vec![0usize; d.instances.len()];
    let mut instances = String::from("instances:\n");
    for (i, inst) in d.instances.iter().enumerate() {
        let (Some((kind, _)), Some(slot)) = (inst, primary_of[i]) else {
            continue;
        };
        counts[i] = 1;
        let _ = write!(
            instances,
            "  i{i}:\n    type: {}\n    image: ubuntu-22.04\n    primary_interface: n{slot}\n",
            TYPES[*kind]
        );
    }
    let mut nics = String::from("network_interfaces:\n");
    for (k, n) in d.nics.iter().enumerate() {
        let Some((subnet, pinned, attach)) = n else {
            continue;
        };
        let _ = write!(
            nics,
            "  n{k}:\n    subnet: {}\n    security_groups: [g1]\n",
            DENSE[*subnet].0
        );
        if *pinned {
            let _ = writeln!(nics, "    private_ip: {}", dense_ip(*subnet, k));
        }
        let is_primary = primary_of.contains(&Some(k));
        let target = attach.filter(|_| !is_primary).and_then(|i| {
            let (kind, _) = d.instances.get(i).copied().flatten()?;
            let home = d.nics[primary_of[i]?]?.0;
            let max = match TYPES[kind] {
                "t1i.nano" | "r2a.baremetal" => 2,
                "m2a.large" | "t1i.medium" => 3,
                _ => 4,
            };
            // One place left on every instance for a NIC made outside nicplan.
            (DENSE[home].2 == DENSE[*subnet].2 && counts[i] + 1 < max).then_some(i)
        });
        if let Some(i) = target {
            counts[i] += 1;
            let _ = writeln!(nics, "    attach_to: i{i}");
        }
    }
    y.push_str(&instances);
    y.push_str(&nics);
    y
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_plan_between_valid_networks_is_safe_and_converges(
        current in network(),
        desired in network(),
        stopped in prop::collection::vec(any::<bool>(), 4),
        delays in delays(),
    ) {
        let mut sim = Sim::in_memory(true);
        sim.set_delays(delays);
        let store = MemoryStore::new();
        converge(&sim, &store, &render(&current, false))?;
        // Some instances are stopped by hand: a resize then needs no stop, and they
        // stay stopped.
        for (i, stop) in stopped.iter().enumerate() {
            if *stop && current.instances[i].is_some() {
                sim.set_instance_status(&format!("i{i}"), Status::Stopped)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
        }
        let text = render(&desired, false);
        let planned = plan_of(&sim, &store, &text)?;
        let errors = errors_of(&planned);
        // Only a resize of a running instance that may not stop is refused, and it
        // always is.
        let world = sim.world().map_err(|e| TestCaseError::fail(e.to_string()))?;
        // Running, or about to: an instance still building runs once built.
        let running = |name: &str| {
            world.instances.values().any(|i| {
                i.name == name
                    && matches!(i.status, Status::Active | Status::Building | Status::Starting)
            })
        };
        let must_stop: BTreeSet<String> = planned
            .plan
            .steps
            .iter()
            .filter(|s| s.action == nicplan::plan::Action::Resize)
            .map(|s| s.address.name.to_string())
            .filter(|name| {
                let index: usize = name[1..].parse().unwrap_or(usize::MAX);
                running(name)
                    && !desired.instances.get(index).and_then(Option::as_ref).is_some_and(|i| i.allow_stop)
            })
            .collect();
        let refused: BTreeSet<String> = errors
            .iter()
            .filter(|(code, _)| *code == Code::StopRequired)
            .filter_map(|(_, m)| m.split("instance.").nth(1).and_then(|r| r.split_whitespace().next()).map(|n| n.trim_end_matches(',').to_string()))
            .collect();
        prop_assert!(
            errors.iter().all(|(code, _)| *code == Code::StopRequired),
            "plan refused for another reason: {errors:#?}\n{text}"
        );
        prop_assert_eq!(&refused, &must_stop, "{:#?}\n{}", errors, text);
        if must_stop.is_empty() {
            apply_and_settle(&sim, &store, &text, planned)?;
        } else {
            // Allowed to stop, the same change passes and applies.
            converge(&sim, &store, &render(&desired, true))?;
        }
    }

    #[test]
    fn dense_subnets_with_pinned_and_assigned_addresses_and_strangers_converge(
        d in dense(),
        delays in delays(),
    ) {
        let mut sim = Sim::in_memory(true);
        sim.set_delays(delays);
        let store = MemoryStore::new();
        // The subnets first; then NICs made outside nicplan take their top addresses.
        converge(&sim, &store, &dense_base())?;
        for (subnet, count) in d.strangers.iter().enumerate() {
            for k in 0..*count {
                sim.operator_create_nic(
                    &format!("stranger-{subnet}-{k}"),
                    DENSE[subnet].0,
                    Some(dense_ip(subnet, 12 - k).parse().map_err(|_| TestCaseError::fail("ip"))?),
                    &["g1".to_string()],
                    None,
                )
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
        }
        let text = render_dense(&d);
        converge(&sim, &store, &text)?;
        // A stranger attached to a managed instance takes a place on it, which the
        // next plan counts: it still passes (one place was left), and changes nothing.
        if let Some(i) = d.instances.iter().position(Option::is_some)
            && text.contains(&format!("  i{i}:"))
            && d.strangers[0] > 0
            && sim.world().map(|w| w.instances.values().any(|x| x.name == format!("i{i}") && x.availability_zone == DENSE[0].2)).unwrap_or(false)
        {
            let world = sim.world().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let instance = world.instances.values().find(|x| x.name == format!("i{i}")).map(|x| x.id.clone()).unwrap_or_default();
            let stranger = world.nics.values().find(|n| n.name == "stranger-0-0").map(|n| n.id.clone()).unwrap_or_default();
            sim.set_delays(Delays::all(0));
            // Its build is over by the time someone attaches a NIC by hand.
            sim.set_instance_status(&instance, Status::Active)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            nicplan::cloud::Cloud::attach_nic(&sim, &instance, &stranger)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let planned = plan_of(&sim, &store, &text)?;
            prop_assert!(errors_of(&planned).is_empty(), "{:#?}", errors_of(&planned));
            prop_assert!(planned.plan.steps.is_empty());
        }
    }
}
