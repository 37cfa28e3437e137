//! The bank's settings drive the desk, live: a PUT of the settings, and the next ticket or
//! classification follows it (no restart). Auto-assignment on/off, capacity (the bank's default and a
//! person's own), SLA due times, escalation routes, and what a customer is told after hours or when
//! nobody is online.

mod desk_helpers;
mod support;

use desk_helpers::*;
use serde_json::{Value, json};
use support::{TestApp, spawn_app, wait_until};
use time::OffsetDateTime;
use uuid::Uuid;

/// Change the settings as the admin through the API, and wait until this process has loaded them.
async fn change_settings(app: &TestApp, admin: &str, edit: impl FnOnce(&mut Value)) {
    let (status, loaded) = get(app, "/api/v1/settings", admin).await;
    assert_eq!(status, 200);
    let mut settings = loaded["settings"].clone();
    edit(&mut settings);
    let version = loaded["version"].as_i64().expect("version");
    let (status, body) = call(
        app,
        "PUT",
        "/api/v1/settings",
        Some(admin),
        Some(json!({ "version": version, "settings": settings })),
    )
    .await;
    assert_eq!(status, 200, "save settings: {body}");
    wait_until("the new settings are applied", || async {
        app.platform.settings.current().version == version + 1
    })
    .await;
}

async fn ticket_row(app: &TestApp, conversation: Uuid) -> (Option<Uuid>, String, i64, i64) {
    let rows = app
        .query(
            "SELECT assignee_id, priority,
                    extract(epoch FROM first_response_due_at - created_at)::bigint,
                    extract(epoch FROM resolution_due_at - created_at)::bigint
               FROM tickets WHERE conversation_id = $1",
            &[&conversation],
        )
        .await;
    (
        rows[0].get(0),
        rows[0].get(1),
        rows[0].get(2),
        rows[0].get(3),
    )
}

async fn assigned_to(app: &TestApp, agent: Uuid) -> i64 {
    app.count(
        "SELECT count(*) FROM tickets WHERE assignee_id = $1 AND status IN ('open', 'in_progress')",
        &[&agent],
    )
    .await
}

/// Everyone open every day, all day (bar the last minute), so the "open" wording does not depend on
/// when the test runs.
fn always_open(settings: &mut Value) {
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    settings["hours"]["weekly"] = days
        .iter()
        .map(|d| {
            (
                d.to_string(),
                json!({ "opens": "00:00", "closes": "23:59" }),
            )
        })
        .collect();
    settings["hours"]["holidays"] = json!([]);
}

