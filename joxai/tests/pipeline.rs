//! The backbone, end to end: a customer message travels ingress → bus → ticket worker → classifier →
//! AI responder → ticket worker → notifier, against real NATS and Postgres.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{PASSWORD, event_type, is_message_from, spawn_app, wait_until};

#[tokio::test]
async fn a_balance_question_gets_a_bot_reply_over_the_websocket_and_both_are_stored() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;

    let response = app
        .post_message(conversation, &token, "m1", "what is my balance?")
        .await;
    assert_eq!(response.status(), 202);

    let reply = ws
        .wait_event("the bot's reply", |f| is_message_from(f, "bot"))
        .await;
    let text = reply["event"]["payload"]["message"]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.to_lowercase().contains("balance"),
        "a balance answer, got {text:?}"
    );
    assert!(
        reply["seq"].as_u64().unwrap_or(0) > 0,
        "pushes carry a sequence number"
    );

    let stored = app
        .count("SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender IN ('customer', 'bot')", &[&conversation])
        .await;
    assert_eq!(stored, 2);
    let transcript = app.transcript(conversation, &token).await;
    assert_eq!(transcript.len(), 2);
    assert_eq!(transcript[0]["sender"], "customer");
    assert_eq!(transcript[1]["sender"], "bot");
    app.stop().await;
}

#[tokio::test]
async fn asking_for_a_human_opens_exactly_one_ticket_and_notifies_agents() {
    let app = spawn_app().await;
    let agent = app.login("agent@joxai.local").await;
    let mut agent_ws = app.ws(&agent).await;
    let (conversation, token) = app.start_session().await;

    assert_eq!(
        app.post_message(conversation, &token, "m1", "I want to talk to a human")
            .await
            .status(),
        202
    );
    // A second request while the first ticket is open must not open another.
    assert_eq!(
        app.post_message(conversation, &token, "m2", "a human please!")
            .await
            .status(),
        202
    );
    let pressed = app
        .http
        .post(app.url(&format!(
            "/api/v1/chat/conversations/{conversation}/escalate"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .expect("escalate");
    assert_eq!(pressed.status(), 202);

    let created = agent_ws
        .wait_event("ticket.created", |f| event_type(f) == "ticket.created")
        .await;
    assert_eq!(
        created["event"]["payload"]["ticket"]["reason"],
        "customer_asked"
    );
    wait_until("the customer's second message is stored", || async {
        app.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'customer'",
            &[&conversation],
        )
        .await
            == 2
    })
    .await;
    agent_ws.drain_for(Duration::from_millis(800)).await;

    assert_eq!(
        app.count(
            "SELECT count(*) FROM tickets WHERE conversation_id = $1",
            &[&conversation]
        )
        .await,
        1
    );
    assert_eq!(
        agent_ws.count(|f| event_type(f) == "ticket.created"),
        1,
        "one push per ticket"
    );
    let owner: String = app
        .query(
            "SELECT owner FROM conversations WHERE id = $1",
            &[&conversation],
        )
        .await[0]
        .get(0);
    assert_eq!(owner, "agent");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'bot'",
            &[&conversation]
        )
        .await,
        0,
        "the bot never answers a conversation a person owns"
    );
    app.stop().await;
}

