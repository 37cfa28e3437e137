//! The consumer loop every worker shares.
//!
//! One durable pull consumer per worker kind, shared by all replicas. Each message ends in exactly
//! one acknowledgement:
//! - handled → `ack`;
//! - transient failure (database or broker down, timeout) → `nak` with an exponential delay from
//!   `backon`, until the consumer's `max_deliver` is reached, then a dead letter;
//! - permanent failure (undecodable, unknown type, invalid data) → a dead letter at once;
//! - "not yet" (it must wait for another message to be handled first) → `nak` with the same delays,
//!   and past `max_deliver` it goes back to the end of the stream: never a dead letter.
//! - later ([`Failure::Later`]: the email worker waits to see whether a customer read a reply) → `nak`
//!   with the delay the handler asked for.
//!
//! A dead letter is recorded in Postgres (`dead_letters`, inspectable and replayable through the API)
//! and copied to the dead-letter stream, then the message is terminated so it is not redelivered.
//!
//! Concurrency is bounded by a semaphore; on shutdown the loop stops pulling, and in-flight messages
//! finish within the drain time or are left unacknowledged for redelivery to another replica.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::pull::MessagesErrorKind;
use backon::BackoffBuilder as _;
use bytes::Bytes;
use futures::StreamExt as _;
use joxai_platform::Platform;
use joxai_platform::config::WorkerConfig;
use joxai_platform::db::DbError;
use joxai_platform::metrics::metrics;
use joxai_schemas::streams::WorkerKind;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

/// How a handler failed, which decides the acknowledgement.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Trying again later can succeed.
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
    /// Trying again can never succeed: the message becomes a dead letter now.
    #[error("permanent: {0:#}")]
    Permanent(anyhow::Error),
    /// The message must wait for another one to be handled first (a bot answer for the answer to
    /// an earlier question of its conversation). Nothing is wrong with it, so it never becomes a
    /// dead letter: it comes back with backoff, and past `max_deliver` it is put back at the end of
    /// the stream. The handler bounds the wait itself.
    #[error("not yet: {0:#}")]
    NotYet(anyhow::Error),
    /// Nothing failed, but the message is to be handled later (the email worker waits to see whether
    /// a customer read an agent's reply in the chat): delivered again after this delay. Counts as a
    /// delivery; at the last delivery it is handled as a transient failure.
    #[error("not yet: deliver again in {0:?}")]
    Later(Duration),
}

impl From<DbError> for Failure {
    fn from(e: DbError) -> Self {
        if e.is_transient() {
            Failure::Transient(e.into())
        } else {
            Failure::Permanent(e.into())
        }
    }
}

impl From<joxai_platform::bus::BusError> for Failure {
    fn from(e: joxai_platform::bus::BusError) -> Self {
        match e {
            joxai_platform::bus::BusError::Unavailable(_) => Failure::Transient(e.into()),
            joxai_platform::bus::BusError::Rejected(_) => Failure::Permanent(e.into()),
        }
    }
}

impl From<joxai_schemas::DecodeError> for Failure {
    fn from(e: joxai_schemas::DecodeError) -> Self {
        Failure::Permanent(e.into())
    }
}

/// One message as a handler sees it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub subject: String,
    pub payload: Bytes,
    /// Which delivery this is (1 for the first).
    pub attempt: i64,
    pub stream_sequence: u64,
}

