//! Arbitrary bytes as a desired-state file; when it loads without an error, the plan
//! from an empty state. Neither may panic, and the plan is ordered and complete: every
//! step waits only for steps before it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nicplan::plan::{self, Options, Outside};
use nicplan::state::State;

fuzz_target!(|data: &[u8]| {
    let validation = nicplan::validate("fuzz.yaml", data.to_vec(), None);
    let Some(model) = validation.model.as_ref() else {
        return;
    };
    if validation.has_errors() {
        return;
    }
    let planned = plan::plan(model, &State::new("fuzz"), &Outside::unknown(), &Options::default());
    for step in &planned.steps {
        assert!(step.depends_on.iter().all(|d| d.step < step.index), "{step:?}");
    }
});
