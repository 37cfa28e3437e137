//! What the frontend engineers reported: the customer learns who joined however the agent took the
//! ticket, agent messages carry the agent's name, the widget can restore its state and end the chat,
//! staff lists page, presence is pushed live, and a WebSocket resume never leaves a gap.

mod desk_helpers;
mod support;

use std::collections::HashSet;
use std::time::Duration;

use desk_helpers::*;
use futures::SinkExt as _;
use serde_json::{Value, json};
use support::{TestApp, Ws, event_type, is_message_from, spawn_app, wait_until};
use uuid::Uuid;

fn is_customer_message(frame: &Value, client_id: &str) -> bool {
    is_message_from(frame, "customer")
        && frame["event"]["payload"]["message"]["client_message_id"] == client_id
}

/// A conversation whose ticket waits in the queue (the only agent is away).
async fn queued_ticket(app: &TestApp) -> (Uuid, String, Uuid, String) {
    let agent = app.login(AGENT).await;
    set_availability(app, &agent, "away").await;
    let (conversation, customer, ticket) = escalated_ticket(app).await;
    (conversation, customer, ticket, agent)
}

#[tokio::test]
async fn replying_to_a_queue_ticket_takes_it_and_tells_the_customer_who_joined() {
    let app = spawn_app().await;
    let (conversation, customer, ticket, agent) = queued_ticket(&app).await;
    let mut customer_ws = app.ws(&customer).await;

    let (status, _) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/messages"),
        &agent,
        json!({ "text": "Hello, I'm here." }),
    )
    .await;
    assert_eq!(status, 202);
    let assigned = customer_ws
        .wait_event("conversation.assigned", |f| {
            event_type(f) == "conversation.assigned"
        })
        .await;
    assert_eq!(assigned["event"]["payload"]["agent_name"], "Alex Agent");
    let reply = customer_ws
        .wait_event("the agent's message", |f| is_message_from(f, "agent"))
        .await;
    assert_eq!(
        reply["event"]["payload"]["message"]["author_name"], "Alex Agent",
        "pushed with the author's name"
    );
    assert!(
        assigned["seq"].as_u64() < reply["seq"].as_u64(),
        "'Alex joined' comes before Alex's message"
    );

    let alex = user_id(&app, AGENT).await;
    let row = &app.query("SELECT t.assignee_id, t.status, c.assigned_agent_id FROM tickets t JOIN conversations c ON c.id = t.conversation_id WHERE t.id = $1", &[&ticket]).await[0];
    assert_eq!(row.get::<_, Option<Uuid>>(0), Some(alex));
    assert_eq!(row.get::<_, String>(1), "in_progress");
    assert_eq!(
        row.get::<_, Option<Uuid>>(2),
        Some(alex),
        "the conversation names its agent too"
    );
    let (_, history) = get(&app, &format!("/api/v1/tickets/{ticket}/history"), &agent).await;
    let kinds: Vec<&str> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["created", "assigned", "agent_replied"]);

    // A second reply announces nobody again.
    post(
        &app,
        &format!("/api/v1/tickets/{ticket}/messages"),
        &agent,
        json!({ "text": "Still here." }),
    )
    .await;
    customer_ws
        .wait_event("the second reply", |f| {
            is_message_from(f, "agent") && f["event"]["payload"]["message"]["text"] == "Still here."
        })
        .await;
    customer_ws.drain_for(Duration::from_millis(300)).await;
    assert_eq!(
        customer_ws.count(|f| event_type(f) == "conversation.assigned"),
        1
    );

    // Reads carry the name as well: the widget's transcript and the desk's views.
    let transcript = app.transcript(conversation, &customer).await;
    let mine: Vec<&Value> = transcript
        .iter()
        .filter(|m| m["sender"] == "agent")
        .collect();
    assert_eq!(mine.len(), 2);
    assert!(
        mine.iter().all(|m| m["author_name"] == "Alex Agent"),
        "{mine:?}"
    );
    let (_, detail) = get(&app, &format!("/api/v1/tickets/{ticket}"), &agent).await;
    assert!(
        detail["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .any(|m| m["author_name"] == "Alex Agent")
    );
    let (_, conv) = get(
        &app,
        &format!("/api/v1/conversations/{conversation}"),
        &agent,
    )
    .await;
    assert!(
        conv["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .any(|m| m["author_name"] == "Alex Agent")
    );
    assert!(
        transcript
            .iter()
            .filter(|m| m["sender"] != "agent")
            .all(|m| m.get("author_name").is_none())
    );
    app.stop().await;
}

#[tokio::test]
async fn taking_a_queue_ticket_tells_the_customer_who_joined() {
    let app = spawn_app().await;
    let (_, customer, ticket, agent) = queued_ticket(&app).await;
    let mut customer_ws = app.ws(&customer).await;
    let alex = user_id(&app, AGENT).await;
    let (status, body) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/assign"),
        &agent,
        json!({ "assignee_id": alex }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let assigned = customer_ws
        .wait_event("conversation.assigned", |f| {
            event_type(f) == "conversation.assigned"
        })
        .await;
    assert_eq!(assigned["event"]["payload"]["agent_name"], "Alex Agent");
    assert_eq!(assigned["event"]["payload"]["agent_id"], alex.to_string());
    app.stop().await;
}

#[tokio::test]
async fn the_widget_restores_status_owner_agent_and_rating_from_the_transcript() {
    let app = spawn_app().await;
    let (conversation, customer) = app.start_session().await;
    wait_until("the conversation is stored", || async {
        app.count(
            "SELECT count(*) FROM conversations WHERE id = $1",
            &[&conversation],
        )
        .await
            == 1
    })
    .await;
    let (status, body) = get(
        &app,
        &format!("/api/v1/chat/conversations/{conversation}/messages"),
        &customer,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "open");
    assert_eq!(body["owner"], "bot");
    assert!(
        body["agent"].is_null() && body["rating"].is_null(),
        "{body}"
    );

    let (_, _, ticket) = escalated_ticket_for(&app, conversation, &customer).await;
    wait_until("the ticket is assigned", || async {
        app.count(
            "SELECT count(*) FROM tickets WHERE id = $1 AND assignee_id IS NOT NULL",
            &[&ticket],
        )
        .await
            == 1
    })
    .await;
    let (_, body) = get(
        &app,
        &format!("/api/v1/chat/conversations/{conversation}/messages"),
        &customer,
    )
    .await;
    assert_eq!(body["owner"], "agent");
    assert_eq!(body["agent"]["name"], "Alex Agent");
    app.stop().await;
}

/// Escalate an existing conversation: (conversation, token, ticket).
async fn escalated_ticket_for(
    app: &TestApp,
    conversation: Uuid,
    token: &str,
) -> (Uuid, String, Uuid) {
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
    let ticket: Uuid = app
        .query(
            "SELECT id FROM tickets WHERE conversation_id = $1",
            &[&conversation],
        )
        .await[0]
        .get(0);
    (conversation, token.to_owned(), ticket)
}

#[tokio::test]
async fn the_customer_ends_the_chat_then_rates_it() {
    let app = spawn_app().await;
    let (conversation, customer, ticket) = escalated_ticket(&app).await;
    let mut customer_ws = app.ws(&customer).await;
    let path = format!("/api/v1/chat/conversations/{conversation}/close");

    // Only the conversation's own customer: another customer sees nothing, staff tokens do not count.
    let (_, other) = app.start_session().await;
    let (status, _) = post(&app, &path, &other, json!({})).await;
    assert_eq!(status, 404);
    let supervisor = app.login(SUPERVISOR).await;
    let (status, _) = post(&app, &path, &supervisor, json!({})).await;
    assert_eq!(status, 401);
    let (status, _) = call(&app, "POST", &path, None, None).await;
    assert_eq!(status, 401);

    let (status, body) = post(&app, &path, &customer, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "closed");
    customer_ws
        .wait_event("conversation.closed", |f| {
            event_type(f) == "conversation.closed"
        })
        .await;
    let row = &app
        .query("SELECT status FROM tickets WHERE id = $1", &[&ticket])
        .await[0];
    assert_eq!(
        row.get::<_, String>(0),
        "closed",
        "the active ticket closes with the conversation"
    );
    let (_, history) = get(
        &app,
        &format!("/api/v1/tickets/{ticket}/history"),
        &supervisor,
    )
    .await;
    let last = history["items"]
        .as_array()
        .expect("items")
        .last()
        .cloned()
        .expect("an event");
    assert_eq!(last["actor"], "customer");
    assert_eq!(last["data"]["via"], "end_chat");

    // Ending the chat revoked its token for a live chat's actions; the rating and the transcript still work.
    let (status, body) = post(&app, &path, &customer, json!({})).await;
    assert_eq!(status, 401, "already closed: {body}");
    assert_eq!(body["code"], "chat_ended");
    let (status, _) = post(
        &app,
        &format!("/api/v1/chat/conversations/{conversation}/rating"),
        &customer,
        json!({ "rating": 4 }),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = get(
        &app,
        &format!("/api/v1/chat/conversations/{conversation}/messages"),
        &customer,
    )
    .await;
    assert_eq!(body["status"], "closed");
    assert_eq!(body["rating"], 4);
    app.stop().await;
}

#[tokio::test]
async fn the_staff_list_pages_with_a_cursor() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    for i in 0..3 {
        create_staff(
            &app,
            &admin,
            &format!("pager{i}@joxai.local"),
            &format!("Pager {i}"),
            "agent",
        )
        .await;
    }
    let total = app.count("SELECT count(*) FROM users", &[]).await as usize;
    let mut seen: Vec<String> = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/users?limit=2&cursor={c}"),
            None => "/api/v1/users?limit=2".to_owned(),
        };
        let (status, page) = get(&app, &path, &admin).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|u| u["display_name"].as_str().expect("name").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), total, "every user once: {seen:?}");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "sorted by name");
    let (status, _) = get(&app, "/api/v1/users?cursor=nonsense", &admin).await;
    assert_eq!(status, 422);
    let (status, _) = get(&app, "/api/v1/users?limit=0", &admin).await;
    assert_eq!(status, 422);
    let (status, page) = get(&app, "/api/v1/users?role=agent&limit=100", &admin).await;
    assert_eq!(status, 200);
    assert!(
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|u| u["role"] == "agent")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_change_of_availability_is_pushed_to_supervisors_live() {
    let app = spawn_app().await;
    let supervisor = app.login(SUPERVISOR).await;
    let agent = app.login(AGENT).await;
    let mut supervisor_ws = app.ws(&supervisor).await;
    set_availability(&app, &agent, "away").await;
    let event = supervisor_ws
        .wait_event("staff.availability_changed", |f| {
            event_type(f) == "staff.availability_changed"
        })
        .await;
    let payload = &event["event"]["payload"];
    assert_eq!(payload["user_id"], user_id(&app, AGENT).await.to_string());
    assert_eq!(payload["availability"], "away");
    assert_eq!(payload["display_name"], "Alex Agent");
    assert!(payload["capacity"].is_number());
    app.stop().await;
}

