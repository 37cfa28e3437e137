//! The banking AI end to end: answers on a verified customer's own data, general answers and a
//! sign-in prompt for visitors, and escalation reasons (card blocking and the safety rules: `ai_safety.rs`).

mod support;

use joxai_ingress::routes::chat::sign_identity;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use support::{TestApp, is_message_from, spawn_app};

async fn verified_session(app: &TestApp, customer_ref: &str, name: &str) -> (uuid::Uuid, String) {
    let issued_at = time::OffsetDateTime::now_utc().unix_timestamp();
    let secret = app
        .platform
        .config
        .widget_secret
        .expose_secret()
        .as_bytes()
        .to_vec();
    let signature = sign_identity(&secret, customer_ref, Some(name), issued_at);
    app.start_session_with(json!({
        "locale": "en",
        "identity": { "customer_ref": customer_ref, "display_name": name, "issued_at": issued_at, "signature": signature }
    }))
    .await
}

async fn bot_reply(app: &TestApp, token: &str, conversation: uuid::Uuid, text: &str) -> String {
    let mut ws = app.ws(token).await;
    assert_eq!(
        app.post_message(conversation, token, "q1", text)
            .await
            .status(),
        202
    );
    let reply = ws
        .wait_event("the bot's reply", |f| is_message_from(f, "bot"))
        .await;
    reply["event"]["payload"]["message"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_verified_customer_asking_for_the_balance_gets_their_real_demo_balance() {
    let app = spawn_app().await;
    let (conversation, token) = verified_session(&app, "CUST-1002", "John Smith").await;
    let text = bot_reply(&app, &token, conversation, "what's my balance?").await;
    assert!(
        text.contains("€830.10"),
        "John's current account balance, got {text:?}"
    );
    assert!(text.contains("€3,100.00"), "and his savings, got {text:?}");
    assert!(
        !text.contains("2,300.75"),
        "never another customer's data: {text:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_unverified_visitor_asking_for_the_balance_is_asked_to_sign_in() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let text = bot_reply(&app, &token, conversation, "what's my balance?").await;
    assert!(
        text.to_lowercase().contains("sign in"),
        "asked to sign in, got {text:?}"
    );
    assert!(
        !text.contains('€'),
        "no amounts for an unverified visitor: {text:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_forged_identity_signature_is_refused() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/api/v1/chat/sessions"))
        .json(&json!({ "identity": { "customer_ref": "CUST-1001", "issued_at": time::OffsetDateTime::now_utc().unix_timestamp(), "signature": "00".repeat(32) } }))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 422);
    app.stop().await;
}

#[tokio::test]
async fn a_spanish_question_is_answered_in_spanish_from_the_knowledge_base() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let text = bot_reply(
        &app,
        &token,
        conversation,
        "¿Cuándo llegará mi tarjeta nueva?",
    )
    .await;
    let lower = text.to_lowercase();
    assert!(
        lower.contains("tarjeta") && (lower.contains("días") || lower.contains("dias")),
        "a Spanish answer about card delivery, got {text:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_metrics_endpoint_exposes_the_pipeline_and_ai_families_after_a_chat_turn() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    bot_reply(&app, &token, conversation, "how do I activate my card?").await;
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for family in [
        "joxai_http_requests_total",
        "joxai_http_request_duration_seconds",
        "joxai_ws_connections",
        "joxai_ws_pushes_total",
        "joxai_worker_messages_total",
        "joxai_worker_handle_duration_seconds",
        "joxai_worker_in_flight",
        "joxai_chat_turns_total",
        "joxai_chat_turn_duration_seconds",
        "joxai_nlu_classification_duration_seconds",
        "joxai_nlu_intents_total",
        "joxai_db_pool_connections",
        "joxai_db_query_duration_seconds",
        "process_resident_memory_bytes",
    ] {
        assert!(
            metrics.contains(&format!("\n{family}")) || metrics.starts_with(family),
            "missing {family}"
        );
    }
    assert!(
        !metrics.contains(&conversation.to_string()),
        "no ids in labels"
    );
    let _: Option<Value> = None;
    app.stop().await;
}
