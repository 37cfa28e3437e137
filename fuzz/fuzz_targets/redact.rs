//! Redaction runs on every customer message before anything else sees it: it must never panic, never
//! add digits — also when text is redacted again downstream (the LLM client redacts what the ingress
//! already redacted). The stricter "no card number left behind" check is `redact_strict`.
//!
//! Not asserted: idempotence. Redacting twice may mask more (a cue word followed by `***` and then
//! an unrelated 3–4 digit group, "cvv ***, amex 3782-…" → "cvv ***, amex ***-…"): over-masking, never
//! a leak, recorded in docs/reliability.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let once = joxai_nlu::redact::redact(text);
        // Digits of any script: a masked card keeps its first six and last four as ASCII digits.
        let digits = |s: &str| s.chars().filter(|c| c.is_numeric()).count();
        assert!(digits(&once) <= digits(text), "redaction added digits");
        let twice = joxai_nlu::redact::redact(&once);
        assert!(digits(&twice) <= digits(&once), "a second redaction added digits");
    }
});