/// Open a customer socket whose auth frame may carry `after`.
async fn raw_ws(app: &TestApp, token: &str, after: Option<u64>) -> Ws {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/api/v1/ws", app.addr))
        .await
        .expect("ws connect");
    let mut auth = json!({ "type": "auth", "token": token });
    if let Some(after) = after {
        auth["after"] = json!(after);
    }
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            auth.to_string().into(),
        ))
        .await
        .expect("auth");
    let mut ws = Ws {
        socket,
        seen: vec![],
    };
    let ready = ws.next_frame().await.expect("ready frame");
    assert_eq!(ready["type"], "ready");
    ws
}

fn assert_no_duplicate(ws: &Ws) {
    let mut seqs = HashSet::new();
    for frame in &ws.seen {
        assert!(
            seqs.insert(frame["seq"].as_u64().expect("seq")),
            "event {} sent twice: {:#?}",
            frame["seq"],
            ws.seen
        );
    }
}

#[tokio::test]
async fn a_resume_after_live_events_replays_the_gap_exactly_once() {
    let app = spawn_app().await;
    // An agent-owned conversation (its ticket waits in the queue), so only the customer's own
    // messages produce customer-visible events from here on.
    let (conversation, customer, _, _) = queued_ticket(&app).await;
    let supervisor = app.login(SUPERVISOR).await;
    let mut watcher = app.ws(&supervisor).await;

    let mut first = app.ws(&customer).await;
    assert_eq!(
        app.post_message(conversation, &customer, "m1", "first")
            .await
            .status(),
        202
    );
    let seen = first
        .wait_event("m1", |f| is_customer_message(f, "m1"))
        .await;
    let after = seen["seq"].as_u64().expect("seq");
    drop(first);

    // Missed while disconnected.
    for id in ["m2", "m3"] {
        assert_eq!(
            app.post_message(conversation, &customer, id, id)
                .await
                .status(),
            202
        );
        watcher.wait_event(id, |f| is_customer_message(f, id)).await;
    }

    // Reconnect; a live event goes out before the client's resume frame is handled.
    let mut second = app.ws(&customer).await;
    assert_eq!(
        app.post_message(conversation, &customer, "m4", "live")
            .await
            .status(),
        202
    );
    second
        .wait_event("m4 live", |f| is_customer_message(f, "m4"))
        .await;
    second
        .send(json!({ "type": "resume", "after": after }))
        .await;
    second
        .wait_event("m2 replayed", |f| is_customer_message(f, "m2"))
        .await;
    second
        .wait_event("m3 replayed", |f| is_customer_message(f, "m3"))
        .await;
    assert_eq!(
        app.post_message(conversation, &customer, "m5", "after the resume")
            .await
            .status(),
        202
    );
    second
        .wait_event("m5 live", |f| is_customer_message(f, "m5"))
        .await;
    second.drain_for(Duration::from_millis(400)).await;
    for id in ["m2", "m3", "m4", "m5"] {
        assert_eq!(
            second.count(|f| is_customer_message(f, id)),
            1,
            "{id} exactly once"
        );
    }
    assert_eq!(
        second.count(|f| is_customer_message(f, "m1")),
        0,
        "nothing at or before `after`"
    );
    assert_no_duplicate(&second);

    // The same through the auth frame: resumed before any live event.
    let mut third = raw_ws(&app, &customer, Some(after)).await;
    for id in ["m2", "m3", "m4", "m5"] {
        third.wait_event(id, |f| is_customer_message(f, id)).await;
    }
    assert_eq!(
        app.post_message(conversation, &customer, "m6", "later")
            .await
            .status(),
        202
    );
    third
        .wait_event("m6 live", |f| is_customer_message(f, "m6"))
        .await;
    third.drain_for(Duration::from_millis(400)).await;
    for id in ["m2", "m3", "m4", "m5", "m6"] {
        assert_eq!(
            third.count(|f| is_customer_message(f, id)),
            1,
            "{id} exactly once"
        );
    }
    assert_no_duplicate(&third);
    app.stop().await;
}

