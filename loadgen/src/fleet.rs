//! Simulated customers: each has a chat session (conversation id and token) and one WebSocket on
//! which a reader task waits for the bot's replies and times them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use uuid::Uuid;

use crate::report::lock;
use crate::turns::StepStats;

/// Sessions and sockets opened at once while the fleet is set up (the server is not the thing being
/// measured during setup, but 10k sequential handshakes would take too long).
const SETUP_CONCURRENCY: usize = 64;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Debug, Clone)]
pub struct Session {
    pub conversation_id: Uuid,
    pub token: String,
}

#[derive(Deserialize)]
struct SessionBody {
    conversation_id: Uuid,
    token: String,
}

/// The parts of a server frame the generator looks at; everything else is ignored.
#[derive(Deserialize)]
pub struct Frame {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub event: Option<EventFrame>,
}

#[derive(Deserialize)]
pub struct EventFrame {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub payload: Option<EventPayload>,
}

#[derive(Deserialize)]
pub struct EventPayload {
    #[serde(default)]
    pub message: Option<MessageLite>,
    /// `typing` events carry the typist's name here.
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Deserialize)]
pub struct MessageLite {
    pub sender: String,
    #[serde(default)]
    pub in_reply_to: Option<Uuid>,
    #[serde(default)]
    pub text: String,
}

/// `POST /api/v1/chat/sessions` as an anonymous visitor.
pub async fn open_session(http: &reqwest::Client, url: &str) -> anyhow::Result<Session> {
    let response = http
        .post(format!("{url}/api/v1/chat/sessions"))
        .send()
        .await
        .context("POST /chat/sessions")?;
    if response.status() != reqwest::StatusCode::CREATED {
        bail!("POST /chat/sessions answered {}", response.status());
    }
    let body: SessionBody = response.json().await.context("session body")?;
    Ok(Session {
        conversation_id: body.conversation_id,
        token: body.token,
    })
}

/// Open a WebSocket, authenticate with `token`, and wait for the `ready` frame.
pub async fn open_socket(url: &str, token: &str) -> anyhow::Result<Socket> {
    let ws_url = format!("{}/api/v1/ws", url.replacen("http://", "ws://", 1));
    // tungstenite zero-fills a 128 KiB read buffer per socket by default; 10k of those would make the
    // generator itself weigh over a gigabyte. Frames here are small.
    let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
    let connect = tokio_tungstenite::connect_async_with_config(ws_url, Some(config), true);
    let (mut socket, _) = tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .context("WebSocket connect timed out")?
        .context("WebSocket connect")?;
    let auth = serde_json::json!({ "type": "auth", "token": token }).to_string();
    socket
        .send(Message::Text(auth.into()))
        .await
        .context("sending auth")?;
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .context("no ready frame")?;
        match frame {
            Some(Ok(Message::Text(text))) => {
                let frame: Frame = serde_json::from_str(&text).context("ready frame")?;
                if frame.kind == "ready" {
                    return Ok(socket);
                }
                bail!("expected a ready frame, got {text}");
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => bail!("WebSocket error before ready: {e}"),
            None => bail!("WebSocket closed before ready"),
        }
    }
}

/// Open `n` sessions (at `url`) with their sockets (at `ws_url`: the same server, or a notifier
/// process of its own), `SETUP_CONCURRENCY` at a time.
pub async fn open_many(
    http: &reqwest::Client,
    url: &str,
    ws_url: &str,
    n: usize,
) -> anyhow::Result<Vec<(Session, Socket)>> {
    let gate = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let (gate, http, url, ws_url) = (
            gate.clone(),
            http.clone(),
            url.to_owned(),
            ws_url.to_owned(),
        );
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.context("setup gate closed")?;
            let session = open_session(&http, &url).await?;
            let socket = open_socket(&ws_url, &session.token).await?;
            anyhow::Ok((i, session, socket))
        });
    }
    let mut opened = Vec::with_capacity(n);
    while let Some(joined) = tasks.join_next().await {
        opened.push(joined.context("setup task")??);
    }
    opened.sort_by_key(|(i, _, _)| *i);
    Ok(opened.into_iter().map(|(_, s, w)| (s, w)).collect())
}

