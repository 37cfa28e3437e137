//! WebSocket mode: hold many idle customer sockets open, measure the server's resident memory, and
//! time events from their publication on NATS to their arrival on the subscribed customer's socket.
//!
//! Events are published straight to the events stream (`{prefix}.evt.conv.{id}.{type}`, with the
//! envelope from `joxai-schemas` and `Nats-Msg-Id`, as the ticket worker does), so only the
//! notifier's path is measured: stream → fan-out → socket. Each event's text carries the instant it
//! was due, so its latency needs no lookup table.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream;
use bytes::Bytes;
use clap::{Args, ValueEnum};
use futures::StreamExt as _;
use hdrhistogram::Histogram;
use joxai_schemas::Envelope;
use joxai_schemas::events::{MessageCreated, Typing};
use joxai_schemas::subjects::Subjects;
use joxai_schemas::types::{ConversationOwner, CustomerRef, MessageView, Sender};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::fleet::{Frame, Socket, open_many};
use crate::report::{Latency, Machine, lock, new_histogram, rss_kib};

#[derive(Args)]
pub struct WsArgs {
    /// Customer sockets to open and hold (each its own session).
    #[arg(long, default_value_t = 10_000)]
    sockets: usize,
    /// How many of those sockets' conversations receive the published events.
    #[arg(long, default_value_t = 200)]
    subscribers: usize,
    /// Events per second published in each phase, in order.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000,20000")]
    push_rates: Vec<f64>,
    #[arg(long, default_value_t = 5.0)]
    push_secs: f64,
    /// Where the sockets connect, when the notifier runs as a process of its own (`joxai
    /// notifier`); sessions are still opened at `--url`. Default: `--url`.
    #[arg(long)]
    ws_url: Option<String>,
    /// The server process whose resident memory (`VmRSS`) is reported.
    #[arg(long)]
    pid: Option<u32>,
    /// NATS with the product's events stream; without it no events are published.
    #[arg(long, env = "NATS_URL")]
    nats_url: Option<String>,
    /// The product's subject prefix (`JOXAI_NATS_PREFIX`).
    #[arg(long, env = "JOXAI_NATS_PREFIX", default_value = "joxai")]
    nats_prefix: String,
    /// Which event to publish: a bot `message.created` (also read and skipped by the escalation
    /// classifier, as real bot replies are) or a `typing` event (seen by no worker).
    #[arg(long, value_enum, default_value_t = PushKind::MessageCreated)]
    event: PushKind,
    /// Seconds to hold the sockets idle before measuring memory.
    #[arg(long, default_value_t = 3.0)]
    hold_secs: f64,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum PushKind {
    MessageCreated,
    Typing,
}

const TAG: &str = "lgpush:";
/// Most publish acknowledgements awaited at once: bounds the generator's memory if NATS stalls.
const MAX_UNACKED: usize = 16_384;

struct Phase {
    id: u64,
    hist: Mutex<Histogram<u64>>,
    received: AtomicU64,
}

struct Shared {
    base: Instant,
    phase: Mutex<Option<Arc<Phase>>>,
    /// Frames idle (non-subscriber) sockets received: any at all means the server woke them.
    idle_frames: AtomicU64,
    resyncs: AtomicU64,
    closed: AtomicU64,
}

pub async fn run(url: &str, args: &WsArgs) -> anyhow::Result<Value> {
    anyhow::ensure!(
        args.sockets >= 1 && args.sockets <= 60_000,
        "--sockets must be in 1..=60000"
    );
    anyhow::ensure!(args.push_rates.len() <= 16, "at most 16 push rates");
    anyhow::ensure!(
        args.push_rates.iter().all(|r| *r > 0.0 && *r <= 200_000.0),
        "push rates must be in (0, 200000]"
    );
    anyhow::ensure!(
        args.push_secs > 0.0 && args.push_secs <= 600.0,
        "--push-secs must be in (0, 600]"
    );
    if let Some(nats) = &args.nats_url {
        crate::require_loopback("--nats-url", nats)?;
    }
    let ws_url = args.ws_url.as_deref().unwrap_or(url);
    crate::require_loopback("--ws-url", ws_url)?;
    let machine = Machine::describe();
    println!("machine: {}", machine.line());
    let subscribers = args.subscribers.clamp(1, args.sockets);
    let rss = |what: &str| -> Option<u64> {
        let kib = args.pid.and_then(rss_kib);
        if let Some(kib) = kib {
            println!("  server RSS {what}: {:.1} MiB", kib as f64 / 1024.0);
        }
        kib
    };
    let rss_before = rss("before");

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let started = std::time::Instant::now();
    let opened = open_many(&http, url, ws_url, args.sockets).await?;
    let open_secs = started.elapsed().as_secs_f64();
    println!(
        "{} sockets open (session + WebSocket + ready) in {open_secs:.1} s",
        opened.len()
    );

    let shared = Arc::new(Shared {
        base: Instant::now(),
        phase: Mutex::new(None),
        idle_frames: AtomicU64::new(0),
        resyncs: AtomicU64::new(0),
        closed: AtomicU64::new(0),
    });
    let (stop, stopped) = watch::channel(false);
    let mut readers = JoinSet::new();
    let mut conversations = vec![];
    for (i, (session, socket)) in opened.into_iter().enumerate() {
        let subscriber = i < subscribers;
        if subscriber {
            conversations.push(session.conversation_id);
        }
        readers.spawn(read(socket, subscriber, shared.clone(), stopped.clone()));
    }
    tokio::time::sleep(Duration::from_secs_f64(args.hold_secs.clamp(0.0, 60.0))).await;
    let rss_idle = rss(&format!("with {} idle sockets", args.sockets));
    let per_socket_kib = match (rss_before, rss_idle) {
        (Some(b), Some(a)) => Some((a.saturating_sub(b)) as f64 / args.sockets as f64),
        _ => None,
    };
    if let Some(k) = per_socket_kib {
        println!("  ≈ {k:.1} KiB per socket");
    }

    let mut phases = vec![];
    if let Some(nats_url) = &args.nats_url {
        let client = crate::nats_options("joxai-loadgen")
            .connect(nats_url.as_str())
            .await
            .context("connecting to NATS")?;
        let js = jetstream::new(client);
        let subjects = Subjects::new(args.nats_prefix.clone()).context("--nats-prefix")?;
        for (n, &rate) in args.push_rates.iter().enumerate() {
            let phase = Arc::new(Phase {
                id: n as u64,
                hist: Mutex::new(new_histogram()),
                received: AtomicU64::new(0),
            });
            *lock(&shared.phase) = Some(phase.clone());
            let resyncs_before = shared.resyncs.load(Ordering::Relaxed);
            let idle_before = shared.idle_frames.load(Ordering::Relaxed);
            println!(
                "publishing {rate} events/s for {} s to {} subscribed sockets",
                args.push_secs,
                conversations.len()
            );
            let (published, publish_errors) = publish(
                &js,
                &subjects,
                &conversations,
                &shared,
                n as u64,
                rate,
                args.push_secs,
                args.event,
            )
            .await;
            // Let the tail arrive.
            let deadline = Instant::now() + Duration::from_secs(3);
            while phase.received.load(Ordering::Relaxed) < published && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            *lock(&shared.phase) = None;
            let received = phase.received.load(Ordering::Relaxed);
            let latency = Latency::of(&lock(&phase.hist));
            let resyncs = shared.resyncs.load(Ordering::Relaxed) - resyncs_before;
            let idle_frames = shared.idle_frames.load(Ordering::Relaxed) - idle_before;
            println!(
                "  delivered {received}/{published} ({publish_errors} publish errors), {resyncs} resync frames, {idle_frames} frames to idle sockets"
            );
            println!("  delivery latency: {}", latency.line());
            let rss_after = rss("after this phase");
            phases.push(json!({
                "push_rate": rate,
                "seconds": args.push_secs,
                "published": published,
                "publish_errors": publish_errors,
                "delivered": received,
                "missing": published.saturating_sub(received),
                "resync_frames": resyncs,
                "frames_to_idle_sockets": idle_frames,
                "latency": latency,
                "server_rss_kib_after": rss_after,
            }));
        }
    } else {
        println!("no --nats-url: holding sockets only, no events published");
    }
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while readers.join_next().await.is_some() {}
    })
    .await;
    readers.abort_all();
    let lost = shared.closed.load(Ordering::Relaxed);
    if lost > 0 {
        println!("  {lost} sockets were closed by the server during the run");
    }
    Ok(json!({
        "mode": "ws",
        "machine": machine,
        "sockets": args.sockets,
        "ws_url": ws_url,
        "subscribers": subscribers,
        "open_secs": open_secs,
        "server_rss_kib_before": rss_before,
        "server_rss_kib_idle": rss_idle,
        "server_kib_per_socket": per_socket_kib,
        "sockets_closed_by_server": lost,
        "event": match args.event { PushKind::MessageCreated => "message.created", PushKind::Typing => "typing" },
        "phases": phases,
    }))
}

