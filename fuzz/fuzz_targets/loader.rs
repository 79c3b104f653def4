//! The desired-state loader on arbitrary bytes: a model or error diagnostics, never a
//! panic, and every span inside the file.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let validation = nicplan::validate("fuzz.yaml", data.to_vec(), None);
    if validation.model.is_none() {
        assert!(validation.has_errors(), "refused without an error");
    }
    for d in &validation.diagnostics {
        if let Some(span) = d.primary_span() {
            assert!(span.offset <= validation.source.text().len());
        }
    }
});
