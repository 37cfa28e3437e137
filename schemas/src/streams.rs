//! The JetStream streams and durable consumers, as data. `joxai-platform` turns these into broker
//! configuration; `infra/nats/streams/` documents the same for operators.

use std::time::Duration;

use crate::events::{
    MessageClassified, MessageCreated, TicketCreated, TicketSlaWarning, TicketUpdated,
    TranscriptRequested,
};
use crate::subjects::Subjects;

/// A stream's definition. Limits are explicit so a runaway producer cannot fill the disk.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSpec {
    pub name: String,
    pub subjects: Vec<String>,
    pub max_age: Duration,
    pub max_bytes: i64,
    pub max_msgs: i64,
    pub max_msg_size: i32,
    /// JetStream drops a second message with the same `Nats-Msg-Id` inside this window.
    pub duplicate_window: Duration,
    pub replicas: usize,
    /// A full stream refuses new messages (`discard: new`) instead of deleting its oldest ones.
    /// The commands and events streams hold work no consumer may have done yet: evicting it would
    /// lose accepted customer messages, so the publisher is refused instead (the API answers 503
    /// with `Retry-After`). The dead-letter stream keeps deleting its oldest: Postgres holds every
    /// dead letter, and a refused copy would stall the worker that records it.
    pub discard_new: bool,
}

/// Timing of a durable consumer. Tests shrink these to milliseconds through configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerTiming {
    /// How long the broker waits for an acknowledgement before redelivering. Must exceed the longest
    /// handler timeout (for the AI responder: the LLM call) plus a margin, or slow work is done twice.
    pub ack_wait: Duration,
    /// Deliveries before a message is given up and becomes a dead letter.
    pub max_deliver: i64,
    /// Retry schedule after a transient failure: exponential from `retry_min` to `retry_max`
    /// (with jitter), applied by the worker runtime as the delay of each negative acknowledgement.
    ///
    /// It is deliberately not JetStream's consumer `BackOff`: a consumer with `BackOff` replaces
    /// both `AckWait` (its first entry) and the delays clients ask for in a NAK (observed with
    /// nats-server 2.15: the second NAK's delay was ignored), so the two could not be set apart.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// Messages handed out and not yet acknowledged, per consumer (back-pressure).
    pub max_ack_pending: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerSpec {
    pub durable_name: String,
    pub stream: String,
    pub filter_subjects: Vec<String>,
    pub timing: ConsumerTiming,
}

/// The kinds of worker, each with one durable consumer shared by all its replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkerKind {
    /// Persists conversations, messages and tickets; handles every command.
    Ticket,
    /// Decides bot or human for every customer message.
    Escalation,
    /// Answers bot-owned conversations.
    Ai,
    /// Sends the emails events call for (staff and customers).
    Email,
}

impl WorkerKind {
    pub const ALL: [WorkerKind; 4] = [
        WorkerKind::Ticket,
        WorkerKind::Escalation,
        WorkerKind::Ai,
        WorkerKind::Email,
    ];

    /// The short name used in metrics labels, subjects and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerKind::Ticket => "ticket",
            WorkerKind::Escalation => "escalation",
            WorkerKind::Ai => "ai",
            WorkerKind::Email => "email",
        }
    }

    pub fn durable_name(self) -> &'static str {
        match self {
            WorkerKind::Ticket => "ticket-worker",
            WorkerKind::Escalation => "escalation-classifier",
            WorkerKind::Ai => "ai-responder",
            WorkerKind::Email => "email-sender",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// All streams and consumers of one deployment.
#[derive(Debug, Clone)]
pub struct Topology {
    pub subjects: Subjects,
    pub replicas: usize,
    /// Disk each stream may use (JetStream reserves it).
    pub max_bytes: i64,
}

impl Topology {
    pub fn commands_stream(&self) -> String {
        format!("{}_COMMANDS", self.subjects.stream_prefix())
    }
    pub fn events_stream(&self) -> String {
        format!("{}_EVENTS", self.subjects.stream_prefix())
    }
    pub fn dead_letter_stream(&self) -> String {
        format!("{}_DLQ", self.subjects.stream_prefix())
    }

    pub fn streams(&self) -> Vec<StreamSpec> {
        const DAY: Duration = Duration::from_secs(24 * 3600);
        let spec = |name: String, subjects: Vec<String>, max_age: Duration, discard_new: bool| {
            StreamSpec {
                name,
                subjects,
                max_age,
                max_bytes: self.max_bytes,
                max_msgs: 50_000_000,
                // Chat messages are capped far below this by the API; the cap stops a bug from
                // publishing huge payloads.
                max_msg_size: 256 * 1024,
                duplicate_window: Duration::from_secs(120),
                replicas: self.replicas,
                discard_new,
            }
        };
        vec![
            spec(
                self.commands_stream(),
                vec![self.subjects.all_commands()],
                7 * DAY,
                true,
            ),
            // Events are kept for a week: clients resume from them by sequence after a disconnect.
            spec(
                self.events_stream(),
                vec![self.subjects.all_events()],
                7 * DAY,
                true,
            ),
            // Dead letters stay a month; Postgres keeps the inspectable record too.
            spec(
                self.dead_letter_stream(),
                vec![self.subjects.all_dead_letters()],
                30 * DAY,
                false,
            ),
        ]
    }

    pub fn consumer(&self, kind: WorkerKind, timing: ConsumerTiming) -> ConsumerSpec {
        let (stream, filter_subjects) = match kind {
            WorkerKind::Ticket => (self.commands_stream(), vec![self.subjects.all_commands()]),
            WorkerKind::Escalation => (
                self.events_stream(),
                vec![self.subjects.customer_messages_created()],
            ),
            WorkerKind::Ai => (
                self.events_stream(),
                vec![self.subjects.events_of::<MessageClassified>()],
            ),
            // Staff and agent messages only (a customer's own carry `.customer` and never match),
            // SLA warnings, and the customers' and admins' requests for an email.
            WorkerKind::Email => (
                self.events_stream(),
                vec![
                    self.subjects.events_of::<TicketCreated>(),
                    self.subjects.events_of::<TicketUpdated>(),
                    self.subjects.events_of::<MessageCreated>(),
                    self.subjects.events_of::<TicketSlaWarning>(),
                    self.subjects.events_of::<TranscriptRequested>(),
                    self.subjects.email_resend_requested(),
                ],
            ),
        };
        ConsumerSpec {
            durable_name: kind.durable_name().to_owned(),
            stream,
            filter_subjects,
            timing,
        }
    }
}
