//! A handler slower than `ack_wait`.
//!
//! Invariant: the broker never redelivers a message whose handler is still running, so slow work is
//! never done twice at once and a slow LLM never produces a second reply.

mod fault_support;
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fault_support::{FakeLlm, connect, ledger};
use joxai_schemas::Envelope;
use joxai_schemas::commands::StartConversation;
use joxai_schemas::streams::WorkerKind;
use joxai_workers::runtime::{self, Delivery, Failure, Handler};
use secrecy::ExposeSecret as _;
use support::{is_message_from, spawn_app_with, test_config, wait_until};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Takes `work` for every message and records each run as (stream sequence, attempt, start, end).
struct SlowHandler {
    work: Duration,
    runs: Arc<Mutex<Vec<(u64, i64, Instant, Instant)>>>,
}

impl Handler for SlowHandler {
    async fn handle(&self, delivery: &Delivery) -> Result<(), Failure> {
        let start = Instant::now();
        tokio::time::sleep(self.work).await;
        self.runs.lock().expect("lock").push((
            delivery.stream_sequence,
            delivery.attempt,
            start,
            Instant::now(),
        ));
        Ok(())
    }
}

/// Messages that wait in the worker for a free slot (concurrency 1) while another is handled, each
/// handled in 70% of `ack_wait`: every message is handled once, never redelivered while its handler
/// runs — the time a message waits inside the process must not count against its `ack_wait`.
#[tokio::test]
async fn messages_queued_behind_a_slow_handler_are_not_redelivered_while_they_wait_or_run() {
    let config = test_config(|f| {
        f.merge(("workers.ticket.concurrency", 1))
            .merge(("workers.ticket.ack_wait_ms", 1_000))
            .merge(("workers.ticket.handler_timeout_ms", 800))
            .merge(("workers.ticket.max_deliver", 5))
    })
    .await;
    let platform = joxai_platform::Platform::connect(config)
        .await
        .expect("platform");
    platform.db.migrate().await.expect("migrate");
    let runs = Arc::new(Mutex::new(vec![]));
    let shutdown = CancellationToken::new();
    let handler = Arc::new(SlowHandler {
        work: Duration::from_millis(700),
        runs: runs.clone(),
    });
    let worker = tokio::spawn(runtime::run(
        platform.clone(),
        WorkerKind::Ticket,
        handler,
        shutdown.clone(),
    ));
    const MESSAGES: usize = 4;
    for _ in 0..MESSAGES {
        let command = Envelope::new(StartConversation {
            conversation_id: Uuid::now_v7(),
            customer: Default::default(),
            locale: "en".into(),
            channel: "widget".into(),
            follows_conversation_id: None,
        });
        platform
            .bus
            .publish(
                platform.bus.subjects().command::<StartConversation>(),
                &command,
            )
            .await
            .expect("publish");
    }
    wait_until("every message was handled", || async {
        let runs = runs.lock().expect("lock");
        runs.iter()
            .map(|r| r.0)
            .collect::<std::collections::HashSet<_>>()
            .len()
            == MESSAGES
    })
    .await;
    // Leave time for any redelivery the broker would make.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    shutdown.cancel();
    worker.await.expect("worker stops");
    let runs = runs.lock().expect("lock").clone();
    let mut per_message: HashMap<u64, Vec<i64>> = HashMap::new();
    for (seq, attempt, _, _) in &runs {
        per_message.entry(*seq).or_default().push(*attempt);
    }
    assert!(
        per_message.values().all(|attempts| attempts == &vec![1]),
        "each message handled once, on its first delivery; got (sequence → attempts) {per_message:?}"
    );
}

/// The LLM takes longer than the AI consumer's `ack_wait` on its first call: the call is cut at the AI
/// deadline (shorter than the handler timeout, itself shorter than `ack_wait`), the turn is retried or
/// answered offline, and the customer gets exactly one reply, pushed once.
#[tokio::test]
async fn an_llm_slower_than_ack_wait_never_produces_a_second_reply() {
    let (url, fake) = FakeLlm {
        delay: Duration::from_secs(4),
        slow_calls: 1,
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
            .merge(("ai_timeout_ms", 1_000))
            .merge(("workers.ai.handler_timeout_ms", 1_500))
            .merge(("workers.ai.ack_wait_ms", 2_000))
    })
    .await;
    let (conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;
    // A general question the offline rules would not settle without the model.
    assert_eq!(
        app.post_message(
            conversation,
            &token,
            "slow-1",
            "can you tell me something nice about saving money"
        )
        .await
        .status(),
        202
    );
    ws.wait_event("a bot reply", |f| is_message_from(f, "bot"))
        .await;
    // Past the slow call's end and another ack_wait: any second reply would have come by now.
    ws.drain_for(Duration::from_secs(5)).await;
    let db = connect(app.platform.config.database_url.expose_secret()).await;
    let l = ledger(&db).await;
    assert_eq!(
        (l.customer_messages, l.unanswered, l.doubled),
        (1, 0, 0),
        "{l:?}"
    );
    assert_eq!(
        ws.count(|f| is_message_from(f, "bot")),
        1,
        "the reply is pushed once"
    );
    assert!(fake.calls() >= 1, "the model was asked");
    app.stop().await;
}
