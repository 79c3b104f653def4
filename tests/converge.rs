//! Every example, applied to the simulator from nothing, converges: the apply succeeds
//! and the next plan is empty.

use nicplan::cloud::sim::Sim;
use nicplan::plan::Options;
use nicplan::state::memory::MemoryStore;
use nicplan::{apply, ops};

fn model_of(path: &str) -> nicplan::model::Model {
    let bytes = std::fs::read(path).expect("example readable");
    let v = nicplan::validate(path, bytes, None);
    assert!(!v.has_errors(), "{path}: {:?}", v.diagnostics);
    v.model.expect("model")
}

fn converge(path: &str) {
    let model = model_of(path);
    let mut sim = Sim::in_memory(model.capabilities.multiple_ips);
    sim.set_build_time(std::time::Duration::ZERO);
    let store = MemoryStore::new();
    let planned = ops::plan(&model, &store, &sim, true, &Options::default()).expect("plans");
    let errors: Vec<_> = planned
        .plan
        .diagnostics
        .iter()
        .filter(|d| d.severity() == nicplan::Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.is_empty(), "{path}: {errors:#?}");
    assert!(!planned.plan.steps.is_empty());
    let (_, outcome) =
        ops::apply(planned, &store, &sim, &apply::Options::default(), &|_| {}).expect("applies");
    assert!(outcome.succeeded(), "{path}: {outcome:#?}");
    let again = ops::plan(&model, &store, &sim, true, &Options::default()).expect("plans");
    assert!(again.drift.is_empty(), "{path}: drift {:#?}", again.drift);
    assert!(
        again.plan.steps.is_empty(),
        "{path}: second plan not empty: {:#?}",
        again
            .plan
            .steps
            .iter()
            .map(|s| s.describe())
            .collect::<Vec<_>>()
    );
}

#[test]
fn every_example_converges_on_the_simulator() {
    for entry in std::fs::read_dir("examples").expect("examples") {
        let path = entry.expect("entry").path();
        let name = path.to_string_lossy().to_string();
        if !name.ends_with(".yaml") || name.contains("mistakes") || name.contains("github-") {
            continue;
        }
        converge(&name);
    }
}
