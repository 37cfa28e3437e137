//! The bot never fails a customer in trouble: a card is blocked only when the classifier is sure and the customer
//! has confirmed which card; anything less reaches a person as urgent with the account untouched. Off-topic questions
//! get the polite out-of-scope answer. End to end: real Postgres, real NATS, the product's intent model.

mod support;

use joxai_ingress::routes::chat::sign_identity;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use support::{TestApp, event_type, is_message_from, spawn_app};

async fn verified_session(app: &TestApp, customer_ref: &str, name: &str) -> (uuid::Uuid, String) {
    let issued_at = time::OffsetDateTime::now_utc().unix_timestamp();
    let secret = app
        .platform
        .config
        .widget_secret
        .expose_secret()
        .as_bytes()
        .to_vec();
    let signature = sign_identity(&secret, customer_ref, Some(name), issued_at);
    app.start_session_with(json!({
        "locale": "en",
        "identity": { "customer_ref": customer_ref, "display_name": name, "issued_at": issued_at, "signature": signature }
    }))
    .await
}

fn bot_text(frame: &Value) -> String {
    frame["event"]["payload"]["message"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn card_status(app: &TestApp, last4: &str) -> String {
    app.query("SELECT status FROM bank_cards WHERE last4 = $1", &[&last4])
        .await[0]
        .get(0)
}

#[tokio::test]
async fn a_lost_card_is_blocked_only_after_the_customer_confirms_which_card_then_an_urgent_ticket_opens()
 {
    let app = spawn_app().await;
    let (conversation, token) = verified_session(&app, "CUST-1002", "John Smith").await;
    let mut ws = app.ws(&token).await;

    app.post_message(conversation, &token, "q1", "I lost my card")
        .await;
    let question = ws
        .wait_event("the bot's question", |f| is_message_from(f, "bot"))
        .await;
    let text = bot_text(&question);
    assert!(
        text.contains("card ending 5512") && text.contains("Yes / No"),
        "asks which card: {text:?}"
    );
    assert_eq!(
        card_status(&app, "5512").await,
        "active",
        "nothing is blocked before the customer confirms"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM tickets WHERE conversation_id = $1",
            &[&conversation]
        )
        .await,
        0
    );
    let stored: Option<String> = app
        .query(
            "SELECT intent FROM messages WHERE conversation_id = $1 AND sender = 'bot'",
            &[&conversation],
        )
        .await[0]
        .get(0);
    assert_eq!(stored.as_deref(), Some("confirm_block_card"));

    // The widget's Yes button sends exactly this.
    app.post_message(conversation, &token, "q2", "Yes").await;
    let done = ws
        .wait_event("the bot's confirmation", |f| {
            is_message_from(f, "bot") && bot_text(f).contains("blocked")
        })
        .await;
    assert!(bot_text(&done).contains("5512"), "{:?}", bot_text(&done));
    let escalated = ws
        .wait_event("the escalation", |f| {
            event_type(f) == "conversation.escalated"
        })
        .await;
    assert_eq!(escalated["event"]["payload"]["priority"], "urgent");
    assert_eq!(escalated["event"]["payload"]["reason"], "urgent_intent");
    assert_eq!(card_status(&app, "5512").await, "blocked");
    assert_eq!(
        card_status(&app, "4921").await,
        "active",
        "another customer's card is untouched"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_customer_with_two_cards_is_asked_which_one_and_only_the_confirmed_card_is_blocked() {
    let app = spawn_app().await;
    let (conversation, token) = verified_session(&app, "CUST-1001", "Ana García").await;
    let mut ws = app.ws(&token).await;
    app.post_message(conversation, &token, "q1", "I lost my card")
        .await;
    let which = ws
        .wait_event("which card", |f| is_message_from(f, "bot"))
        .await;
    let text = bot_text(&which);
    assert!(
        text.contains("4921") && text.contains("7710"),
        "offers both cards: {text:?}"
    );
    app.post_message(conversation, &token, "q2", "7710").await;
    let question = ws
        .wait_event("the question about one card", |f| {
            is_message_from(f, "bot") && bot_text(f).contains("Yes / No")
        })
        .await;
    assert!(
        bot_text(&question).contains("credit card ending 7710"),
        "{:?}",
        bot_text(&question)
    );
    assert_eq!(
        card_status(&app, "7710").await,
        "active",
        "not before the customer says yes"
    );
    app.post_message(conversation, &token, "q3", "Yes").await;
    ws.wait_event("the confirmation", |f| {
        is_message_from(f, "bot") && bot_text(f).contains("blocked your card")
    })
    .await;
    let escalated = ws
        .wait_event("the escalation", |f| {
            event_type(f) == "conversation.escalated"
        })
        .await;
    assert_eq!(escalated["event"]["payload"]["priority"], "urgent");
    assert_eq!(card_status(&app, "7710").await, "blocked");
    assert_eq!(
        card_status(&app, "4921").await,
        "active",
        "the other card is untouched"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_customer_who_says_no_gets_a_person_at_once_and_the_card_stays_active() {
    let app = spawn_app().await;
    let (conversation, token) = verified_session(&app, "CUST-1002", "John Smith").await;
    let mut ws = app.ws(&token).await;
    app.post_message(conversation, &token, "q1", "I lost my card")
        .await;
    ws.wait_event("the bot's question", |f| is_message_from(f, "bot"))
        .await;
    app.post_message(conversation, &token, "q2", "No").await;
    let escalated = ws
        .wait_event("the escalation", |f| {
            event_type(f) == "conversation.escalated"
        })
        .await;
    assert_eq!(escalated["event"]["payload"]["priority"], "urgent");
    assert_eq!(card_status(&app, "5512").await, "active");
    app.stop().await;
}

#[tokio::test]
async fn a_card_emergency_the_model_is_unsure_of_opens_an_urgent_ticket_without_touching_the_card()
{
    let app = spawn_app().await;
    let (conversation, token) = verified_session(&app, "CUST-1002", "John Smith").await;
    let mut ws = app.ws(&token).await;
    // The model reads this as a lost card, but well below the confidence the bot needs to act (about 0.55).
    app.post_message(
        conversation,
        &token,
        "q1",
        "someone took my bag at the station",
    )
    .await;
    let escalated = ws
        .wait_event("the escalation", |f| {
            event_type(f) == "conversation.escalated"
        })
        .await;
    assert_eq!(escalated["event"]["payload"]["priority"], "urgent");
    assert_eq!(escalated["event"]["payload"]["reason"], "urgent_intent");
    let ticket = app
        .query(
            "SELECT priority, subject FROM tickets WHERE conversation_id = $1",
            &[&conversation],
        )
        .await;
    assert_eq!(ticket[0].get::<_, &str>(0), "urgent");
    let subject: &str = ticket[0].get(1);
    assert!(
        subject.starts_with("URGENT:"),
        "the agent sees why: {subject:?}"
    );
    assert_eq!(card_status(&app, "5512").await, "active");
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE conversation_id = $1 AND intent = 'confirm_block_card'", &[&conversation]).await,
        0,
        "no offer to block on a guess"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_off_topic_question_gets_the_out_of_scope_answer_and_no_ticket() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;
    app.post_message(
        conversation,
        &token,
        "q1",
        "my phone battery dies by lunchtime, any tips?",
    )
    .await;
    let reply = ws
        .wait_event("the bot's reply", |f| is_message_from(f, "bot"))
        .await;
    assert!(
        bot_text(&reply).contains("only help with banking"),
        "{:?}",
        bot_text(&reply)
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM tickets WHERE conversation_id = $1",
            &[&conversation]
        )
        .await,
        0
    );
    app.stop().await;
}
