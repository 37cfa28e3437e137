//! What the customer reads comes in the right order.
//!
//! - Item 8. Invariant: a bot reply that races with a person taking the conversation over is either
//!   stored and pushed before the take-over, or never stored and never pushed.
//! - Item 10. Invariant: with several workers of each kind running, and an AI model whose answers
//!   finish in a shuffled order, the answers in one conversation are pushed in the order of the
//!   questions they answer, each exactly once.
//! - The same when the earlier answer is late by more than one delivery's wait (a responder or a
//!   broker node died while it was in flight): the later answer comes back until it can go second.

mod fault_support;
mod support;

use std::time::Duration;

use fault_support::{FakeLlm, connect, ledger, wait_long};
use joxai_platform::Platform;
use joxai_schemas::streams::WorkerKind;
use secrecy::ExposeSecret as _;
use serde_json::Value;
use support::{TestApp, Ws, event_type, is_message_from, spawn_app_with};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// An app whose AI responder asks a fake model that answers after the given delays (call n waits
/// `delays[n % len]`), so answers to questions asked in one order finish in another.
async fn app_with_model(delays: Vec<Duration>) -> TestApp {
    app_and_model(delays).await.0
}

/// [`app_with_model`], and the fake model (to see which questions it has been asked).
async fn app_and_model(delays: Vec<Duration>) -> (TestApp, FakeLlm) {
    let (url, fake) = FakeLlm {
        delays,
        reply: "Here is your answer.".into(),
        ..Default::default()
    }
    .serve()
    .await;
    let app = spawn_app_with(move |f| {
        f.merge(("llm.provider", "openai"))
            .merge(("llm.base_url", url))
            .merge(("llm.openai_api_key", "k"))
            .merge(("llm.max_attempts", 1))
    })
    .await;
    (app, fake)
}

/// Two more processes' worth of every worker kind, on their own connections, sharing the app's
/// database and subjects: the broker spreads each consumer's messages over all three.
async fn extra_workers(
    app: &TestApp,
    shutdown: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<anyhow::Result<()>>> {
    let mut tasks = vec![];
    for _ in 0..2 {
        let platform = Platform::connect((*app.platform.config).clone())
            .await
            .expect("connect extra worker");
        let kinds = [WorkerKind::Ticket, WorkerKind::Escalation, WorkerKind::Ai];
        let shutdown = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            joxai_workers::run(platform, &kinds, shutdown).await
        }));
    }
    tasks
}

fn in_reply_to(frame: &Value) -> Option<Uuid> {
    frame["event"]["payload"]["message"]["in_reply_to"]
        .as_str()
        .and_then(|s| s.parse().ok())
}

/// Wait until the socket has `answers` bot answers, give anything doubled a moment to arrive, and
/// return the questions they answer in the order they were pushed.
async fn answers_pushed(ws: &mut Ws, answers: usize) -> Vec<Uuid> {
    while ws.count(|f| is_message_from(f, "bot")) < answers {
        let frame = ws.next_frame().await;
        assert!(
            frame.is_some(),
            "socket closed or silent before every answer came; seen: {:#?}",
            ws.seen
        );
    }
    ws.drain_for(Duration::from_millis(500)).await;
    ws.seen
        .iter()
        .filter(|f| is_message_from(f, "bot"))
        .filter_map(in_reply_to)
        .collect()
}

/// How many dead letters the app recorded.
async fn dead_letters(db: &tokio_postgres::Client) -> i64 {
    db.query_one("SELECT count(*) FROM dead_letters", &[])
        .await
        .expect("dead letters")
        .get(0)
}