async fn read(
    mut socket: Socket,
    subscriber: bool,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let message = tokio::select! {
            _ = stop.changed() => break,
            m = socket.next() => m,
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                shared.closed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Some(Ok(_)) => continue,
        };
        let now = Instant::now();
        if !subscriber {
            shared.idle_frames.fetch_add(1, Ordering::Relaxed);
        }
        let Ok(frame) = serde_json::from_str::<Frame>(&text) else {
            continue;
        };
        if frame.kind == "resync" {
            shared.resyncs.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let Some(payload) = frame.event.and_then(|e| e.payload) else {
            continue;
        };
        let tagged = payload
            .message
            .map(|m| m.text)
            .or(payload.name)
            .unwrap_or_default();
        // `lgpush:{phase}:{due, in ns after base}`
        let Some((phase_id, due_ns)) = tagged.strip_prefix(TAG).and_then(|r| r.split_once(':'))
        else {
            continue;
        };
        let (Ok(phase_id), Ok(due_ns)) = (phase_id.parse::<u64>(), due_ns.parse::<u64>()) else {
            continue;
        };
        let due = shared.base + Duration::from_nanos(due_ns);
        if let Some(phase) = lock(&shared.phase).as_ref().filter(|p| p.id == phase_id) {
            phase.received.fetch_add(1, Ordering::Relaxed);
            lock(&phase.hist)
                .saturating_record(now.saturating_duration_since(due).as_micros() as u64);
        }
    }
    let _ = socket.close(None).await;
}

