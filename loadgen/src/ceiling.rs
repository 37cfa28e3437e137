//! Ceiling mode: what Postgres and NATS alone do, on this machine and in this run, for the writes and
//! publishes one chat turn causes, with no product code in between.
//!
//! Per turn, as the pipeline does it (`workers/src/ticket/`, `escalation/`, `responder/`):
//! 1. publish the `chat.message.post` command (JetStream, `Nats-Msg-Id`, wait for the ack);
//! 2. one transaction: INSERT the customer message, UPDATE the conversation, COMMIT;
//! 3. publish `message.created`; 4. publish `message.classified`; 5. publish the bot-reply command;
//! 6. one transaction: SELECT the conversation FOR UPDATE (with its customer), INSERT the bot reply,
//!    UPDATE the conversation, COMMIT;
//! 7. publish the bot's `message.created`.
//!
//! The same tables, indexes and payloads (real envelopes from `joxai-schemas`), in a throw-away
//! database and stream prefix. Statements are prepared once per connection, and the reads the
//! pipeline also makes (classifier history, responder checks, knowledge search) are left out: this is
//! an upper bound, so the product's ratio to it is conservative.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use clap::Args;
use hdrhistogram::Histogram;
use joxai_schemas::commands::{PostCustomerMessage, StoreBotReply};
use joxai_schemas::events::{MessageClassified, MessageCreated};
use joxai_schemas::streams::Topology;
use joxai_schemas::subjects::Subjects;
use joxai_schemas::types::{ConversationOwner, CustomerRef, Decision, MessageView, Sender};
use joxai_schemas::{Envelope, Message, derive_id};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_postgres::{Client, NoTls};
use uuid::Uuid;

use crate::report::{Latency, Machine, lock, new_histogram};

/// The product's schema, applied to the throw-away database exactly as `joxai migrate` would.
const MIGRATIONS: &[&str] = &[
    include_str!("../../infra/migrations/0001_init.sql"),
    include_str!("../../infra/migrations/0002_desk.sql"),
    include_str!("../../infra/migrations/0003_bank.sql"),
    include_str!("../../infra/migrations/0004_desk_reads.sql"),
    include_str!("../../infra/migrations/0005_hot_path_indexes.sql"),
];

/// As in `platform/src/rows.rs`: what an INSERT returns so the event can be built from it.
const MESSAGE_COLUMNS: &str = "id, conversation_id, sender, text, client_message_id, in_reply_to, intent, confidence, author_id, created_at";

#[derive(Args)]
pub struct CeilingArgs {
    /// A Postgres URL allowed to CREATE DATABASE (the throw-away database is dropped afterwards).
    #[arg(
        long,
        env = "JOXAI_LOADGEN_ADMIN_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    admin_database_url: String,
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4224")]
    nats_url: String,
    /// Concurrent turn loops to try, each with its own Postgres connection; the best is the ceiling.
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    concurrency: Vec<usize>,
    /// Measured seconds per concurrency (after 1 s of warm-up).
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Conversations the turns are spread over (split evenly between the loops, so two loops never
    /// lock the same row, like distinct customers).
    #[arg(long, default_value_t = 4096)]
    conversations: usize,
    /// Disk each throw-away stream may use (as `JOXAI_NATS_STREAM_MAX_BYTES`).
    #[arg(long, default_value_t = 256 << 20)]
    stream_max_bytes: i64,
}

#[derive(Debug, Clone, Serialize)]
struct Level {
    concurrency: usize,
    turns_per_s: f64,
    turns: u64,
    errors: u64,
    latency: Latency,
    first_error: Option<String>,
}

pub async fn run(args: &CeilingArgs) -> anyhow::Result<Value> {
    crate::require_loopback("--admin-database-url", &args.admin_database_url)?;
    crate::require_loopback("--nats-url", &args.nats_url)?;
    anyhow::ensure!(
        !args.concurrency.is_empty() && args.concurrency.len() <= 8,
        "1 to 8 concurrency levels"
    );
    anyhow::ensure!(
        args.concurrency.iter().all(|c| (1..=512).contains(c)),
        "concurrency must be in 1..=512"
    );
    anyhow::ensure!(
        args.duration > 0.0 && args.duration <= 600.0,
        "--duration must be in (0, 600]"
    );
    let max_conc = *args.concurrency.iter().max().unwrap_or(&1);
    let conversations = args.conversations.max(max_conc).min(1_000_000);
    let machine = Machine::describe();
    println!("machine: {}", machine.line());

    let tag = Uuid::new_v4().simple().to_string()[..12].to_owned();
    let db_name = format!("joxai_ceiling_{tag}");
    let admin = connect(&args.admin_database_url)
        .await
        .context("connecting to Postgres as admin")?;
    admin
        .batch_execute(&format!("CREATE DATABASE {db_name}"))
        .await
        .context("creating the throw-away database")?;
    let db_url = match args.admin_database_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{db_name}"),
        None => anyhow::bail!("--admin-database-url has no database path"),
    };
    let subjects = Subjects::new(format!("ceil{}", &tag[..8]))?;
    let nats = crate::nats_options("joxai-loadgen-ceiling")
        .connect(args.nats_url.as_str())
        .await?;
    let js = jetstream::new(nats);
    let topology = Topology {
        subjects: subjects.clone(),
        replicas: 1,
        max_bytes: args.stream_max_bytes,
    };

