//! The state decoder and the plan file reader on arbitrary bytes: an error or a
//! document that reads back the same, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nicplan::state::State;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(state) = State::from_json("fuzz.json", &text) {
        let again = State::from_json("again.json", &state.to_json()).expect("its own output reads");
        assert_eq!(again, state);
    }
    if let Ok(body) = nicplan::saved::decode("fuzz.plan", data) {
        let _ = nicplan::ops::rederive("fuzz.plan", &body);
    }
});