/// A worker's logic for one message. Must be idempotent: any message may arrive more than once.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, delivery: &Delivery) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// Run the consumer loop of `kind` with `handler` until `shutdown` is cancelled.
pub async fn run<H: Handler>(
    platform: Platform,
    kind: WorkerKind,
    handler: Arc<H>,
    shutdown: CancellationToken,
) {
    let config = platform.config.worker(kind).clone();
    let spec = platform.bus.topology().consumer(kind, config.timing());
    let semaphore = Arc::new(Semaphore::new(config.concurrency));
    let tracker = TaskTracker::new();
    let worker = kind.as_str();
    tracing::info!(worker, consumer = %spec.durable_name, concurrency = config.concurrency, "worker starting");

    let stats = tokio::spawn(scrape_consumer_info(
        platform.clone(),
        kind,
        shutdown.clone(),
    ));
    if kind == WorkerKind::Ticket {
        tokio::spawn(watch_sla(platform.clone(), shutdown.clone()));
    }

    'connect: while !shutdown.is_cancelled() {
        // (Re)create the consumer: after a broker restart it may be gone or the connection new.
        let consumer = match platform.bus.durable_consumer(&spec).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(worker, error = %e, "consumer unavailable, retrying");
                if sleep_or_cancel(Duration::from_secs(1), &shutdown).await {
                    break;
                }
                continue;
            }
        };
        let messages = consumer
            .stream()
            .max_messages_per_batch(config.concurrency.clamp(1, 256))
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await;
        let mut messages = match messages {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(worker, error = %e, "pull request failed, retrying");
                if sleep_or_cancel(Duration::from_secs(1), &shutdown).await {
                    break;
                }
                continue;
            }
        };
        loop {
            // Take the concurrency permit before pulling, so no more than `concurrency` messages are
            // held by this process at once.
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break 'connect,
                permit = semaphore.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break 'connect,
                },
            };
            let next = tokio::select! {
                _ = shutdown.cancelled() => break 'connect,
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    let (platform, handler, config) =
                        (platform.clone(), handler.clone(), config.clone());
                    // Continue the publisher's trace: one trace per customer message, across workers.
                    let span = tracing::info_span!("handle message", worker, subject = %message.subject, trace_id = tracing::field::Empty);
                    let trace_id =
                        joxai_platform::telemetry::continue_trace(&span, message.headers.as_ref());
                    span.record("trace_id", trace_id.as_str());
                    tracker.spawn(tracing::Instrument::instrument(
                        async move {
                            process(&platform, kind, &config, handler.as_ref(), message).await;
                            drop(permit);
                        },
                        span,
                    ));
                }
                Some(Err(e)) => match e.kind() {
                    MessagesErrorKind::MissingHeartbeat
                    | MessagesErrorKind::ConsumerDeleted
                    | MessagesErrorKind::NoResponders => {
                        tracing::warn!(worker, error = %e, "consumer lost, recreating");
                        continue 'connect;
                    }
                    _ => tracing::warn!(worker, error = %e, "pull error"),
                },
                None => continue 'connect,
            }
        }
    }

    tracker.close();
    let drain = Duration::from_secs(platform.config.drain_seconds);
    if tokio::time::timeout(drain, tracker.wait()).await.is_err() {
        tracing::warn!(
            worker,
            "drain time over: unfinished messages will be redelivered"
        );
    }
    stats.abort();
    tracing::info!(worker, "worker stopped");
}

/// Sleep unless shutdown comes first; returns true when shutting down.
async fn sleep_or_cancel(duration: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(duration) => false,
    }
}

/// The delay before redelivery after the `attempt`-th transient failure: exponential with jitter,
/// between the configured bounds.
pub fn retry_delay(config: &WorkerConfig, attempt: i64) -> Duration {
    let timing = config.timing();
    backon::ExponentialBuilder::default()
        .with_min_delay(timing.retry_min)
        .with_max_delay(timing.retry_max)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
        .nth((attempt.max(1) - 1) as usize)
        .unwrap_or(Duration::from_millis(config.retry_max_ms))
}