    let outcome = async {
        let setup = connect(&db_url).await?;
        for sql in MIGRATIONS {
            setup.batch_execute(sql).await.context("applying the product's migrations")?;
        }
        let conv_ids: Vec<Uuid> = (0..conversations).map(|_| Uuid::now_v7()).collect();
        let customer_ids: Vec<Uuid> = (0..conversations).map(|_| Uuid::now_v7()).collect();
        setup.execute("INSERT INTO customers (id) SELECT unnest($1::uuid[])", &[&customer_ids]).await?;
        setup
            .execute("INSERT INTO conversations (id, customer_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])", &[&conv_ids, &customer_ids])
            .await?;
        // The same stream settings as `Bus::ensure_streams`.
        for spec in topology.streams() {
            js.create_stream(stream::Config {
                name: spec.name.clone(),
                subjects: spec.subjects.clone(),
                max_age: spec.max_age,
                max_bytes: spec.max_bytes,
                max_messages: spec.max_msgs,
                max_message_size: spec.max_msg_size,
                duplicate_window: spec.duplicate_window,
                num_replicas: spec.replicas,
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                discard: stream::DiscardPolicy::Old,
                allow_direct: true,
                ..Default::default()
            })
            .await
            .with_context(|| format!("creating stream {}", spec.name))?;
        }
        let conv_ids = Arc::new(conv_ids);
        let mut levels = vec![];
        for &c in &args.concurrency {
            let level = measure(&db_url, &js, &subjects, conv_ids.clone(), c, args.duration).await?;
            println!(
                "  concurrency {:>3}: {:>7.0} turns/s  ({} turns, {} errors)  turn {}",
                level.concurrency, level.turns_per_s, level.turns, level.errors, level.latency.line()
            );
            if let Some(e) = &level.first_error {
                println!("    first error: {e}");
            }
            levels.push(level);
        }
        anyhow::Ok(levels)
    }
    .await;

    // Clean up whatever happened.
    for spec in topology.streams() {
        let _ = js.delete_stream(&spec.name).await;
    }
    if let Err(e) = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
        .await
    {
        eprintln!("could not drop {db_name}: {e}");
    }
    let levels = outcome?;
    let best = levels
        .iter()
        .max_by(|a, b| a.turns_per_s.total_cmp(&b.turns_per_s))
        .cloned();
    if let Some(b) = &best {
        println!(
            "ceiling: {:.0} turns/s (concurrency {})",
            b.turns_per_s, b.concurrency
        );
    }
    Ok(json!({
        "mode": "ceiling",
        "machine": machine,
        "work_per_turn": "5 JetStream publishes (acked, Nats-Msg-Id) + 2 transactions (INSERT message + UPDATE conversation; SELECT ... FOR UPDATE + INSERT message + UPDATE conversation)",
        "levels": levels,
        "ceiling_turns_per_s": best.as_ref().map(|b| b.turns_per_s),
        "best": best,
    }))
}

