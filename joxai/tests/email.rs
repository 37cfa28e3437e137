//! Emails, against a real SMTP server on loopback (`aiosmtpd`, started by each test: set
//! `JOXAI_TEST_PYTHON` to a Python that has it, e.g. a venv made with `python3 -m pip install aiosmtpd`).
//! Each kind arrives once, to the right person, in their language; an SMTP outage delays emails
//! without losing or doubling them.

mod desk_helpers;
mod mail_support;
mod support;

use std::sync::Arc;

use desk_helpers::{ADMIN, AGENT, SUPERVISOR, call, escalate, post, set_availability};
use joxai_workers::runtime::{Delivery, Handler as _};
use mail_support::{Catcher, app_with_smtp, folder, received, to};
use serde_json::json;
use support::wait_until;

#[tokio::test]
async fn each_email_kind_arrives_once_to_the_right_person_in_their_language_and_preferences_are_honoured()
 {
    // Loopback ports in this test's own range.
    let port = 4741;
    let folder = folder();
    let catcher = Catcher::start(port, &folder);
    let app = app_with_smtp(port).await;
    let admin = app.login(ADMIN).await;
    let supervisor = app.login(SUPERVISOR).await;
    let agent = app.login(AGENT).await;
    // SLA warnings are tested on their own (`email_more.rs`): warned one minute ahead, the urgent ticket
    // below (first answer due in 5 minutes) sends none while this test runs.
    let (_, stored) = call(&app, "GET", "/api/v1/settings", Some(&admin), None).await;
    let mut settings = stored["settings"].clone();
    settings["sla_warning_minutes"] = json!(1);
    let (status, body) = call(
        &app,
        "PUT",
        "/api/v1/settings",
        Some(&admin),
        Some(json!({ "version": stored["version"], "settings": settings })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The agent reads the panel in Spanish (their emails follow) and wants no urgent-queue emails.
    let (status, _) = call(&app, "PUT", "/api/v1/me/preferences", Some(&agent),
        Some(json!({ "language": "es", "email": { "ticket_assigned": true, "urgent_in_queue": false } }))).await;
    assert_eq!(status, 200);

    // A Spanish-speaking customer who left her address asks for a person; the agent takes the ticket and answers.
    let (conversation, token) = app
        .start_session_with(json!({ "locale": "es", "email": "ana@example.com" }))
        .await;
    let ticket = escalate(&app, conversation, &token).await;
    let agent_id = desk_helpers::user_id(&app, AGENT).await;
    let (status, body) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/assign"),
        &admin,
        json!({ "assignee_id": agent_id }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/messages"),
        &agent,
        json!({ "text": "Hola Ana, ya he bloqueado la tarjeta 4111 1111 1111 1111." }),
    )
    .await;
    assert!(status == 202 || status == 200, "{status} {body}");

    wait_until(
        "the agent's assignment email and the customer's reply email arrive",
        || async { !to(&folder, AGENT).is_empty() && !to(&folder, "ana@example.com").is_empty() },
    )
    .await;
    let assigned = &to(&folder, AGENT)[0];
    assert!(
        assigned["subject"]
            .as_str()
            .expect("subject")
            .starts_with("Se le ha asignado el ticket"),
        "{assigned}"
    );
    let reply = &to(&folder, "ana@example.com")[0];
    assert!(
        reply["subject"]
            .as_str()
            .expect("subject")
            .contains("ha respondido"),
        "{reply}"
    );
    assert!(reply["text"].as_str().expect("text").contains("Hola Ana"));
    for part in ["text", "html", "subject"] {
        let digits: String = reply[part]
            .as_str()
            .expect("part")
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        assert!(
            !digits.contains("4111111111111111"),
            "card number in the email's {part}: {reply}"
        );
    }

    // Nobody online, then an urgent ticket: admin and supervisor are told, not the agent (preference off).
    for token in [&admin, &supervisor, &agent] {
        set_availability(&app, token, "offline").await;
    }
    let (status, body) = post(
        &app,
        "/api/v1/tickets",
        &supervisor,
        json!({ "subject": "Card stolen at the branch", "priority": "urgent" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    wait_until("the urgent-queue emails arrive", || async {
        !to(&folder, ADMIN).is_empty() && !to(&folder, SUPERVISOR).is_empty()
    })
    .await;
    assert!(
        to(&folder, ADMIN)[0]["subject"]
            .as_str()
            .expect("subject")
            .starts_with("Urgent ticket")
    );
    wait_until("every email is recorded as sent", || async {
        app.count("SELECT count(*) FROM emails WHERE status <> 'sent'", &[])
            .await
            == 0
            && app.count("SELECT count(*) FROM emails", &[]).await == 4
    })
    .await;

    // The same events delivered again (a redelivery after a crash before the ack) send nothing new.
    let stream = app
        .platform
        .bus
        .jetstream()
        .get_stream(app.platform.bus.topology().events_stream())
        .await
        .expect("stream");
    let worker =
        Arc::new(joxai_workers::email::EmailWorker::new(app.platform.clone()).expect("worker"));
    let subject = app
        .platform
        .bus
        .subjects()
        .event::<joxai_schemas::events::MessageCreated>(conversation);
    let last = stream
        .get_last_raw_message_by_subject(&subject)
        .await
        .expect("the reply event");
    let delivery = Delivery {
        subject: subject.clone(),
        payload: last.payload.clone(),
        attempt: 2,
        stream_sequence: last.sequence,
    };
    worker.handle(&delivery).await.expect("redelivery handled");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await; // let any wrong second email land
    assert_eq!(
        to(&folder, "ana@example.com").len(),
        1,
        "one reply email, however often the event comes"
    );
    assert_eq!(
        to(&folder, AGENT).len(),
        1,
        "one assignment email, and no urgent-queue email (turned off)"
    );
    assert_eq!(to(&folder, ADMIN).len(), 1);
    assert_eq!(to(&folder, SUPERVISOR).len(), 1);
    assert_eq!(
        app.count("SELECT count(*) FROM emails WHERE attempts <> 1", &[])
            .await,
        0
    );
    catcher.stop();
    app.stop().await;
}

#[tokio::test]
async fn an_email_that_cannot_be_sent_while_smtp_is_down_is_retried_and_delivered_once_when_it_is_back()
 {
    let port = 4742;
    let folder = folder();
    let app = app_with_smtp(port).await;
    let admin = app.login(ADMIN).await;
    let agent = app.login(AGENT).await;
    let (conversation, token) = app
        .start_session_with(json!({ "locale": "en", "email": "bob@example.com" }))
        .await;
    let ticket = escalate(&app, conversation, &token).await;
    let agent_id = desk_helpers::user_id(&app, AGENT).await;
    assert_eq!(
        post(
            &app,
            &format!("/api/v1/tickets/{ticket}/assign"),
            &admin,
            json!({ "assignee_id": agent_id })
        )
        .await
        .0,
        200
    );
    let (status, _) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/messages"),
        &agent,
        json!({ "text": "Your refund is on its way." }),
    )
    .await;
    assert!(status == 202 || status == 200);

    wait_until("the reply email failed at least twice and is still pending", || async {
        app.count("SELECT count(*) FROM emails WHERE recipient = 'bob@example.com' AND status = 'pending' AND attempts >= 2 AND last_error IS NOT NULL", &[]).await == 1
    })
    .await;
    assert!(received(&folder).is_empty());

    let catcher = Catcher::start(port, &folder);
    wait_until("the reply email is delivered", || async {
        !to(&folder, "bob@example.com").is_empty()
    })
    .await;
    wait_until("and recorded as sent", || async {
        app.count(
            "SELECT count(*) FROM emails WHERE recipient = 'bob@example.com' AND status = 'sent'",
            &[],
        )
        .await
            == 1
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await; // retries already scheduled must not send again
    assert_eq!(to(&folder, "bob@example.com").len(), 1, "delivered once");
    assert!(
        to(&folder, "bob@example.com")[0]["text"]
            .as_str()
            .expect("text")
            .contains("Your refund is on its way.")
    );
    catcher.stop();
    app.stop().await;
}
