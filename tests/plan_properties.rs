//! Property test of the planner's guarantees, over random current and desired networks
//! within the rules: the plan from one to the other never breaks a rule at any step
//! (its own simulation passes), applying it to the simulator (which checks the
//! platform's rules on every call by itself) succeeds, and the next plan is empty.
//!
//! `NICPLAN_PROPTEST_CASES` sets the number of cases (default 3,000).

use std::fmt::Write;
use std::time::Duration;

use nicplan::cloud::sim::Sim;
use nicplan::plan::Options;
use nicplan::state::memory::MemoryStore;
use nicplan::{apply, ops};
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
        nic(),
    )
        .prop_map(|(kind, image, primary_alt, primary)| Instance {
            kind,
            image,
            primary_alt,
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

/// Renders a network as a desired-state file, dropping whatever would break a rule
/// (an attachment over capacity or across zones, an IP taken twice, a missing security
/// group), so every file is valid by construction.
fn render(net: &Network) -> String {
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
        .map(|d| d.message.clone())
        .collect();
    prop_assert!(
        errors.is_empty(),
        "generated file breaks a rule: {errors:?}\n{text}"
    );
    v.model.ok_or_else(|| TestCaseError::fail("no model"))
}

fn converge(sim: &Sim, store: &MemoryStore, text: &str) -> Result<(), TestCaseError> {
    let model = model(text)?;
    let planned = ops::plan(&model, store, sim, true, &Options::default())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let errors: Vec<String> = planned
        .plan
        .diagnostics
        .iter()
        .filter(|d| d.severity() == nicplan::Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    let steps: Vec<String> = planned.plan.steps.iter().map(|s| s.describe()).collect();
    prop_assert!(
        errors.is_empty(),
        "plan refused: {errors:#?}\nsteps: {steps:#?}\n{text}"
    );
    let options = apply::Options {
        poll_interval: Duration::from_millis(1),
        ..apply::Options::default()
    };
    let (_, outcome) = ops::apply(planned, store, sim, &options, &|_| {})
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(
        outcome.succeeded(),
        "apply failed: {outcome:#?}\nsteps: {steps:#?}\n{text}"
    );
    let again = ops::plan(&model, store, sim, true, &Options::default())
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
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

fn cases() -> u32 {
    std::env::var("NICPLAN_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_plan_between_valid_networks_is_safe_and_converges(current in network(), desired in network()) {
        let mut sim = Sim::in_memory(true);
        sim.set_build_time(Duration::ZERO);
        let store = MemoryStore::new();
        converge(&sim, &store, &render(&current))?;
        converge(&sim, &store, &render(&desired))?;
    }
}
