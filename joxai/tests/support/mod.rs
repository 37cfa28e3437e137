//! Test support: start the real all-in-one process against real NATS and Postgres, with a fresh
//! database and a unique subject prefix per test, so tests run in parallel without seeing each other.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use joxai_platform::Platform;
use joxai_platform::config::Config;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const PASSWORD: &str = "correct-horse-battery-staple";

pub fn nats_url() -> String {
    std::env::var("JOXAI_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4224".into())
}

/// Where the test server's CA and role passwords are (written by `infra/scripts/nats-security.sh`)
/// when it runs with TLS and authentication, as `make test` starts it. Unset: a plain local server.
pub fn nats_security() -> Option<PathBuf> {
    std::env::var_os("JOXAI_TEST_NATS_SECURITY").map(PathBuf::from)
}

/// The settings that connect as `role` (ingress, ticket, escalation, ai, notifier, operator) to a
/// server secured by the files in `dir`.
pub fn nats_identity(dir: &Path, role: &str) -> Vec<(&'static str, String)> {
    let password =
        std::fs::read_to_string(dir.join("credentials").join(role)).expect("role password file");
    vec![
        (
            "nats_tls_ca",
            dir.join("ca.pem").to_string_lossy().into_owned(),
        ),
        ("nats_user", role.to_owned()),
        ("nats_password", password.trim().to_owned()),
    ]
}

/// The environment of a `joxai` child process that reaches the test server as the operator.
pub fn nats_env() -> Vec<(String, String)> {
    let Some(dir) = nats_security() else {
        return vec![];
    };
    nats_identity(&dir, "operator")
        .into_iter()
        .map(|(k, v)| (format!("JOXAI_{}", k.to_ascii_uppercase()), v))
        .collect()
}