async fn connect(url: &str) -> anyhow::Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn measure(
    db_url: &str,
    js: &jetstream::Context,
    subjects: &Subjects,
    conversations: Arc<Vec<Uuid>>,
    concurrency: usize,
    duration: f64,
) -> anyhow::Result<Level> {
    let start = Instant::now();
    let window_start = start + Duration::from_secs(1);
    let window_end = window_start + Duration::from_secs_f64(duration);
    let hist = Arc::new(std::sync::Mutex::new(new_histogram()));
    let turns = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let mut loops = JoinSet::new();
    let share = conversations.len() / concurrency;
    for worker in 0..concurrency {
        let client = connect(db_url).await?;
        let mine: Vec<Uuid> = conversations[worker * share..(worker + 1) * share].to_vec();
        let (js, subjects) = (js.clone(), subjects.clone());
        let (hist, turns, errors, first_error) = (
            hist.clone(),
            turns.clone(),
            errors.clone(),
            first_error.clone(),
        );
        loops.spawn(async move {
            let statements = match Statements::prepare(&client).await {
                Ok(s) => s,
                Err(e) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    lock(&first_error).get_or_insert(format!("{e:#}"));
                    return;
                }
            };
            let mut local: Histogram<u64> = new_histogram();
            let mut n = 0usize;
            // Bounded by time, and by count as a backstop.
            while Instant::now() < window_end && n < 10_000_000 {
                let conversation_id = mine[n % mine.len()];
                n += 1;
                let began = Instant::now();
                let result = tokio::time::timeout(
                    Duration::from_secs(10),
                    turn(&client, &statements, &js, &subjects, conversation_id),
                )
                .await;
                let done = Instant::now();
                let in_window = began >= window_start && done <= window_end;
                match result {
                    Ok(Ok(())) if in_window => {
                        turns.fetch_add(1, Ordering::Relaxed);
                        local.saturating_record(done.duration_since(began).as_micros() as u64);
                    }
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        // A failed turn may have left its transaction open.
                        let _ = client.batch_execute("ROLLBACK").await;
                        errors.fetch_add(1, Ordering::Relaxed);
                        lock(&first_error).get_or_insert(format!("{e:#}"));
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        lock(&first_error).get_or_insert("a turn took over 10 s".into());
                    }
                }
            }
            let _ = lock(&hist).add(&local);
        });
    }
    while loops.join_next().await.is_some() {}
    let turns = turns.load(Ordering::Relaxed);
    let latency = Latency::of(&lock(&hist));
    let first_error = lock(&first_error).clone();
    Ok(Level {
        concurrency,
        turns_per_s: turns as f64 / duration,
        turns,
        errors: errors.load(Ordering::Relaxed),
        latency,
        first_error,
    })
}

struct Statements {
    insert: tokio_postgres::Statement,
    touch: tokio_postgres::Statement,
    lock: tokio_postgres::Statement,
}

impl Statements {
    async fn prepare(client: &Client) -> anyhow::Result<Statements> {
        Ok(Statements {
            insert: client
                .prepare(&format!(
                    "INSERT INTO messages (id, conversation_id, sender, author_id, text, client_message_id, in_reply_to, intent, confidence)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT DO NOTHING
                     RETURNING {MESSAGE_COLUMNS}"
                ))
                .await?,
            touch: client
                .prepare("UPDATE conversations SET last_message_at = now(), updated_at = now(), status = 'open' WHERE id = $1")
                .await?,
            lock: client
                .prepare(
                    "SELECT c.owner, c.locale, cu.external_ref, cu.display_name, cu.verified
                     FROM conversations c JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1 FOR UPDATE OF c",
                )
                .await?,
        })
    }
}

async fn publish<T: Message>(
    js: &jetstream::Context,
    subject: String,
    envelope: &Envelope<T>,
) -> anyhow::Result<()> {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", envelope.id.to_string().as_str());
    js.publish_with_headers(subject, headers, Bytes::from(envelope.to_json()))
        .await?
        .await?;
    Ok(())
}

fn view(
    conversation_id: Uuid,
    id: Uuid,
    sender: Sender,
    text: &str,
    in_reply_to: Option<Uuid>,
) -> MessageView {
    MessageView {
        id,
        conversation_id,
        sender,
        text: text.to_owned(),
        client_message_id: None,
        in_reply_to,
        intent: None,
        confidence: None,
        author_id: None,
        created_at: time::OffsetDateTime::now_utc(),
    }
}