/// The classifier's history (the customer's previous message) now travels in the `message.created`
/// event, read by the ticket worker in the statement that stored the message: the same question
/// twice in a row is frustration, and opens a high-priority ticket.
#[tokio::test]
async fn the_same_question_sent_twice_in_a_row_is_escalated_as_frustration() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;
    let question = "How long does a transfer to another bank take?";

    assert_eq!(
        app.post_message(conversation, &token, "q1", question)
            .await
            .status(),
        202
    );
    wait_until("the bot answers the first time", || async {
        app.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'bot'",
            &[&conversation],
        )
        .await
            == 1
    })
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM tickets WHERE conversation_id = $1",
            &[&conversation]
        )
        .await,
        0
    );

    assert_eq!(
        app.post_message(conversation, &token, "q2", question)
            .await
            .status(),
        202
    );
    wait_until("the repeated question opens a ticket", || async {
        app.count(
            "SELECT count(*) FROM tickets WHERE conversation_id = $1",
            &[&conversation],
        )
        .await
            == 1
    })
    .await;
    let ticket = app
        .query(
            "SELECT reason, priority FROM tickets WHERE conversation_id = $1",
            &[&conversation],
        )
        .await;
    assert_eq!(ticket[0].get::<_, &str>(0), "frustration");
    assert_eq!(ticket[0].get::<_, &str>(1), "high");
    // The history came with the event (the classifier's own read is only the fallback).
    let repeated = ws
        .wait_event("the repeated question's event", |f| {
            f["event"]["payload"]["message"]["client_message_id"] == "q2"
        })
        .await;
    assert_eq!(
        repeated["event"]["payload"]["history"]["previous_customer_text"],
        question
    );
    app.stop().await;
}

#[tokio::test]
async fn an_agent_reply_reaches_the_customer_websocket_and_is_stored() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let mut customer_ws = app.ws(&token).await;
    app.post_message(conversation, &token, "m1", "I need to speak to a person")
        .await;
    customer_ws
        .wait_event("the escalation", |f| {
            event_type(f) == "conversation.escalated"
        })
        .await;

    let agent = app.login("agent@joxai.local").await;
    let tickets: serde_json::Value = app
        .http
        .get(app.url("/api/v1/tickets"))
        .bearer_auth(&agent)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let ticket = tickets["items"]
        .as_array()
        .and_then(|t| {
            t.iter()
                .find(|t| t["conversation_id"] == conversation.to_string())
        })
        .expect("the new ticket is in the agent's queue")
        .clone();
    let ticket_id = ticket["id"].as_str().expect("id");
    let response = app
        .http
        .post(app.url(&format!("/api/v1/tickets/{ticket_id}/messages")))
        .bearer_auth(&agent)
        .json(&json!({ "text": "Hi, I'm Alex. How can I help?" }))
        .send()
        .await
        .expect("reply");
    assert_eq!(response.status(), 202);

    let pushed = customer_ws
        .wait_event("the agent's reply", |f| is_message_from(f, "agent"))
        .await;
    assert_eq!(
        pushed["event"]["payload"]["message"]["text"],
        "Hi, I'm Alex. How can I help?"
    );
    let detail: serde_json::Value = app
        .http
        .get(app.url(&format!("/api/v1/tickets/{ticket_id}")))
        .bearer_auth(&agent)
        .send()
        .await
        .expect("detail")
        .json()
        .await
        .expect("json");
    assert!(
        detail["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .any(|m| m["sender"] == "agent")
    );
    assert_eq!(
        detail["status"], "in_progress",
        "the first reply starts work on the ticket"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_retried_post_with_the_same_client_id_stores_one_message_and_pushes_it_once() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;
    let first = app
        .post_message(conversation, &token, "same-id", "hello")
        .await;
    let second = app
        .post_message(conversation, &token, "same-id", "hello")
        .await;
    assert_eq!(first.status(), 202);
    assert_eq!(second.status(), 202);
    let a: serde_json::Value = first.json().await.expect("json");
    let b: serde_json::Value = second.json().await.expect("json");
    assert_eq!(
        a["message_id"], b["message_id"],
        "a retry names the same message"
    );

    ws.wait_event("the bot reply", |f| is_message_from(f, "bot"))
        .await;
    ws.drain_for(Duration::from_millis(800)).await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM messages WHERE sender = 'customer'",
            &[]
        )
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM messages WHERE sender = 'bot'", &[])
            .await,
        1
    );
    assert_eq!(ws.count(|f| is_message_from(f, "customer")), 1);
    assert_eq!(ws.count(|f| is_message_from(f, "bot")), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_reconnecting_socket_resumes_by_sequence_and_gets_what_it_missed() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;
    app.post_message(conversation, &token, "m1", "hello").await;
    let first = ws
        .wait_event("first bot reply", |f| is_message_from(f, "bot"))
        .await;
    let seq = first["seq"].as_u64().expect("seq");
    drop(ws);

    // While disconnected, another turn happens.
    app.post_message(conversation, &token, "m2", "how do I activate my card?")
        .await;
    wait_until("the second reply is stored", || async {
        app.count("SELECT count(*) FROM messages WHERE sender = 'bot'", &[])
            .await
            == 2
    })
    .await;

    let mut ws = app.ws(&token).await;
    ws.send(json!({ "type": "resume", "after": seq })).await;
    let missed = ws
        .wait_event("the missed bot reply", |f| is_message_from(f, "bot"))
        .await;
    assert!(missed["seq"].as_u64().expect("seq") > seq);
    ws.drain_for(Duration::from_millis(500)).await;
    assert_eq!(
        ws.count(|f| is_message_from(f, "bot")),
        1,
        "only what was missed, once"
    );
    assert_eq!(ws.count(|f| is_message_from(f, "customer")), 1);
    app.stop().await;
}

