//! One WebSocket session.
//!
//! Protocol (JSON text frames):
//! - client → `{"type":"auth","token":"…"}` first, within 10 s (tokens never travel in URLs, where
//!   proxies would log them); `{"type":"auth","token":"…","after":N}` also resumes at once, before
//!   any live event is sent;
//! - server → `{"type":"ready","seq":N}`, then `{"type":"event","seq":N,"event":{…}}` for every event
//!   the caller may see;
//! - client → `{"type":"resume","after":N}` after a reconnect: the server replays what it missed, then
//!   carries on live (no gap, no duplicate, even when live events were already sent between `ready`
//!   and the resume: see [`Sent`]); `{"type":"resync"}` from the server means "too far behind,
//!   refetch over REST";
//! - client → `{"type":"ping"}` / server → `{"type":"pong"}`.
//!
//! Frames over 64 KiB close the socket. A client that cannot keep up is told to resync; one whose
//! socket stops draining is dropped, so a slow reader never grows the server's memory.
//!
//! Rate limits ([`WsLimits`]): new sockets per client address (429 with `Retry-After` before the
//! upgrade), and frames per socket (over the limit the server sends
//! `{"type":"error","code":"rate_limited"}` and closes with code 4429).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt as _, StreamExt as _};
use joxai_platform::metrics::metrics;
use joxai_platform::tokens::Principal;
use joxai_schemas::Event;
use joxai_schemas::types::StaffRole;
use serde::Deserialize;
use std::collections::HashSet;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::hub::{Hub, Push};

pub const MAX_FRAME_BYTES: usize = 64 * 1024;
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// A socket that cannot take a frame within this time is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
const PING_EVERY: Duration = Duration::from_secs(25);

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Auth {
        token: String,
        #[serde(default)]
        after: Option<u64>,
    },
    Resume {
        after: u64,
    },
    Ping,
}

/// Whether a browser page at `origin` may open a socket: same host as the request, or configured.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        // Not a browser (no Origin header): tokens still protect everything.
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    origin_host == host || allowed.iter().any(|a| a == origin)
}

/// Close code for a socket that sent more frames than [`WsLimits::frames_per_socket`] in a window
/// (the 4000s are for applications; 4429 echoes HTTP's 429).
pub const CLOSE_TOO_MANY_FRAMES: u16 = 4429;

/// WebSocket rate limits. Settings (environment, read once at start-up):
/// `JOXAI_RATE_LIMIT_WINDOW_SECS` (60), `JOXAI_RATE_LIMIT_WS_CONNECTS_PER_IP` (60),
/// `JOXAI_RATE_LIMIT_WS_FRAMES_PER_SOCKET` (120); 0 switches one off.
#[derive(Debug, Clone)]
pub struct WsLimits {
    pub window: Duration,
    /// New sockets from one client address per window. The widget and the panel reconnect with
    /// backoff after a drop, and a branch office behind one NAT has many people: 60 a minute is far
    /// above that and far below a flood.
    pub connects_per_ip: u32,
    /// Frames a client sends on one socket per window. Clients send an auth frame, a ping every 25 s
    /// and a resume after a gap: a handful a minute.
    pub frames_per_socket: u32,
    pub limit_loopback: bool,
}

impl Default for WsLimits {
    fn default() -> Self {
        WsLimits {
            window: Duration::from_secs(60),
            connects_per_ip: 60,
            frames_per_socket: 120,
            limit_loopback: true,
        }
    }
}

