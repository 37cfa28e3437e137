//! Staff sessions: rotating refresh tokens, logout that really ends the session, token misuse,
//! sign-in throttling and password changes.

mod desk_helpers;
mod support;

use desk_helpers::*;
use joxai_platform::tokens::TokenKeys;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use support::{PASSWORD, TestApp, spawn_app, wait_until};
use uuid::Uuid;

/// Token keys sharing the app's secret but with other settings (audience, lifetime).
fn keys_like(app: &TestApp, key: &str, value: Value) -> TokenKeys {
    let secret = app.platform.config.jwt_secret.expose_secret().to_owned();
    let figment = joxai_platform::config::Config::figment()
        .merge(("jwt_secret", secret))
        .merge((key, value));
    TokenKeys::new(&joxai_platform::config::Config::from_figment(figment).expect("config"))
}

async fn me(app: &TestApp, token: &str) -> u16 {
    get(app, "/api/v1/auth/me", token).await.0
}

#[tokio::test]
async fn a_refresh_token_rotates_and_presenting_a_spent_one_revokes_the_whole_session() {
    let app = spawn_app().await;
    let (status, first) = sign_in(&app, AGENT, PASSWORD).await;
    assert_eq!(status, 200);
    let refresh1 = first["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let (status, second) = call(
        &app,
        "POST",
        "/api/v1/auth/refresh",
        None,
        Some(json!({ "refresh_token": refresh1 })),
    )
    .await;
    assert_eq!(status, 200, "{second}");
    let refresh2 = second["refresh_token"]
        .as_str()
        .expect("new refresh token")
        .to_owned();
    assert_ne!(refresh1, refresh2, "the refresh token rotates");
    let access2 = second["access_token"].as_str().expect("access").to_owned();
    assert_eq!(
        claims(&access2)["sid"],
        claims(first["access_token"].as_str().expect("a"))["sid"],
        "same session"
    );
    assert_eq!(me(&app, &access2).await, 200);

    // The spent token comes back (stolen): the whole family dies, including the newest tokens.
    let (status, _) = call(
        &app,
        "POST",
        "/api/v1/auth/refresh",
        None,
        Some(json!({ "refresh_token": refresh1 })),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = call(
        &app,
        "POST",
        "/api/v1/auth/refresh",
        None,
        Some(json!({ "refresh_token": refresh2 })),
    )
    .await;
    assert_eq!(
        status, 401,
        "the newest refresh token of the family is revoked too"
    );
    assert_eq!(me(&app, &access2).await, 401, "so is its access token");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM staff_sessions WHERE revoked_reason = 'refresh_token_reuse'",
            &[]
        )
        .await,
        1
    );
    let stored: String = app
        .query("SELECT token_hash FROM refresh_tokens LIMIT 1", &[])
        .await[0]
        .get(0);
    assert!(
        stored != refresh1 && stored != refresh2,
        "refresh tokens are stored hashed"
    );
    app.stop().await;
}