/// One chat turn's writes and publishes.
async fn turn(
    client: &Client,
    st: &Statements,
    js: &jetstream::Context,
    subjects: &Subjects,
    conversation_id: Uuid,
) -> anyhow::Result<()> {
    let client_message_id = Uuid::new_v4().simple().to_string();
    let message_id = Uuid::new_v5(&conversation_id, client_message_id.as_bytes());
    let text = crate::questions::question(0, u64::from(message_id.as_bytes()[0]));
    let customer = CustomerRef::default();

    let command = PostCustomerMessage {
        conversation_id,
        message_id,
        client_message_id: client_message_id.clone(),
        text: text.to_owned(),
        customer: customer.clone(),
        card_data_masked: false,
        after_message_id: None,
    };
    let command = Envelope::with_id(message_id, message_id, None, command);
    publish(js, subjects.command::<PostCustomerMessage>(), &command).await?;

    client.batch_execute("BEGIN").await?;
    let sender = Sender::Customer.as_str();
    let none_uuid: Option<Uuid> = None;
    let none_text: Option<&str> = None;
    let none_f32: Option<f32> = None;
    client
        .query_opt(
            &st.insert,
            &[
                &message_id,
                &conversation_id,
                &sender,
                &none_uuid,
                &text,
                &Some(client_message_id.as_str()),
                &none_uuid,
                &none_text,
                &none_f32,
            ],
        )
        .await?;
    client.execute(&st.touch, &[&conversation_id]).await?;
    client.batch_execute("COMMIT").await?;

    let created = MessageCreated {
        message: view(conversation_id, message_id, Sender::Customer, text, None),
        owner: ConversationOwner::Bot,
        customer: customer.clone(),
        locale: "en".into(),
        history: None,
    };
    let created = Envelope::derived(&command, created);
    publish(
        js,
        subjects.event::<MessageCreated>(conversation_id),
        &created,
    )
    .await?;

    let classified = MessageClassified {
        conversation_id,
        message_id,
        text: text.to_owned(),
        intent: "account_balance".into(),
        confidence: 0.9,
        language: "en".into(),
        decision: Decision::Bot,
        priority: None,
        reason: None,
        customer: customer.clone(),
        question_at: time::OffsetDateTime::now_utc(),
    };
    let classified = Envelope::derived(&created, classified);
    publish(
        js,
        subjects.event::<MessageClassified>(conversation_id),
        &classified,
    )
    .await?;

    let reply_id = derive_id(message_id, "bot-reply");
    let reply_text = "You can see your balance in the app under Accounts; sign in to get it here.";
    let reply = StoreBotReply {
        conversation_id,
        message_id: reply_id,
        in_reply_to: message_id,
        text: reply_text.into(),
        intent: Some("account_balance".into()),
        confidence: Some(0.9),
        question_at: time::OffsetDateTime::now_utc(),
        handoff: None,
    };
    let reply = Envelope::with_id(
        reply_id,
        classified.correlation_id,
        Some(classified.id),
        reply,
    );
    publish(js, subjects.command::<StoreBotReply>(), &reply).await?;

    client.batch_execute("BEGIN").await?;
    client.query_opt(&st.lock, &[&conversation_id]).await?;
    let bot = Sender::Bot.as_str();
    let intent = Some("account_balance");
    let confidence = Some(0.9f32);
    client
        .query_opt(
            &st.insert,
            &[
                &reply_id,
                &conversation_id,
                &bot,
                &none_uuid,
                &reply_text,
                &none_text,
                &Some(message_id),
                &intent,
                &confidence,
            ],
        )
        .await?;
    client.execute(&st.touch, &[&conversation_id]).await?;
    client.batch_execute("COMMIT").await?;

    let stored = MessageCreated {
        message: view(
            conversation_id,
            reply_id,
            Sender::Bot,
            reply_text,
            Some(message_id),
        ),
        owner: ConversationOwner::Bot,
        customer,
        locale: "en".into(),
        history: None,
    };
    publish(
        js,
        subjects.bot_message_created(conversation_id),
        &Envelope::derived(&reply, stored),
    )
    .await?;
    Ok(())
}