impl WsLimits {
    /// From the environment; loopback callers are exempt only when `exempt_loopback`
    /// (`JOXAI_RATE_LIMIT_EXEMPT_LOOPBACK`, for load tests).
    pub fn from_env(exempt_loopback: bool) -> WsLimits {
        let d = WsLimits::default();
        let num = |name: &str, default: u64| -> u64 {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        WsLimits {
            window: Duration::from_secs(
                num("JOXAI_RATE_LIMIT_WINDOW_SECS", d.window.as_secs()).max(1),
            ),
            connects_per_ip: num(
                "JOXAI_RATE_LIMIT_WS_CONNECTS_PER_IP",
                d.connects_per_ip.into(),
            ) as u32,
            frames_per_socket: num(
                "JOXAI_RATE_LIMIT_WS_FRAMES_PER_SOCKET",
                d.frames_per_socket.into(),
            ) as u32,
            limit_loopback: !exempt_loopback,
        }
    }
}

/// The connect counters of one notifier process, with its limits.
pub struct WsLimiter {
    pub limits: WsLimits,
    connects: joxai_platform::rate_window::Windows,
}

impl WsLimiter {
    pub fn new(limits: WsLimits) -> Self {
        WsLimiter {
            connects: joxai_platform::rate_window::Windows::new(limits.window),
            limits,
        }
    }
}

/// Frames counted on one socket, in fixed windows.
struct FrameBudget {
    limit: u32,
    window: Duration,
    started: tokio::time::Instant,
    used: u32,
}

impl FrameBudget {
    /// Count one frame; false once the socket is over its limit for this window.
    fn take(&mut self) -> bool {
        if self.limit == 0 {
            return true;
        }
        let now = tokio::time::Instant::now();
        if now.duration_since(self.started) >= self.window {
            self.started = now;
            self.used = 0;
        }
        self.used += 1;
        self.used <= self.limit
    }
}

/// `GET /api/v1/ws` — anyone may connect; the first frame must authenticate as a customer or staff.
/// New sockets are limited per client address (429 with `Retry-After`), before any work is done.
pub async fn upgrade(
    State(hub): State<Arc<Hub>>,
    axum::Extension(limiter): axum::Extension<Arc<WsLimiter>>,
    parts: axum::http::request::Parts,
    ws: WebSocketUpgrade,
) -> Response {
    let headers: &HeaderMap = &parts.headers;
    if !origin_allowed(headers, &hub.platform.config.allowed_origins) {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({
                "code": "forbidden", "message": "this origin may not open a WebSocket"
            })),
        )
            .into_response();
    }
    let addr = joxai_platform::client_addr::client_addr(&parts);
    let limited = joxai_platform::rate_window::applies_to(&addr, !limiter.limits.limit_loopback);
    if limited
        && let Err(retry_after) = limiter
            .connects
            .hit(format!("ws:{addr}"), limiter.limits.connects_per_ip)
    {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after.to_string())],
            axum::Json(serde_json::json!({
                "code": "rate_limited", "message": "too many new connections from your address; try again shortly"
            })),
        )
            .into_response();
    }
    let budget = FrameBudget {
        limit: if limited {
            limiter.limits.frames_per_socket
        } else {
            0
        },
        window: limiter.limits.window,
        started: tokio::time::Instant::now(),
        used: 0,
    };
    // A small read buffer: clients send few, small frames, and the library's 128 KiB default,
    // zero-filled on every read, dominated the notifier's memory and CPU with thousands of sockets.
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
        .on_upgrade(move |socket| session(socket, hub, budget))
}

fn kind_label(principal: &Principal) -> &'static str {
    match principal {
        Principal::Customer { .. } => "customer",
        Principal::Staff { .. } => "staff",
    }
}

/// How often a staff socket re-checks its session (logout, deactivation, password reset close the
/// socket within this time) and refreshes an agent's set of visible conversations.
const STAFF_RECHECK: Duration = Duration::from_secs(2);

/// What a staff socket may see: supervisors and admins everything; an agent the queue and their own
/// tickets, and the conversations of those tickets.
pub struct StaffScope {
    pub user_id: Uuid,
    pub role: StaffRole,
    pub conversations: HashSet<Uuid>,
}

impl StaffScope {
    /// Load the scope of a live session; `None` when the session is revoked or expired, or the user
    /// deactivated.
    pub async fn load(hub: &Hub, user_id: Uuid, session_id: Uuid) -> Option<StaffScope> {
        let client = hub.platform.db.client().await.ok()?;
        let row = client
            .query_opt(
                "SELECT u.role FROM staff_sessions s JOIN users u ON u.id = s.user_id
                  WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.active",
                &[&session_id, &user_id],
            )
            .await
            .ok()??;
        let role: StaffRole = row.get::<_, &str>(0).parse().ok()?;
        let mut conversations = HashSet::new();
        if role == StaffRole::Agent {
            let rows = client
                .query(
                    "SELECT conversation_id FROM tickets WHERE conversation_id IS NOT NULL
                        AND status IN ('open', 'in_progress') AND (assignee_id IS NULL OR assignee_id = $1)",
                    &[&user_id],
                )
                .await
                .ok()?;
            conversations.extend(rows.iter().map(|r| r.get::<_, Uuid>(0)));
        }
        Some(StaffScope {
            user_id,
            role,
            conversations,
        })
    }

