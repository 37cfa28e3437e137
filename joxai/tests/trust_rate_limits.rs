//! Every customer-facing chat endpoint has a limit: typing signals per conversation; talking to a
//! person, ending the chat and rating it share one allowance per conversation; a follow-up counts as
//! a new session from the address. A refused call answers 429 with `Retry-After` and the usual error
//! body, and changes nothing.
//!
//! The limits are tiny here, so these tests serve the API router themselves with explicit limits (the
//! environment cannot be changed safely inside a test) next to the app `spawn_app` started.

mod support;

use std::time::Duration;

use joxai_ingress::rate_limit::Limits;
use serde_json::{Value, json};
use support::{TestApp, spawn_app, wait_until};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The API with small limits that also apply to loopback: (base URL, shutdown).
async fn limited_api(app: &TestApp, limits: Limits) -> (String, CancellationToken) {
    let router = joxai_ingress::api_router_with_limits(app.platform.clone(), limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let shutdown = CancellationToken::new();
    tokio::spawn(joxai_platform::http::serve(
        listener,
        router,
        shutdown.clone(),
    ));
    (base, shutdown)
}

fn limits(window: Duration) -> Limits {
    Limits {
        window,
        sessions_per_ip: 2,
        messages_per_conversation: 100,
        messages_per_ip: 100,
        typing_per_conversation: 3,
        actions_per_conversation: 2,
        limit_loopback: true,
    }
}

async fn call(
    app: &TestApp,
    base: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.http.post(format!("{base}{path}")).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

async fn assert_rate_limited(response: reqwest::Response, window: Duration) -> Value {
    assert_eq!(response.status(), 429, "{}", response.url());
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(
        (1..=window.as_secs()).contains(&retry_after),
        "Retry-After within the window: {retry_after}"
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "rate_limited");
    assert!(body["message"].is_string());
    body
}

/// A conversation the ticket worker has stored, opened on the default (unlimited) API.
async fn stored_conversation(app: &TestApp) -> (Uuid, String) {
    let (conversation, token) = app.start_session().await;
    assert_eq!(
        app.post_message(conversation, &token, "m1", "hello")
            .await
            .status(),
        202
    );
    wait_until("the conversation is stored", || async {
        app.count(
            "SELECT count(*) FROM conversations WHERE id = $1",
            &[&conversation],
        )
        .await
            == 1
    })
    .await;
    (conversation, token)
}

async fn status(app: &TestApp, conversation: Uuid) -> String {
    app.query(
        "SELECT status FROM conversations WHERE id = $1",
        &[&conversation],
    )
    .await[0]
        .get(0)
}

#[tokio::test]
async fn typing_signals_are_limited_per_conversation() {
    let app = spawn_app().await;
    let window = Duration::from_secs(2);
    let (base, shutdown) = limited_api(&app, limits(window)).await;
    let (conversation, token) = stored_conversation(&app).await;
    let path = format!("/api/v1/chat/conversations/{conversation}/typing");
    for _ in 0..3 {
        assert_eq!(call(&app, &base, &path, &token, None).await.status(), 202);
    }
    let body = assert_rate_limited(call(&app, &base, &path, &token, None).await, window).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("typing"),
        "{body}"
    );
    // Another conversation has its own allowance.
    let (other, other_token) = stored_conversation(&app).await;
    assert_eq!(
        call(
            &app,
            &base,
            &format!("/api/v1/chat/conversations/{other}/typing"),
            &other_token,
            None
        )
        .await
        .status(),
        202
    );
    wait_until("the window passes", || async {
        call(&app, &base, &path, &token, None).await.status() == 202
    })
    .await;
    shutdown.cancel();
    app.stop().await;
}

#[tokio::test]
async fn escalating_closing_and_rating_share_one_allowance_and_a_refused_close_leaves_the_chat_open()
 {
    let app = spawn_app().await;
    let window = Duration::from_secs(3);
    let (base, shutdown) = limited_api(&app, limits(window)).await;
    let (conversation, token) = stored_conversation(&app).await;
    let escalate = format!("/api/v1/chat/conversations/{conversation}/escalate");
    let close = format!("/api/v1/chat/conversations/{conversation}/close");
    let rating = format!("/api/v1/chat/conversations/{conversation}/rating");

    assert_eq!(
        call(&app, &base, &escalate, &token, None).await.status(),
        202
    );
    assert_eq!(
        call(&app, &base, &escalate, &token, None).await.status(),
        202
    );
    assert_rate_limited(call(&app, &base, &escalate, &token, None).await, window).await;
    assert_rate_limited(call(&app, &base, &close, &token, None).await, window).await;
    assert_rate_limited(
        call(&app, &base, &rating, &token, Some(json!({ "rating": 5 }))).await,
        window,
    )
    .await;

    // The refused close and rating did nothing: the chat is open and unrated (the escalations, which
    // were accepted, opened one ticket).
    wait_until("the escalation is stored", || async {
        app.count(
            "SELECT count(*) FROM tickets WHERE conversation_id = $1",
            &[&conversation],
        )
        .await
            == 1
    })
    .await;
    assert_eq!(status(&app, conversation).await, "open");
    assert!(
        app.query(
            "SELECT rating FROM conversations WHERE id = $1",
            &[&conversation]
        )
        .await[0]
            .get::<_, Option<i16>>(0)
            .is_none()
    );

    // After the window the customer can end the chat and rate it.
    wait_until("the window passes", || async {
        call(&app, &base, &close, &token, None).await.status() == 200
    })
    .await;
    assert_eq!(status(&app, conversation).await, "closed");
    assert_eq!(
        call(&app, &base, &rating, &token, Some(json!({ "rating": 4 })))
            .await
            .status(),
        200
    );
    shutdown.cancel();
    app.stop().await;
}

#[tokio::test]
async fn a_follow_up_counts_as_a_new_session_from_the_address_and_a_refused_one_starts_nothing() {
    let app = spawn_app().await;
    let window = Duration::from_secs(2);
    let (base, shutdown) = limited_api(&app, limits(window)).await;
    let (conversation, token) = stored_conversation(&app).await;
    assert_eq!(
        call(
            &app,
            &base,
            &format!("/api/v1/chat/conversations/{conversation}/close"),
            &token,
            None
        )
        .await
        .status(),
        200
    );
    let follow_up = format!("/api/v1/chat/conversations/{conversation}/follow-up");
    // Two sessions a window from this address: the follow-ups use them.
    assert_eq!(
        call(&app, &base, &follow_up, &token, None).await.status(),
        201
    );
    assert_eq!(
        call(&app, &base, &follow_up, &token, None).await.status(),
        201
    );
    assert_rate_limited(call(&app, &base, &follow_up, &token, None).await, window).await;
    assert_rate_limited(
        app.http
            .post(format!("{base}/api/v1/chat/sessions"))
            .json(&json!({}))
            .send()
            .await
            .expect("session"),
        window,
    )
    .await;
    wait_until("the accepted follow-ups are stored", || async {
        app.count(
            "SELECT count(*) FROM conversations WHERE follows_conversation_id = $1",
            &[&conversation],
        )
        .await
            == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM conversations WHERE follows_conversation_id = $1",
            &[&conversation]
        )
        .await,
        2,
        "a refused follow-up started a conversation"
    );
    shutdown.cancel();
    app.stop().await;
}

/// The notifier with small WebSocket limits that also apply to loopback: (ws URL, shutdown).
async fn limited_ws(
    app: &TestApp,
    limits: joxai_notifier::socket::WsLimits,
) -> (String, CancellationToken) {
    let shutdown = CancellationToken::new();
    let hub = joxai_notifier::Hub::start(app.platform.clone(), shutdown.clone());
    let router = joxai_notifier::router_with_limits(hub, limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("ws://{}/api/v1/ws", listener.local_addr().expect("addr"));
    tokio::spawn(joxai_platform::http::serve(
        listener,
        router,
        shutdown.clone(),
    ));
    (url, shutdown)
}

fn ws_limits(window: Duration, connects: u32, frames: u32) -> joxai_notifier::socket::WsLimits {
    joxai_notifier::socket::WsLimits {
        window,
        connects_per_ip: connects,
        frames_per_socket: frames,
        limit_loopback: true,
    }
}

#[tokio::test]
async fn new_websockets_are_limited_per_client_address() {
    use futures::StreamExt as _;
    let app = spawn_app().await;
    let window = Duration::from_secs(2);
    let (url, shutdown) = limited_ws(&app, ws_limits(window, 2, 100)).await;
    let mut open = vec![];
    for _ in 0..2 {
        open.push(
            tokio_tungstenite::connect_async(&url)
                .await
                .expect("connect within the limit")
                .0,
        );
    }
    let refused = tokio_tungstenite::connect_async(&url)
        .await
        .expect_err("the third connect is refused");
    let tokio_tungstenite::tungstenite::Error::Http(response) = refused else {
        panic!("not an HTTP refusal: {refused}")
    };
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    // The sockets already open are untouched by the refusal.
    for socket in &mut open {
        assert!(
            tokio::time::timeout(Duration::from_millis(100), socket.next())
                .await
                .is_err(),
            "an open socket was closed"
        );
    }
    wait_until("the window passes", || async {
        tokio_tungstenite::connect_async(&url).await.is_ok()
    })
    .await;
    shutdown.cancel();
    app.stop().await;
}

#[tokio::test]
async fn a_socket_that_floods_frames_is_told_why_and_closed_with_4429() {
    use futures::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    let app = spawn_app().await;
    let (url, shutdown) = limited_ws(&app, ws_limits(Duration::from_secs(60), 100, 5)).await;
    let (_, token) = app.start_session().await;
    let (mut socket, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("connect");
    socket
        .send(Message::Text(
            json!({ "type": "auth", "token": token }).to_string().into(),
        ))
        .await
        .expect("auth");
    // Auth plus four pings are within the limit of five; each ping is answered.
    let mut frames = vec![];
    for _ in 0..4 {
        socket
            .send(Message::Text(json!({ "type": "ping" }).to_string().into()))
            .await
            .expect("ping");
    }
    // The sixth frame is over the limit.
    socket
        .send(Message::Text(json!({ "type": "ping" }).to_string().into()))
        .await
        .expect("ping");
    let mut close_code = None;
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_secs(5), socket.next()).await
    {
        match message {
            Message::Text(text) => frames.push(serde_json::from_str::<Value>(&text).expect("json")),
            Message::Close(frame) => {
                close_code = frame.map(|f| u16::from(f.code));
                break;
            }
            _ => {}
        }
    }
    let pongs = frames.iter().filter(|f| f["type"] == "pong").count();
    assert_eq!(
        pongs, 4,
        "only the frames within the limit were acted on: {frames:?}"
    );
    assert!(
        frames
            .iter()
            .any(|f| f["type"] == "error" && f["code"] == "rate_limited"),
        "{frames:?}"
    );
    assert_eq!(
        close_code,
        Some(joxai_notifier::socket::CLOSE_TOO_MANY_FRAMES)
    );
    shutdown.cancel();
    app.stop().await;
}