fn admin_url() -> String {
    std::env::var("JOXAI_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Create an empty database for one test and return its URL.
pub async fn fresh_database() -> String {
    let name = format!("joxai_t_{}", Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls)
        .await
        .expect("connect to Postgres");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let base = admin_url();
    let (prefix, _) = base.rsplit_once('/').expect("database URL has a path");
    format!("{prefix}/{name}")
}

/// A configuration for one test: its own database and subject prefix, fast retries.
pub async fn test_config(tweak: impl FnOnce(figment::Figment) -> figment::Figment) -> Config {
    joxai_platform::telemetry::init();
    let database_url = fresh_database().await;
    let prefix = format!("t{}", &Uuid::new_v4().simple().to_string()[..12]);
    let mut figment = Config::figment();
    // `joxai all` holds every role, so it connects as the operator (see docs/deployment.md).
    if let Some(dir) = nats_security() {
        for setting in nats_identity(&dir, "operator") {
            figment = figment.merge(setting);
        }
    }
    let figment = figment
        .merge(("database_url", database_url))
        .merge(("nats_url", nats_url()))
        .merge(("nats_prefix", prefix))
        .merge(("http_addr", "127.0.0.1:0"))
        // Tests drive the product from loopback faster than any customer; the limits themselves are
        // tested with explicit `Limits` (desk_rate_limits.rs) and the real binary (trust_proxies.rs).
        .merge(("rate_limit_exempt_loopback", true))
        .merge(("drain_seconds", 2))
        .merge(("nats_stream_max_bytes", 16 << 20))
        .merge(("db_pool_size", 8))
        .merge(("workers.ticket.retry_min_ms", 20))
        .merge(("workers.ticket.retry_max_ms", 200))
        .merge(("workers.escalation.retry_min_ms", 20))
        .merge(("workers.escalation.retry_max_ms", 200))
        .merge(("workers.ai.retry_min_ms", 20))
        .merge(("workers.ai.retry_max_ms", 200));
    Config::from_figment(tweak(figment)).expect("valid test configuration")
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub platform: Platform,
    pub http: reqwest::Client,
    pub shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|f| f).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(figment::Figment) -> figment::Figment) -> TestApp {
    let config = test_config(tweak).await;
    let platform = Platform::connect(config).await.expect("connect platform");
    platform.db.migrate().await.expect("migrate");
    joxai::seed::seed_demo(&platform, PASSWORD)
        .await
        .expect("seed");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(joxai::run_all(platform.clone(), listener, shutdown.clone()));
    let app = TestApp {
        addr,
        base: format!("http://{addr}"),
        platform,
        http: reqwest::Client::new(),
        shutdown,
        task,
    };
    wait_until("the app answers /healthz", || async {
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    app
}

/// Poll `check` until it is true, for at most 15 s (never a bare sleep).
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting until {what}");
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }

    pub async fn login(&self, email: &str) -> String {
        let response = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), 200, "login as {email}");
        response.json::<Value>().await.expect("login body")["access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// Start an anonymous chat session: (conversation id, customer token).
    pub async fn start_session(&self) -> (Uuid, String) {
        self.start_session_with(json!({})).await
    }

    pub async fn start_session_with(&self, body: Value) -> (Uuid, String) {
        let response = self
            .http
            .post(self.url("/api/v1/chat/sessions"))
            .json(&body)
            .send()
            .await
            .expect("session");
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.expect("session body");
        (
            body["conversation_id"]
                .as_str()
                .expect("id")
                .parse()
                .expect("uuid"),
            body["token"].as_str().expect("token").to_owned(),
        )
    }

    pub async fn post_message(
        &self,
        conversation: Uuid,
        token: &str,
        client_id: &str,
        text: &str,
    ) -> reqwest::Response {
        self.http
            .post(self.url(&format!(
                "/api/v1/chat/conversations/{conversation}/messages"
            )))
            .bearer_auth(token)
            .json(&json!({ "client_message_id": client_id, "text": text }))
            .send()
            .await
            .expect("post message")
    }

    pub async fn transcript(&self, conversation: Uuid, token: &str) -> Vec<Value> {
        let response = self
            .http
            .get(self.url(&format!(
                "/api/v1/chat/conversations/{conversation}/messages"
            )))
            .bearer_auth(token)
            .send()
            .await
            .expect("transcript");
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.expect("body")["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Run a query against the test's own database.
    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Vec<tokio_postgres::Row> {
        let client = self.platform.db.client().await.expect("db client");
        client.query(sql, params).await.expect("query")
    }

    pub async fn count(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> i64 {
        self.query(sql, params).await[0].get::<_, i64>(0)
    }

    pub async fn ws(&self, token: &str) -> Ws {
        let (mut socket, _) =
            tokio_tungstenite::connect_async(format!("ws://{}/api/v1/ws", self.addr))
                .await
                .expect("ws connect");
        socket
            .send(Message::Text(
                json!({ "type": "auth", "token": token }).to_string().into(),
            ))
            .await
            .expect("auth");
        let mut ws = Ws {
            socket,
            seen: vec![],
        };
        let ready = ws.next_frame().await.expect("ready frame");
        assert_eq!(ready["type"], "ready", "first frame is ready: {ready}");
        ws
    }
}

pub struct Ws {
    pub socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    /// Every event frame received so far.
    pub seen: Vec<Value>,
}

impl Ws {
    pub async fn send(&mut self, frame: Value) {
        self.socket
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("send frame");
    }

    /// The next JSON frame, or `None` after 15 s or when the socket closes.
    pub async fn next_frame(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(15), self.socket.next())
                .await
                .ok()??
                .ok()?;
            match message {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text).expect("frame is JSON");
                    if value["type"] == "event" {
                        self.seen.push(value.clone());
                    }
                    return Some(value);
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Wait for an event frame matching `pred`.
    pub async fn wait_event(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(found) = self.seen.iter().find(|f| pred(f)) {
            return found.clone();
        }
        loop {
            match self.next_frame().await {
                Some(frame) if frame["type"] == "event" && pred(&frame) => return frame,
                Some(_) => continue,
                None => panic!(
                    "socket closed or timed out waiting for {what}; seen: {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// Collect event frames for `window`.
    pub async fn drain_for(&mut self, window: Duration) {
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout_at(deadline, self.socket.next()).await
        {
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(&text).expect("frame is JSON");
                if value["type"] == "event" {
                    self.seen.push(value);
                }
            }
        }
    }

    pub fn count(&self, pred: impl Fn(&Value) -> bool) -> usize {
        self.seen.iter().filter(|f| pred(f)).count()
    }
}

pub fn event_type(frame: &Value) -> &str {
    frame["event"]["type"].as_str().unwrap_or("")
}

pub fn is_message_from(frame: &Value, sender: &str) -> bool {
    event_type(frame) == "message.created"
        && frame["event"]["payload"]["message"]["sender"] == sender
}