    /// Whether this staff member may see `push`; also follows assignments as they happen, so an
    /// agent sees a conversation from the moment its ticket becomes theirs.
    pub fn sees(&mut self, push: &Push) -> bool {
        if self.role != StaffRole::Agent {
            return true;
        }
        if Event::is_ticket_event(&push.kind) {
            let Ok(frame) = serde_json::from_str::<serde_json::Value>(&push.frame) else {
                return false;
            };
            let payload = &frame["event"]["payload"];
            let assignee = payload["ticket"]["assignee_id"]
                .as_str()
                .or_else(|| payload["assignee_id"].as_str())
                .and_then(|a| a.parse::<Uuid>().ok());
            let previous = payload["previous_assignee_id"]
                .as_str()
                .and_then(|a| a.parse::<Uuid>().ok());
            let mine_or_queue = assignee.is_none_or(|a| a == self.user_id);
            // A queue ticket given to someone leaves every agent's queue: they all see it go (and
            // an agent who had it open sees who has it now).
            let left_the_queue = payload["change"] == "assigned"
                && payload["previous_assignee_id"].is_null()
                && assignee.is_some();
            if let Some(conversation_id) = push.conversation_id.filter(|c| !c.is_nil()) {
                if mine_or_queue {
                    self.conversations.insert(conversation_id);
                } else {
                    self.conversations.remove(&conversation_id);
                }
            }
            return mine_or_queue || previous == Some(self.user_id) || left_the_queue;
        }
        // Classifier decisions are for supervisors' dashboards.
        if push.kind == "message.classified" {
            return false;
        }
        // Agents read canned responses and articles, so their lists update live too.
        {
            use joxai_schemas::Message as _;
            use joxai_schemas::events::{CannedResponseChanged, KnowledgeArticleChanged};
            if push.kind == CannedResponseChanged::TYPE
                || push.kind == KnowledgeArticleChanged::TYPE
            {
                return true;
            }
        }
        push.conversation_id
            .is_some_and(|c| self.conversations.contains(&c))
    }
}

/// Whether a customer may see `push`: only its own conversation, only customer-facing event types.
pub fn visible_to_customer(conversation_id: Uuid, push: &Push) -> bool {
    push.conversation_id == Some(conversation_id) && Event::visible_to_customer(&push.kind)
}

/// Who is on a socket and what they may see.
enum Audience {
    Customer(Uuid),
    Staff { scope: StaffScope, session_id: Uuid },
}

impl Audience {
    fn sees(&mut self, push: &Push) -> bool {
        match self {
            Audience::Customer(conversation_id) => visible_to_customer(*conversation_id, push),
            Audience::Staff { scope, .. } => scope.sees(push),
        }
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        })))
        .await;
}

/// The principal, and the `after` of an auth frame that also asks to resume.
async fn authenticate(socket: &mut WebSocket, hub: &Hub) -> Option<(Principal, Option<u64>)> {
    let frame = tokio::time::timeout(AUTH_TIMEOUT, socket.recv())
        .await
        .ok()??
        .ok()?;
    let Message::Text(text) = frame else {
        return None;
    };
    match serde_json::from_str::<ClientFrame>(&text) {
        Ok(ClientFrame::Auth { token, after }) => {
            hub.platform.tokens.verify(&token).ok().map(|p| (p, after))
        }
        _ => None,
    }
}

/// Which stream sequences this socket has already sent, so a resume fills exactly the gap.
///
/// Everything the audience may see in `covered_from..=last` has been sent: live events arrive in
/// sequence order, and a replay sends everything after its `after`. Before the first send nothing
/// is covered. A resume therefore sends an event only when it lies outside that range — below it
/// (the events between the client's `after` and the first live event, which the old rule "skip
/// everything ≤ last sent" lost) or above it (newer than anything sent) — and then widens the range.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Sent {
    covered_from: Option<u64>,
    last: u64,
}

