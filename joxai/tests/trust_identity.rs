//! Who the caller is: a bank-signed customer identity means exactly one thing and only for a short
//! time; staff passwords are hard to guess; a chat's token stops working for a live chat's actions
//! once the chat has ended, but still does what the widget needs afterwards.

mod desk_helpers;
mod support;

use joxai_ingress::routes::chat::sign_identity;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use support::{TestApp, spawn_app, wait_until};
use uuid::Uuid;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn start_with_identity(app: &TestApp, identity: Value) -> (u16, Value) {
    let response = app
        .http
        .post(app.url("/api/v1/chat/sessions"))
        .json(&json!({ "identity": identity }))
        .send()
        .await
        .expect("session");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn identity(app: &TestApp, customer_ref: &str, name: Option<&str>, issued_at: i64) -> Value {
    let secret = app
        .platform
        .config
        .widget_secret
        .expose_secret()
        .as_bytes()
        .to_vec();
    json!({
        "customer_ref": customer_ref,
        "display_name": name,
        "issued_at": issued_at,
        "signature": sign_identity(&secret, customer_ref, name, issued_at),
    })
}

#[tokio::test]
async fn a_bar_inside_a_field_cannot_turn_one_signed_identity_into_another() {
    let app = spawn_app().await;
    let issued_at = now();
    // The bank signs customer "CUST|1" named "John". With fields joined by `|` alone, the same
    // signature would also say customer "CUST" named "1|John": another customer's account.
    let signed = identity(&app, "CUST|1", Some("John"), issued_at);
    let (status, body) = start_with_identity(&app, signed.clone()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["verified"], true);

    let mut shifted = signed;
    shifted["customer_ref"] = json!("CUST");
    shifted["display_name"] = json!("1|John");
    let (status, body) = start_with_identity(&app, shifted).await;
    assert_eq!(
        status, 422,
        "a signature read as a different identity: {body}"
    );
    assert_eq!(body["fields"][0]["field"], "identity.signature");
    app.stop().await;
}

#[tokio::test]
async fn an_identity_from_the_future_or_with_an_absurd_time_is_refused_and_a_little_clock_skew_is_not()
 {
    let app = spawn_app().await;
    let (status, body) =
        start_with_identity(&app, identity(&app, "CUST-7", None, now() + 30)).await;
    assert_eq!(status, 201, "30 s of clock skew is tolerated: {body}");
    for issued_at in [
        now() + 120,
        now() + 86_400,
        now() - 601,
        i64::MIN,
        i64::MAX,
        i64::MIN + 1,
    ] {
        let (status, body) =
            start_with_identity(&app, identity(&app, "CUST-7", Some("Ann"), issued_at)).await;
        assert_eq!(status, 422, "issued_at {issued_at}: {body}");
        assert_eq!(
            body["fields"][0]["field"], "identity.signature",
            "issued_at {issued_at}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_weak_staff_password_is_refused_wherever_it_is_set_and_the_refusal_says_why() {
    let app = spawn_app().await;
    let admin = app.login("admin@joxai.local").await;
    let create = |password: &str| json!({ "email": "robin.hood@bank.example", "display_name": "Robin Hood", "role": "agent", "password": password });
    // Long enough, yet guessable: a repeated word, a keyboard walk, the person's own name and email.
    for weak in [
        "passwordpassword",
        "qwertyuiopasdfgh",
        "robinhood1234567",
        "robin.hood@bank.example",
    ] {
        let (status, body) = desk_helpers::post(&app, "/api/v1/users", &admin, create(weak)).await;
        assert_eq!(status, 422, "{weak}: {body}");
        assert_eq!(body["fields"][0]["field"], "password");
        let message = body["fields"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("too easy to guess"), "{weak}: {message}");
    }
    let (status, body) = desk_helpers::post(&app, "/api/v1/users", &admin, create("short")).await;
    assert_eq!(status, 422);
    assert!(
        body["fields"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("12"),
        "{body}"
    );
    let (status, body) = desk_helpers::post(
        &app,
        "/api/v1/users",
        &admin,
        create("violet tractor moonlit harbour"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let robin: Uuid = body["id"].as_str().expect("id").parse().expect("uuid");

    // An admin's reset and one's own change are judged the same way.
    let (status, body) = desk_helpers::post(
        &app,
        &format!("/api/v1/users/{robin}/password"),
        &admin,
        json!({ "password": "aaaaaaaaaaaaaaaa" }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = desk_helpers::sign_in(
        &app,
        "robin.hood@bank.example",
        "violet tractor moonlit harbour",
    )
    .await;
    assert_eq!(status, 200, "the refused reset changed nothing");
    let (_, signed_in) = desk_helpers::sign_in(
        &app,
        "robin.hood@bank.example",
        "violet tractor moonlit harbour",
    )
    .await;
    let robin_token = signed_in["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    for weak in ["1234567890123", "robin.hood@bank"] {
        let (status, body) = desk_helpers::post(
            &app,
            "/api/v1/auth/password",
            &robin_token,
            json!({ "current_password": "violet tractor moonlit harbour", "new_password": weak }),
        )
        .await;
        assert_eq!(status, 422, "{weak}: {body}");
        assert_eq!(body["fields"][0]["field"], "new_password");
    }
    let (status, body) = desk_helpers::post(
        &app,
        "/api/v1/auth/password",
        &robin_token,
        json!({ "current_password": "violet tractor moonlit harbour", "new_password": "copper lantern orchard sleeps" }),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    app.stop().await;
}

async fn customer_call(
    app: &TestApp,
    conversation: Uuid,
    token: &str,
    action: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .http
        .post(app.url(&format!(
            "/api/v1/chat/conversations/{conversation}/{action}"
        )))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

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

/// After the end, a live chat's actions answer 401 `chat_ended`; what the widget does next works.
async fn assert_token_revoked_but_for_the_widgets_needs(
    app: &TestApp,
    conversation: Uuid,
    token: &str,
) {
    for action in ["typing", "escalate", "close"] {
        let (status, body) = customer_call(app, conversation, token, action, None).await;
        assert_eq!(status, 401, "{action} after the end: {body}");
        assert_eq!(body["code"], "chat_ended", "{action}");
    }
    // The widget, after the end: reads the transcript, asks for the rating, and starts a follow-up.
    let transcript = app
        .http
        .get(app.url(&format!(
            "/api/v1/chat/conversations/{conversation}/messages"
        )))
        .bearer_auth(token)
        .send()
        .await
        .expect("transcript");
    assert_eq!(transcript.status(), 200);
    assert_eq!(
        transcript.json::<Value>().await.expect("json")["status"],
        "closed"
    );
    let (status, body) = customer_call(
        app,
        conversation,
        token,
        "rating",
        Some(json!({ "rating": 5 })),
    )
    .await;
    assert_eq!(status, 200, "rating after the end: {body}");
    let (status, body) = customer_call(app, conversation, token, "follow-up", None).await;
    assert_eq!(status, 201, "follow-up after the end: {body}");
}

#[tokio::test]
async fn ending_a_chat_revokes_its_token_except_for_the_transcript_the_rating_and_the_follow_up() {
    let app = spawn_app().await;
    // Before the end, the live actions work.
    let (conversation, token) = stored_conversation(&app).await;
    assert_eq!(
        customer_call(&app, conversation, &token, "typing", None)
            .await
            .0,
        202
    );
    // The customer ends it.
    assert_eq!(
        customer_call(&app, conversation, &token, "close", None)
            .await
            .0,
        200
    );
    assert_token_revoked_but_for_the_widgets_needs(&app, conversation, &token).await;

    // Staff end it.
    let (conversation, token) = stored_conversation(&app).await;
    let admin = app.login("admin@joxai.local").await;
    let (status, body) = desk_helpers::post(
        &app,
        &format!("/api/v1/conversations/{conversation}/close"),
        &admin,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "staff close: {body}");
    wait_until("the conversation is closed", || async {
        app.count(
            "SELECT count(*) FROM conversations WHERE id = $1 AND status = 'closed'",
            &[&conversation],
        )
        .await
            == 1
    })
    .await;
    assert_token_revoked_but_for_the_widgets_needs(&app, conversation, &token).await;
    app.stop().await;
}
