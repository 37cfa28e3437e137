//! Fixed-window counters in memory, the mechanism behind every public rate limit (REST in the
//! ingress, WebSocket connects in the notifier). Each process counts on its own: with N replicas a
//! client gets up to N times the allowance, which is accepted (these limits stop floods and scripted
//! abuse, and keep the hot path free of a shared store).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept before expired windows are swept; bounds memory under a flood of distinct addresses.
const SWEEP_ABOVE: usize = 50_000;

pub struct Windows {
    window: Duration,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Windows {
    pub fn new(window: Duration) -> Self {
        Windows {
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// Count one hit on `key`. Past `limit` in the current window: `Err(seconds until it ends)`, at
    /// least 1, for `Retry-After`; the refused hit is not counted. A limit of 0 is no limit.
    pub fn hit(&self, key: String, limit: u32) -> Result<(), u64> {
        if limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let window = self.window;
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if counts.len() > SWEEP_ABOVE {
            counts.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = counts.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            let left = window.saturating_sub(now.duration_since(entry.0));
            let retry_after = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            return Err(retry_after.max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// Whether a limit applies to a caller at `addr`: loopback callers are exempt only when
/// `exempt_loopback` (the load generator and test harness; see `JOXAI_RATE_LIMIT_EXEMPT_LOOPBACK`).
pub fn applies_to(addr: &str, exempt_loopback: bool) -> bool {
    !exempt_loopback
        || !addr
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}