#[tokio::test]
async fn logging_out_stops_the_access_token_at_once_and_closes_the_staff_socket() {
    let app = spawn_app().await;
    let (_, session) = sign_in(&app, SUPERVISOR, PASSWORD).await;
    let access = session["access_token"].as_str().expect("access").to_owned();
    let refresh = session["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let mut ws = app.ws(&access).await;
    assert_eq!(me(&app, &access).await, 200);

    let (status, _) = post(
        &app,
        "/api/v1/auth/logout",
        &access,
        json!({ "refresh_token": refresh }),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        me(&app, &access).await,
        401,
        "the access token died with the session"
    );
    let (status, _) = call(
        &app,
        "POST",
        "/api/v1/auth/refresh",
        None,
        Some(json!({ "refresh_token": refresh })),
    )
    .await;
    assert_eq!(status, 401, "and the refresh token");

    // The socket learns within a few seconds and is closed.
    let mut closed = false;
    for _ in 0..10 {
        match ws.next_frame().await {
            Some(frame) if frame["type"] == "error" => {
                assert_eq!(frame["code"], "session_revoked");
            }
            Some(_) => continue,
            None => {
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "the staff socket was closed after logout");
    app.stop().await;
}

#[tokio::test]
async fn misused_tokens_get_401_and_change_nothing() {
    let app = spawn_app().await;
    let (_, session) = sign_in(&app, ADMIN, PASSWORD).await;
    let access = session["access_token"].as_str().expect("access").to_owned();
    let refresh = session["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let admin_id = user_id(&app, ADMIN).await;
    let sid: Uuid = claims(&access)["sid"]
        .as_str()
        .expect("sid")
        .parse()
        .expect("uuid");
    let (_, customer) = app.start_session().await;

    let parts: Vec<&str> = access.split('.').collect();
    let alg_none = format!(
        "{}.{}.",
        base64url_encode(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let tampered_claims = {
        let mut c = claims(&access);
        c["role"] = json!("admin");
        c["sub"] = json!(Uuid::now_v7().to_string());
        format!(
            "{}.{}.{}",
            parts[0],
            base64url_encode(c.to_string().as_bytes()),
            parts[2]
        )
    };
    let bad_signature = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        base64url_encode(b"not the signature at all......")
    );
    let wrong_audience = keys_like(&app, "jwt_audience", json!("another-service"))
        .issue_staff(admin_id, joxai_schemas::types::StaffRole::Admin, sid)
        .0;
    let wrong_issuer = keys_like(&app, "jwt_issuer", json!("someone-else"))
        .issue_staff(admin_id, joxai_schemas::types::StaffRole::Admin, sid)
        .0;
    let other_secret = {
        let figment =
            joxai_platform::config::Config::figment().merge(("jwt_secret", "x".repeat(40)));
        TokenKeys::new(&joxai_platform::config::Config::from_figment(figment).expect("config"))
            .issue_staff(admin_id, joxai_schemas::types::StaffRole::Admin, sid)
            .0
    };
    let no_session = keys_like(&app, "jwt_audience", json!("joxai"))
        .issue_staff(
            admin_id,
            joxai_schemas::types::StaffRole::Admin,
            Uuid::now_v7(),
        )
        .0;

    let users_before = app.count("SELECT count(*) FROM users", &[]).await;
    let cases: Vec<(&str, String)> = vec![
        ("alg none", alg_none),
        ("tampered claims", tampered_claims),
        ("bad signature", bad_signature),
        ("wrong audience", wrong_audience),
        ("wrong issuer", wrong_issuer),
        ("another secret", other_secret),
        ("unknown session", no_session),
        ("refresh token as access token", refresh.clone()),
        ("customer token", customer.clone()),
    ];
    for (what, token) in &cases {
        let (status, body) = post(
            &app,
            "/api/v1/users",
            token,
            json!({ "email": "intruder@example.com", "display_name": "Intruder", "role": "admin", "password": "a-long-enough-password" }),
        )
        .await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(body["code"], "unauthorized", "{what}");
        assert_eq!(me(&app, token).await, 401, "{what}");
    }

    // Expired: a token that lives 0 s is refused once the 5 s leeway has passed.
    let expired = keys_like(&app, "access_token_ttl_secs", json!(0))
        .issue_staff(admin_id, joxai_schemas::types::StaffRole::Admin, sid)
        .0;
    wait_until("the zero-lifetime token is refused", || async {
        me(&app, &expired).await == 401
    })
    .await;

    // After logout the (still unexpired) access token is refused too.
    assert_eq!(
        post(&app, "/api/v1/auth/logout", &access, json!({}))
            .await
            .0,
        204
    );
    assert_eq!(me(&app, &access).await, 401, "after logout");
    let (status, _) = post(
        &app,
        "/api/v1/users",
        &access,
        json!({ "email": "late@example.com", "display_name": "Late", "role": "agent", "password": "a-long-enough-password" }),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        app.count("SELECT count(*) FROM users", &[]).await,
        users_before,
        "no side effect"
    );
    app.stop().await;
}

#[tokio::test]
async fn after_five_failed_sign_ins_the_account_is_refused_even_with_the_right_password_while_others_are_not()
 {
    let app = spawn_app().await;
    for attempt in 0..5 {
        // A forged X-Forwarded-For with a new address each time must not reset anything.
        let response = app
            .http
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", format!("203.0.113.{attempt}"))
            .json(&json!({ "email": AGENT, "password": "wrong password!" }))
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    let response = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "198.51.100.7")
        .json(&json!({ "email": AGENT.to_uppercase(), "password": PASSWORD }))
        .send()
        .await
        .expect("login");
    assert_eq!(
        response.status(),
        429,
        "the right password is refused while throttled, whatever the header says"
    );
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        response.json::<Value>().await.expect("json")["code"],
        "rate_limited"
    );

    let (status, _) = sign_in(&app, SUPERVISOR, PASSWORD).await;
    assert_eq!(
        status, 200,
        "another account from the same address still signs in"
    );
    let (status, body) = sign_in(&app, "nobody@joxai.local", "whatever-password").await;
    assert_eq!(status, 401);
    assert_eq!(
        body["code"], "unauthorized",
        "an unknown account answers like a wrong password"
    );
    app.stop().await;
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = spawn_app().await;
    let (_, one) = sign_in(&app, AGENT, PASSWORD).await;
    let (_, two) = sign_in(&app, AGENT, PASSWORD).await;
    let token_one = one["access_token"].as_str().expect("a").to_owned();
    let token_two = two["access_token"].as_str().expect("b").to_owned();

    let (status, body) = post(
        &app,
        "/api/v1/auth/password",
        &token_one,
        json!({ "current_password": "not-my-password", "new_password": "a brand new passphrase" }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = post(
        &app,
        "/api/v1/auth/password",
        &token_one,
        json!({ "current_password": PASSWORD, "new_password": "short" }),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["fields"][0]["field"], "new_password");

    let (status, _) = post(
        &app,
        "/api/v1/auth/password",
        &token_one,
        json!({ "current_password": PASSWORD, "new_password": "a brand new passphrase" }),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        me(&app, &token_one).await,
        200,
        "the session that changed it lives on"
    );
    assert_eq!(me(&app, &token_two).await, 401, "other sessions end");
    assert_eq!(sign_in(&app, AGENT, PASSWORD).await.0, 401);
    assert_eq!(sign_in(&app, AGENT, "a brand new passphrase").await.0, 200);
    app.stop().await;
}

#[tokio::test]
async fn deactivating_or_demoting_a_user_takes_effect_on_their_next_request() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let (id, token) = create_staff(
        &app,
        &admin,
        "sup2@joxai.local",
        "Second Supervisor",
        "supervisor",
    )
    .await;
    assert_eq!(get(&app, "/api/v1/conversations", &token).await.0, 200);
    let (status, _) = call(
        &app,
        "PATCH",
        &format!("/api/v1/users/{id}"),
        Some(&admin),
        Some(json!({ "role": "agent" })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        get(&app, "/api/v1/conversations", &token).await.0,
        403,
        "the demotion applies at once"
    );
    let (status, user) = call(
        &app,
        "PATCH",
        &format!("/api/v1/users/{id}"),
        Some(&admin),
        Some(json!({ "active": false })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(user["active"], false);
    assert_eq!(
        me(&app, &token).await,
        401,
        "a deactivated user's token stops working"
    );
    assert_eq!(sign_in(&app, "sup2@joxai.local", PASSWORD).await.0, 401);
    app.stop().await;
}