impl Sent {
    /// Whether a live event must be sent (it is newer than anything sent).
    pub fn live_wanted(&self, seq: u64) -> bool {
        seq > self.last
    }

    /// Record a live event as sent.
    pub fn sent_live(&mut self, seq: u64) {
        self.covered_from.get_or_insert(seq);
        self.last = self.last.max(seq);
    }

    /// Whether a replayed event (one with `seq > after`) still has to be sent.
    pub fn replay_wanted(&self, seq: u64) -> bool {
        match self.covered_from {
            Some(from) => seq < from || seq > self.last,
            None => true,
        }
    }

    /// After a replay of everything in `after + 1 ..= until` (`until` = the newest sequence the
    /// replay read), all of it counts as sent: the range grows to cover it.
    pub fn replayed(&mut self, after: u64, until: u64) {
        let from = after + 1;
        let covered_from = match self.covered_from {
            // A replay that starts past the covered range leaves a hole the client never asked
            // for; still "covered" from the client's point of view (it said it had up to `after`).
            Some(current) => current.min(from),
            None => from,
        };
        self.covered_from = Some(covered_from);
        self.last = self.last.max(until).max(after);
    }
}

async fn session(mut socket: WebSocket, hub: Arc<Hub>, mut budget: FrameBudget) {
    // The auth frame counts too.
    budget.take();
    let Some((principal, resume_at_once)) = authenticate(&mut socket, &hub).await else {
        let _ = socket
            .send(Message::Text(
                r#"{"type":"error","code":"unauthorized"}"#.into(),
            ))
            .await;
        close(&mut socket, 4401, "unauthorized").await;
        return;
    };
    let mut audience = match &principal {
        Principal::Customer {
            conversation_id, ..
        } => Audience::Customer(*conversation_id),
        Principal::Staff {
            user_id,
            session_id,
            ..
        } => {
            // An access token without a session, or of a revoked session, opens nothing.
            let scope = match session_id {
                Some(sid) => StaffScope::load(&hub, *user_id, *sid).await,
                None => None,
            };
            match (scope, session_id) {
                (Some(scope), Some(sid)) => Audience::Staff {
                    scope,
                    session_id: *sid,
                },
                _ => {
                    let _ = socket
                        .send(Message::Text(
                            r#"{"type":"error","code":"unauthorized"}"#.into(),
                        ))
                        .await;
                    close(&mut socket, 4401, "unauthorized").await;
                    return;
                }
            }
        }
    };
    let kind = kind_label(&principal);
    let m = metrics();
    let gauge = m.ws_connections.with_label_values(&[kind]);
    gauge.inc();
    let presence = match &audience {
        Audience::Customer(conversation_id) => Some(Presence::open(&hub, *conversation_id)),
        Audience::Staff { .. } => None,
    };
    // A customer wakes only for their own conversation's events; staff see the whole stream.
    let customer_conversation = match &audience {
        Audience::Customer(id) => Some(*id),
        Audience::Staff { .. } => None,
    };
    let mut events = match customer_conversation {
        Some(id) => hub.subscribe_conversation(id),
        None => hub.subscribe(),
    };
    let ready = format!(r#"{{"type":"ready","seq":{}}}"#, hub.last_seq());
    let (mut sink, mut stream) = socket.split();
    let mut sent = Sent::default();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut recheck = tokio::time::interval(STAFF_RECHECK);
    recheck.tick().await;

    let result: Result<(), &'static str> = async {
        send(&mut sink, ready).await?;
        if let Some(after) = resume_at_once {
            resume(&hub, &principal, &mut audience, &mut sink, &mut sent, after, kind).await?;
        }
        loop {
            tokio::select! {
                _ = hub.shutdown.cancelled() => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: 1001, reason: "server shutting down".into() }))).await;
                    return Ok(());
                }
                event = events.recv() => match event {
                    Ok(push) => {
                        if sent.live_wanted(push.seq) && audience.sees(&push) {
                            send(&mut sink, push.frame.clone()).await?;
                            sent.sent_live(push.seq);
                            m.ws_pushes.with_label_values(&[kind]).inc();
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        // Too slow for the live feed: tell the client to resume, drop nothing silently.
                        m.ws_slow_client_drops.with_label_values(&[kind]).inc();
                        send(&mut sink, r#"{"type":"resync"}"#.to_owned()).await?;
                    }
                    Err(RecvError::Closed) => return Ok(()),
                },
                frame = stream.next() => match frame {
                    // Every frame the client sends counts (pongs and binary ones too): a flood is
                    // told why and closed, and nothing it sent past the limit is acted on.
                    Some(Ok(Message::Text(_) | Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) if !budget.take() => {
                        let _ = send(&mut sink, r#"{"type":"error","code":"rate_limited"}"#.to_owned()).await;
                        let _ = sink.send(Message::Close(Some(CloseFrame { code: CLOSE_TOO_MANY_FRAMES, reason: "too many frames".into() }))).await;
                        return Ok(());
                    }
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientFrame>(&text) {
                        Ok(ClientFrame::Resume { after }) => {
                            resume(&hub, &principal, &mut audience, &mut sink, &mut sent, after, kind).await?;
                        }
                        Ok(ClientFrame::Ping) => send(&mut sink, r#"{"type":"pong"}"#.to_owned()).await?,
                        Ok(ClientFrame::Auth { .. }) => {}
                        Err(_) => send(&mut sink, r#"{"type":"error","code":"bad_frame"}"#.to_owned()).await?,
                    },
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                    Some(Ok(_)) => {}
                },
                _ = recheck.tick(), if matches!(audience, Audience::Staff { .. }) => {
                    if let Audience::Staff { scope, session_id } = &mut audience {
                        match StaffScope::load(&hub, scope.user_id, *session_id).await {
                            Some(fresh) => *scope = fresh,
                            None => {
                                let _ = send(&mut sink, r#"{"type":"error","code":"session_revoked"}"#.to_owned()).await;
                                let _ = sink.send(Message::Close(Some(CloseFrame { code: 4401, reason: "session revoked".into() }))).await;
                                return Ok(());
                            }
                        }
                    }
                }
                _ = ping.tick() => {
                    tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Ping(Default::default())))
                        .await
                        .map_err(|_| "slow")?
                        .map_err(|_| "gone")?;
                    if let Some(presence) = &presence {
                        presence.renew(&hub);
                    }
                }
            }
        }
    }
    .await;
    if result == Err("slow") {
        m.ws_slow_client_drops.with_label_values(&[kind]).inc();
    }
    gauge.dec();
    if let Some(presence) = &presence {
        presence.close(&hub);
    }
    drop(events);
    if let Some(id) = customer_conversation {
        hub.release_conversation(id);
    }
}

/// A customer's open socket, as the email worker reads it (`customer_presence`): opened, renewed on every
/// ping (every 25 s) while open, closed. The writes run beside the socket, never in its way: if Postgres is
/// slow or down the chat goes on, and the customer merely looks away (so an agent's reply is emailed:
/// better an email too many than a reply never seen).
struct Presence {
    socket_id: Uuid,
}

impl Presence {
    fn open(hub: &Arc<Hub>, conversation_id: Uuid) -> Presence {
        let socket_id = Uuid::now_v7();
        Self::write(
            hub,
            "INSERT INTO customer_presence (socket_id, conversation_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            socket_id,
            Some(conversation_id),
        );
        Presence { socket_id }
    }

    fn renew(&self, hub: &Arc<Hub>) {
        Self::write(
            hub,
            "UPDATE customer_presence SET seen_at = now() WHERE socket_id = $1",
            self.socket_id,
            None,
        );
    }

    fn close(&self, hub: &Arc<Hub>) {
        Self::write(
            hub,
            "UPDATE customer_presence SET seen_at = now(), disconnected_at = now() WHERE socket_id = $1",
            self.socket_id,
            None,
        );
    }

    fn write(
        hub: &Arc<Hub>,
        statement: &'static str,
        socket_id: Uuid,
        conversation_id: Option<Uuid>,
    ) {
        let hub = hub.clone();
        tokio::spawn(async move {
            let result = async {
                let client = hub.platform.db.client().await?;
                match conversation_id {
                    Some(c) => client.execute(statement, &[&socket_id, &c]).await?,
                    None => client.execute(statement, &[&socket_id]).await?,
                };
                Ok::<_, joxai_platform::db::DbError>(())
            }
            .await;
            if let Err(e) = result {
                tracing::debug!(%socket_id, error = %e, "customer presence not recorded");
            }
        });
    }
}

/// Replay what the client missed after `after`: every event it may see that this socket has not
/// sent yet (see [`Sent`]). Too far behind → `resync`.
async fn resume(
    hub: &Hub,
    principal: &Principal,
    audience: &mut Audience,
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
    sent: &mut Sent,
    after: u64,
    kind: &'static str,
) -> Result<(), &'static str> {
    let m = metrics();
    m.ws_resumes.with_label_values(&[kind]).inc();
    let filter = match principal {
        Principal::Customer {
            conversation_id, ..
        } => hub
            .platform
            .bus
            .subjects()
            .conversation_events(*conversation_id),
        Principal::Staff { .. } => hub.platform.bus.subjects().all_events(),
    };
    // Read before replaying: the replay covers at least up to here.
    let until = hub.last_seq();
    match hub.replay(filter, after).await {
        Some(pushes) => {
            let mut newest = until.max(after);
            for push in pushes {
                newest = newest.max(push.seq);
                if push.seq > after && sent.replay_wanted(push.seq) && audience.sees(&push) {
                    send(sink, push.frame).await?;
                    m.ws_pushes.with_label_values(&[kind]).inc();
                }
            }
            sent.replayed(after, newest);
            Ok(())
        }
        None => send(sink, r#"{"type":"resync"}"#.to_owned()).await,
    }
}

async fn send(
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
    text: String,
) -> Result<(), &'static str> {
    tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(text.into())))
        .await
        .map_err(|_| "slow")?
        .map_err(|_| "gone")
}