#[tokio::test]
async fn staff_can_sign_in_and_see_who_they_are_but_a_wrong_password_cannot() {
    let app = spawn_app().await;
    let token = app.login("supervisor@joxai.local").await;
    let me: serde_json::Value = app
        .http
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me["role"], "supervisor");

    for (email, password) in [
        ("supervisor@joxai.local", "wrong"),
        ("nobody@joxai.local", PASSWORD),
    ] {
        let response = app
            .http
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), 401);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(
            body["code"], "unauthorized",
            "unknown user and wrong password answer identically"
        );
        assert_eq!(
            body["message"], "the email address or the password is not right",
            "in words, not about bearer tokens"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_client_resuming_on_a_restarted_notifier_gets_what_was_published_while_it_was_down() {
    let app = spawn_app().await;
    // A notifier of its own, next to the all-in-one process, so it can be stopped and started alone.
    let start_notifier = || async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(joxai_notifier::run(
            app.platform.clone(),
            listener,
            shutdown.clone(),
        ));
        (addr, shutdown, task)
    };
    let connect = |addr: std::net::SocketAddr, token: String| async move {
        use futures::SinkExt as _;
        let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws"))
            .await
            .expect("ws connect");
        let auth = json!({ "type": "auth", "token": token }).to_string();
        socket
            .send(tokio_tungstenite::tungstenite::Message::Text(auth.into()))
            .await
            .expect("auth");
        let mut ws = support::Ws {
            socket,
            seen: vec![],
        };
        let ready = ws.next_frame().await.expect("ready frame");
        assert_eq!(ready["type"], "ready", "{ready}");
        ws
    };
    let (conversation, token) = app.start_session().await;
    let (addr, shutdown, task) = start_notifier().await;
    let mut ws = connect(addr, token.clone()).await;
    app.post_message(conversation, &token, "m1", "hello").await;
    let first = ws
        .wait_event("first bot reply", |f| is_message_from(f, "bot"))
        .await;
    let seq = first["seq"].as_u64().expect("seq");

    // The client loses its connection and the notifier restarts; meanwhile another turn happens.
    drop(ws);
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    app.post_message(conversation, &token, "m2", "how do I activate my card?")
        .await;
    wait_until("the second reply is stored", || async {
        app.count(
            "SELECT count(*) FROM messages WHERE sender = 'bot' AND conversation_id = $1",
            &[&conversation],
        )
        .await
            == 2
    })
    .await;
    let (addr, shutdown, task) = start_notifier().await;
    let mut ws = connect(addr, token.clone()).await;
    ws.send(json!({ "type": "resume", "after": seq })).await;
    let missed = ws
        .wait_event("the reply published while the notifier was down", |f| {
            is_message_from(f, "bot")
        })
        .await;
    assert!(missed["seq"].as_u64().expect("seq") > seq);
    ws.drain_for(Duration::from_millis(500)).await;
    assert_eq!(
        ws.count(|f| is_message_from(f, "bot")),
        1,
        "only what was missed, once"
    );
    assert_eq!(
        ws.count(|f| is_message_from(f, "customer")),
        1,
        "the customer's own second message too"
    );
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    app.stop().await;
}
