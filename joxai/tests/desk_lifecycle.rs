//! The ticket and conversation lifecycles end to end: resolving tells the customer in their language and
//! asks for a rating, an ended conversation takes no more messages from either side, a customer who
//! writes again does so in a new conversation the bot answers, linked to the old ticket; and the
//! optimistic concurrency check never trips over the agent's own changes.

mod desk_helpers;
mod support;

use desk_helpers::*;
use serde_json::json;
use support::{event_type, is_message_from, spawn_app, wait_until};
use uuid::Uuid;

async fn reply(
    app: &support::TestApp,
    ticket: Uuid,
    token: &str,
    text: &str,
) -> (u16, serde_json::Value) {
    post(
        app,
        &format!("/api/v1/tickets/{ticket}/messages"),
        token,
        json!({ "text": text }),
    )
    .await
}

#[tokio::test]
async fn resolving_after_two_replies_tells_the_customer_in_their_language_and_the_next_message_starts_a_linked_conversation()
 {
    let app = spawn_app().await;
    let agent = app.login(AGENT).await;
    let (conversation, customer) = app.start_session_with(json!({ "locale": "es" })).await;
    let ticket = escalate(&app, conversation, &customer).await;
    let mut customer_ws = app.ws(&customer).await;
    let (_, loaded) = get(&app, &format!("/api/v1/tickets/{ticket}"), &agent).await;
    assert_eq!(
        loaded["assignee_name"], "Alex Agent",
        "the seeded online agent got it: {loaded}"
    );
    let number = loaded["number"].as_str().expect("number").to_owned();
    let (_, restored) = get(
        &app,
        &format!("/api/v1/chat/conversations/{conversation}/messages"),
        &customer,
    )
    .await;
    assert_eq!(
        restored["ticket_number"],
        number.as_str(),
        "a reloaded widget can name the ticket"
    );

    // The panel's version is from before the agent's own two replies: resolving still works.
    assert_eq!(
        reply(&app, ticket, &agent, "Hola, lo miro ahora").await.0,
        202
    );
    assert_eq!(reply(&app, ticket, &agent, "Ya está resuelto").await.0, 202);
    wait_until("both replies are stored", || async {
        app.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'agent'",
            &[&conversation],
        )
        .await
            == 2
    })
    .await;
    let (status, body) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/status"),
        &agent,
        json!({ "status": "resolved", "expected_updated_at": loaded["updated_at"] }),
    )
    .await;
    assert_eq!(
        status, 200,
        "the agent's own replies are no conflict: {body}"
    );

    // The customer is told, in Spanish, with the ticket number, and the widget gets the close (its cue
    // for the survey).
    let told = customer_ws
        .wait_event("the bot's resolution notice", |f| is_message_from(f, "bot"))
        .await;
    let text = told["event"]["payload"]["message"]["text"]
        .as_str()
        .expect("text");
    assert!(
        text.contains("resuelto") && text.contains(&number),
        "{text}"
    );
    customer_ws
        .wait_event("the close", |f| event_type(f) == "conversation.closed")
        .await;
    let status: String = app
        .query(
            "SELECT status FROM conversations WHERE id = $1",
            &[&conversation],
        )
        .await[0]
        .get(0);
    assert_eq!(status, "closed");

    // No agent reply goes into the ended conversation, and the agent is told why.
    let (status, body) = reply(&app, ticket, &agent, "¿Algo más?").await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("would not see"),
        "{body}"
    );
    let (status, body) = post(
        &app,
        &format!("/api/v1/chat/conversations/{conversation}/rating"),
        &customer,
        json!({ "rating": 5 }),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Writing again: a new conversation, same language, linked to the old one and its ticket; the bot answers.
    let (status, next) = post(
        &app,
        &format!("/api/v1/chat/conversations/{conversation}/follow-up"),
        &customer,
        json!({}),
    )
    .await;
    assert_eq!(status, 201, "{next}");
    let next_id: Uuid = next["conversation_id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let next_token = next["token"].as_str().expect("token").to_owned();
    assert_ne!(next_id, conversation);
    let mut next_ws = app.ws(&next_token).await;
    assert_eq!(
        app.post_message(next_id, &next_token, "again", "¿cuál es mi saldo?")
            .await
            .status(),
        202
    );
    next_ws
        .wait_event("the bot's answer in the new conversation", |f| {
            is_message_from(f, "bot")
        })
        .await;
    let row = &app
        .query("SELECT locale, follows_conversation_id, follows_ticket_id, status, owner FROM conversations WHERE id = $1", &[&next_id])
        .await[0];
    assert_eq!(row.get::<_, String>(0), "es");
    assert_eq!(row.get::<_, Option<Uuid>>(1), Some(conversation));
    assert_eq!(row.get::<_, Option<Uuid>>(2), Some(ticket));
    assert_eq!(
        (row.get::<_, String>(3), row.get::<_, String>(4)),
        ("open".to_owned(), "bot".to_owned())
    );
    let (status, _) = post(
        &app,
        &format!("/api/v1/chat/conversations/{next_id}/follow-up"),
        &next_token,
        json!({}),
    )
    .await;
    assert_eq!(
        status, 409,
        "an open conversation is written in, not followed up"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_change_by_someone_else_is_a_conflict_that_says_who_changed_what() {
    let app = spawn_app().await;
    let agent = app.login(AGENT).await;
    let supervisor = app.login(SUPERVISOR).await;
    let (_, _, ticket) = escalated_ticket(&app).await;
    let path = format!("/api/v1/tickets/{ticket}");
    let (_, loaded) = get(&app, &path, &agent).await;

    let (status, _) = call(
        &app,
        "PATCH",
        &path,
        Some(&supervisor),
        Some(json!({ "priority": "urgent" })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post(
        &app,
        &format!("{path}/status"),
        &agent,
        json!({ "status": "resolved", "expected_updated_at": loaded["updated_at"] }),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Sam Supervisor changed the priority"),
        "{message}"
    );
    assert_eq!(
        app.query("SELECT status FROM tickets WHERE id = $1", &[&ticket])
            .await[0]
            .get::<_, String>(0),
        "open"
    );

    // Retried with the version it read again, the same change goes through.
    let (_, fresh) = get(&app, &path, &agent).await;
    let (status, body) = post(
        &app,
        &format!("{path}/status"),
        &agent,
        json!({ "status": "resolved", "expected_updated_at": fresh["updated_at"] }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn closing_from_the_desk_tells_the_customer_and_ending_from_the_widget_does_not_repeat_it() {
    let app = spawn_app().await;
    let supervisor = app.login(SUPERVISOR).await;
    let (conversation, customer, ticket) = escalated_ticket(&app).await;
    let (status, body) = post(
        &app,
        &format!("/api/v1/conversations/{conversation}/close"),
        &supervisor,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let transcript = app.transcript(conversation, &customer).await;
    let last = transcript.last().expect("messages");
    assert_eq!(last["sender"], "bot");
    assert!(
        last["text"]
            .as_str()
            .unwrap_or_default()
            .contains("closed this conversation"),
        "{last}"
    );
    assert_eq!(
        app.query("SELECT status FROM tickets WHERE id = $1", &[&ticket])
            .await[0]
            .get::<_, String>(0),
        "closed"
    );
    let (status, _) = post(
        &app,
        &format!("/api/v1/conversations/{conversation}/close"),
        &supervisor,
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "already closed");

    let (other, other_customer, _) = escalated_ticket(&app).await;
    let (status, body) = post(
        &app,
        &format!("/api/v1/chat/conversations/{other}/close"),
        &other_customer,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let bot_lines = app
        .count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'bot'",
            &[&other],
        )
        .await;
    assert_eq!(bot_lines, 0, "the customer ended it themselves: no notice");
    app.stop().await;
}

#[tokio::test]
async fn a_message_to_an_ended_conversation_is_refused_and_one_that_arrived_late_is_answered_not_lost()
 {
    let app = spawn_app().await;
    let supervisor = app.login(SUPERVISOR).await;
    let (conversation, customer, _ticket) = escalated_ticket(&app).await;
    let (status, body) = post(
        &app,
        &format!("/api/v1/conversations/{conversation}/close"),
        &supervisor,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let before = app
        .count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1",
            &[&conversation],
        )
        .await;

    // Through the API: a clear 409 (the widget then starts a follow-up), and nothing is stored.
    let response = app
        .post_message(
            conversation,
            &customer,
            "after-close",
            "are you still there?",
        )
        .await;
    assert_eq!(response.status(), 409);
    let body: serde_json::Value = response.json().await.expect("body");
    assert_eq!(body["code"], "conflict", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("follow-up"),
        "{body}"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1",
            &[&conversation]
        )
        .await,
        before
    );

    // A message the ingress accepted a moment before the end (or while it could not read Postgres)
    // reaches the ticket worker afterwards: it is stored, and the assistant takes the conversation
    // back and answers it.
    let mut ws = app.ws(&customer).await;
    let message_id = Uuid::new_v4();
    let late = joxai_schemas::commands::PostCustomerMessage {
        conversation_id: conversation,
        message_id,
        client_message_id: "late".into(),
        text: "what is my balance?".into(),
        customer: joxai_schemas::types::CustomerRef {
            external_ref: None,
            display_name: None,
            verified: false,
        },
        card_data_masked: false,
        after_message_id: None,
    };
    let subject = app
        .platform
        .bus
        .subjects()
        .command::<joxai_schemas::commands::PostCustomerMessage>();
    app.platform
        .bus
        .publish(
            subject,
            &joxai_schemas::Envelope::with_id(message_id, message_id, None, late),
        )
        .await
        .expect("publish");
    let answer = ws
        .wait_event("the assistant's answer to the late message", |f| {
            is_message_from(f, "bot")
                && f["event"]["payload"]["message"]["in_reply_to"] == message_id.to_string()
        })
        .await;
    assert!(
        !answer["event"]["payload"]["message"]["text"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    let row = &app
        .query(
            "SELECT status, owner FROM conversations WHERE id = $1",
            &[&conversation],
        )
        .await[0];
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1)),
        ("open".to_owned(), "bot".to_owned())
    );
    app.stop().await;
}

#[tokio::test]
async fn a_ticket_subject_names_what_the_case_is_about_and_quotes_the_customers_first_words() {
    let app = spawn_app().await;
    let (conversation, customer) = app.start_session().await;
    let mut ws = app.ws(&customer).await;
    let first = "My card was stolen in Madrid yesterday and I need it blocked, then a new one sent to my hotel please";
    assert_eq!(
        app.post_message(conversation, &customer, "q1", first)
            .await
            .status(),
        202
    );
    // A stolen card goes to a person at once unless the bot is certain enough to offer to block it first.
    ws.wait_event("the bot's answer or the hand-over", |f| {
        is_message_from(f, "bot") || support::event_type(f) == "conversation.escalated"
    })
    .await;
    let ticket = escalate(&app, conversation, &customer).await;
    let subject: String = app
        .query("SELECT subject FROM tickets WHERE id = $1", &[&ticket])
        .await[0]
        .get(0);
    let stored: Vec<(String, String, Option<String>)> = app
        .query("SELECT sender, text, intent FROM messages WHERE conversation_id = $1 ORDER BY created_at", &[&conversation])
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert!(
        subject.contains("My card was stolen in Madrid yesterday"),
        "{subject} {stored:?}"
    );
    assert!(
        subject.trim_end_matches('"').ends_with('…'),
        "long first words are cut: {subject}"
    );
    let intent: Option<String> = app
        .query(
            "SELECT intent FROM messages WHERE conversation_id = $1 AND intent IS NOT NULL LIMIT 1",
            &[&conversation],
        )
        .await
        .first()
        .and_then(|r| r.get(0));
    if let Some(intent) = intent {
        let words = intent.replace('_', " ");
        assert!(
            subject.to_lowercase().contains(&words),
            "the assistant's reading ({words}) in plain words: {subject}"
        );
    }
    app.stop().await;
}
