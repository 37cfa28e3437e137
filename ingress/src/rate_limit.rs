//! Rate limits on the public chat endpoints: new sessions (and follow-ups) per client address,
//! messages per conversation and per client address, typing signals per conversation, and the
//! customer's other actions (talk to a person, end the chat, rate it) per conversation.
//!
//! Typing and actions are counted per conversation only: every conversation costs a new session,
//! and new sessions are limited per address, so one address can never drive more than
//! `sessions_per_ip` conversations' worth of them.
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
//! `JOXAI_RATE_LIMIT_MESSAGES_PER_IP` (120), `JOXAI_RATE_LIMIT_TYPING_PER_CONVERSATION` (40),
//! `JOXAI_RATE_LIMIT_ACTIONS_PER_CONVERSATION` (10). A limit of 0
//! switches that limit off.

use std::time::Duration;

use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct Limits {
    pub window: Duration,
    pub sessions_per_ip: u32,
    pub messages_per_conversation: u32,
    pub messages_per_ip: u32,
    /// Typing signals in one conversation per window.
    pub typing_per_conversation: u32,
    /// Escalations, closes and ratings in one conversation per window, together.
    pub actions_per_conversation: u32,
    pub limit_loopback: bool,
}

impl Default for Limits {
    /// A person types a few messages a minute: 30 per conversation is far above that, and 20 new
    /// sessions a minute from one address allows a busy branch office behind one NAT. The widget
    /// sends a typing signal at most every 3 s (20 a minute); 40 leaves room for two open tabs. A
    /// person presses "talk to a person", "end chat" or a rating star a handful of times at most.
    fn default() -> Self {
        Limits {
            window: Duration::from_secs(60),
            sessions_per_ip: 20,
            messages_per_conversation: 30,
            messages_per_ip: 120,
            typing_per_conversation: 40,
            actions_per_conversation: 10,
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
            typing_per_conversation: num(
                "JOXAI_RATE_LIMIT_TYPING_PER_CONVERSATION",
                d.typing_per_conversation.into(),
            ) as u32,
            actions_per_conversation: num(
                "JOXAI_RATE_LIMIT_ACTIONS_PER_CONVERSATION",
                d.actions_per_conversation.into(),
            ) as u32,
            limit_loopback: d.limit_loopback,
        }
    }
}

pub struct RateLimiter {
    pub limits: Limits,
    windows: joxai_platform::rate_window::Windows,
}

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        RateLimiter {
            windows: joxai_platform::rate_window::Windows::new(limits.window),
            limits,
        }
    }

    /// Whether the limits apply to a caller at `ip` (loopback is exempt unless configured).
    pub fn applies_to(&self, ip: &str) -> bool {
        joxai_platform::rate_window::applies_to(ip, !self.limits.limit_loopback)
    }

    /// Count one hit on `key`; 429 with `Retry-After` (seconds until the window ends) past `limit`.
    pub fn hit(&self, key: String, limit: u32, what: &str) -> Result<(), ApiError> {
        self.windows.hit(key, limit).map_err(|retry_after| {
            ApiError::TooManyRequests(format!("too many {what}; try again shortly"), retry_after)
        })
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

    /// A typing signal in `conversation_id` from `ip`.
    pub fn typing(&self, ip: &str, conversation_id: uuid::Uuid) -> Result<(), ApiError> {
        if !self.applies_to(ip) {
            return Ok(());
        }
        self.hit(
            format!("typing:{conversation_id}"),
            self.limits.typing_per_conversation,
            "typing signals in this conversation",
        )
    }

    /// An escalation, close or rating in `conversation_id` from `ip`. Checked before anything is
    /// published, so a refused action changes nothing.
    pub fn action(&self, ip: &str, conversation_id: uuid::Uuid) -> Result<(), ApiError> {
        if !self.applies_to(ip) {
            return Ok(());
        }
        self.hit(
            format!("action:{conversation_id}"),
            self.limits.actions_per_conversation,
            "requests in this conversation",
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
            typing_per_conversation: limit,
            actions_per_conversation: limit,
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
