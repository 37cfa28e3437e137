//! Bus messages as the workers and the notifier read them: any bytes on a subject must decode to a
//! command or event, or be refused with an error — never a panic (a panic would kill a worker and
//! redeliver the poison message to the next one).
#![no_main]

use joxai_schemas::{Command, Event, RawEnvelope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = RawEnvelope::parse(data) {
        let _ = Command::decode(&raw);
        let _ = Event::decode(&raw);
    }
});
