//! Rate limits on the public chat endpoints: new sessions per address, messages
//! per conversation and per address; 429 with `Retry-After` and the usual error body; recovery after
//! the window; a forged `X-Forwarded-For` from an untrusted peer changes nothing.
//!
//! The limits are tiny here, so these tests serve the API router themselves with explicit limits
//! (the environment cannot be changed safely inside a test) next to the app `spawn_app` started.

mod desk_helpers;
mod support;

use std::time::Duration;

use joxai_ingress::rate_limit::Limits;
use serde_json::{Value, json};
use support::{TestApp, spawn_app, wait_until};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The API with small limits that also apply to loopback: (base URL, shutdown).
async fn limited_api(app: &TestApp) -> (String, CancellationToken) {
    let limits = Limits {
        window: Duration::from_secs(2),
        sessions_per_ip: 3,
        messages_per_conversation: 4,
        messages_per_ip: 6,
        limit_loopback: true,
    };
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

async fn start_session(
    app: &TestApp,
    base: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .http
        .post(format!("{base}/api/v1/chat/sessions"))
        .json(&json!({}));
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    request.send().await.expect("session")
}

async fn post_message(
    app: &TestApp,
    base: &str,
    conversation: &str,
    token: &str,
    id: &str,
) -> reqwest::Response {
    app.http
        .post(format!(
            "{base}/api/v1/chat/conversations/{conversation}/messages"
        ))
        .bearer_auth(token)
        .json(&json!({ "client_message_id": id, "text": "hello" }))
        .send()
        .await
        .expect("message")
}

async fn assert_rate_limited(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(
        (1..=2).contains(&retry_after),
        "Retry-After within the window: {retry_after}"
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "rate_limited");
    assert!(body["message"].is_string());
    body
}

#[tokio::test]
async fn new_sessions_from_one_address_are_limited_and_allowed_again_after_the_window() {
    let app = spawn_app().await;
    let (base, shutdown) = limited_api(&app).await;
    for _ in 0..3 {
        assert_eq!(start_session(&app, &base, None).await.status(), 201);
    }
    assert_rate_limited(start_session(&app, &base, None).await).await;
    // The peer is not a trusted proxy: a made-up client address buys nothing.
    assert_rate_limited(start_session(&app, &base, Some("203.0.113.9")).await).await;
    // The default router (loopback exempt) is unaffected.
    assert_eq!(
        app.http
            .post(app.url("/api/v1/chat/sessions"))
            .json(&json!({}))
            .send()
            .await
            .expect("s")
            .status(),
        201
    );

    wait_until("the window passes", || async {
        start_session(&app, &base, None).await.status() == 201
    })
    .await;
    shutdown.cancel();
    app.stop().await;
}

#[tokio::test]
async fn messages_are_limited_per_conversation_and_per_address_and_refused_ones_are_not_stored() {
    let app = spawn_app().await;
    let (base, shutdown) = limited_api(&app).await;
    let session = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.expect("json");
        (
            body["conversation_id"].as_str().expect("id").to_owned(),
            body["token"].as_str().expect("token").to_owned(),
        )
    };
    let (first, first_token) = session(start_session(&app, &base, None).await).await;
    let (second, second_token) = session(start_session(&app, &base, None).await).await;

    for i in 0..4 {
        assert_eq!(
            post_message(&app, &base, &first, &first_token, &format!("a{i}"))
                .await
                .status(),
            202
        );
    }
    let body =
        assert_rate_limited(post_message(&app, &base, &first, &first_token, "a4").await).await;
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("conversation"),
        "{body}"
    );

    // Another conversation has its own allowance, until the address's (6 a window) runs out.
    for i in 0..2 {
        assert_eq!(
            post_message(&app, &base, &second, &second_token, &format!("b{i}"))
                .await
                .status(),
            202
        );
    }
    let body =
        assert_rate_limited(post_message(&app, &base, &second, &second_token, "b2").await).await;
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("address"),
        "{body}"
    );

    let first_id: Uuid = first.parse().expect("uuid");
    wait_until("the accepted messages are stored", || async {
        app.count(
            "SELECT count(*) FROM messages WHERE sender = 'customer' AND conversation_id = $1",
            &[&first_id],
        )
        .await
            == 4
    })
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM messages WHERE client_message_id IN ('a4', 'b2')",
            &[]
        )
        .await,
        0,
        "a refused message is not stored"
    );

    wait_until("the window passes", || async {
        post_message(&app, &base, &first, &first_token, "a4")
            .await
            .status()
            == 202
    })
    .await;
    shutdown.cancel();
    app.stop().await;
}
