//! One WebSocket session.
//!
//! Protocol (JSON text frames):
//! - client → `{"type":"auth","token":"…"}` first, within 10 s (tokens never travel in URLs, where
//!   proxies would log them);
//! - server → `{"type":"ready","seq":N}`, then `{"type":"event","seq":N,"event":{…}}` for every event
//!   the caller may see;
//! - client → `{"type":"resume","after":N}` after a reconnect: the server replays what it missed, then
//!   carries on live (no gap, no duplicate); `{"type":"resync"}` from the server means "too far
//!   behind, refetch over REST";
//! - client → `{"type":"ping"}` / server → `{"type":"pong"}`.
//!
//! Frames over 64 KiB close the socket. A client that cannot keep up is told to resync; one whose
//! socket stops draining is dropped, so a slow reader never grows the server's memory.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt as _, StreamExt as _};
use joxai_platform::metrics::metrics;
use joxai_platform::tokens::Principal;
use joxai_schemas::Event;
use joxai_schemas::types::StaffRole;
use serde::Deserialize;
use std::collections::HashSet;
use uuid::Uuid;
use tokio::sync::broadcast::error::RecvError;

use crate::hub::{Hub, Push};

pub const MAX_FRAME_BYTES: usize = 64 * 1024;
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// A socket that cannot take a frame within this time is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
const PING_EVERY: Duration = Duration::from_secs(25);

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Auth { token: String },
    Resume { after: u64 },
    Ping,
}

/// Whether a browser page at `origin` may open a socket: same host as the request, or configured.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        // Not a browser (no Origin header): tokens still protect everything.
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    origin_host == host || allowed.iter().any(|a| a == origin)
}

/// `GET /api/v1/ws` — anyone may connect; the first frame must authenticate as a customer or staff.
pub async fn upgrade(State(hub): State<Arc<Hub>>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    if !origin_allowed(&headers, &hub.platform.config.allowed_origins) {
        return (StatusCode::FORBIDDEN, axum::Json(serde_json::json!({
            "code": "forbidden", "message": "this origin may not open a WebSocket"
        })))
            .into_response();
    }
    ws.max_message_size(MAX_FRAME_BYTES).max_frame_size(MAX_FRAME_BYTES).on_upgrade(move |socket| session(socket, hub))
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
        Some(StaffScope { user_id, role, conversations })
    }

    /// Whether this staff member may see `push`; also follows assignments as they happen, so an
    /// agent sees a conversation from the moment its ticket becomes theirs.
    pub fn sees(&mut self, push: &Push) -> bool {
        if self.role != StaffRole::Agent {
            return true;
        }
        if Event::is_ticket_event(&push.kind) {
            let Ok(frame) = serde_json::from_str::<serde_json::Value>(&push.frame) else { return false };
            let payload = &frame["event"]["payload"];
            let assignee = payload["ticket"]["assignee_id"]
                .as_str()
                .or_else(|| payload["assignee_id"].as_str())
                .and_then(|a| a.parse::<Uuid>().ok());
            let previous = payload["previous_assignee_id"].as_str().and_then(|a| a.parse::<Uuid>().ok());
            let mine_or_queue = assignee.is_none_or(|a| a == self.user_id);
            if let Some(conversation_id) = push.conversation_id.filter(|c| !c.is_nil()) {
                if mine_or_queue {
                    self.conversations.insert(conversation_id);
                } else {
                    self.conversations.remove(&conversation_id);
                }
            }
            return mine_or_queue || previous == Some(self.user_id);
        }
        // Classifier decisions are for supervisors' dashboards.
        if push.kind == "message.classified" {
            return false;
        }
        push.conversation_id.is_some_and(|c| self.conversations.contains(&c))
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
    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }))).await;
}

async fn authenticate(socket: &mut WebSocket, hub: &Hub) -> Option<Principal> {
    let frame = tokio::time::timeout(AUTH_TIMEOUT, socket.recv()).await.ok()??.ok()?;
    let Message::Text(text) = frame else { return None };
    match serde_json::from_str::<ClientFrame>(&text) {
        Ok(ClientFrame::Auth { token }) => hub.platform.tokens.verify(&token).ok(),
        _ => None,
    }
}

async fn session(mut socket: WebSocket, hub: Arc<Hub>) {
    let Some(principal) = authenticate(&mut socket, &hub).await else {
        let _ = socket.send(Message::Text(r#"{"type":"error","code":"unauthorized"}"#.into())).await;
        close(&mut socket, 4401, "unauthorized").await;
        return;
    };
    let mut audience = match &principal {
        Principal::Customer { conversation_id, .. } => Audience::Customer(*conversation_id),
        Principal::Staff { user_id, session_id, .. } => {
            // An access token without a session, or of a revoked session, opens nothing.
            let scope = match session_id {
                Some(sid) => StaffScope::load(&hub, *user_id, *sid).await,
                None => None,
            };
            match (scope, session_id) {
                (Some(scope), Some(sid)) => Audience::Staff { scope, session_id: *sid },
                _ => {
                    let _ = socket.send(Message::Text(r#"{"type":"error","code":"unauthorized"}"#.into())).await;
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
    let mut events = hub.subscribe();
    let ready = format!(r#"{{"type":"ready","seq":{}}}"#, hub.last_seq());
    let (mut sink, mut stream) = socket.split();
    let mut last_sent = 0u64;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut recheck = tokio::time::interval(STAFF_RECHECK);
    recheck.tick().await;

    let result: Result<(), &'static str> = async {
        send(&mut sink, ready).await?;
        loop {
            tokio::select! {
                _ = hub.shutdown.cancelled() => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: 1001, reason: "server shutting down".into() }))).await;
                    return Ok(());
                }
                event = events.recv() => match event {
                    Ok(push) => {
                        if push.seq > last_sent && audience.sees(&push) {
                            send(&mut sink, push.frame.clone()).await?;
                            last_sent = push.seq;
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
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientFrame>(&text) {
                        Ok(ClientFrame::Resume { after }) => {
                            m.ws_resumes.with_label_values(&[kind]).inc();
                            let filter = match &principal {
                                Principal::Customer { conversation_id, .. } => hub.platform.bus.subjects().conversation_events(*conversation_id),
                                Principal::Staff { .. } => hub.platform.bus.subjects().all_events(),
                            };
                            match hub.replay(filter, after).await {
                                Some(pushes) => {
                                    for push in pushes {
                                        if push.seq > last_sent.max(after) && audience.sees(&push) {
                                            send(&mut sink, push.frame).await?;
                                            last_sent = push.seq;
                                            m.ws_pushes.with_label_values(&[kind]).inc();
                                        }
                                    }
                                    last_sent = last_sent.max(after);
                                }
                                None => send(&mut sink, r#"{"type":"resync"}"#.to_owned()).await?,
                            }
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
                }
            }
        }
    }
    .await;
    if result == Err("slow") {
        m.ws_slow_client_drops.with_label_values(&[kind]).inc();
    }
    gauge.dec();
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
