//! Speed and memory of the planner on large networks: `cargo bench --bench plan`.
//!
//! For N instances (each with a primary and a secondary NIC in its own zone, half of
//! them with a public IP) it measures: validating the file, planning it from nothing,
//! applying that plan to the in-memory simulator, planning again against the full state
//! (no changes), and planning a change to every tenth instance. Each figure is the
//! median of several runs; peak memory is the process's high-water mark (VmHWM).

use std::fmt::Write;
use std::time::{Duration, Instant};

use nicplan::cloud::sim::Sim;
use nicplan::plan::Options;
use nicplan::state::{LockInfo, State, StateError, StateStore};

/// A store that checks the serial and keeps the state in memory without encoding it,
/// so the apply figure measures the executor and the simulator; the cost of encoding
/// one state is measured apart.
#[derive(Default)]
struct Unencoded(std::sync::Mutex<Option<State>>);

impl StateStore for Unencoded {
    fn describe(&self) -> String {
        "bench".into()
    }
    fn read(&self) -> Result<Option<State>, StateError> {
        Ok(self
            .0
            .lock()
            .map_err(|_| StateError::Corrupt {
                path: "bench".into(),
                reason: "poisoned".into(),
            })?
            .clone())
    }
    fn write(&self, state: &mut State) -> Result<(), StateError> {
        state.serial += 1;
        *self.0.lock().map_err(|_| StateError::Corrupt {
            path: "bench".into(),
            reason: "poisoned".into(),
        })? = Some(state.clone());
        Ok(())
    }
    fn lock(&self, _: &str) -> Result<LockInfo, StateError> {
        unreachable!("the bench takes no lock")
    }
    fn unlock(&self, _: &LockInfo) -> Result<(), StateError> {
        Ok(())
    }
    fn force_unlock(&self, _: &str) -> Result<(), StateError> {
        Ok(())
    }
}
use nicplan::{apply, ops};

fn network(n: usize, change: bool) -> String {
    let mut y = format!(
        "version: 1\nsettings:\n  quotas: {{ instances: {} }}\nvpcs:\n  main:\n    cidr_block: 10.0.0.0/16\nsubnets:\n",
        n.max(500)
    );
    // Six /20 blocks, two per zone: room for 4,093 NICs each.
    for (i, (zone, k)) in [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("c", 0), ("c", 1)]
        .iter()
        .enumerate()
    {
        let _ = write!(
            y,
            "  {zone}{k}:\n    vpc: main\n    cidr_block: 10.0.{}.0/20\n    availability_zone: kr-central-2-{zone}\n",
            i * 16
        );
    }
    y.push_str("security_groups:\n  web-sg: {}\n  db-sg: { description: database }\ninstances:\n");
    for i in 0..n {
        let kind = if change && i % 10 == 0 {
            "m2a.xlarge"
        } else {
            "m2a.large"
        };
        let _ = write!(
            y,
            "  vm-{i}:\n    type: {kind}\n    image: ubuntu-22.04\n    primary_interface: vm-{i}-eth0\n    lifecycle: {{ allow_stop: true }}\n"
        );
    }
    y.push_str("network_interfaces:\n");
    for i in 0..n {
        let zone = ["a", "b", "c"][i % 3];
        let _ = write!(
            y,
            "  vm-{i}-eth0:\n    subnet: {zone}0\n    security_groups: [web-sg]\n  vm-{i}-eth1:\n    subnet: {zone}1\n    security_groups: [{}]\n    attach_to: vm-{i}\n",
            if change && i % 10 == 0 {
                "db-sg, web-sg"
            } else {
                "db-sg"
            }
        );
    }
    y.push_str("public_ips:\n");
    for i in (0..n).step_by(2) {
        let _ = write!(y, "  pip-{i}:\n    network_interface: vm-{i}-eth0\n");
    }
    y
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        times.push(start.elapsed());
        last = Some(out);
    }
    (median(times), last.expect("at least one run"))
}

fn peak_memory_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Above this many instances the bench skips the apply (the simulator copies its
/// world on every call, so applying grows with the square of the network) and the
/// figures that need an applied state.
const APPLY_UP_TO: usize = 2000;

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100, 1000, 10_000]
    } else {
        sizes
    };
    println!(
        "| instances | NICs | file KiB | validate ms | plan from nothing ms | steps | apply to sim ms | state encode ms | plan, no change ms | plan, 10% changed ms | peak MiB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let runs = if n >= 5000 { 3 } else { 5 };
        let text = network(n, false);
        let (validate_t, v) = time(runs, || {
            nicplan::validate("bench.yaml", text.as_bytes().to_vec(), None)
        });
        assert!(!v.has_errors(), "the generated file has errors");
        let model = v.model.expect("model");
        let mut sim = Sim::in_memory(true);
        sim.set_build_time(Duration::ZERO);
        // The file raises the instance quota; so does the platform.
        let mut settings = sim.settings().expect("settings");
        settings.quotas.instances = u32::try_from(n.max(500)).unwrap_or(u32::MAX);
        sim.set_settings(settings).expect("settings");
        let store = Unencoded::default();
        let (plan_t, planned) = time(runs, || {
            ops::plan(&model, &store, &sim, true, &Options::default()).expect("plans")
        });
        assert!(!planned.plan.has_errors());
        let steps = planned.plan.steps.len();
        let mut row = format!(
            "| {n} | {} | {} | {} | {} | {steps} |",
            2 * n,
            text.len() / 1024,
            ms(validate_t),
            ms(plan_t)
        );
        if n <= APPLY_UP_TO {
            let options = apply::Options {
                poll_interval: Duration::from_millis(1),
                ..apply::Options::default()
            };
            let start = Instant::now();
            let (_, outcome) =
                ops::apply(planned, &store, &sim, &options, &|_| {}).expect("applies");
            let apply_t = start.elapsed();
            assert!(outcome.succeeded());
            let full = store.read().expect("reads").expect("state");
            let (encode_t, _) = time(runs, || full.to_json());
            let (noop_t, noop) = time(runs, || {
                ops::plan(&model, &store, &sim, true, &Options::default()).expect("plans")
            });
            assert!(noop.plan.steps.is_empty());
            let changed = nicplan::validate("bench.yaml", network(n, true).into_bytes(), None)
                .model
                .expect("model");
            let (change_t, change) = time(runs, || {
                ops::plan(&changed, &store, &sim, true, &Options::default()).expect("plans")
            });
            assert!(!change.plan.has_errors() && !change.plan.steps.is_empty());
            row.push_str(&format!(
                " {} | {} | {} | {} |",
                ms(apply_t),
                ms(encode_t),
                ms(noop_t),
                ms(change_t)
            ));
        } else {
            row.push_str(" - | - | - | - |");
        }
        row.push_str(&format!(" {:.0} |", peak_memory_mib()));
        println!("{row}");
    }
}
