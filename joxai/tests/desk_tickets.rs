//! The agent desk: automatic assignment, the ticket state machine, internal notes, scope (no IDOR),
//! lists, CSAT, typing and dead letters.

mod desk_helpers;
mod support;

use std::time::Duration;

use desk_helpers::*;
use serde_json::json;
use support::{event_type, spawn_app, wait_until};
use uuid::Uuid;

#[tokio::test]
async fn a_new_escalation_goes_to_the_least_loaded_online_agent_and_the_customer_learns_their_name()
{
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let alex = user_id(&app, AGENT).await;
    let (blake, _) = create_staff(&app, &admin, "blake@joxai.local", "Blake Agent", "agent").await;
    let blake_token = app.login("blake@joxai.local").await;
    set_availability(&app, &blake_token, "online").await;

    // Alex (seeded online) and Blake are both free: the first two tickets go one to each.
    let (conversation, customer, first) = escalated_ticket(&app).await;
    let mut customer_ws = app.ws(&customer).await;
    wait_until("the first ticket is assigned", || async {
        app.count(
            "SELECT count(*) FROM tickets WHERE id = $1 AND assignee_id IS NOT NULL",
            &[&first],
        )
        .await
            == 1
    })
    .await;
    let (_, _, second) = escalated_ticket(&app).await;
    wait_until("the second ticket is assigned", || async {
        app.count(
            "SELECT count(*) FROM tickets WHERE id = $1 AND assignee_id IS NOT NULL",
            &[&second],
        )
        .await
            == 1
    })
    .await;
    let owners: Vec<Uuid> = app
        .query(
            "SELECT assignee_id FROM tickets WHERE id = ANY($1) ORDER BY created_at",
            &[&vec![first, second]],
        )
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        owners.contains(&alex) && owners.contains(&blake),
        "least loaded first: {owners:?}"
    );

    // The customer can be told who joined (resume replays what the socket missed before it opened).
    customer_ws
        .send(json!({ "type": "resume", "after": 0 }))
        .await;
    let assigned = customer_ws
        .wait_event("conversation.assigned", |f| {
            event_type(f) == "conversation.assigned"
        })
        .await;
    assert_eq!(
        assigned["event"]["payload"]["conversation_id"],
        conversation.to_string()
    );
    let name = assigned["event"]["payload"]["agent_name"]
        .as_str()
        .expect("name");
    assert!(name == "Alex Agent" || name == "Blake Agent");
    assert!(
        customer_ws.count(|f| event_type(f).starts_with("ticket.")) == 0,
        "ticket events are staff-only"
    );
    app.stop().await;
}

#[tokio::test]
async fn with_nobody_available_a_ticket_waits_and_is_assigned_when_an_agent_comes_online() {
    let app = spawn_app().await;
    let agent = app.login(AGENT).await;
    set_availability(&app, &agent, "away").await;
    let (conversation, customer, ticket) = escalated_ticket(&app).await;
    tokio::time::timeout(Duration::from_millis(300), std::future::pending::<()>())
        .await
        .ok();
    assert_eq!(
        app.count(
            "SELECT count(*) FROM tickets WHERE assignee_id IS NOT NULL",
            &[]
        )
        .await,
        0,
        "it waits"
    );
    let transcript = app.transcript(conversation, &customer).await;
    assert!(
        transcript.iter().any(|m| m["sender"] == "system"),
        "the customer is told a person will join"
    );

    set_availability(&app, &agent, "online").await;
    let (status, detail) = get(&app, &format!("/api/v1/tickets/{ticket}"), &agent).await;
    assert_eq!(status, 200);
    assert_eq!(
        detail["assignee_name"], "Alex Agent",
        "assigned as soon as someone is available"
    );
    let (_, history) = get(&app, &format!("/api/v1/tickets/{ticket}/history"), &agent).await;
    let kinds: Vec<&str> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["created", "assigned"]);
    app.stop().await;
}