async fn process<H: Handler>(
    platform: &Platform,
    kind: WorkerKind,
    config: &WorkerConfig,
    handler: &H,
    message: async_nats::jetstream::Message,
) {
    let worker = kind.as_str();
    let m = metrics();
    let (attempt, stream_sequence) = match message.info() {
        Ok(info) => (info.delivered, info.stream_sequence),
        Err(_) => (1, 0),
    };
    if attempt > 1 {
        m.worker_redeliveries.with_label_values(&[worker]).inc();
    }
    let delivery = Delivery {
        subject: message.subject.to_string(),
        payload: message.payload.clone(),
        attempt,
        stream_sequence,
    };
    let in_flight = m.worker_in_flight.with_label_values(&[worker]);
    in_flight.inc();
    let started = Instant::now();
    let outcome =
        match tokio::time::timeout(config.handler_timeout(), handler.handle(&delivery)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Transient(anyhow::anyhow!(
                "handler took longer than {:?}",
                config.handler_timeout()
            ))),
        };
    m.worker_duration
        .with_label_values(&[worker])
        .observe(started.elapsed().as_secs_f64());
    in_flight.dec();

    let outcome = match outcome {
        Err(Failure::Later(delay)) if attempt >= config.max_deliver => Err(Failure::Transient(
            anyhow::anyhow!("still waiting after {attempt} deliveries (asked for {delay:?} more)"),
        )),
        other => other,
    };
    let ack = match outcome {
        Ok(()) => {
            m.worker_messages.with_label_values(&[worker, "ack"]).inc();
            AckKind::Ack
        }
        Err(Failure::Later(delay)) => {
            m.worker_messages
                .with_label_values(&[worker, "later"])
                .inc();
            AckKind::Nak(Some(delay))
        }
        Err(Failure::Transient(error)) if attempt < config.max_deliver => {
            let delay = retry_delay(config, attempt);
            tracing::warn!(worker, subject = %delivery.subject, attempt, ?delay, error = %format!("{error:#}"), "transient failure, will retry");
            m.worker_messages
                .with_label_values(&[worker, "retry"])
                .inc();
            AckKind::Nak(Some(delay))
        }
        Err(Failure::NotYet(error)) => {
            m.worker_messages
                .with_label_values(&[worker, "retry"])
                .inc();
            let delay = retry_delay(config, attempt);
            if attempt < config.max_deliver {
                tracing::debug!(worker, subject = %delivery.subject, attempt, ?delay, error = %format!("{error:#}"), "not yet: will retry");
                AckKind::Nak(Some(delay))
            } else {
                match requeue(platform, &delivery, message.headers.as_ref()).await {
                    Ok(()) => AckKind::Ack,
                    Err(e) => {
                        tracing::error!(worker, error = %e, "could not requeue; the message stays pending");
                        AckKind::Nak(Some(delay))
                    }
                }
            }
        }
        Err(Failure::Transient(error))
            if infrastructure(&error) || platform.db.ping().await.is_err() =>
        {
            // The database or the broker is down or saturated (no free connection while a backlog
            // drains): the message is not at fault, and a dead letter could not even be recorded.
            // JetStream will not deliver it again past max_deliver, so put it back at the end of the
            // stream as a new message (same envelope id, so handling stays idempotent) and keep
            // retrying until the infrastructure has recovered.
            tracing::warn!(worker, subject = %delivery.subject, attempt, error = %format!("{error:#}"), "database unavailable: requeueing");
            m.worker_messages
                .with_label_values(&[worker, "retry"])
                .inc();
            match requeue(platform, &delivery, message.headers.as_ref()).await {
                Ok(()) => AckKind::Ack,
                Err(e) => {
                    tracing::error!(worker, error = %e, "could not requeue; the message stays pending");
                    AckKind::Nak(Some(retry_delay(config, attempt)))
                }
            }
        }
        Err(failure) => {
            tracing::error!(worker, subject = %delivery.subject, attempt, error = %failure, "giving up: dead letter");
            let headers = message.headers.clone();
            match record_dead_letter(
                platform,
                kind,
                &delivery,
                headers.as_ref(),
                &failure.to_string(),
            )
            .await
            {
                Ok(()) => {
                    m.worker_messages
                        .with_label_values(&[worker, "dead_letter"])
                        .inc();
                    m.dead_letters.with_label_values(&[worker]).inc();
                    AckKind::Term
                }
                Err(e) => {
                    // Never drop a message we could not record. Past max_deliver the broker will not
                    // deliver it again, so put it back on the stream to be tried (and, if it still
                    // fails, recorded) later.
                    tracing::error!(worker, error = %e, "could not record the dead letter, requeueing");
                    m.worker_messages
                        .with_label_values(&[worker, "retry"])
                        .inc();
                    match requeue(platform, &delivery, message.headers.as_ref()).await {
                        Ok(()) => AckKind::Ack,
                        Err(_) => AckKind::Nak(Some(retry_delay(config, attempt))),
                    }
                }
            }
        }
    };
    if let Err(e) = message.ack_with(ack).await {
        // The broker will redeliver after ack_wait; handlers are idempotent.
        tracing::warn!(worker, error = %e, "acknowledgement failed");
    }
}

