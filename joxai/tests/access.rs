//! Who may call what: customer tokens are scoped to one conversation and never reach staff routes;
//! bad input gets a stable 4xx body and changes nothing.

mod support;

use serde_json::{Value, json};
use support::spawn_app;

#[tokio::test]
async fn a_customer_token_cannot_read_or_write_another_conversation() {
    let app = spawn_app().await;
    let (mine, my_token) = app.start_session().await;
    let (theirs, their_token) = app.start_session().await;
    app.post_message(theirs, &their_token, "t1", "my secret question")
        .await;

    let read = app
        .http
        .get(app.url(&format!("/api/v1/chat/conversations/{theirs}/messages")))
        .bearer_auth(&my_token)
        .send()
        .await
        .expect("read");
    assert_eq!(read.status(), 404);
    let write = app.post_message(theirs, &my_token, "x1", "hijack").await;
    assert_eq!(write.status(), 404);
    let escalate = app
        .http
        .post(app.url(&format!("/api/v1/chat/conversations/{theirs}/escalate")))
        .bearer_auth(&my_token)
        .send()
        .await
        .expect("escalate");
    assert_eq!(escalate.status(), 404);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM messages WHERE client_message_id = 'x1'",
            &[]
        )
        .await,
        0
    );
    let _ = mine;
    app.stop().await;
}

#[tokio::test]
async fn a_customer_token_cannot_call_staff_routes_and_a_staff_token_cannot_post_as_a_customer() {
    let app = spawn_app().await;
    let (conversation, customer) = app.start_session().await;
    for path in ["/api/v1/tickets", "/api/v1/auth/me"] {
        let response = app
            .http
            .get(app.url(path))
            .bearer_auth(&customer)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 401, "{path} refuses a customer token");
    }
    let staff = app.login("admin@joxai.local").await;
    let response = app
        .post_message(conversation, &staff, "s1", "pretending to be the customer")
        .await;
    assert_eq!(response.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused_with_401() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let tampered = format!("{}x", &token[..token.len() - 1]);
    let unsigned = {
        // alg: none with the same claims.
        let parts: Vec<&str> = token.split('.').collect();
        format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1])
    };
    for bad in [
        None,
        Some("not-a-jwt"),
        Some(tampered.as_str()),
        Some(unsigned.as_str()),
    ] {
        let mut request = app.http.get(app.url(&format!(
            "/api/v1/chat/conversations/{conversation}/messages"
        )));
        if let Some(bad) = bad {
            request = request.bearer_auth(bad);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 401, "token {bad:?}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["code"], "unauthorized");
    }
    app.stop().await;
}

#[tokio::test]
async fn invalid_chat_input_gets_a_clear_4xx_and_changes_nothing() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let url = app.url(&format!(
        "/api/v1/chat/conversations/{conversation}/messages"
    ));

    let empty = app.post_message(conversation, &token, "e1", "   ").await;
    assert_eq!(empty.status(), 422);
    let body: Value = empty.json().await.expect("json");
    assert_eq!(body["code"], "validation_failed");
    assert_eq!(body["fields"][0]["field"], "text");

    let huge = app
        .post_message(conversation, &token, "h1", &"a".repeat(5000))
        .await;
    assert_eq!(huge.status(), 422);

    let bad_id = app
        .post_message(conversation, &token, "has spaces!", "hi")
        .await;
    assert_eq!(bad_id.status(), 422);

    let not_json = app
        .http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(not_json.status(), 400);
    assert_eq!(
        not_json.json::<Value>().await.expect("json")["code"],
        "bad_request"
    );

    let no_type = app
        .http
        .post(&url)
        .bearer_auth(&token)
        .body("{}")
        .send()
        .await
        .expect("send");
    assert_eq!(no_type.status(), 415);

    let too_big = app
        .http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"client_message_id":"b1","text":"{}"}}"#,
            "a".repeat(70 * 1024)
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(too_big.status(), 413);

    let wrong_shape = app
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({ "text": 5 }))
        .send()
        .await
        .expect("send");
    assert_eq!(wrong_shape.status(), 422);

    let unknown = app
        .http
        .get(app.url("/api/v1/nope"))
        .send()
        .await
        .expect("send");
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.json::<Value>().await.expect("json")["code"],
        "not_found"
    );

    assert_eq!(
        app.count("SELECT count(*) FROM messages", &[]).await,
        0,
        "nothing was stored"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_card_number_in_a_customer_message_is_never_stored_in_full() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    app.post_message(
        conversation,
        &token,
        "p1",
        "my card 4111 1111 1111 1111 was charged twice, cvv 123",
    )
    .await;
    support::wait_until("the message is stored", || async {
        app.count(
            "SELECT count(*) FROM messages WHERE sender = 'customer'",
            &[],
        )
        .await
            == 1
    })
    .await;
    let text: String = app
        .query("SELECT text FROM messages WHERE sender = 'customer'", &[])
        .await[0]
        .get(0);
    assert!(
        !text.contains("4111 1111 1111 1111") && !text.contains("4111111111111111"),
        "stored: {text}"
    );
    assert!(
        text.contains("411111******1111"),
        "first six and last four kept: {text}"
    );
    assert!(!text.contains("123"), "the security code is masked: {text}");
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_path_id_or_query_parameter_gets_the_stable_error_body() {
    let app = spawn_app().await;
    let admin = app.login("admin@joxai.local").await;
    let bad_id = app
        .http
        .get(app.url("/api/v1/tickets/not-a-uuid"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("send");
    assert_eq!(bad_id.status(), 404);
    assert_eq!(
        bad_id.json::<Value>().await.expect("json")["code"],
        "not_found"
    );
    let bad_query = app
        .http
        .get(app.url("/api/v1/tickets?status=exploded"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("send");
    assert_eq!(bad_query.status(), 422);
    let body: Value = bad_query.json().await.expect("json");
    assert_eq!(body["code"], "validation_failed");
    assert!(
        body["fields"][0]["message"].is_string(),
        "names the problem: {body}"
    );
    app.stop().await;
}
