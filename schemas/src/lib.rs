//! The wire contracts of JoxAI.
//!
//! This crate owns every message that crosses NATS JetStream: the versioned [`Envelope`], the
//! [`commands`] (requests to change state, handled by the ticket worker) and the [`events`]
//! (facts that happened, consumed by the classifier, the AI responder and the notifier), the subject
//! each one travels on ([`subjects`]) and the streams and durable consumers that carry them
//! ([`streams`]). Services depend on this crate and never on each other's internals, so a change to a
//! contract is a change here, reviewed in one place.
//!
//! It owns no I/O: publishing and consuming live in `joxai-platform` and the services.

pub mod commands;
pub mod envelope;
pub mod events;
pub mod streams;
pub mod subjects;
pub mod types;

pub use commands::Command;
pub use envelope::{DecodeError, Envelope, Message, RawEnvelope, derive_id};
pub use events::Event;
