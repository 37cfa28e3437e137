//! Card data typed into the chat, end to end, in the plainest formats (digits together, spaces, dashes).
//!
//! Invariant: a Luhn-valid card number or a security code a customer types never reaches Postgres,
//! the bus (every raw message and header of every stream) or the LLM request beyond the first six
//! and last four digits of the card. (The generated-input properties of `redact` itself are in
//! `nlu/tests/redaction_properties.rs`.)

mod fault_support;
mod support;

use std::time::Duration;

use fault_support::{FakeLlm, random_pan, raw_stream, wait_long};
use serde_json::json;
use support::{is_message_from, spawn_app_with};

fn grouped(pan: &str, separator: &str) -> String {
    pan.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect::<Vec<_>>()
        .join(separator)
}

/// The forbidden forms of a card number: its digits together and as typed, and its middle digits.
fn forbidden(pan: &str, typed: &str) -> Vec<String> {
    vec![
        pan.to_owned(),
        typed.to_owned(),
        pan[..7].to_owned() + &pan[7..pan.len() - 4],
    ]
}

fn assert_clean(place: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(!text.contains(secret.as_str()), "{place} holds {secret:?}");
    }
}

#[tokio::test]
async fn a_card_number_or_cvv_typed_in_chat_never_reaches_postgres_the_bus_or_the_llm() {
    let (url, fake) = FakeLlm {
        reply: "Happy to help with that.".into(),
        ..Default::default()
    }
    .serve()
    .await;
    let app = spawn_app_with(move |f| {
        f.merge(("llm.provider", "openai"))
            .merge(("llm.base_url", url))
            .merge(("llm.openai_api_key", "k"))
    })
    .await;
    let (conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;

    let cards: Vec<(String, String)> = [(16, " "), (16, "-"), (15, ""), (19, " "), (13, "")]
        .into_iter()
        .map(|(len, sep)| {
            let pan = random_pan(len);
            let typed = grouped(&pan, sep);
            (pan, typed)
        })
        .collect();
    let cvv = "7391";
    let texts = [
        format!(
            // A plain savings question, so the bot answers it (through the fake LLM) whatever the others lead to.
            "what savings plans do you offer? my card is {}",
            cards[0].1
        ),
        format!(
            "{} is my card number and the security code is {cvv}",
            cards[1].1
        ),
        format!("hola, mi tarjeta {} — ¿qué tal los ahorros?", cards[2].1),
        format!(
            "card {} cvv: {cvv} please explain interest rates",
            cards[3].1
        ),
        format!("🙂 {}", cards[4].1),
    ];
    for (i, text) in texts.iter().enumerate() {
        assert_eq!(
            app.post_message(conversation, &token, &format!("pan-{i}"), text)
                .await
                .status(),
            202
        );
        if i == 0 {
            // The savings question is answered by the bot (through the fake LLM) before anything the
            // classifier may hand to a person: once a person has the conversation the bot stays quiet.
            ws.wait_event("the bot's answer", |f| {
                is_message_from(f, "bot")
                    && f["event"]["payload"]["message"]["in_reply_to"].is_string()
            })
            .await;
        }
    }
    let rating = app
        .http
        .post(app.url(&format!("/api/v1/chat/conversations/{conversation}/rating")))
        .bearer_auth(&token)
        .json(&json!({ "rating": 4, "comment": format!("thanks, card {} cvv {cvv}", cards[0].1) }))
        .send()
        .await
        .expect("rating");
    assert!(
        rating.status().is_success(),
        "rating accepted: {}",
        rating.status()
    );

    wait_long(
        "every message is stored",
        Duration::from_secs(20),
        || async {
            app.count(
                "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'customer'",
                &[&conversation],
            )
            .await
                == texts.len() as i64
        },
    )
    .await;
    ws.wait_event("a bot reply", |f| is_message_from(f, "bot"))
        .await;
    ws.drain_for(Duration::from_secs(2)).await;

    let mut secrets: Vec<String> = cards
        .iter()
        .flat_map(|(pan, typed)| forbidden(pan, typed))
        .collect();
    secrets.push(format!("code is {cvv}"));
    secrets.push(format!("cvv: {cvv}"));
    secrets.push(format!("cvv {cvv}"));

    // Postgres: every row of every table, as text.
    let tables = app
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .await;
    for table in tables {
        let table: String = table.get(0);
        let dump = app
            .query(
                &format!("SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM \"{table}\" t"),
                &[],
            )
            .await;
        assert_clean(
            &format!("table {table}"),
            dump[0].get::<_, &str>(0),
            &secrets,
        );
    }
    // The masked form is what was stored.
    let stored = app
        .count(
            "SELECT count(*) FROM messages WHERE text LIKE $1",
            &[&format!(
                "%{}******{}%",
                &cards[0].0[..6],
                &cards[0].0[12..]
            )],
        )
        .await;
    assert_eq!(
        stored, 1,
        "the message is stored with the card masked to 6 + 4"
    );

    // The bus: every message of every stream, headers included.
    let topology = app.platform.bus.topology().clone();
    for stream in [
        topology.commands_stream(),
        topology.events_stream(),
        topology.dead_letter_stream(),
    ] {
        for (subject, message) in raw_stream(&app.platform, &stream).await {
            assert_clean(
                &format!("{stream} message on {subject}"),
                &message,
                &secrets,
            );
        }
    }
    // The WebSocket pushes, and the LLM requests.
    for frame in &ws.seen {
        assert_clean("a WebSocket push", &frame.to_string(), &secrets);
    }
    assert!(fake.calls() >= 1, "the model was asked at least once");
    for request in fake.requests.lock().expect("lock").iter() {
        assert_clean("an LLM request", &request.to_string(), &secrets);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_client_message_id_that_reads_as_a_card_number_is_masked_and_retries_still_count_once() {
    let app = support::spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;
    let pan = random_pan(16);
    let typed = grouped(&pan, "-");
    // Sent, then retried with the same id: one message.
    for _ in 0..2 {
        let response = app
            .post_message(conversation, &token, &typed, "hello")
            .await;
        assert_eq!(
            response.status(),
            202,
            "an id is a retry key, never a reason to refuse a message"
        );
    }
    ws.wait_event("the stored message", |f| is_message_from(f, "customer"))
        .await;
    ws.drain_for(Duration::from_millis(500)).await;
    let rows = app
        .query("SELECT client_message_id FROM messages WHERE conversation_id = $1 AND sender = 'customer'", &[&conversation])
        .await;
    assert_eq!(rows.len(), 1, "stored once");
    let stored: String = rows[0].get(0);
    assert!(
        stored.starts_with("masked-"),
        "stored as a stand-in: {stored}"
    );
    let secrets = forbidden(&pan, &typed);
    assert_clean("the stored client id", &stored, &secrets);
    for frame in &ws.seen {
        assert_clean("a WebSocket push", &frame.to_string(), &secrets);
    }
    let topology = app.platform.bus.topology().clone();
    for (subject, message) in raw_stream(&app.platform, &topology.commands_stream()).await {
        assert_clean(&format!("a command on {subject}"), &message, &secrets);
    }
    // An ordinary id is kept as sent.
    assert_eq!(
        app.post_message(conversation, &token, "w-0123abcd_4567", "hello again")
            .await
            .status(),
        202
    );
    app.stop().await;
}