/// Publish `rate` events/s for `secs` on an open-loop schedule; returns (acknowledged, failed).
#[allow(clippy::too_many_arguments)]
async fn publish(
    js: &jetstream::Context,
    subjects: &Subjects,
    conversations: &[Uuid],
    shared: &Shared,
    phase: u64,
    rate: f64,
    secs: f64,
    kind: PushKind,
) -> (u64, u64) {
    let total = (rate * secs).round() as u64;
    let start = Instant::now() + Duration::from_millis(20);
    let gate = Arc::new(Semaphore::new(MAX_UNACKED));
    let acked = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut acks = JoinSet::new();
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due).await;
        let conversation_id = conversations[(i as usize) % conversations.len()];
        let text = format!(
            "{TAG}{phase}:{}",
            due.duration_since(shared.base).as_nanos()
        );
        let (subject, envelope) = match kind {
            PushKind::MessageCreated => {
                let event = MessageCreated {
                    message: MessageView {
                        id: Uuid::now_v7(),
                        conversation_id,
                        sender: Sender::Bot,
                        text,
                        client_message_id: None,
                        in_reply_to: None,
                        intent: None,
                        confidence: None,
                        author_id: None,
                        created_at: time::OffsetDateTime::now_utc(),
                    },
                    owner: ConversationOwner::Bot,
                    customer: CustomerRef::default(),
                    locale: "en".into(),
                    history: None,
                };
                let envelope = Envelope::new(event);
                (
                    subjects.event::<MessageCreated>(conversation_id),
                    (envelope.id, envelope.to_json()),
                )
            }
            PushKind::Typing => {
                let event = Typing {
                    conversation_id,
                    sender: Sender::Bot,
                    name: Some(text),
                };
                let envelope = Envelope::new(event);
                (
                    subjects.event::<Typing>(conversation_id),
                    (envelope.id, envelope.to_json()),
                )
            }
        };
        let (id, body) = envelope;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", id.to_string().as_str());
        let Ok(permit) = gate.clone().acquire_owned().await else {
            break;
        };
        match js
            .publish_with_headers(subject, headers, Bytes::from(body))
            .await
        {
            Ok(ack) => {
                let (acked, failed) = (acked.clone(), failed.clone());
                acks.spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), ack).await {
                        Ok(Ok(_)) => acked.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                    drop(permit);
                });
            }
            Err(_) => {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        // Reap finished acknowledgement tasks as we go so the set stays small.
        while acks.try_join_next().is_some() {}
    }
    let _ = tokio::time::timeout(Duration::from_secs(15), async {
        while acks.join_next().await.is_some() {}
    })
    .await;
    acks.abort_all();
    (
        acked.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    )
}
