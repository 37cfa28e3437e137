//! The redaction rule's own promise, "where a rule must guess it masks": after redaction no Luhn-valid
//! run of 13–19 digits is left in the text.
//!
//! Known failing (see docs/reliability.md, redaction bug): the masker takes the first Luhn-valid
//! stretch of digit groups greedily, so a stretch that starts at a neighbouring number leaves the rest
//! of a card, or a run made with the kept last four digits, unmasked — e.g.
//! "ref 2 1028450406346198 918" → "ref 210284******6198 918". `infra/scripts/fuzz.sh` skips this
//! target until the fix lands (JOXAI_FUZZ_SKIP).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let once = joxai_nlu::redact::redact(text);
        assert!(!joxai_nlu::redact::contains_pan(&once), "a card number survived redaction: {once:?}");
    }
});
