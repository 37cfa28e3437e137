//! Entity extraction runs on every customer message (after redaction): any text must extract without
//! panicking (regex captures, number and date parsing, slicing at char boundaries).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = joxai_nlu::entities::extract(text);
    }
});