#[tokio::test]
async fn auto_assignment_sla_targets_and_capacity_follow_the_settings_from_the_next_ticket_on() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let alex = user_id(&app, AGENT).await;

    // Automatic assignment off, and a normal ticket's targets of 7 and 70 minutes.
    change_settings(&app, &admin, |s| {
        always_open(s);
        s["assignment"]["auto_assign"] = json!(false);
        s["sla"]["normal"] = json!({ "first_response_minutes": 7, "resolution_minutes": 70 });
    })
    .await;
    let (waiting, _, _) = escalated_ticket(&app).await;
    let (assignee, priority, first_due, resolution_due) = ticket_row(&app, waiting).await;
    assert_eq!(
        assignee, None,
        "Alex is online and free, but automatic assignment is off"
    );
    assert_eq!(
        (priority.as_str(), first_due, resolution_due),
        ("normal", 7 * 60, 70 * 60)
    );
    // The API shows the ticket's own due times.
    let ticket: Uuid = app
        .query(
            "SELECT id FROM tickets WHERE conversation_id = $1",
            &[&waiting],
        )
        .await[0]
        .get(0);
    let (_, detail) = get(&app, &format!("/api/v1/tickets/{ticket}"), &admin).await;
    let created = OffsetDateTime::parse(
        detail["created_at"].as_str().expect("created_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("time");
    let due = OffsetDateTime::parse(
        detail["sla"]["first_response_due_at"]
            .as_str()
            .expect("due"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("time");
    assert_eq!((due - created).whole_minutes(), 7);

    // On again, with a default capacity of one: the next ticket goes to Alex, the one after waits.
    change_settings(&app, &admin, |s| {
        s["assignment"] = json!({ "auto_assign": true, "default_capacity": 1 });
        s["sla"]["normal"] = json!({ "first_response_minutes": 9, "resolution_minutes": 90 });
    })
    .await;
    let (second, _, _) = escalated_ticket(&app).await;
    let (assignee, _, first_due, _) = ticket_row(&app, second).await;
    assert_eq!(assignee, Some(alex));
    assert_eq!(first_due, 9 * 60, "the new target");
    assert_eq!(
        ticket_row(&app, waiting).await.2,
        7 * 60,
        "a ticket already opened keeps what it was promised"
    );
    let (third, _, _) = escalated_ticket(&app).await;
    assert_eq!(
        ticket_row(&app, third).await.0,
        None,
        "Alex is at the bank's default capacity"
    );
    assert_eq!(assigned_to(&app, alex).await, 1);

    // Supervisors see each agent's load against their capacity.
    let supervisor = app.login(SUPERVISOR).await;
    let (_, users) = get(&app, "/api/v1/users?role=agent", &supervisor).await;
    let row = users["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|u| u["email"] == AGENT)
        .cloned()
        .expect("Alex");
    assert_eq!(
        (
            row["open_tickets"].as_i64(),
            row["effective_capacity"].as_i64(),
            row["capacity"].clone()
        ),
        (Some(1), Some(1), Value::Null)
    );

    // Alex's own capacity of 2 wins over the default: exactly one more waiting ticket (the oldest) is handed out.
    let (status, body) = call(
        &app,
        "PATCH",
        &format!("/api/v1/users/{alex}"),
        Some(&admin),
        Some(json!({ "capacity": 2 })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    wait_until("Alex gets one waiting ticket", || async {
        assigned_to(&app, alex).await == 2
    })
    .await;
    assert_eq!(
        ticket_row(&app, waiting).await.0,
        Some(alex),
        "the oldest waiting ticket first"
    );
    assert_eq!(
        ticket_row(&app, third).await.0,
        None,
        "never beyond Alex's capacity"
    );
    let (_, users) = get(&app, "/api/v1/users?role=agent", &supervisor).await;
    let row = users["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|u| u["email"] == AGENT)
        .cloned()
        .expect("Alex");
    assert_eq!(
        (
            row["open_tickets"].as_i64(),
            row["effective_capacity"].as_i64()
        ),
        (Some(2), Some(2))
    );

    // A new priority brings the targets of that priority (the default urgent ones: 5 minutes, 4 hours).
    let third_ticket: Uuid = app
        .query(
            "SELECT id FROM tickets WHERE conversation_id = $1",
            &[&third],
        )
        .await[0]
        .get(0);
    let (status, body) = call(
        &app,
        "PATCH",
        &format!("/api/v1/tickets/{third_ticket}"),
        Some(&supervisor),
        Some(json!({ "priority": "urgent" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, priority, first_due, resolution_due) = ticket_row(&app, third).await;
    assert_eq!(
        (priority.as_str(), first_due, resolution_due),
        ("urgent", 5 * 60, 4 * 3600)
    );
    app.stop().await;
}

#[tokio::test]
async fn many_escalations_at_once_never_give_an_agent_more_than_their_capacity() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let alex = user_id(&app, AGENT).await;
    change_settings(&app, &admin, |s| {
        always_open(s);
        s["assignment"]["default_capacity"] = json!(3);
    })
    .await;
    let mut conversations = vec![];
    for _ in 0..8 {
        let (conversation, token) = app.start_session().await;
        let response = app
            .http
            .post(app.url(&format!(
                "/api/v1/chat/conversations/{conversation}/escalate"
            )))
            .bearer_auth(&token)
            .send()
            .await
            .expect("escalate");
        assert_eq!(response.status(), 202);
        conversations.push(conversation);
    }
    wait_until("every ticket is opened", || async {
        app.count("SELECT count(*) FROM tickets", &[]).await == 8
    })
    .await;
    wait_until("Alex is given tickets up to capacity", || async {
        assigned_to(&app, alex).await == 3
    })
    .await;
    // Another agent coming online takes the next three; the rest wait.
    let (blake, blake_token) =
        create_staff(&app, &admin, "blake@joxai.local", "Blake Agent", "agent").await;
    set_availability(&app, &blake_token, "online").await;
    wait_until("Blake is given tickets up to capacity", || async {
        assigned_to(&app, blake).await == 3
    })
    .await;
    assert_eq!(assigned_to(&app, alex).await, 3);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM tickets WHERE assignee_id IS NULL",
            &[]
        )
        .await,
        2
    );
    app.stop().await;
}

#[tokio::test]
async fn the_classifier_follows_the_banks_routes_after_a_put_but_never_leaves_an_urgent_intent_to_the_bot()
 {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    change_settings(&app, &admin, always_open).await;

    // By the policy table a refund needs a person, and activating a card is the bot's.
    let (refund, token) = app.start_session().await;
    assert_eq!(
        app.post_message(refund, &token, "r1", "I want a refund for this purchase")
            .await
            .status(),
        202
    );
    wait_until("the refund is escalated", || async {
        app.count(
            "SELECT count(*) FROM tickets WHERE conversation_id = $1",
            &[&refund],
        )
        .await
            == 1
    })
    .await;

    change_settings(&app, &admin, |s| {
        s["escalation"]["intent_routes"] =
            json!({ "request_refund": "bot", "activate_my_card": "high" });
    })
    .await;
    let (refund, token) = app.start_session().await;
    assert_eq!(
        app.post_message(refund, &token, "r2", "I want a refund for this purchase")
            .await
            .status(),
        202
    );
    wait_until("the bot answers the refund question", || async {
        app.transcript(refund, &token)
            .await
            .iter()
            .any(|m| m["sender"] == "bot")
    })
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM tickets WHERE conversation_id = $1",
            &[&refund]
        )
        .await,
        0
    );

    let (activate, token) = app.start_session().await;
    assert_eq!(
        app.post_message(activate, &token, "a1", "how do I activate my card?")
            .await
            .status(),
        202
    );
    wait_until("activating a card now goes to a person", || async {
        app.count(
            "SELECT count(*) FROM tickets WHERE conversation_id = $1",
            &[&activate],
        )
        .await
            == 1
    })
    .await;
    assert_eq!(ticket_row(&app, activate).await.1, "high");

    // A card or account freeze is urgent: the settings refuse to leave it to the bot.
    let (_, loaded) = get(&app, "/api/v1/settings", &admin).await;
    let mut settings = loaded["settings"].clone();
    settings["escalation"]["intent_routes"] = json!({ "freeze_account": "bot" });
    let (status, body) = call(
        &app,
        "PUT",
        "/api/v1/settings",
        Some(&admin),
        Some(json!({ "settings": settings })),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["fields"][0]["field"],
        "escalation.intent_routes.freeze_account"
    );
    app.stop().await;
}

/// The English weekday name `days` from today (UTC).
fn weekday_in(days: i64) -> (&'static str, String) {
    let names = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let day = (OffsetDateTime::now_utc().date() + time::Duration::days(days))
        .weekday()
        .number_days_from_monday() as usize;
    let mut title = names[day].to_owned();
    title[..1].make_ascii_uppercase();
    (names[day], title)
}

#[tokio::test]
async fn a_customer_escalated_while_the_bank_is_closed_is_told_when_it_opens_and_the_first_agent_online_gets_the_ticket()
 {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let agent = app.login(AGENT).await;
    set_availability(&app, &agent, "offline").await;
    // Open one day a week, three days from now: closed today whatever the hour, in Madrid.
    let (day, title) = weekday_in(3);
    change_settings(&app, &admin, |s| {
        s["hours"]["time_zone"] = json!("Europe/Madrid");
        s["hours"]["weekly"] = json!({ day: { "opens": "09:30", "closes": "17:00" } });
        s["profile"]["texts"]["en"]["after_hours"] = json!("We're closed now.");
        s["profile"]["texts"]["es"]["after_hours"] = json!("Ahora estamos cerrados.");
    })
    .await;

    let (english, token) = app.start_session().await;
    let ticket = escalate(&app, english, &token).await;
    let notice = app
        .transcript(english, &token)
        .await
        .into_iter()
        .find(|m| m["sender"] == "system")
        .expect("a notice");
    assert_eq!(
        notice["text"],
        format!("We're closed now. A person will answer from {title} 09:30 (Europe/Madrid).")
    );

    let (spanish, token) = app.start_session_with(json!({ "locale": "es" })).await;
    escalate(&app, spanish, &token).await;
    let notice = app
        .transcript(spanish, &token)
        .await
        .into_iter()
        .find(|m| m["sender"] == "system")
        .expect("a notice");
    let text = notice["text"].as_str().expect("text");
    assert!(
        text.starts_with("Ahora estamos cerrados. Una persona le responderá a partir del "),
        "{text}"
    );
    assert!(text.ends_with(" a las 09:30 (Europe/Madrid)."), "{text}");

    assert_eq!(
        app.count(
            "SELECT count(*) FROM tickets WHERE assignee_id IS NULL",
            &[]
        )
        .await,
        2,
        "both wait in the queue"
    );
    set_availability(&app, &agent, "online").await;
    let (_, detail) = get(&app, &format!("/api/v1/tickets/{ticket}"), &agent).await;
    assert_eq!(
        detail["assignee_name"], "Alex Agent",
        "the first agent to come online gets it"
    );
    app.stop().await;
}

#[tokio::test]
async fn with_nobody_online_during_opening_hours_the_customer_is_told_and_the_first_agent_to_come_online_gets_the_ticket()
 {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let agent = app.login(AGENT).await;
    set_availability(&app, &agent, "away").await;
    change_settings(&app, &admin, always_open).await;

    let (conversation, token) = app.start_session().await;
    let ticket = escalate(&app, conversation, &token).await;
    let notice = app
        .transcript(conversation, &token)
        .await
        .into_iter()
        .find(|m| m["sender"] == "system")
        .expect("a notice");
    assert!(
        notice["text"]
            .as_str()
            .expect("text")
            .starts_with("Nobody from our team is online right now."),
        "{notice}"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM tickets WHERE assignee_id IS NOT NULL",
            &[]
        )
        .await,
        0,
        "it waits"
    );

    let (blake, blake_token) =
        create_staff(&app, &admin, "blake@joxai.local", "Blake Agent", "agent").await;
    set_availability(&app, &blake_token, "online").await;
    wait_until("the first agent online gets the ticket", || async {
        app.count(
            "SELECT count(*) FROM tickets WHERE id = $1 AND assignee_id = $2",
            &[&ticket, &blake],
        )
        .await
            == 1
    })
    .await;
    app.stop().await;
}