/// True for failures of the infrastructure rather than of the message: no free Postgres connection,
/// a lost Postgres connection, an unreachable broker. These never turn a message into a dead letter.
fn infrastructure(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        if let Some(db) = cause.downcast_ref::<DbError>() {
            return match db {
                DbError::Pool(_) | DbError::Lost(_) => true,
                DbError::Query(e) => e.code().is_none(),
                _ => false,
            };
        }
        matches!(
            cause.downcast_ref::<joxai_platform::bus::BusError>(),
            Some(joxai_platform::bus::BusError::Unavailable(_))
        )
    })
}

/// Publish a message again on its own subject, under a new `Nats-Msg-Id` derived from its stream
/// sequence (so the broker does not drop it as a duplicate, and a repeated requeue of the same
/// delivery is dropped).
async fn requeue(
    platform: &Platform,
    delivery: &Delivery,
    headers: Option<&async_nats::HeaderMap>,
) -> anyhow::Result<()> {
    let original = headers
        .and_then(|h| h.get("Nats-Msg-Id"))
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default();
    let mut copy = async_nats::HeaderMap::new();
    copy.insert(
        "Joxai-Requeued-From",
        delivery.stream_sequence.to_string().as_str(),
    );
    platform
        .bus
        .publish_raw(
            delivery.subject.clone(),
            &format!("{original}~requeue-{}", delivery.stream_sequence),
            copy,
            delivery.payload.clone(),
        )
        .await?;
    Ok(())
}

/// Record a dead letter in Postgres and copy it to the dead-letter stream.
async fn record_dead_letter(
    platform: &Platform,
    kind: WorkerKind,
    delivery: &Delivery,
    headers: Option<&async_nats::HeaderMap>,
    error: &str,
) -> anyhow::Result<()> {
    let message_id = headers
        .and_then(|h| h.get("Nats-Msg-Id"))
        .map(|v| v.as_str().to_owned());
    let headers_json: serde_json::Value = headers
        .map(|h| {
            h.iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        serde_json::json!(v.iter().map(|x| x.as_str()).collect::<Vec<_>>()),
                    )
                })
                .collect::<serde_json::Map<_, _>>()
                .into()
        })
        .unwrap_or_else(|| serde_json::json!({}));
    let payload = String::from_utf8_lossy(&delivery.payload).into_owned();
    let id = Uuid::now_v7();
    let client = platform.db.client().await?;
    client
        .execute(
            "INSERT INTO dead_letters (id, worker, subject, message_id, stream_sequence, payload, headers, error, deliveries)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (worker, stream_sequence) DO NOTHING",
            &[
                &id,
                &kind.as_str(),
                &delivery.subject,
                &message_id,
                &(delivery.stream_sequence as i64),
                &payload,
                &headers_json,
                &error,
                &delivery.attempt,
            ],
        )
        .await?;
    let copy = serde_json::json!({
        "dead_letter_id": id, "worker": kind.as_str(), "subject": delivery.subject,
        "stream_sequence": delivery.stream_sequence, "error": error, "payload": payload,
    });
    platform
        .bus
        .publish_raw(
            platform.bus.subjects().dead_letter(kind.as_str()),
            &format!("dlq-{}-{}", kind.as_str(), delivery.stream_sequence),
            async_nats::HeaderMap::new(),
            Bytes::from(copy.to_string()),
        )
        .await?;
    Ok(())
}

