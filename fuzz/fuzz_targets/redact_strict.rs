//! The redaction rule's own promise, "where a rule must guess it masks": after redaction no Luhn-valid
//! run of 13–19 digits is left in the text.
//!
//! It found the redaction bug of issue 8 (a stretch starting at a neighbouring number left most of a
//! card readable: "ref 2 1028450406346198 918" → "ref 210284******6198 918"); fixed by masking the
//! union of every Luhn-valid stretch and checking the output again (see `nlu/src/redact.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let once = joxai_nlu::redact::redact(text);
        assert!(!joxai_nlu::redact::contains_pan(&once), "a card number survived redaction: {once:?}");
    }
});
