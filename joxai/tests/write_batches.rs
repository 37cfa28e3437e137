//! The ticket worker's write batches (group commit, `workers/src/ticket/batch.rs`): messages handled
//! at the same time share commits, each is stored exactly once, answers still follow their
//! questions, and one statement that Postgres refuses does not take its batch neighbours down.

mod support;

use bytes::Bytes;
use futures::future::join_all;
use joxai_platform::Platform;
use joxai_schemas::commands::{PostCustomerMessage, StartConversation, StoreBotReply};
use joxai_schemas::types::CustomerRef;
use joxai_schemas::{Envelope, Message};
use joxai_workers::runtime::{Delivery, Failure, Handler};
use joxai_workers::ticket::TicketWorker;
use support::test_config;
use uuid::Uuid;

async fn platform() -> Platform {
    let platform = Platform::connect(test_config(|f| f).await)
        .await
        .expect("platform");
    platform.db.migrate().await.expect("migrate");
    platform
}

fn delivery<T: Message>(platform: &Platform, envelope: &Envelope<T>) -> Delivery {
    Delivery {
        subject: platform.bus.subjects().command::<T>(),
        payload: Bytes::from(envelope.to_json()),
        attempt: 1,
        stream_sequence: 1,
    }
}

fn customer_message(conversation_id: Uuid, n: usize, text: &str) -> Envelope<PostCustomerMessage> {
    let client_message_id = format!("m{n}");
    let message_id = Uuid::new_v5(&conversation_id, client_message_id.as_bytes());
    Envelope::with_id(
        message_id,
        message_id,
        None,
        PostCustomerMessage {
            conversation_id,
            message_id,
            client_message_id,
            text: text.into(),
            customer: CustomerRef::default(),
            card_data_masked: false,
            after_message_id: None,
        },
    )
}

async fn start(platform: &Platform, worker: &TicketWorker, conversations: usize) -> Vec<Uuid> {
    let ids: Vec<Uuid> = (0..conversations).map(|_| Uuid::now_v7()).collect();
    for &conversation_id in &ids {
        let start = Envelope::new(StartConversation {
            conversation_id,
            customer: CustomerRef::default(),
            locale: "en".into(),
            channel: "widget".into(),
            follows_conversation_id: None,
        });
        worker
            .handle(&delivery(platform, &start))
            .await
            .expect("start");
    }
    ids
}

fn batch_metrics() -> (f64, u64) {
    let m = joxai_platform::metrics::metrics();
    (
        m.db_batch_size.get_sample_sum(),
        m.db_batch_size.get_sample_count(),
    )
}

#[tokio::test]
async fn messages_handled_at_once_share_commits_and_each_is_stored_once() {
    let platform = platform().await;
    let worker = TicketWorker::new(platform.clone());
    let conversations = start(&platform, &worker, 40).await;
    let (sum_before, count_before) = batch_metrics();

    // 200 customer messages at once (5 per conversation), plus a second delivery of 40 of them.
    let commands: Vec<_> = (0..200)
        .map(|n| customer_message(conversations[n % 40], n, &format!("question {n}")))
        .collect();
    let deliveries: Vec<_> = commands
        .iter()
        .chain(commands.iter().take(40))
        .map(|c| delivery(&platform, c))
        .collect();
    let outcomes = join_all(deliveries.iter().map(|d| worker.handle(d))).await;
    assert!(
        outcomes.iter().all(Result::is_ok),
        "every delivery is handled"
    );

    let (sum_after, count_after) = batch_metrics();
    let statements = sum_after - sum_before;
    let batches = (count_after - count_before) as f64;
    assert!(
        statements >= 200.0,
        "every new message went through the batcher ({statements} statements)"
    );
    assert!(
        batches < statements,
        "messages handled at the same moment shared commits ({statements} statements in {batches} batches)"
    );

    let client = platform.db.client().await.expect("client");
    let stored: i64 = client
        .query_one("SELECT count(*) FROM messages", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(
        stored, 200,
        "each message stored once, redeliveries included"
    );
    // Each conversation's messages got 5 touches' worth of state: still open, last message set.
    let untouched: i64 = client
        .query_one(
            "SELECT count(*) FROM conversations WHERE last_message_at IS NULL OR status <> 'open'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(untouched, 0);

    // Answers to all 200 at once: each stored once, each after its own question.
    let replies: Vec<_> = commands
        .iter()
        .map(|question| {
            let p = &question.payload;
            let message_id = joxai_schemas::derive_id(p.message_id, "bot-reply");
            Envelope::with_id(
                message_id,
                question.correlation_id,
                None,
                StoreBotReply {
                    conversation_id: p.conversation_id,
                    message_id,
                    in_reply_to: p.message_id,
                    text: format!("answer to {}", p.text),
                    intent: Some("balance".into()),
                    confidence: Some(0.9),
                    handoff: None,
                    question_at: time::OffsetDateTime::now_utc(),
                },
            )
        })
        .collect();
    let deliveries: Vec<_> = replies.iter().map(|r| delivery(&platform, r)).collect();
    let outcomes = join_all(deliveries.iter().map(|d| worker.handle(d))).await;
    assert!(
        outcomes.iter().all(Result::is_ok),
        "every answer is handled"
    );
    let rows = client
        .query(
            "SELECT q.text, b.text, b.created_at > q.created_at FROM messages b JOIN messages q ON q.id = b.in_reply_to
              WHERE b.sender = 'bot'",
            &[],
        )
        .await
        .expect("answers");
    assert_eq!(rows.len(), 200, "one answer per question");
    for row in rows {
        let (question, answer, after): (String, String, bool) =
            (row.get(0), row.get(1), row.get(2));
        assert_eq!(answer, format!("answer to {question}"));
        assert!(after, "an answer is stored after its question");
    }
}

#[tokio::test]
async fn a_statement_postgres_refuses_does_not_fail_the_messages_batched_with_it() {
    let platform = platform().await;
    let worker = TicketWorker::new(platform.clone());
    let conversations = start(&platform, &worker, 20).await;
    let fallbacks_before = joxai_platform::metrics::metrics().db_batch_fallbacks.get();

    // Postgres text cannot hold a NUL character (the ingress refuses it; here it stands for any
    // statement Postgres rejects). It goes in the middle of 100 good messages handled at once.
    let mut commands: Vec<_> = (0..100)
        .map(|n| customer_message(conversations[n % 20], n, &format!("hello {n}")))
        .collect();
    commands.insert(
        50,
        customer_message(conversations[3], 1000, "bad \u{0} text"),
    );
    let deliveries: Vec<_> = commands.iter().map(|c| delivery(&platform, c)).collect();
    let outcomes = join_all(deliveries.iter().map(|d| worker.handle(d))).await;

    for (n, outcome) in outcomes.iter().enumerate() {
        if n == 50 {
            assert!(
                matches!(outcome, Err(Failure::Permanent(_))),
                "the refused statement fails for good: {outcome:?}"
            );
        } else {
            assert!(
                outcome.is_ok(),
                "message {n} is stored despite its neighbour: {outcome:?}"
            );
        }
    }
    let client = platform.db.client().await.expect("client");
    let stored: i64 = client
        .query_one("SELECT count(*) FROM messages", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(stored, 100);
    let fallbacks = joxai_platform::metrics::metrics().db_batch_fallbacks.get() - fallbacks_before;
    // With 101 messages arriving at once the refused one shares a batch (only the first statements
    // of each lane run alone); that batch was rolled back and its statements run one by one.
    assert!(
        fallbacks >= 1,
        "the refused statement's batch was run again statement by statement"
    );
}
