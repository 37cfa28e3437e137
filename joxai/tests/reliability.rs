//! The worker runtime's promises: retries with backoff, dead letters after `max_deliver`, invalid
//! messages dead-lettered at once, and idempotent handling of a redelivered command.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use joxai_platform::Platform;
use joxai_schemas::Envelope;
use joxai_schemas::commands::{PostCustomerMessage, StartConversation};
use joxai_schemas::streams::WorkerKind;
use joxai_schemas::types::CustomerRef;
use joxai_workers::runtime::{self, Delivery, Failure, Handler};
use support::{test_config, wait_until};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A handler that always fails transiently and remembers when it was called.
struct AlwaysUnavailable {
    calls: Arc<Mutex<Vec<Instant>>>,
}

impl Handler for AlwaysUnavailable {
    async fn handle(&self, _delivery: &Delivery) -> Result<(), Failure> {
        self.calls.lock().expect("lock").push(Instant::now());
        Err(Failure::Transient(anyhow::anyhow!(
            "the core banking system is down"
        )))
    }
}

async fn platform(max_deliver: i64) -> Platform {
    let config = test_config(|f| {
        f.merge(("workers.ticket.max_deliver", max_deliver))
            .merge(("workers.ticket.retry_min_ms", 100))
            .merge(("workers.ticket.retry_max_ms", 400))
    })
    .await;
    let platform = Platform::connect(config).await.expect("platform");
    platform.db.migrate().await.expect("migrate");
    platform
}

async fn dead_letters(platform: &Platform) -> Vec<tokio_postgres::Row> {
    let client = platform.db.client().await.expect("client");
    client
        .query(
            "SELECT worker, error, deliveries, subject FROM dead_letters",
            &[],
        )
        .await
        .expect("query")
}

fn start_command() -> Envelope<StartConversation> {
    Envelope::new(StartConversation {
        conversation_id: Uuid::now_v7(),
        customer: CustomerRef::default(),
        locale: "en".into(),
        channel: "widget".into(),
        follows_conversation_id: None,
    })
}

#[tokio::test]
async fn a_transient_failure_is_retried_with_backoff_then_dead_lettered_after_max_deliver() {
    let platform = platform(3).await;
    let calls = Arc::new(Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(runtime::run(
        platform.clone(),
        WorkerKind::Ticket,
        Arc::new(AlwaysUnavailable {
            calls: calls.clone(),
        }),
        shutdown.clone(),
    ));
    let command = start_command();
    platform
        .bus
        .publish(
            platform.bus.subjects().command::<StartConversation>(),
            &command,
        )
        .await
        .expect("publish");

    wait_until("the message is dead-lettered", || async {
        dead_letters(&platform).await.len() == 1
    })
    .await;
    let calls = calls.lock().expect("lock").clone();
    assert_eq!(calls.len(), 3, "delivered exactly max_deliver times");
    for gap in calls.windows(2).map(|w| w[1] - w[0]) {
        // The configured minimum delay is 100 ms; jitter only adds to it.
        assert!(
            gap >= Duration::from_millis(90),
            "retries wait for the backoff delay, got {gap:?}"
        );
    }
    let row = &dead_letters(&platform).await[0];
    assert_eq!(row.get::<_, &str>(0), "ticket");
    assert!(
        row.get::<_, &str>(1)
            .contains("core banking system is down")
    );
    assert_eq!(row.get::<_, i64>(2), 3);

    // The dead letter is also on the dead-letter stream, for tools that read the bus.
    let stream = platform
        .bus
        .jetstream()
        .get_stream(platform.bus.topology().dead_letter_stream())
        .await
        .expect("dlq stream");
    assert_eq!(stream.cached_info().state.messages, 1);
    shutdown.cancel();
    worker.await.expect("worker stops");
}

#[tokio::test]
async fn an_undecodable_command_is_dead_lettered_at_once() {
    let platform = platform(5).await;
    let shutdown = CancellationToken::new();
    let handler = Arc::new(joxai_workers::ticket::TicketWorker::new(platform.clone()));
    let worker = tokio::spawn(runtime::run(
        platform.clone(),
        WorkerKind::Ticket,
        handler,
        shutdown.clone(),
    ));
    let subject = format!("{}.cmd.chat.message.post", platform.bus.subjects().prefix());
    platform
        .bus
        .publish_raw(
            subject,
            "garbage-1",
            async_nats::HeaderMap::new(),
            Bytes::from_static(b"{not an envelope"),
        )
        .await
        .expect("publish");
    wait_until("the garbage is dead-lettered", || async {
        dead_letters(&platform).await.len() == 1
    })
    .await;
    let row = &dead_letters(&platform).await[0];
    assert_eq!(
        row.get::<_, i64>(2),
        1,
        "no retries for a message that can never succeed"
    );
    assert!(row.get::<_, &str>(1).contains("not a valid envelope"));
    shutdown.cancel();
    worker.await.expect("worker stops");
}

#[tokio::test]
async fn the_same_command_handled_twice_stores_one_message_and_publishes_one_event() {
    let platform = platform(5).await;
    let worker = joxai_workers::ticket::TicketWorker::new(platform.clone());
    let conversation_id = Uuid::now_v7();
    let message_id = Uuid::new_v5(&conversation_id, b"c1");
    let command = Envelope::with_id(
        message_id,
        message_id,
        None,
        PostCustomerMessage {
            conversation_id,
            message_id,
            client_message_id: "c1".into(),
            text: "hello".into(),
            customer: CustomerRef::default(),
            card_data_masked: false,
            after_message_id: None,
        },
    );
    let delivery = Delivery {
        subject: platform.bus.subjects().command::<PostCustomerMessage>(),
        payload: Bytes::from(command.to_json()),
        attempt: 1,
        stream_sequence: 1,
    };
    worker.handle(&delivery).await.expect("first delivery");
    worker
        .handle(&Delivery {
            attempt: 2,
            ..delivery
        })
        .await
        .expect("redelivery");

    let client = platform.db.client().await.expect("client");
    let stored: i64 = client
        .query_one("SELECT count(*) FROM messages", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(stored, 1);
    let events = platform
        .bus
        .jetstream()
        .get_stream(platform.bus.topology().events_stream())
        .await
        .expect("stream");
    assert_eq!(
        events.cached_info().state.messages,
        1,
        "the republished event was de-duplicated"
    );
}
