//! Helpers shared by the `desk_*` tests: JSON calls with a status, sign-in, a ticket to work on.
#![allow(dead_code)]

use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{PASSWORD, TestApp, wait_until};

pub const ADMIN: &str = "admin@joxai.local";
pub const SUPERVISOR: &str = "supervisor@joxai.local";
pub const AGENT: &str = "agent@joxai.local";

/// Call the API: (status, JSON body or null).
pub async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = app.http.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    call(app, "GET", path, Some(token), None).await
}

pub async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    call(app, "POST", path, Some(token), Some(body)).await
}

/// The whole sign-in answer (access and refresh tokens, user).
pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    call(
        app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({ "email": email, "password": password })),
    )
    .await
}

pub async fn user_id(app: &TestApp, email: &str) -> Uuid {
    app.query("SELECT id FROM users WHERE email = $1", &[&email])
        .await[0]
        .get(0)
}

/// Create a staff account as the admin and return (id, access token).
pub async fn create_staff(
    app: &TestApp,
    admin: &str,
    email: &str,
    name: &str,
    role: &str,
) -> (Uuid, String) {
    let (status, user) = post(
        app,
        "/api/v1/users",
        admin,
        json!({ "email": email, "display_name": name, "role": role, "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, 201, "create {email}: {user}");
    let id = user["id"].as_str().expect("id").parse().expect("uuid");
    (id, app.login(email).await)
}

pub async fn set_availability(app: &TestApp, token: &str, availability: &str) {
    let (status, body) = call(
        app,
        "PUT",
        "/api/v1/me/availability",
        Some(token),
        Some(json!({ "availability": availability })),
    )
    .await;
    assert_eq!(status, 200, "availability: {body}");
}

/// A customer conversation escalated to a ticket: (conversation id, customer token, ticket id).
pub async fn escalated_ticket(app: &TestApp) -> (Uuid, String, Uuid) {
    let (conversation, token) = app.start_session().await;
    let ticket = escalate(app, conversation, &token).await;
    (conversation, token, ticket)
}

/// The customer asks for a person; returns the ticket opened for the conversation.
pub async fn escalate(app: &TestApp, conversation: Uuid, token: &str) -> Uuid {
    let response = app
        .http
        .post(app.url(&format!(
            "/api/v1/chat/conversations/{conversation}/escalate"
        )))
        .bearer_auth(token)
        .send()
        .await
        .expect("escalate");
    assert_eq!(response.status(), 202);
    wait_until("the ticket is opened", || async {
        app.count(
            "SELECT count(*) FROM tickets WHERE conversation_id = $1",
            &[&conversation],
        )
        .await
            == 1
    })
    .await;
    app.query(
        "SELECT id FROM tickets WHERE conversation_id = $1",
        &[&conversation],
    )
    .await[0]
        .get(0)
}

/// Decode a JWT's claims without checking it (to read `sid`, `exp`).
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&base64url(payload)).expect("claims are JSON")
}

pub fn base64url(input: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' | b'+' => 62,
        _ => 63,
    };
    let bytes: Vec<u8> = input.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = vec![];
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            n |= (b as u32) << (18 - 6 * i);
        }
        let produced = chunk.len() * 6 / 8;
        for i in 0..produced {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

pub fn base64url_encode(input: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let mut n = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            n |= (b as u32) << (16 - 8 * i);
        }
        for i in 0..(chunk.len() + 1) {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}