/// The ids of the conversation's customer messages in the order they were stored.
async fn questions_in_order(db: &tokio_postgres::Client, conversation: Uuid) -> Vec<Uuid> {
    db.query(
        "SELECT id FROM messages WHERE conversation_id = $1 AND sender = 'customer' ORDER BY created_at, id",
        &[&conversation],
    )
    .await
    .expect("questions")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_are_pushed_in_the_order_of_their_questions_with_several_workers_of_each_kind() {
    // Early questions are answered slowest: without ordering, later answers would overtake them.
    let delays = [400, 30, 250, 5, 120, 60, 300, 10]
        .map(Duration::from_millis)
        .to_vec();
    let app = app_with_model(delays).await;
    let shutdown = CancellationToken::new();
    let workers = extra_workers(&app, &shutdown).await;
    const CONVERSATIONS: usize = 4;
    const QUESTIONS: usize = 4;
    let mut chats: Vec<(Uuid, Ws)> = vec![];
    for c in 0..CONVERSATIONS {
        let (conversation, token) = app.start_session().await;
        let ws = app.ws(&token).await;
        // Asked back to back, as a customer typing fast would.
        for q in 0..QUESTIONS {
            let text =
                format!("can you tell me something nice about saving money, part {q} of chat {c}");
            assert_eq!(
                app.post_message(conversation, &token, &format!("order-{c}-{q}"), &text)
                    .await
                    .status(),
                202
            );
        }
        chats.push((conversation, ws));
    }
    let db = connect(app.platform.config.database_url.expose_secret()).await;
    for (conversation, ws) in &mut chats {
        let answered = answers_pushed(ws, QUESTIONS).await;
        let asked = questions_in_order(&db, *conversation).await;
        assert_eq!(
            answered, asked,
            "answers pushed in the order of their questions, once each ({conversation})"
        );
    }
    let l = ledger(&db).await;
    assert_eq!(
        (l.customer_messages, l.unanswered, l.doubled),
        ((CONVERSATIONS * QUESTIONS) as i64, 0, 0),
        "{l:?}"
    );
    shutdown.cancel();
    for task in workers {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bot_reply_racing_a_take_over_is_never_pushed_or_stored_after_it() {
    // Every answer takes 150 ms; the supervisor takes over 0–300 ms after the question, so some
    // take-overs win, some lose and some land in between the reply's commit and its push.
    let app = app_with_model(vec![Duration::from_millis(150)]).await;
    let supervisor = app.login("supervisor@joxai.local").await;
    // One full turn first, so the intent model is loaded and the races time the pipeline only.
    let (warm, warm_token) = app.start_session().await;
    let mut warm_ws = app.ws(&warm_token).await;
    assert_eq!(
        app.post_message(
            warm,
            &warm_token,
            "warm",
            "can you tell me something nice about saving money"
        )
        .await
        .status(),
        202
    );
    warm_ws
        .wait_event("the warm-up answer", |f| is_message_from(f, "bot"))
        .await;
    const ROUNDS: u64 = 12;
    let mut chats = vec![];
    for round in 0..ROUNDS {
        let (conversation, token) = app.start_session().await;
        let ws = app.ws(&token).await;
        chats.push((conversation, token, ws, round));
    }
    let mut races = tokio::task::JoinSet::new();
    for (conversation, token, _, round) in &chats {
        let (conversation, token, supervisor) = (*conversation, token.clone(), supervisor.clone());
        let http = app.http.clone();
        let post = app.url(&format!(
            "/api/v1/chat/conversations/{conversation}/messages"
        ));
        let take = app.url(&format!("/api/v1/conversations/{conversation}/take-over"));
        let wait = Duration::from_millis(round * 40);
        races.spawn(async move {
            let body = serde_json::json!({ "client_message_id": "race", "text": "can you tell me something nice about saving money" });
            let asked = http.post(post).bearer_auth(&token).json(&body).send().await.expect("post").status();
            tokio::time::sleep(wait).await;
            let taken = http.post(take).bearer_auth(&supervisor).json(&serde_json::json!({})).send().await.expect("take").status();
            (asked.as_u16(), taken.as_u16())
        });
    }
    while let Some(result) = races.join_next().await {
        let (asked, taken) = result.expect("race task");
        assert_eq!(asked, 202, "question accepted");
        assert!((200..300).contains(&taken), "take-over accepted: {taken}");
    }
    let db = connect(app.platform.config.database_url.expose_secret()).await;
    // Every question is settled: answered, or its answer dropped because a person owns the chat.
    wait_long(
        "every take-over is stored",
        Duration::from_secs(20),
        || async {
            let owned: i64 = db
                .query_one(
                    "SELECT count(*) FROM conversations WHERE owner = 'agent'",
                    &[],
                )
                .await
                .expect("count")
                .get(0);
            owned == ROUNDS as i64
        },
    )
    .await;
    let mut answered_before = 0;
    for (conversation, _, ws, _) in &mut chats {
        ws.wait_event("the take-over notice", |f| {
            event_type(f) == "conversation.assigned"
        })
        .await;
        // The slowest possible answer is long done by now.
        ws.drain_for(Duration::from_millis(300)).await;
        let taken_at = ws
            .seen
            .iter()
            .position(|f| event_type(f) == "conversation.assigned")
            .expect("assigned pushed");
        let bot_pushes: Vec<usize> = ws
            .seen
            .iter()
            .enumerate()
            .filter(|(_, f)| is_message_from(f, "bot"))
            .map(|(i, _)| i)
            .collect();
        assert!(bot_pushes.len() <= 1, "one answer at most: {:#?}", ws.seen);
        assert!(
            bot_pushes.iter().all(|&i| i < taken_at),
            "no bot message is pushed after the take-over ({conversation}): {:#?}",
            ws.seen
        );
        // And in the record: exactly the answer that was pushed, if any (none stored unseen).
        let stored: i64 = db
            .query_one(
                "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'bot'",
                &[conversation],
            )
            .await
            .expect("bot messages")
            .get(0);
        assert_eq!(
            stored as usize,
            bot_pushes.len(),
            "stored bot answers = pushed ones ({conversation})"
        );
        answered_before += bot_pushes.len();
    }
    // On an idle machine both outcomes happen (about a third answered first); a loaded one shifts
    // the split, which is why it is reported rather than asserted.
    println!("answered before the take-over: {answered_before} of {ROUNDS}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_answer_waits_for_an_earlier_answer_that_is_late_by_more_than_one_delivery_s_wait() {
    // The first question's answer takes 8 s (longer than the 5 s a delivery of the second answer
    // waits in the ticket worker); the second's is quick.
    let (app, fake) = app_and_model(vec![Duration::from_secs(8), Duration::from_millis(10)]).await;
    let (conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;
    let ask = |n: usize| format!("can you tell me something nice about saving money, question {n}");
    assert_eq!(
        app.post_message(conversation, &token, "late-0", &ask(0))
            .await
            .status(),
        202
    );
    // Only once the model has the first question, so it is the slow one.
    wait_long(
        "the model to be asked the first question",
        Duration::from_secs(30),
        || async { !fake.requests.lock().expect("lock").is_empty() },
    )
    .await;
    assert_eq!(
        app.post_message(conversation, &token, "late-1", &ask(1))
            .await
            .status(),
        202
    );
    let answered = answers_pushed(&mut ws, 2).await;
    let db = connect(app.platform.config.database_url.expose_secret()).await;
    assert_eq!(answered, questions_in_order(&db, conversation).await);
    let stored: Vec<Uuid> = db
        .query(
            "SELECT in_reply_to FROM messages WHERE conversation_id = $1 AND sender = 'bot' ORDER BY created_at, id",
            &[&conversation],
        )
        .await
        .expect("answers")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(stored, answered, "stored in the order of the questions too");
    assert_eq!(dead_letters(&db).await, 0, "waiting is never a failure");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_that_arrives_before_the_one_sent_before_it_is_stored_and_answered_after_it() {
    // The customer sent "first" and then "second" (naming "first" as the message before it), but
    // "first" reaches the ticket worker a few seconds late, as when the worker holding it died: here
    // its request is simply made later. Longer than one delivery's wait (5 s), so the broker brings
    // "second" back at least once.
    let app = spawn_app_with(|f| f).await;
    let (conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;
    let post = |client_id: &'static str, after: Option<&'static str>, text: &'static str| {
        let mut body = serde_json::json!({ "client_message_id": client_id, "text": text });
        if let Some(after) = after {
            body["after_client_message_id"] = after.into();
        }
        app.http
            .post(app.url(&format!(
                "/api/v1/chat/conversations/{conversation}/messages"
            )))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let second = post("second", Some("first"), "how do I activate my new card?")
        .await
        .expect("post second");
    assert_eq!(second.status(), 202);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let db = connect(app.platform.config.database_url.expose_secret()).await;
    let stored_early: i64 = db
        .query_one(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'customer'",
            &[&conversation],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(stored_early, 0, "the second message waits for the first");
    let first = post(
        "first",
        None,
        "what are the fees for international transfers?",
    )
    .await
    .expect("post first");
    assert_eq!(first.status(), 202);
    let answered = answers_pushed(&mut ws, 2).await;
    let asked: Vec<String> = db
        .query(
            "SELECT client_message_id FROM messages WHERE conversation_id = $1 AND sender = 'customer' ORDER BY created_at, id",
            &[&conversation],
        )
        .await
        .expect("questions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        asked,
        ["first", "second"],
        "stored in the order they were sent"
    );
    assert_eq!(answered, questions_in_order(&db, conversation).await);
    assert_eq!(dead_letters(&db).await, 0, "waiting is never a failure");
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_previous_message_id_is_refused_with_the_field_named() {
    let app = spawn_app_with(|f| f).await;
    let (conversation, token) = app.start_session().await;
    let response = app
        .http
        .post(app.url(&format!(
            "/api/v1/chat/conversations/{conversation}/messages"
        )))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "client_message_id": "x", "text": "hello", "after_client_message_id": "bad id!" }))
        .send()
        .await
        .expect("post");
    assert_eq!(
        response.status(),
        422,
        "a malformed previous id is refused, with the field named"
    );
    let body: Value = response.json().await.expect("error body");
    assert!(
        body.to_string().contains("after_client_message_id"),
        "{body}"
    );
    app.stop().await;
}
