//! The redaction rule's own promise, "where a rule must guess it masks": after redaction no Luhn-valid
//! run of 13–19 digits is left in the text.
//!
//! The same promise for a text sent as two messages: each half redacted alone, then the ticket worker's
//! check across messages (`mask_split_number`), leaves no card number in the two read together.
//!
//! It once found a stretch starting at a neighbouring number that left most of a card readable
//! ("ref 2 1028450406346198 918" → "ref 210284******6198 918"); masking the union of every Luhn-valid
//! stretch and checking the output again fixed it (see `nlu/src/redact/cards.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let once = joxai_nlu::redact::redact(text);
        assert!(!joxai_nlu::redact::contains_pan(&once), "a card number survived redaction: {once:?}");
        // Split at the middle character, as if sent in two messages.
        let middle = text.char_indices().map(|(i, _)| i).nth(text.chars().count() / 2).unwrap_or(0);
        let (first, second) = (joxai_nlu::redact::redact(&text[..middle]), joxai_nlu::redact::redact(&text[middle..]));
        let (first, second) = match joxai_nlu::redact::mask_split_number(&[&first], &second) {
            Some(split) => (
                split.earlier[0].clone().unwrap_or_else(|| first.clone().into_owned()),
                split.latest.unwrap_or_else(|| second.clone().into_owned()),
            ),
            None => (first.into_owned(), second.into_owned()),
        };
        let joined = format!("{first}\n{second}");
        assert!(!joxai_nlu::redact::contains_pan(&joined), "a split card number survived: {joined:?}");
    }
});