#[tokio::test]
async fn status_changes_follow_the_state_machine_and_a_stale_update_is_a_conflict() {
    let app = spawn_app().await;
    let supervisor = app.login(SUPERVISOR).await;
    let (_, _, ticket) = escalated_ticket(&app).await;
    let path = format!("/api/v1/tickets/{ticket}");
    let (_, before) = get(&app, &path, &supervisor).await;
    let seen = before["updated_at"].clone();

    // The ticket went to the seeded online agent, who moves it on.
    let agent = app.login(AGENT).await;
    let (status, body) = post(
        &app,
        &format!("{path}/status"),
        &agent,
        json!({ "status": "in_progress", "expected_updated_at": seen }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "in_progress");
    let (status, body) = post(
        &app,
        &format!("{path}/status"),
        &supervisor,
        json!({ "status": "resolved", "expected_updated_at": seen }),
    )
    .await;
    assert_eq!(
        status, 409,
        "a change based on a read from before someone else's change is refused: {body}"
    );
    assert_eq!(body["code"], "conflict");
    for (to, expected) in [
        ("resolved", 200),
        ("open", 409),
        ("closed", 200),
        ("resolved", 409),
        ("in_progress", 200),
    ] {
        let (status, body) = post(
            &app,
            &format!("{path}/status"),
            &supervisor,
            json!({ "status": to }),
        )
        .await;
        assert_eq!(status, expected, "-> {to}: {body}");
    }
    let (status, body) = post(
        &app,
        &format!("{path}/status"),
        &supervisor,
        json!({ "status": "archived" }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = call(&app, "PATCH", &path, Some(&supervisor), Some(json!({ "subject": "Card blocked abroad", "tags": ["card", "travel"], "priority": "high", "category": "cards" }))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["priority"], "high");
    assert_eq!(body["tags"], json!(["card", "travel"]));
    assert!(body["sla"]["first_response_due_at"].is_string() && body["sla"]["breached"] == false);
    let (status, _) = call(
        &app,
        "PATCH",
        &path,
        Some(&supervisor),
        Some(json!({ "subject": "" })),
    )
    .await;
    assert_eq!(status, 422);
    let (_, history) = get(&app, &format!("{path}/history"), &supervisor).await;
    let changes = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["kind"] == "status_changed")
        .count();
    assert_eq!(
        changes, 4,
        "every accepted change is in the history, refused ones are not"
    );
    assert_eq!(
        get(
            &app,
            &format!("/api/v1/tickets/{}", Uuid::now_v7()),
            &supervisor
        )
        .await
        .0,
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn internal_notes_never_reach_the_customer_transcript_or_socket() {
    let app = spawn_app().await;
    let agent = app.login(AGENT).await;
    let (conversation, customer, ticket) = escalated_ticket(&app).await;
    let mut customer_ws = app.ws(&customer).await;
    let mut agent_ws = app.ws(&agent).await;
    wait_until("the ticket is the agent's", || async {
        app.count(
            "SELECT count(*) FROM tickets WHERE id = $1 AND assignee_id IS NOT NULL",
            &[&ticket],
        )
        .await
            == 1
    })
    .await;
    let (status, note) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/notes"),
        &agent,
        json!({ "text": "customer sounds like fraud victim, card 4111 1111 1111 1111" }),
    )
    .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(note["author_name"], "Alex Agent");
    assert!(
        !note["text"]
            .as_str()
            .expect("text")
            .contains("4111 1111 1111 1111"),
        "notes are masked too"
    );
    agent_ws
        .wait_event("the note for staff", |f| {
            event_type(f) == "ticket.note_added"
        })
        .await;
    app.post_message(conversation, &customer, "c1", "are you there?")
        .await;
    customer_ws
        .wait_event("the customer's own message", |f| {
            event_type(f) == "message.created"
        })
        .await;
    customer_ws.drain_for(Duration::from_millis(300)).await;
    assert_eq!(
        customer_ws.count(|f| f.to_string().contains("fraud victim")),
        0,
        "no note on the customer socket"
    );
    let transcript = app.transcript(conversation, &customer).await;
    assert!(
        transcript
            .iter()
            .all(|m| !m["text"].as_str().unwrap_or("").contains("fraud")),
        "no note in the transcript"
    );
    let (_, notes) = get(&app, &format!("/api/v1/tickets/{ticket}/notes"), &agent).await;
    assert_eq!(notes["items"].as_array().expect("items").len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn an_agent_can_neither_read_nor_change_another_agents_ticket() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let supervisor = app.login(SUPERVISOR).await;
    let alex = app.login(AGENT).await;
    let (blake_id, blake) =
        create_staff(&app, &admin, "blake@joxai.local", "Blake Agent", "agent").await;
    let (conversation, _, ticket) = escalated_ticket(&app).await;
    let (status, body) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/assign"),
        &supervisor,
        json!({ "assignee_id": blake_id }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["assignee_name"], "Blake Agent");
    let events_before = app.count("SELECT count(*) FROM ticket_events", &[]).await;

    let t = format!("/api/v1/tickets/{ticket}");
    for (method, path, body) in [
        ("GET", t.clone(), None),
        ("GET", format!("{t}/notes"), None),
        ("GET", format!("{t}/history"), None),
        ("PATCH", t.clone(), Some(json!({ "subject": "mine now" }))),
        (
            "POST",
            format!("{t}/status"),
            Some(json!({ "status": "closed" })),
        ),
        (
            "POST",
            format!("{t}/assign"),
            Some(json!({ "assignee_id": null })),
        ),
        (
            "POST",
            format!("{t}/notes"),
            Some(json!({ "text": "sneaky" })),
        ),
        (
            "POST",
            format!("{t}/messages"),
            Some(json!({ "text": "sneaky reply" })),
        ),
        ("POST", format!("{t}/typing"), Some(json!({}))),
        ("GET", format!("/api/v1/conversations/{conversation}"), None),
        (
            "POST",
            format!("/api/v1/conversations/{conversation}/close"),
            Some(json!({})),
        ),
        (
            "POST",
            format!("/api/v1/conversations/{conversation}/hand-back"),
            Some(json!({})),
        ),
    ] {
        let (status, answer) = call(&app, method, &path, Some(&alex), body).await;
        assert_eq!(
            status, 404,
            "{method} {path} looks like it does not exist: {answer}"
        );
    }
    let (_, list) = get(&app, "/api/v1/tickets", &alex).await;
    assert!(
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|x| x["id"] != ticket.to_string()),
        "not in Alex's list"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM ticket_events", &[]).await,
        events_before,
        "nothing changed"
    );
    let (status, _) = get(&app, &t, &blake).await;
    assert_eq!(status, 200, "the owner sees it");
    app.stop().await;
}

#[tokio::test]
async fn an_agent_takes_a_queue_ticket_and_can_release_it() {
    let app = spawn_app().await;
    let agent = app.login(AGENT).await;
    let alex = user_id(&app, AGENT).await;
    set_availability(&app, &agent, "offline").await;
    let (_, _, ticket) = escalated_ticket(&app).await;
    let path = format!("/api/v1/tickets/{ticket}");
    let (status, _) = post(
        &app,
        &format!("{path}/notes"),
        &agent,
        json!({ "text": "before taking it" }),
    )
    .await;
    assert_eq!(
        status, 403,
        "a queue ticket must be taken before working on it"
    );
    let (status, body) = post(
        &app,
        &format!("{path}/assign"),
        &agent,
        json!({ "assignee_id": alex }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["assignee_id"], alex.to_string());
    let (status, body) = post(
        &app,
        &format!("{path}/assign"),
        &agent,
        json!({ "assignee_id": null }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["assignee_id"].is_null());
    app.stop().await;
}

#[tokio::test]
async fn tickets_can_be_filtered_searched_sorted_and_paged() {
    let app = spawn_app().await;
    let supervisor = app.login(SUPERVISOR).await;
    for (subject, priority) in [
        ("Lost card in Madrid", "urgent"),
        ("Mortgage question", "low"),
        ("Card declined online", "normal"),
    ] {
        let (status, body) = post(
            &app,
            "/api/v1/tickets",
            &supervisor,
            json!({ "subject": subject, "priority": priority, "tags": ["phone"] }),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["reason"], "manual");
    }
    let (_, found) = get(&app, "/api/v1/tickets?q=card&sort=priority", &supervisor).await;
    let subjects: Vec<&str> = found["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["subject"].as_str())
        .collect();
    assert_eq!(subjects, ["Card declined online", "Lost card in Madrid"]);
    let (_, urgent) = get(&app, "/api/v1/tickets?priority=urgent,high", &supervisor).await;
    assert_eq!(urgent["items"].as_array().expect("items").len(), 1);

    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tickets?limit=2&sort=created_at&cursor={c}"),
            None => "/api/v1/tickets?limit=2&sort=created_at".to_owned(),
        };
        let (status, page) = get(&app, &path, &supervisor).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|t| t["subject"].as_str().unwrap_or("").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "Lost card in Madrid",
            "Mortgage question",
            "Card declined online"
        ],
        "every ticket once, in order"
    );
    assert_eq!(
        get(&app, "/api/v1/tickets?sort=colour", &supervisor)
            .await
            .0,
        422
    );
    assert_eq!(
        get(&app, "/api/v1/tickets?status=lost", &supervisor)
            .await
            .0,
        422
    );
    assert_eq!(
        get(&app, "/api/v1/tickets?cursor=nonsense", &supervisor)
            .await
            .0,
        422
    );
    assert_eq!(
        get(&app, "/api/v1/tickets?limit=1000", &supervisor).await.0,
        422
    );
    app.stop().await;
}

#[tokio::test]
async fn a_customer_rates_the_conversation_once_after_it_is_closed() {
    let app = spawn_app().await;
    let supervisor = app.login(SUPERVISOR).await;
    let (conversation, customer, ticket) = escalated_ticket(&app).await;
    let mut customer_ws = app.ws(&customer).await;
    let (status, body) = post(
        &app,
        &format!("/api/v1/conversations/{conversation}/close"),
        &supervisor,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "closed");
    customer_ws
        .wait_event("the close", |f| event_type(f) == "conversation.closed")
        .await;
    assert_eq!(
        app.query("SELECT status FROM tickets WHERE id = $1", &[&ticket])
            .await[0]
            .get::<_, String>(0),
        "closed"
    );

    let rate = |body: serde_json::Value| {
        let app = &app;
        let customer = customer.clone();
        async move {
            post(
                app,
                &format!("/api/v1/chat/conversations/{conversation}/rating"),
                &customer,
                body,
            )
            .await
        }
    };
    assert_eq!(rate(json!({ "rating": 6 })).await.0, 422);
    assert_eq!(rate(json!({ "rating": 0 })).await.0, 422);
    let (status, body) = rate(json!({ "rating": 5, "comment": "Quick and kind" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        rate(json!({ "rating": 1 })).await.0,
        409,
        "one rating per conversation"
    );
    let (_, other_customer) = app.start_session().await;
    let (status, _) = post(
        &app,
        &format!("/api/v1/chat/conversations/{conversation}/rating"),
        &other_customer,
        json!({ "rating": 1 }),
    )
    .await;
    assert_eq!(status, 404);
    let (_, detail) = get(
        &app,
        &format!("/api/v1/conversations/{conversation}"),
        &supervisor,
    )
    .await;
    assert_eq!(detail["rating"], 5);
    assert_eq!(detail["rating_comment"], "Quick and kind");
    app.stop().await;
}

#[tokio::test]
async fn typing_is_pushed_to_the_other_side_and_never_stored() {
    let app = spawn_app().await;
    let agent = app.login(AGENT).await;
    let (conversation, customer, ticket) = escalated_ticket(&app).await;
    wait_until("assigned", || async {
        app.count(
            "SELECT count(*) FROM tickets WHERE id = $1 AND assignee_id IS NOT NULL",
            &[&ticket],
        )
        .await
            == 1
    })
    .await;
    let mut customer_ws = app.ws(&customer).await;
    let mut agent_ws = app.ws(&agent).await;
    let messages_before = app.count("SELECT count(*) FROM messages", &[]).await;
    assert_eq!(
        post(
            &app,
            &format!("/api/v1/tickets/{ticket}/typing"),
            &agent,
            json!({})
        )
        .await
        .0,
        202
    );
    let typing = customer_ws
        .wait_event("agent typing", |f| event_type(f) == "typing")
        .await;
    assert_eq!(typing["event"]["payload"]["sender"], "agent");
    assert_eq!(typing["event"]["payload"]["name"], "Alex Agent");
    assert_eq!(
        post(
            &app,
            &format!("/api/v1/chat/conversations/{conversation}/typing"),
            &customer,
            json!({})
        )
        .await
        .0,
        202
    );
    agent_ws
        .wait_event("customer typing", |f| {
            event_type(f) == "typing" && f["event"]["payload"]["sender"] == "customer"
        })
        .await;
    assert_eq!(
        app.count("SELECT count(*) FROM messages", &[]).await,
        messages_before
    );
    app.stop().await;
}

#[tokio::test]
async fn a_supervisor_takes_over_a_bot_conversation_and_hands_it_back() {
    let app = spawn_app().await;
    let supervisor = app.login(SUPERVISOR).await;
    let (conversation, customer) = app.start_session().await;
    let mut customer_ws = app.ws(&customer).await;
    app.post_message(conversation, &customer, "h1", "hello")
        .await;
    wait_until("the conversation is stored", || async {
        app.count(
            "SELECT count(*) FROM conversations WHERE id = $1",
            &[&conversation],
        )
        .await
            == 1
    })
    .await;
    let (status, body) = post(
        &app,
        &format!("/api/v1/conversations/{conversation}/take-over"),
        &supervisor,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["owner"], "agent");
    let joined = customer_ws
        .wait_event("joined", |f| event_type(f) == "conversation.assigned")
        .await;
    assert_eq!(joined["event"]["payload"]["agent_name"], "Sam Supervisor");
    let (status, body) = post(
        &app,
        &format!("/api/v1/conversations/{conversation}/hand-back"),
        &supervisor,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["owner"], "bot");
    customer_ws
        .wait_event("handed back", |f| {
            event_type(f) == "conversation.handed_back"
        })
        .await;
    let (status, _) = post(
        &app,
        &format!("/api/v1/conversations/{conversation}/hand-back"),
        &supervisor,
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "the bot already has it");
    let (_, list) = get(&app, "/api/v1/conversations?owner=bot", &supervisor).await;
    assert!(
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|c| c["id"] == conversation.to_string())
    );
    app.stop().await;
}

#[tokio::test]
async fn a_dead_letter_is_replayed_under_a_new_message_id_and_applied_once() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let conversation = Uuid::now_v7();
    let envelope = joxai_schemas::Envelope::with_id(
        conversation,
        conversation,
        None,
        joxai_schemas::commands::StartConversation {
            conversation_id: conversation,
            customer: Default::default(),
            locale: "en".into(),
            channel: "widget".into(),
            follows_conversation_id: None,
        },
    );
    let subject = app
        .platform
        .bus
        .subjects()
        .command::<joxai_schemas::commands::StartConversation>();
    let id = Uuid::now_v7();
    let payload = String::from_utf8(envelope.to_json()).expect("utf8");
    let client = app.platform.db.client().await.expect("db");
    client
        .execute(
            "INSERT INTO dead_letters (id, worker, subject, message_id, stream_sequence, payload, error, deliveries)
             VALUES ($1, 'ticket', $2, $3, 1, $4, 'database was down', 6)",
            &[&id, &subject, &conversation.to_string(), &payload],
        )
        .await
        .expect("insert dead letter");

    let (_, list) = get(&app, "/api/v1/dead-letters?status=pending", &admin).await;
    assert_eq!(list["items"][0]["id"], id.to_string());
    assert!(
        list["items"][0].get("payload").is_none(),
        "payloads only in the detail"
    );
    let (_, detail) = get(&app, &format!("/api/v1/dead-letters/{id}"), &admin).await;
    assert_eq!(detail["payload"], payload);
    let (status, replayed) = post(
        &app,
        &format!("/api/v1/dead-letters/{id}/replay"),
        &admin,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["status"], "replayed");
    wait_until("the replayed command is applied", || async {
        app.count(
            "SELECT count(*) FROM conversations WHERE id = $1",
            &[&conversation],
        )
        .await
            == 1
    })
    .await;
    let (status, again) = post(
        &app,
        &format!("/api/v1/dead-letters/{id}/replay"),
        &admin,
        json!({}),
    )
    .await;
    assert_eq!(
        status, 200,
        "a second replay gets a new message id: {again}"
    );
    assert_eq!(again["replays"], 2);
    tokio::time::timeout(Duration::from_millis(300), std::future::pending::<()>())
        .await
        .ok();
    assert_eq!(
        app.count(
            "SELECT count(*) FROM conversations WHERE id = $1",
            &[&conversation]
        )
        .await,
        1,
        "applied once"
    );
    let (status, _) = post(
        &app,
        &format!("/api/v1/dead-letters/{id}/discard"),
        &admin,
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "a replayed letter cannot be discarded");
    assert_eq!(
        post(
            &app,
            &format!("/api/v1/dead-letters/{}/replay", Uuid::now_v7()),
            &admin,
            json!({})
        )
        .await
        .0,
        404
    );
    let supervisor = app.login(SUPERVISOR).await;
    assert_eq!(get(&app, "/api/v1/dead-letters", &supervisor).await.0, 403);
    app.stop().await;
}

#[tokio::test]
async fn the_sla_gauge_counts_open_tickets_past_their_due_times_and_drops_when_they_are_met() {
    let app = spawn_app().await;
    let (_, _, ticket) = escalated_ticket(&app).await;
    let gauge = || {
        joxai_platform::metrics::metrics()
            .tickets_sla_breached
            .get()
    };
    // Due in the future (from the bank's targets): nothing breached.
    wait_until("the gauge reads no breach", || async { gauge() == 0 }).await;
    app.query(
        "UPDATE tickets SET first_response_due_at = now() - interval '1 minute' WHERE id = $1",
        &[&ticket],
    )
    .await;
    wait_until("the gauge counts the overdue first response", || async {
        gauge() == 1
    })
    .await;
    // Answered: the first-response target is met; the resolution target is still ahead.
    app.query(
        "UPDATE tickets SET first_response_at = now(), resolution_due_at = now() + interval '1 hour' WHERE id = $1",
        &[&ticket],
    )
    .await;
    wait_until("the gauge drops back", || async { gauge() == 0 }).await;
    // Resolution overdue counts too, until the ticket is resolved.
    app.query(
        "UPDATE tickets SET resolution_due_at = now() - interval '1 minute' WHERE id = $1",
        &[&ticket],
    )
    .await;
    wait_until("the gauge counts the overdue resolution", || async {
        gauge() == 1
    })
    .await;
    app.query(
        "UPDATE tickets SET status = 'resolved', resolved_at = now() WHERE id = $1",
        &[&ticket],
    )
    .await;
    wait_until("a resolved ticket is not counted", || async {
        gauge() == 0
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn the_conversation_list_says_what_each_customer_last_wrote_masked() {
    let app = spawn_app().await;
    let supervisor = app.login(SUPERVISOR).await;
    let (conversation, token) = app.start_session().await;
    let text = "my card 4111 1111 1111 1111 was charged twice";
    assert_eq!(
        app.post_message(conversation, &token, "p-1", text)
            .await
            .status(),
        202
    );
    wait_until("the message is stored", || async {
        app.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'customer'",
            &[&conversation],
        )
        .await
            == 1
    })
    .await;
    let (status, list) = get(&app, "/api/v1/conversations", &supervisor).await;
    assert_eq!(status, 200, "{list}");
    let row = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["id"] == conversation.to_string())
        .cloned()
        .expect("the conversation is listed");
    let preview = row["last_customer_message"].as_str().expect("a preview");
    assert!(preview.starts_with("my card 411111******1111"), "{preview}");
    app.stop().await;
}
