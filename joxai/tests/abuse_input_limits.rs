//! Hostile input on the public chat API.
//!
//! Invariants: an oversized body is 413, malformed or absurdly nested JSON is 400, a message over the
//! length limit is 422; unicode edge cases (RTL, zero-width, emoji, combining marks, lone surrogates,
//! NUL) are either refused with a 4xx or accepted *and then stored* — never a 5xx, never a panic, never
//! a 202 for a message the pipeline then cannot store.

mod fault_support;
mod support;

use std::time::Duration;

use fault_support::wait_long;
use reqwest::header::CONTENT_TYPE;
use support::{TestApp, spawn_app};
use uuid::Uuid;

async fn post_raw(
    app: &TestApp,
    conversation: Uuid,
    token: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::StatusCode {
    app.http
        .post(app.url(&format!(
            "/api/v1/chat/conversations/{conversation}/messages"
        )))
        .bearer_auth(token)
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test]
async fn oversized_nested_and_overlong_bodies_get_a_4xx_never_a_5xx() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;

    let big = format!(
        r#"{{"client_message_id":"big","text":"{}"}}"#,
        "a".repeat(70 * 1024)
    );
    assert_eq!(
        post_raw(&app, conversation, &token, big).await,
        413,
        "a body over 64 KiB"
    );

    for depth in [200, 10_000] {
        let arrays = format!(
            r#"{{"client_message_id":"n","text":"x","extra":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let status = post_raw(&app, conversation, &token, arrays).await;
        assert!(status.is_client_error(), "nesting depth {depth} → {status}");
        let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        let status = post_raw(&app, conversation, &token, objects).await;
        assert!(
            status.is_client_error(),
            "object nesting depth {depth} → {status}"
        );
    }
    for (body, expected) in [
        ("{", 400),
        ("", 400),
        ("null", 422),
        ("[]", 422),
        (r#"{"client_message_id":"x"}"#, 422),
        (r#"{"client_message_id":"x","text":""}"#, 422),
        (r#"{"client_message_id":"x","text":"   \n\t "}"#, 422),
        (r#"{"client_message_id":"../../etc","text":"hi"}"#, 422),
        (r#"{"client_message_id":"x","text":"hi","admin":true}"#, 422),
        (r#"{"client_message_id":7,"text":"hi"}"#, 422),
    ] {
        let status = post_raw(&app, conversation, &token, body).await;
        assert_eq!(status.as_u16(), expected, "{body:?}");
    }

    let limit = joxai_ingress::routes::chat::MAX_MESSAGE_CHARS;
    let r = app
        .post_message(conversation, &token, "long-ok", &"é".repeat(limit))
        .await;
    assert_eq!(
        r.status(),
        202,
        "exactly the limit (in characters, not bytes)"
    );
    let r = app
        .post_message(conversation, &token, "long-no", &"a".repeat(limit + 1))
        .await;
    assert_eq!(r.status(), 422, "one character over the limit");

    let wrong_type = app
        .http
        .post(app.url(&format!(
            "/api/v1/chat/conversations/{conversation}/messages"
        )))
        .bearer_auth(&token)
        .header(CONTENT_TYPE, "text/plain")
        .body(r#"{"client_message_id":"t","text":"hi"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(wrong_type.status(), 415);
    let bad_path = app
        .http
        .get(app.url("/api/v1/chat/conversations/not-a-uuid/messages"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert!(
        bad_path.status().is_client_error(),
        "a malformed id in the path → {}",
        bad_path.status()
    );
    app.stop().await;
}

/// Every unicode oddity is refused with a 4xx or accepted and stored; none is a 5xx, and none is
/// accepted and then lost in the pipeline (dead-lettered).
#[tokio::test]
async fn unicode_edge_cases_are_refused_or_stored_never_a_5xx_or_a_lost_message() {
    let cases: Vec<(&str, String)> = vec![
        ("rtl", r#""مرحبا، ما هو رصيدي؟ ‏שלום‎""#.into()),
        (
            "bidi-override",
            r#""\u202egnirts desrever\u202c balance""#.into(),
        ),
        ("zero-width", r#""\u200b\u200c\u200d\ufeff""#.into()),
        ("zero-width-around", r#""bal\u200bance?""#.into()),
        ("emoji", r#""💳🏦👨‍👩‍👧‍👦🇪🇸 balance?""#.into()),
        ("combining", format!(r#""{}""#, "e\u{0301}".repeat(1000))),
        ("lone-high-surrogate", r#""abc\ud800def""#.into()),
        ("lone-low-surrogate", r#""\udc00""#.into()),
        ("reversed-pair", r#""\udc00\ud800""#.into()),
        ("control", r#""\u0001\u0007\u001b[31mred""#.into()),
        ("noncharacter", r#""\uffff\ufffe""#.into()),
        ("max-codepoint", r#""\udbff\udfff""#.into()),
        (
            "emoji-at-limit",
            format!(
                r#""{}""#,
                "🙂".repeat(joxai_ingress::routes::chat::MAX_MESSAGE_CHARS)
            ),
        ),
    ];
    refused_or_stored(cases).await;
}

/// A NUL character (`\u0000`, valid JSON and valid UTF-8) is refused, or accepted and stored.
#[tokio::test]

async fn a_nul_character_in_a_message_is_refused_or_stored_never_dead_lettered() {
    refused_or_stored(vec![
        ("nul", r#""before\u0000after""#.into()),
        ("nul-only", r#""\u0000""#.into()),
    ])
    .await;
}

async fn refused_or_stored(cases: Vec<(&str, String)>) {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let mut accepted = vec![];
    for (name, text) in &cases {
        let body = format!(r#"{{"client_message_id":"{name}","text":{text}}}"#);
        let status = post_raw(&app, conversation, &token, body).await;
        assert!(!status.is_server_error(), "{name} → {status}");
        assert!(
            status == 202 || status.is_client_error(),
            "{name} → {status}"
        );
        if status == 202 {
            accepted.push(*name);
        }
    }
    // Everything accepted must reach Postgres; nothing accepted may end as a dead letter.
    let expected = accepted.len() as i64;
    let stored = || async {
        app.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'customer'",
            &[&conversation],
        )
        .await
    };
    let dead = || async { app.count("SELECT count(*) FROM dead_letters", &[]).await };
    wait_long(
        &format!("the {expected} accepted messages are stored or dead-lettered"),
        Duration::from_secs(20),
        || async { stored().await + dead().await >= expected },
    )
    .await;
    let lost = app
        .query(
            "SELECT coalesce(string_agg(error, ' | '), '') FROM dead_letters",
            &[],
        )
        .await[0]
        .get::<_, String>(0);
    assert_eq!(
        dead().await,
        0,
        "accepted with 202 but dead-lettered: {lost}"
    );
    assert_eq!(stored().await, expected, "accepted: {accepted:?}");
    // And the service still answers.
    assert_eq!(
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .expect("readyz")
            .status(),
        200
    );
    app.stop().await;
}

/// A message of nothing but invisible characters says nothing: refused as empty, like whitespace.
/// Direction overrides are removed from what is stored, so text cannot show other than it is
/// stored: a number written backwards inside a right-to-left override would show as the card
/// number the detector never saw.
#[tokio::test]
async fn invisible_only_messages_are_refused_and_direction_overrides_are_removed() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    for (name, text) in [
        ("zero-width", r#""\u200b\u200b\u200d""#),
        ("override", r#""\u202e""#),
        ("mixed", r#"" \ufeff\u2060 \u00ad\n""#),
    ] {
        let body = format!(r#"{{"client_message_id":"{name}","text":{text}}}"#);
        assert_eq!(
            post_raw(&app, conversation, &token, body).await,
            422,
            "{name}"
        );
    }
    let body = r#"{"client_message_id":"reversed","text":"\u202e1111111111111114\u202c"}"#;
    assert_eq!(post_raw(&app, conversation, &token, body).await, 202);
    wait_long("the message is stored", Duration::from_secs(20), || async {
        app.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'customer'",
            &[&conversation],
        )
        .await
            == 1
    })
    .await;
    let stored = app
        .query(
            "SELECT text FROM messages WHERE conversation_id = $1 AND sender = 'customer'",
            &[&conversation],
        )
        .await;
    let text: String = stored[0].get(0);
    assert_eq!(
        text, "1111111111111114",
        "stored and shown in the order it was typed"
    );
    app.stop().await;
}