#[tokio::test]
async fn the_joined_message_is_stored_before_the_agents_first_reply_in_the_conversations_language()
{
    let app = spawn_app().await;
    let agent = app.login(AGENT).await;
    set_availability(&app, &agent, "away").await;
    let (conversation, customer) = app.start_session_with(json!({ "locale": "es" })).await;
    let ticket = escalate(&app, conversation, &customer).await;
    let mut customer_ws = app.ws(&customer).await;

    let (status, body) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/messages"),
        &agent,
        json!({ "text": "Hola, ya estoy aquí." }),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let joined = customer_ws
        .wait_event("the stored 'joined' message", |f| {
            is_message_from(f, "system")
                && f["event"]["payload"]["message"]["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("se ha unido"))
        })
        .await;
    assert_eq!(
        joined["event"]["payload"]["message"]["text"],
        "Alex Agent se ha unido a la conversación"
    );
    let reply = customer_ws
        .wait_event("the agent's reply", |f| is_message_from(f, "agent"))
        .await;
    assert!(joined["seq"].as_u64() < reply["seq"].as_u64());

    // Read back, as a reloaded widget and the panel do: the notice comes first, by its stored time.
    let transcript = app.transcript(conversation, &customer).await;
    let position = |pred: &dyn Fn(&Value) -> bool| transcript.iter().position(pred);
    let notice = position(&|m| {
        m["sender"] == "system" && m["text"] == "Alex Agent se ha unido a la conversación"
    })
    .expect("the joined message is in the transcript");
    let first_reply = position(&|m| m["sender"] == "agent").expect("the reply");
    assert!(notice < first_reply, "{transcript:?}");
    let (_, detail) = get(&app, &format!("/api/v1/tickets/{ticket}"), &agent).await;
    let panel: Vec<&str> = detail["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["sender"] != "customer")
        .filter_map(|m| m["text"].as_str())
        .collect();
    let at = |text: &str| panel.iter().position(|t| *t == text);
    assert!(
        at("Alex Agent se ha unido a la conversación") < at("Hola, ya estoy aquí."),
        "{panel:?}"
    );
    assert_eq!(detail["conversation_status"], "open");

    // A second reply announces nobody again.
    post(
        &app,
        &format!("/api/v1/tickets/{ticket}/messages"),
        &agent,
        json!({ "text": "Sigo aquí." }),
    )
    .await;
    wait_until("the second reply is stored", || async {
        app.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'agent'",
            &[&conversation],
        )
        .await
            == 2
    })
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'system' AND text LIKE '%se ha unido%'",
            &[&conversation],
        )
        .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn a_hand_back_is_stored_in_the_conversation_and_a_closed_one_shows_in_the_ticket() {
    let app = spawn_app().await;
    let supervisor = app.login(SUPERVISOR).await;
    let agent = app.login(AGENT).await;
    set_availability(&app, &agent, "away").await;
    let (conversation, customer, ticket) = escalated_ticket(&app).await;
    let sam = user_id(&app, SUPERVISOR).await;
    let (status, body) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/assign"),
        &supervisor,
        json!({ "assignee_id": sam }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &app,
        &format!("/api/v1/conversations/{conversation}/hand-back"),
        &supervisor,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    wait_until("the hand-back is said in the conversation", || async {
        app.transcript(conversation, &customer)
            .await
            .iter()
            .any(|m| {
                m["sender"] == "system"
                    && m["text"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("You are back with the virtual assistant"))
            })
    })
    .await;

    // A second conversation, closed by staff: its ticket says so before anyone writes a reply.
    let (closed, _, closed_ticket) = escalated_ticket(&app).await;
    let (status, body) = post(
        &app,
        &format!("/api/v1/conversations/{closed}/close"),
        &supervisor,
        json!({}),
    )
    .await;
    assert!(status == 200 || status == 202, "{status} {body}");
    wait_until("the conversation is closed", || async {
        app.count(
            "SELECT count(*) FROM conversations WHERE id = $1 AND status = 'closed'",
            &[&closed],
        )
        .await
            == 1
    })
    .await;
    let (_, detail) = get(
        &app,
        &format!("/api/v1/tickets/{closed_ticket}"),
        &supervisor,
    )
    .await;
    assert_eq!(detail["conversation_status"], "closed", "{detail}");
    app.stop().await;
}
