//! WebSocket client frames. `notifier/src/socket.rs` keeps its `ClientFrame` private and exposes no
//! parse function, so this mirrors the enum exactly (same serde attributes); keep the two in step.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

#[derive(Deserialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(dead_code)]
enum ClientFrame {
    Auth { token: String },
    Resume { after: u64 },
    Ping,
}

/// The notifier refuses frames over this size before parsing.
const MAX_FRAME_BYTES: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_FRAME_BYTES {
        return;
    }
    // Text frames are UTF-8 by the WebSocket protocol; the server parses them with serde_json.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = serde_json::from_str::<ClientFrame>(text);
    }
});
