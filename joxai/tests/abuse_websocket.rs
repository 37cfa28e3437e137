//! The WebSocket under abuse.
//!
//! Invariants: a page from another origin cannot open a socket; a socket without a valid token gets
//! nothing and is closed with 4401; a frame over 64 KiB closes the socket; a revoked staff session's
//! socket closes within seconds; a reader that stops reading is dropped instead of making the server
//! buffer without bound.

mod support;

use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt as _, StreamExt as _};
use joxai_platform::metrics::metrics;
use serde_json::json;
use support::{TestApp, spawn_app, spawn_app_with};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn raw_socket(app: &TestApp) -> Socket {
    tokio_tungstenite::connect_async(format!("ws://{}/api/v1/ws", app.addr))
        .await
        .expect("connect")
        .0
}

/// Read until the server closes; the close code, or `None` if the connection just ended.
async fn close_code(socket: &mut Socket, within: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => panic!("the server did not close the socket within {within:?}"),
            Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
        }
    }
}

#[tokio::test]
async fn a_page_from_a_disallowed_origin_cannot_open_a_socket() {
    let app = spawn_app().await;
    let mut request = format!("ws://{}/api/v1/ws", app.addr)
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().expect("header"));
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {:?}", other.map(|(_, r)| r.status())),
    }
    // The same page on the app's own origin may.
    let mut request = format!("ws://{}/api/v1/ws", app.addr)
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "origin",
        format!("http://{}", app.addr).parse().expect("header"),
    );
    assert!(
        tokio_tungstenite::connect_async(request).await.is_ok(),
        "same origin is allowed"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_socket_with_a_bad_or_missing_token_gets_nothing_and_is_closed_with_4401() {
    let app = spawn_app().await;
    let (_conversation, customer) = app.start_session().await;
    let forged = {
        // A well-formed token signed with another key.
        let mut parts: Vec<String> = customer.split('.').map(str::to_owned).collect();
        parts[2] = "c2lnbmF0dXJlLWZyb20tYW5vdGhlci1rZXk".into();
        parts.join(".")
    };
    for first_frame in [
        json!({ "type": "auth", "token": "not-a-jwt" }).to_string(),
        json!({ "type": "auth", "token": forged }).to_string(),
        json!({ "type": "resume", "after": 0 }).to_string(),
        "{".to_owned(),
    ] {
        let mut socket = raw_socket(&app).await;
        socket
            .send(Message::Text(first_frame.clone().into()))
            .await
            .expect("send");
        let mut frames = vec![];
        let code = loop {
            match tokio::time::timeout(Duration::from_secs(5), socket.next())
                .await
                .expect("answer in time")
            {
                Some(Ok(Message::Text(t))) => frames.push(t.to_string()),
                Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => break None,
            }
        };
        assert_eq!(code, Some(4401), "closed with 4401 after {first_frame}");
        assert!(
            frames
                .iter()
                .all(|f| !f.contains("\"ready\"") && !f.contains("\"event\"")),
            "nothing pushed: {frames:?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_frame_over_64_kib_closes_the_socket() {
    let app = spawn_app().await;
    let (_conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;
    let huge = json!({ "type": "ping", "padding": "x".repeat(65 * 1024) }).to_string();
    // The server may close while we are still writing: a send error is fine too.
    let _ = ws.socket.send(Message::Text(huge.into())).await;
    let code = close_code(&mut ws.socket, Duration::from_secs(5)).await;
    assert!(
        code.is_none_or(|c| c == u16::from(CloseCode::Size) || c == u16::from(CloseCode::Protocol)),
        "closed, code {code:?}"
    );
    // A frame just under the limit is fine (answered as a ping).
    let mut ws = app.ws(&token).await;
    let ok = json!({ "type": "ping" }).to_string() + &" ".repeat(60 * 1024);
    ws.send(serde_json::from_str(&ok).expect("json")).await;
    let pong = ws.next_frame().await.expect("an answer");
    assert_eq!(pong["type"], "pong");
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_staff_sessions_socket_is_closed_within_seconds() {
    let app = spawn_app().await;
    let token = app.login("agent@joxai.local").await;
    let mut ws = app.ws(&token).await;
    let out = app
        .http
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 204);
    let code = close_code(&mut ws.socket, Duration::from_secs(6)).await;
    assert_eq!(code, Some(4401), "closed as unauthorized");
    app.stop().await;
}

/// A staff socket that never reads while large events flow: the server stops waiting for it after its
/// send timeout and drops it (counted in `joxai_ws_slow_client_drops_total`), rather than buffering
/// every event for it; a socket that reads keeps receiving.
#[tokio::test]
async fn a_reader_that_never_reads_is_dropped_instead_of_growing_server_memory() {
    // Room for the ~36 MB below: a full events stream refuses new events rather than evicting old ones.
    let app = spawn_app_with(|f| f.merge(("nats_stream_max_bytes", 64 << 20))).await;
    let admin = app.login("admin@joxai.local").await;
    let drops_before = metrics()
        .ws_slow_client_drops
        .with_label_values(&["staff"])
        .get();
    let stalled = app.ws(&admin).await; // never read again
    let mut reader = app.ws(&admin).await;

    // ~36 MB of events: far more than the loopback socket buffers on both ends can hold.
    let bus = &app.platform.bus;
    let conversation = uuid::Uuid::now_v7();
    let subject = bus
        .subjects()
        .event::<joxai_schemas::events::Typing>(conversation);
    let padding = "p".repeat(180 * 1024);
    let publish_all = async {
        for i in 0..200 {
            let id = uuid::Uuid::now_v7();
            let event = json!({
                "id": id, "type": "typing", "version": 1, "occurred_at": "2026-01-01T00:00:00Z",
                "correlation_id": id, "payload": { "conversation_id": conversation, "sender": "customer", "name": null, "padding": padding, "n": i }
            });
            bus.publish_raw(
                subject.clone(),
                &id.to_string(),
                async_nats::HeaderMap::new(),
                Bytes::from(event.to_string()),
            )
            .await
            .expect("publish");
        }
    };
    // Keep the reading socket drained meanwhile.
    let read_all = async {
        let mut last = 0;
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout(Duration::from_secs(3), reader.socket.next()).await
        {
            if let Message::Text(t) = message
                && let Some(n) = serde_json::from_str::<serde_json::Value>(&t)
                    .ok()
                    .and_then(|v| v["event"]["payload"]["n"].as_u64())
            {
                last = n;
            }
        }
        last
    };
    let ((), last_read) = tokio::join!(publish_all, read_all);
    assert_eq!(last_read, 199, "a reading socket gets every event");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while metrics()
        .ws_slow_client_drops
        .with_label_values(&["staff"])
        .get()
        <= drops_before
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled socket was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(stalled);
    app.stop().await;
}