/// A chat message sent and not yet answered.
pub struct Waiting {
    /// When the message was due to be sent (the schedule, not the moment the generator got to it:
    /// a generator that falls behind must not hide latency).
    pub due: Instant,
    pub measured: bool,
    pub step: Arc<StepStats>,
}

pub struct Customer {
    pub index: usize,
    pub session: Session,
    pub sent: AtomicU64,
}

/// The customers, the messages waiting for a reply, and the socket readers.
pub struct Fleet {
    pub customers: Vec<Arc<Customer>>,
    pub waiting: Arc<Mutex<HashMap<Uuid, Waiting>>>,
    /// The step whose window is open: escalations and stray frames are counted against it.
    pub current: Arc<Mutex<Option<Arc<StepStats>>>>,
    stop: watch::Sender<bool>,
    readers: JoinSet<()>,
}

impl Fleet {
    pub async fn open(http: &reqwest::Client, url: &str, n: usize) -> anyhow::Result<Fleet> {
        let opened = open_many(http, url, url, n).await?;
        let waiting: Arc<Mutex<HashMap<Uuid, Waiting>>> = Arc::new(Mutex::new(HashMap::new()));
        let current: Arc<Mutex<Option<Arc<StepStats>>>> = Arc::new(Mutex::new(None));
        let (stop, stopped) = watch::channel(false);
        let mut readers = JoinSet::new();
        let mut customers = Vec::with_capacity(n);
        for (index, (session, socket)) in opened.into_iter().enumerate() {
            customers.push(Arc::new(Customer {
                index,
                session,
                sent: AtomicU64::new(0),
            }));
            readers.spawn(read_replies(
                socket,
                waiting.clone(),
                current.clone(),
                stopped.clone(),
            ));
        }
        Ok(Fleet {
            customers,
            waiting,
            current,
            stop,
            readers,
        })
    }

    /// Close every socket and wait (bounded) for the readers to finish.
    pub async fn close(mut self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while self.readers.join_next().await.is_some() {}
        })
        .await;
        self.readers.abort_all();
    }
}

/// One customer's socket: match each bot reply to the question it answers and record the turn.
async fn read_replies(
    mut socket: Socket,
    waiting: Arc<Mutex<HashMap<Uuid, Waiting>>>,
    current: Arc<Mutex<Option<Arc<StepStats>>>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let message = tokio::select! {
            _ = stop.changed() => break,
            m = socket.next() => m,
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                if let Some(step) = lock(&current).as_ref() {
                    step.sockets_lost.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
            Some(Ok(_)) => continue,
        };
        let now = Instant::now();
        let Ok(frame) = serde_json::from_str::<Frame>(&text) else {
            continue;
        };
        match (frame.kind.as_str(), frame.event) {
            ("event", Some(event)) if event.kind == "message.created" => {
                let Some(message) = event.payload.and_then(|p| p.message) else {
                    continue;
                };
                if message.sender != "bot" {
                    continue;
                }
                let Some(question) = message.in_reply_to else {
                    continue;
                };
                let found = lock(&waiting).remove(&question);
                if let Some(w) = found {
                    w.step
                        .on_reply(now, now.saturating_duration_since(w.due), w.measured);
                }
            }
            ("event", Some(event)) if event.kind == "conversation.escalated" => {
                if let Some(step) = lock(&current).as_ref() {
                    step.escalations.fetch_add(1, Ordering::Relaxed);
                }
            }
            ("resync", _) => {
                if let Some(step) = lock(&current).as_ref() {
                    step.resyncs.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => {}
        }
    }
    let _ = socket.close(None).await;
}
