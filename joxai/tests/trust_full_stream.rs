//! A full command stream refuses new work instead of deleting work no worker has done yet: the
//! customer is told 503 with `Retry-After`, and every message accepted before stays in the stream
//! and is stored.

mod support;

use std::collections::HashSet;

use support::spawn_app_with;

#[tokio::test]
async fn a_full_command_stream_answers_503_with_retry_after_and_loses_no_accepted_message() {
    // A stream this small fills after a few dozen messages.
    let app = spawn_app_with(|f| f.merge(("nats_stream_max_bytes", 48 * 1024))).await;
    let commands = app.platform.bus.topology().commands_stream();
    let mut accepted = Vec::new();
    let mut refused = None;
    'fill: for _ in 0..40 {
        // Opening a chat is a command too: it may be the one the full stream refuses.
        let response = app
            .http
            .post(app.url("/api/v1/chat/sessions"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("session");
        if response.status() == 503 {
            refused = Some(response);
            break 'fill;
        }
        let session: serde_json::Value = response.json().await.expect("session body");
        let conversation: uuid::Uuid = session["conversation_id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("uuid");
        let token = session["token"].as_str().expect("token").to_owned();
        for n in 0..20 {
            let client_id = format!("{conversation}-{n}");
            let response = app
                .post_message(
                    conversation,
                    &token,
                    &client_id,
                    &format!("message {n} {}", "x".repeat(200)),
                )
                .await;
            match response.status().as_u16() {
                202 => accepted.push((conversation, token.clone(), client_id)),
                503 => {
                    refused = Some(response);
                    break 'fill;
                }
                other => panic!(
                    "unexpected status {other}: {}",
                    response.text().await.unwrap_or_default()
                ),
            }
        }
    }
    let refused = refused.expect("the stream never filled");
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry_after >= 1, "Retry-After is {retry_after}");
    assert!(
        accepted.len() > 10,
        "only {} messages fitted",
        accepted.len()
    );

    // Nothing was evicted: the stream still begins at its first message.
    let mut stream = app
        .platform
        .bus
        .jetstream()
        .get_stream(&commands)
        .await
        .expect("stream");
    let info = stream.info().await.expect("info").clone();
    assert_eq!(
        info.config.discard,
        async_nats::jetstream::stream::DiscardPolicy::New
    );
    assert_eq!(
        info.state.first_sequence, 1,
        "the full stream deleted its oldest commands"
    );
    assert_eq!(
        info.state.messages, info.state.last_sequence,
        "a command is missing from the stream"
    );

    // And every accepted customer message is stored, each once.
    let mut stored = HashSet::new();
    let expected = accepted.len();
    support::wait_until("every accepted message is stored", || {
        let app = &app;
        async move {
            app.count(
                "SELECT count(*) FROM messages WHERE sender = 'customer'",
                &[],
            )
            .await as usize
                >= expected
        }
    })
    .await;
    for row in app
        .query(
            "SELECT client_message_id FROM messages WHERE sender = 'customer'",
            &[],
        )
        .await
    {
        assert!(
            stored.insert(row.get::<_, String>(0)),
            "a customer message was stored twice"
        );
    }
    for (_, _, client_id) in &accepted {
        assert!(
            stored.contains(client_id),
            "accepted message {client_id} was lost"
        );
    }
    app.stop().await;
}