#[cfg(test)]
mod tests {
    use super::{Sent, StaffScope};
    use crate::hub::Push;
    use joxai_schemas::types::StaffRole;
    use uuid::Uuid;

    fn ticket_updated(change: &str, assignee: Option<Uuid>, previous: Option<Uuid>) -> Push {
        let payload = serde_json::json!({
            "ticket": { "assignee_id": assignee },
            "change": change,
            "previous_assignee_id": previous,
        });
        Push {
            seq: 1,
            conversation_id: Some(Uuid::new_v4()),
            kind: "ticket.updated".into(),
            frame: serde_json::json!({ "type": "event", "seq": 1, "event": { "type": "ticket.updated", "payload": payload } })
                .to_string(),
        }
    }

    #[test]
    fn every_agent_sees_a_queue_ticket_given_to_someone_else_but_not_later_changes_to_it() {
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        let mut agent = StaffScope {
            user_id: me,
            role: StaffRole::Agent,
            conversations: Default::default(),
        };
        assert!(
            agent.sees(&ticket_updated("assigned", Some(other), None)),
            "it leaves my queue: I see it go"
        );
        assert!(!agent.sees(&ticket_updated("status_changed", Some(other), None)));
        assert!(!agent.sees(&ticket_updated(
            "assigned",
            Some(other),
            Some(Uuid::new_v4())
        )));
        assert!(
            agent.sees(&ticket_updated("assigned", Some(other), Some(me))),
            "taken from me"
        );
    }

    #[test]
    fn a_resume_after_live_events_fills_the_gap_below_them_without_repeating_them() {
        let mut sent = Sent::default();
        // ready, then live events 10 and 11 go out before the client's resume from 5 is handled.
        assert!(sent.live_wanted(10));
        sent.sent_live(10);
        sent.sent_live(11);
        let replayed: Vec<u64> = (6..=12).filter(|&seq| sent.replay_wanted(seq)).collect();
        assert_eq!(
            replayed,
            [6, 7, 8, 9, 12],
            "the gap and the newer event, not 10 and 11 again"
        );
        sent.replayed(5, 12);
        assert!(
            !sent.live_wanted(12),
            "12 came with the replay; its live copy is dropped"
        );
        assert!(sent.live_wanted(13));
        // A second resume from the same point sends nothing twice.
        assert!((6..=12).all(|seq| !sent.replay_wanted(seq)));
    }

    #[test]
    fn a_resume_before_any_live_event_replays_everything_after_it() {
        let mut sent = Sent::default();
        assert!((1..=4).all(|seq| sent.replay_wanted(seq)));
        sent.replayed(0, 4);
        assert!(!sent.live_wanted(4));
        assert!(sent.live_wanted(5));
    }
}
