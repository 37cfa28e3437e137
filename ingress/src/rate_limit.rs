//! Rate limits on the public chat endpoints: new sessions per client address, messages per
//! conversation and per client address.
//!
//! Counters live in memory, per ingress process (fixed windows). With N ingress replicas behind a
//! load balancer a client gets up to N times the allowance; that is accepted: these limits stop
//! floods and scripted abuse, not a careful attacker spreading requests, and keeping them off
//! Postgres keeps the hot chat path free of an extra write per message. The address is the one the
//! login throttle uses ([`crate::extract::ClientIp`]): `X-Forwarded-For` counts only from
//! `JOXAI_TRUSTED_PROXIES`.
//!
//! Loopback callers (127.0.0.1, ::1) are limited like anyone else: behind a reverse proxy on the same
//! host every customer arrives from loopback, and an exemption would exempt them all. The load
//! generator and the test harness, which run there at hundreds of messages a second, turn the
//! exemption on explicitly (`JOXAI_RATE_LIMIT_EXEMPT_LOOPBACK=true`, a field of the typed config).
//!
//! Settings (environment, read once at start-up): `JOXAI_RATE_LIMIT_WINDOW_SECS` (60),
//! `JOXAI_RATE_LIMIT_SESSIONS_PER_IP` (20), `JOXAI_RATE_LIMIT_MESSAGES_PER_CONVERSATION` (30),
//! `JOXAI_RATE_LIMIT_MESSAGES_PER_IP` (120). A limit of 0
//! switches that limit off.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct Limits {
    pub window: Duration,
    pub sessions_per_ip: u32,
    pub messages_per_conversation: u32,
    pub messages_per_ip: u32,
    pub limit_loopback: bool,
}

impl Default for Limits {
    /// A person types a few messages a minute: 30 per conversation is far above that, and 20 new
    /// sessions a minute from one address allows a busy branch office behind one NAT.
    fn default() -> Self {
        Limits {
            window: Duration::from_secs(60),
            sessions_per_ip: 20,
            messages_per_conversation: 30,
            messages_per_ip: 120,
            limit_loopback: true,
        }
    }
}

impl Limits {
    pub fn from_env() -> Limits {
        let d = Limits::default();
        let num = |name: &str, default: u64| -> u64 {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        Limits {
            window: Duration::from_secs(
                num("JOXAI_RATE_LIMIT_WINDOW_SECS", d.window.as_secs()).max(1),
            ),
            sessions_per_ip: num("JOXAI_RATE_LIMIT_SESSIONS_PER_IP", d.sessions_per_ip.into())
                as u32,
            messages_per_conversation: num(
                "JOXAI_RATE_LIMIT_MESSAGES_PER_CONVERSATION",
                d.messages_per_conversation.into(),
            ) as u32,
            messages_per_ip: num("JOXAI_RATE_LIMIT_MESSAGES_PER_IP", d.messages_per_ip.into())
                as u32,
            limit_loopback: d.limit_loopback,
        }
    }
}

/// Keys kept before expired windows are swept; bounds memory under a flood of distinct addresses.
const SWEEP_ABOVE: usize = 50_000;

pub struct RateLimiter {
    pub limits: Limits,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        RateLimiter {
            limits,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the limits apply to a caller at `ip` (loopback is exempt unless configured).
    pub fn applies_to(&self, ip: &str) -> bool {
        self.limits.limit_loopback
            || !ip
                .parse::<std::net::IpAddr>()
                .is_ok_and(|a| a.is_loopback())
    }

    /// Count one hit on `key`; 429 with `Retry-After` (seconds until the window ends) past `limit`.
    pub fn hit(&self, key: String, limit: u32, what: &str) -> Result<(), ApiError> {
        if limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let window = self.limits.window;
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = windows.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            let left = window.saturating_sub(now.duration_since(entry.0));
            let retry_after = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            return Err(ApiError::TooManyRequests(
                format!("too many {what}; try again shortly"),
                retry_after.max(1),
            ));
        }
        entry.1 += 1;
        Ok(())
    }

    /// A new chat session from `ip`.
    pub fn session(&self, ip: &str) -> Result<(), ApiError> {
        if !self.applies_to(ip) {
            return Ok(());
        }
        self.hit(
            format!("session:{ip}"),
            self.limits.sessions_per_ip,
            "new chat sessions from your address",
        )
    }

    /// A customer message in `conversation_id` from `ip`.
    pub fn message(&self, ip: &str, conversation_id: uuid::Uuid) -> Result<(), ApiError> {
        if !self.applies_to(ip) {
            return Ok(());
        }
        self.hit(
            format!("conv:{conversation_id}"),
            self.limits.messages_per_conversation,
            "messages in this conversation",
        )?;
        self.hit(
            format!("ip:{ip}"),
            self.limits.messages_per_ip,
            "messages from your address",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(limit: u32, window_ms: u64) -> RateLimiter {
        RateLimiter::new(Limits {
            window: Duration::from_millis(window_ms),
            sessions_per_ip: limit,
            messages_per_conversation: limit,
            messages_per_ip: 100,
            limit_loopback: false,
        })
    }

    #[test]
    fn a_key_is_refused_past_its_limit_and_allowed_again_after_the_window() {
        let l = limiter(2, 50);
        assert!(l.session("10.0.0.1").is_ok());
        assert!(l.session("10.0.0.1").is_ok());
        let Err(ApiError::TooManyRequests(_, retry)) = l.session("10.0.0.1") else {
            panic!("third is refused")
        };
        assert_eq!(retry, 1);
        assert!(
            l.session("10.0.0.2").is_ok(),
            "other addresses are not affected"
        );
        std::thread::sleep(Duration::from_millis(60));
        assert!(l.session("10.0.0.1").is_ok(), "a new window");
    }

    #[test]
    fn loopback_is_exempt_unless_configured() {
        let l = limiter(1, 60_000);
        for _ in 0..5 {
            assert!(l.session("127.0.0.1").is_ok());
            assert!(l.session("::1").is_ok());
        }
        let mut limits = l.limits.clone();
        limits.limit_loopback = true;
        let l = RateLimiter::new(limits);
        assert!(l.session("127.0.0.1").is_ok());
        assert!(l.session("127.0.0.1").is_err());
    }
}
