//! The broker goes away. Each test runs its own nats-server on a free port so
//! it can stop it (SIGTERM) or crash it (SIGKILL) and start it again on the same store.
//!
//! Invariants: no customer message lost, no reply doubled, no push doubled.

mod fault_support;
mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use fault_support::{PrivateNats, connect, ledger, wait_long};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use support::{TestApp, Ws, is_message_from, spawn_app_with};
use uuid::Uuid;

/// What the widget does: POST, and on 503 or a dropped connection POST again with the same client id,
/// honouring `Retry-After` (capped so the test stays short). Returns how many attempts were refused.
async fn post_until_accepted(
    app: &TestApp,
    conversation: Uuid,
    token: &str,
    client_id: &str,
    text: &str,
) -> u32 {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    let mut refused = 0;
    loop {
        let response = http
            .post(app.url(&format!(
                "/api/v1/chat/conversations/{conversation}/messages"
            )))
            .bearer_auth(token)
            .json(&json!({ "client_message_id": client_id, "text": text }))
            .send()
            .await;
        match response {
            Ok(r) if r.status() == 202 => return refused,
            Ok(r) => {
                assert_eq!(
                    r.status(),
                    503,
                    "a broker outage is a 503, never {}",
                    r.status()
                );
                assert!(
                    r.headers().contains_key("retry-after"),
                    "503 carries Retry-After"
                );
            }
            Err(e) => panic!("the API itself must stay up while NATS is down: {e}"),
        }
        refused += 1;
        assert!(
            tokio::time::Instant::now() < deadline,
            "{client_id} was never accepted"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn app_on(nats: &PrivateNats) -> TestApp {
    spawn_app_with(|f| nats.connect_as("operator", f)).await
}

fn bot_message_ids(ws: &Ws) -> Vec<String> {
    ws.seen
        .iter()
        .filter(|f| is_message_from(f, "bot"))
        .map(|f| {
            f["event"]["payload"]["message"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// With NATS down a chat POST is refused with 503 and `Retry-After` (it is not accepted durably
/// elsewhere: the bus is the only durable intake); once NATS is back the widget's retry with the same
/// client id is accepted, and the message is stored once and answered once — even if the refused
/// attempt's publish was flushed by the client library on reconnect.
#[tokio::test]
async fn with_nats_down_a_chat_post_gets_503_and_its_retry_is_processed_once_when_nats_is_back() {
    let mut nats = PrivateNats::start();
    let app = app_on(&nats).await;
    let (conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;

    nats.stop();
    let refused = app
        .post_message(conversation, &token, "during-outage", "what is my balance?")
        .await;
    assert_eq!(refused.status(), 503, "NATS down → 503");
    let retry_after = refused
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        retry_after.is_some_and(|s| (1..=60).contains(&s)),
        "Retry-After in seconds, got {retry_after:?}"
    );
    let body: Value = refused.json().await.expect("error body");
    assert_eq!(body["code"], "unavailable");

    nats.restart();
    post_until_accepted(
        &app,
        conversation,
        &token,
        "during-outage",
        "what is my balance?",
    )
    .await;
    // The widget may retry once more after a lost 202: still one message.
    assert_eq!(
        app.post_message(conversation, &token, "during-outage", "what is my balance?")
            .await
            .status(),
        202
    );

    ws.wait_event("the bot's reply", |f| is_message_from(f, "bot"))
        .await;
    ws.drain_for(Duration::from_secs(2)).await;
    let db = connect(app.platform.config.database_url.expose_secret()).await;
    let l = ledger(&db).await;
    assert_eq!(
        (
            l.customer_messages,
            l.unanswered,
            l.doubled,
            l.duplicate_customer_messages
        ),
        (1, 0, 0, 0),
        "{l:?}"
    );
    assert_eq!(
        ws.count(|f| is_message_from(f, "customer")),
        1,
        "one push of the customer's message"
    );
    assert_eq!(
        ws.count(|f| is_message_from(f, "bot")),
        1,
        "one push of the reply"
    );
    app.stop().await;
}

/// nats-server stopped (SIGTERM) and later crashed (SIGKILL) while customers keep writing: the workers
/// and the notifier reconnect by themselves; every accepted message is stored once and answered once;
/// live sockets get every reply exactly once; a client that was disconnected during the outage and
/// resumes from the last sequence it saw gets exactly the replies it missed.
#[tokio::test]
async fn nats_restarted_under_load_loses_and_doubles_nothing_and_resume_fills_the_gap() {
    const CONVERSATIONS: usize = 4;
    const MESSAGES_EACH: usize = 5;
    let texts = [
        "what is my balance?",
        "how do I activate my new card?",
        "how long does a transfer take?",
        "what are your opening hours?",
        "how do I change my address?",
    ];
    let mut nats = PrivateNats::start();
    let app = std::sync::Arc::new(app_on(&nats).await);
    let mut sessions = vec![];
    for _ in 0..CONVERSATIONS {
        sessions.push(app.start_session().await);
    }
    let mut live: Vec<Ws> = vec![];
    for (_, token) in &sessions[1..] {
        live.push(app.ws(token).await);
    }
    // Conversation 0's widget talks once, sees the reply, then loses its socket for the outage.
    let (c0, t0) = sessions[0].clone();
    let mut ws0 = app.ws(&t0).await;
    post_until_accepted(&app, c0, &t0, "c0-before", "what is my balance?").await;
    let before = ws0
        .wait_event("the first reply", |f| is_message_from(f, "bot"))
        .await;
    let resume_from = before["seq"].as_u64().expect("seq");
    drop(ws0);

    let mut drivers = vec![];
    for (i, (conversation, token)) in sessions.iter().cloned().enumerate() {
        let app = app.clone();
        drivers.push(tokio::spawn(async move {
            let mut refused = 0;
            for n in 0..MESSAGES_EACH {
                let text = texts[(i + n) % texts.len()];
                refused +=
                    post_until_accepted(&app, conversation, &token, &format!("c{i}-m{n}"), text)
                        .await;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            refused
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    nats.stop();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    nats.restart();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    nats.kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    nats.restart();
    let mut refused = 0;
    for d in drivers {
        refused += d.await.expect("driver");
    }
    let expected = (CONVERSATIONS * MESSAGES_EACH + 1) as i64;

    let db = connect(app.platform.config.database_url.expose_secret()).await;
    wait_long(
        "every accepted message is stored and answered",
        Duration::from_secs(40),
        || async {
            let l = ledger(&db).await;
            l.customer_messages == expected && l.unanswered == 0
        },
    )
    .await;
    for ws in &mut live {
        ws.drain_for(Duration::from_millis(1500)).await;
    }
    let l = ledger(&db).await;
    assert_eq!(l.doubled, 0, "no reply doubled: {l:?}");
    assert_eq!(
        l.duplicate_customer_messages, 0,
        "no message doubled: {l:?}"
    );

    // Live sockets: every stored reply of their conversation pushed exactly once.
    for (k, ws) in live.iter().enumerate() {
        let conversation = sessions[k + 1].0;
        let stored: i64 = db
            .query_one(
                "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'bot'",
                &[&conversation],
            )
            .await
            .expect("count")
            .get(0);
        let pushed = bot_message_ids(ws);
        let distinct: HashSet<_> = pushed.iter().collect();
        assert_eq!(
            distinct.len(),
            pushed.len(),
            "no push doubled on a live socket"
        );
        assert_eq!(
            pushed.len() as i64,
            stored,
            "a live socket got every reply of its conversation"
        );
    }

    // The disconnected widget resumes after the last sequence it saw: exactly what it missed.
    let mut ws0 = app.ws(&t0).await;
    ws0.send(json!({ "type": "resume", "after": resume_from }))
        .await;
    ws0.drain_for(Duration::from_secs(2)).await;
    let missed: i64 = db
        .query_one(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'bot' AND client_message_id IS DISTINCT FROM 'x'",
            &[&c0],
        )
        .await
        .expect("count")
        .get(0);
    let replayed = bot_message_ids(&ws0);
    let mut counts: HashMap<&String, usize> = HashMap::new();
    for id in &replayed {
        *counts.entry(id).or_default() += 1;
    }
    assert!(
        counts.values().all(|&n| n == 1),
        "resume doubles nothing: {counts:?}"
    );
    assert_eq!(
        replayed.len() as i64,
        missed - 1,
        "resume delivers every reply after the one already seen"
    );
    println!(
        "nats restart: {expected} messages, {refused} refused attempts retried, 0 lost, 0 doubled"
    );
    drop(ws0);
    drop(live);
    if let Ok(app) = std::sync::Arc::try_unwrap(app) {
        app.stop().await;
    }
}