/// Keep `joxai_tickets_sla_breached` current: one figure for the whole desk, read from the tickets' stored due
/// times every few seconds (every ticket worker reports the same count; the alert takes the max). On the same
/// tick, announce the SLA due times that are near ([`warn_sla`]).
async fn watch_sla(platform: Platform, shutdown: CancellationToken) {
    loop {
        if let Some(breached) = tickets_past_due(&platform).await {
            metrics().tickets_sla_breached.set(breached);
        }
        if let Err(e) = warn_sla(&platform).await {
            tracing::warn!(error = %format!("{e:#}"), "SLA warnings not announced this time");
        }
        forget_old_presence(&platform).await;
        if sleep_or_cancel(Duration::from_secs(5), &shutdown).await {
            return;
        }
    }
}

/// Publish `ticket.sla_warning` for every open ticket whose first-response or resolution due time falls
/// within the bank's `sla_warning_minutes` and has not passed yet, once per ticket and target.
///
/// Every ticket worker runs this, so the same warning may be found by several at once, or again after a crash
/// between publishing and recording it. It is made once anyway: the event's id is derived from the ticket and
/// the target (the broker drops a second publish of that id within its duplicate window, and the email worker
/// keys its emails by the event id), and `sla_warnings` records it after publishing, so later ticks skip it.
/// Publishing before recording means a crash in between repeats the publish rather than losing the warning.
pub async fn warn_sla(platform: &Platform) -> anyhow::Result<usize> {
    use joxai_platform::rows::{TICKET_COLUMNS, ticket_view};
    use joxai_schemas::events::TicketSlaWarning;
    use joxai_schemas::{Envelope, derive_id};
    let lead_minutes =
        i32::try_from(platform.settings.current().settings.sla_warning_minutes).unwrap_or(10);
    let client = platform.db.client().await?;
    let columns: String = TICKET_COLUMNS
        .split(", ")
        .map(|c| format!("t.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = client
        .query(
            &format!(
                "SELECT {columns}, w.target, w.due_at FROM tickets t
                   CROSS JOIN LATERAL (VALUES ('first_response', CASE WHEN t.first_response_at IS NULL THEN t.first_response_due_at END),
                                              ('resolution', t.resolution_due_at)) AS w(target, due_at)
                  WHERE t.status IN ('open', 'in_progress') AND w.due_at IS NOT NULL
                    AND w.due_at > now() AND w.due_at <= now() + make_interval(mins => $1)
                    AND NOT EXISTS (SELECT 1 FROM sla_warnings s WHERE s.ticket_id = t.id AND s.target = w.target)
                  ORDER BY w.due_at LIMIT 200"
            ),
            &[&lead_minutes],
        )
        .await?;
    let columns = TICKET_COLUMNS.split(", ").count();
    for row in &rows {
        let ticket = ticket_view(row)?;
        let target: String = row.get(columns);
        let due_at: time::OffsetDateTime = row.get(columns + 1);
        let id = derive_id(ticket.id, &format!("ticket.sla_warning:{target}"));
        let subject = platform
            .bus
            .subjects()
            .event::<TicketSlaWarning>(ticket.conversation_id.unwrap_or(Uuid::nil()));
        let ticket_id = ticket.id;
        let envelope = Envelope::with_id(
            id,
            id,
            None,
            TicketSlaWarning {
                ticket,
                target: target.clone(),
                due_at,
            },
        );
        platform.bus.publish(subject, &envelope).await?;
        client
            .execute(
                "INSERT INTO sla_warnings (ticket_id, target, due_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&ticket_id, &target, &due_at],
            )
            .await?;
        tracing::info!(%ticket_id, target, "SLA warning announced");
    }
    Ok(rows.len())
}

/// Delete the notifier's records of customer sockets closed (or last seen) more than a day ago: the email
/// worker only ever asks about the last minutes. Every ticket worker may run it; it is idempotent.
async fn forget_old_presence(platform: &Platform) {
    if let Ok(client) = platform.db.client().await {
        let _ = client
            .execute(
                "DELETE FROM customer_presence WHERE seen_at < now() - interval '1 day'",
                &[],
            )
            .await;
    }
}

/// Open tickets past an SLA due time: no first response by its due time, or not resolved by its due time.
async fn tickets_past_due(platform: &Platform) -> Option<i64> {
    let client = platform.db.client().await.ok()?;
    let row = client
        .query_one(
            "SELECT count(*) FROM tickets
              WHERE status IN ('open', 'in_progress')
                AND ((first_response_at IS NULL AND first_response_due_at < now()) OR resolution_due_at < now())",
            &[],
        )
        .await
        .ok()?;
    Some(row.get(0))
}

/// How full a stream is, in whole percent of the nearer of its two limits (a limit ≤ 0 is none).
fn used_percent((bytes, max_bytes): (u64, i64), (messages, max_messages): (u64, i64)) -> i64 {
    let share = |used: u64, limit: i64| {
        if limit > 0 {
            (used as f64 / limit as f64 * 100.0) as i64
        } else {
            0
        }
    };
    share(bytes, max_bytes)
        .max(share(messages, max_messages))
        .min(100)
}

/// Publish the consumer's pending and ack-pending counts as gauges every few seconds: the numbers
/// autoscaling (KEDA) and the backlog alerts read.
async fn scrape_consumer_info(platform: Platform, kind: WorkerKind, shutdown: CancellationToken) {
    let m = metrics();
    let topology = platform.bus.topology().clone();
    let stream_name = topology
        .consumer(kind, platform.config.worker(kind).timing())
        .stream;
    // At once, then every few seconds: a backlog that builds and clears within seconds of a start shows too.
    let mut first = true;
    loop {
        if !first && sleep_or_cancel(Duration::from_secs(5), &shutdown).await {
            return;
        }
        first = false;
        let info = async {
            let stream = platform
                .bus
                .jetstream()
                .get_stream_no_info(&stream_name)
                .await
                .ok()?;
            let mut consumer: async_nats::jetstream::consumer::PullConsumer =
                stream.get_consumer(kind.durable_name()).await.ok()?;
            consumer
                .info()
                .await
                .ok()
                .map(|i| (i.num_pending, i.num_ack_pending))
        }
        .await;
        // How full the stream is: a full command stream refuses customer messages (`discard: new`).
        let fill = async {
            let stream = platform
                .bus
                .jetstream()
                .get_stream(&stream_name)
                .await
                .ok()?;
            let info = stream.cached_info();
            Some(used_percent(
                (info.state.bytes, info.config.max_bytes),
                (info.state.messages, info.config.max_messages),
            ))
        }
        .await;
        if let Some(percent) = fill {
            m.stream_used_percent
                .with_label_values(&[stream_name.as_str()])
                .set(percent);
        }
        if let Some((pending, ack_pending)) = info {
            m.consumer_pending
                .with_label_values(&[kind.as_str()])
                .set(pending as i64);
            m.consumer_ack_pending
                .with_label_values(&[kind.as_str()])
                .set(ack_pending as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::used_percent;

    #[test]
    fn a_streams_fill_is_the_nearer_of_its_two_limits() {
        assert_eq!(used_percent((50, 100), (1, 1_000)), 50);
        assert_eq!(used_percent((1, 100), (900, 1_000)), 90);
        assert_eq!(used_percent((10, -1), (10, -1)), 0, "no limits: never full");
        assert_eq!(used_percent((200, 100), (0, 0)), 100);
    }
}
