//! The bank's settings and each staff member's preferences: validated, audited, applied live by
//! every process, the public part readable by the widget.

mod support;

use joxai_platform::Platform;
use serde_json::{Value, json};
use support::{spawn_app, wait_until};
use tokio_util::sync::CancellationToken;

async fn get_settings(app: &support::TestApp, token: &str) -> Value {
    let response = app
        .http
        .get(app.url("/api/v1/settings"))
        .bearer_auth(token)
        .send()
        .await
        .expect("get settings");
    assert_eq!(response.status(), 200);
    response.json().await.expect("settings body")
}

async fn put_settings(app: &support::TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.http
        .put(app.url("/api/v1/settings"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("put settings")
}

#[tokio::test]
async fn an_admin_changes_the_colours_and_greeting_and_every_process_applies_them_without_a_restart()
 {
    let app = spawn_app().await;
    // A second process of the same deployment (same database and subjects), as a separate worker
    // replica would be: it must pick the change up from the event, not from a restart.
    let other = Platform::connect((*app.platform.config).clone())
        .await
        .expect("second process");
    let stop_other = CancellationToken::new();
    other.follow_settings(stop_other.clone());

    let admin = app.login("admin@joxai.local").await;
    let loaded = get_settings(&app, &admin).await;
    assert_eq!(loaded["version"], 0, "defaults until the first save");
    let mut settings = loaded["settings"].clone();
    settings["profile"]["primary_colour"] = json!("#aa0033");
    settings["profile"]["texts"]["es"]["greeting"] = json!("Bienvenido a Banco Ejemplo");
    let response = put_settings(&app, &admin, &json!({ "version": 0, "settings": settings })).await;
    assert_eq!(response.status(), 200);
    let saved: Value = response.json().await.expect("saved");
    assert_eq!(saved["version"], 1);

    let public: Value = app
        .http
        .get(app.url("/api/v1/settings/public"))
        .send()
        .await
        .expect("public")
        .json()
        .await
        .expect("json");
    assert_eq!(public["primary_colour"], "#aa0033");
    assert_eq!(
        public["texts"]["es"]["greeting"],
        "Bienvenido a Banco Ejemplo"
    );
    assert!(
        public.get("sla").is_none() && public.get("escalation").is_none(),
        "only the public part: {public}"
    );

    wait_until("the other process applies version 1", || async {
        other.settings.current().version == 1
    })
    .await;
    assert_eq!(
        other.settings.current().settings.profile.primary_colour,
        "#aa0033"
    );
    wait_until("the serving process applies version 1", || async {
        app.platform.settings.current().version == 1
    })
    .await;

    let audit: Vec<Value> = app
        .http
        .get(app.url("/api/v1/settings/audit"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["actor_name"], "Ada Admin");
    // Before: what the admin had loaded (the demo seed's starting point), not an empty record.
    assert_eq!(audit[0]["before"]["profile"], loaded["settings"]["profile"]);
    assert_eq!(audit[0]["after"]["profile"]["primary_colour"], "#aa0033");
    stop_other.cancel();
    app.stop().await;
}

#[tokio::test]
async fn invalid_settings_are_refused_with_every_field_named_and_nothing_changes() {
    let app = spawn_app().await;
    let admin = app.login("admin@joxai.local").await;
    let mut settings = get_settings(&app, &admin).await["settings"].clone();
    settings["profile"]["primary_colour"] = json!("red");
    settings["hours"]["weekly"]["monday"] = json!({ "opens": "18:00", "closes": "09:00" });
    settings["escalation"]["low_confidence_threshold"] = json!(0.01);
    // Money at risk: the bank may not leave a stolen card to the bot.
    settings["escalation"]["intent_routes"] = json!({ "lost_or_stolen_card": "bot" });
    let response = put_settings(&app, &admin, &json!({ "settings": settings })).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.expect("error body");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["field"].as_str().expect("field"))
        .collect();
    assert_eq!(
        fields,
        [
            "profile.primary_colour",
            "hours.weekly.monday.closes",
            "escalation.low_confidence_threshold",
            "escalation.intent_routes.lost_or_stolen_card"
        ]
    );
    assert_eq!(get_settings(&app, &admin).await["version"], 0);
    assert_eq!(
        app.count("SELECT count(*) FROM settings_audit", &[]).await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn only_admins_change_settings_and_a_save_over_a_newer_version_is_refused() {
    let app = spawn_app().await;
    let admin = app.login("admin@joxai.local").await;
    let supervisor = app.login("supervisor@joxai.local").await;
    let settings = get_settings(&app, &admin).await["settings"].clone();
    assert_eq!(
        put_settings(&app, &supervisor, &json!({ "settings": settings }))
            .await
            .status(),
        403
    );
    assert_eq!(
        put_settings(&app, &admin, &json!({ "version": 0, "settings": settings }))
            .await
            .status(),
        200
    );
    // A second admin still holding version 0.
    assert_eq!(
        put_settings(&app, &admin, &json!({ "version": 0, "settings": settings }))
            .await
            .status(),
        409
    );
    assert_eq!(get_settings(&app, &admin).await["version"], 1);
    app.stop().await;
}

#[tokio::test]
async fn each_staff_member_keeps_their_own_preferences() {
    let app = spawn_app().await;
    let agent = app.login("agent@joxai.local").await;
    let admin = app.login("admin@joxai.local").await;
    let get = |token: String| {
        let app = &app;
        async move {
            let r = app
                .http
                .get(app.url("/api/v1/me/preferences"))
                .bearer_auth(token)
                .send()
                .await
                .expect("get");
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.expect("json")
        }
    };
    assert_eq!(
        get(agent.clone()).await["email"]["ticket_assigned"],
        true,
        "emails on by default"
    );
    let mine = json!({ "language": "es", "desktop_notifications": false, "email": { "ticket_assigned": false, "urgent_in_queue": true, "sla_warning": false } });
    let response = app
        .http
        .put(app.url("/api/v1/me/preferences"))
        .bearer_auth(&agent)
        .json(&mine)
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), 200);
    assert_eq!(get(agent.clone()).await, mine);
    assert_eq!(
        get(admin).await["language"],
        "en",
        "another person's preferences are untouched"
    );
    let response = app
        .http
        .put(app.url("/api/v1/me/preferences"))
        .bearer_auth(&agent)
        .json(&json!({ "language": "fr" }))
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), 422);
    app.stop().await;
}

#[tokio::test]
async fn the_widget_may_leave_an_email_address_which_is_validated_and_kept_for_its_conversation() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/api/v1/chat/sessions"))
        .json(&json!({ "email": "not an address" }))
        .send()
        .await
        .expect("session");
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["fields"][0]["field"], "email");
    let (conversation, _) = app
        .start_session_with(json!({ "email": "ana@example.com", "locale": "es" }))
        .await;
    let rows = app
        .query(
            "SELECT email FROM conversation_contacts WHERE conversation_id = $1",
            &[&conversation],
        )
        .await;
    assert_eq!(rows[0].get::<_, String>(0), "ana@example.com");
    app.stop().await;
}
