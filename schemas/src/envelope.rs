//! The envelope every bus message travels in.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use uuid::Uuid;

/// A payload type that can travel on the bus.
///
/// `TYPE` is the stable name written in the envelope (`"chat.message.post"`); `VERSION` is bumped
/// whenever the payload changes in a way an old reader could not understand. Readers reject
/// versions they do not know instead of guessing, and the message becomes a dead letter.
pub trait Message: Serialize + DeserializeOwned {
    const TYPE: &'static str;
    const VERSION: u16;
}

/// The versioned envelope around every command and event.
///
/// - `id` is unique per message and doubles as the `Nats-Msg-Id` (JetStream de-duplication) and as a
///   uniqueness key in Postgres, which is what makes every consumer idempotent. It is a UUIDv7 (time
///   ordered) for messages the server originates; for a customer's message it is derived from the
///   conversation and the client's own message id (UUIDv5), so a retried HTTP request maps to the
///   same command and can never create a second message.
/// - `correlation_id` is the id of the customer action that started the chain (all messages of one
///   chat turn share it); `causation_id` is the id of the message that directly caused this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: u16,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub correlation_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    pub payload: T,
}

/// An envelope whose payload has not been decoded yet: read the `type` first, then decode.
pub type RawEnvelope = Envelope<Box<RawValue>>;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the message is not a valid envelope: {0}")]
    Envelope(#[source] serde_json::Error),
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("message type {kind:?} has version {found}, this build understands {expected}")]
    Version {
        kind: String,
        found: u16,
        expected: u16,
    },
    #[error("the payload of {kind:?} is invalid: {source}")]
    Payload {
        kind: String,
        #[source]
        source: serde_json::Error,
    },
}

impl<T: Message> Envelope<T> {
    /// A new message that starts a chain (it is its own correlation).
    pub fn new(payload: T) -> Self {
        let id = Uuid::now_v7();
        Self::with_id(id, id, None, payload)
    }

    /// A new message caused by `cause`: it inherits the correlation id.
    pub fn caused_by<C>(cause: &Envelope<C>, payload: T) -> Self {
        Self::with_id(
            Uuid::now_v7(),
            cause.correlation_id,
            Some(cause.id),
            payload,
        )
    }

    /// A message caused by `cause` whose id is derived from the cause's id and this message's type.
    /// Handling the same cause twice (a redelivery) publishes the same id again, which JetStream
    /// drops as a duplicate and consumers store once.
    pub fn derived<C>(cause: &Envelope<C>, payload: T) -> Self {
        Self::derived_from_id(cause.id, cause.correlation_id, payload)
    }

    /// As [`Envelope::derived`], from the cause's ids alone.
    pub fn derived_from_id(cause_id: Uuid, correlation_id: Uuid, payload: T) -> Self {
        Self::with_id(
            derive_id(cause_id, T::TYPE),
            correlation_id,
            Some(cause_id),
            payload,
        )
    }

    /// A message with a caller-chosen id, for idempotent commands whose id is derived from a client key.
    pub fn with_id(id: Uuid, correlation_id: Uuid, causation_id: Option<Uuid>, payload: T) -> Self {
        Self {
            id,
            kind: T::TYPE.to_owned(),
            version: T::VERSION,
            occurred_at: OffsetDateTime::now_utc(),
            correlation_id,
            causation_id,
            payload,
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain data structs with string keys cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl RawEnvelope {
    pub fn parse(bytes: &[u8]) -> Result<Self, DecodeError> {
        serde_json::from_slice(bytes).map_err(DecodeError::Envelope)
    }

    /// Decode the payload as `T`, checking the type name and version.
    pub fn decode<T: Message>(&self) -> Result<Envelope<T>, DecodeError> {
        if self.kind != T::TYPE {
            return Err(DecodeError::UnknownType(self.kind.clone()));
        }
        if self.version != T::VERSION {
            return Err(DecodeError::Version {
                kind: self.kind.clone(),
                found: self.version,
                expected: T::VERSION,
            });
        }
        let payload =
            serde_json::from_str(self.payload.get()).map_err(|source| DecodeError::Payload {
                kind: self.kind.clone(),
                source,
            })?;
        Ok(Envelope {
            id: self.id,
            kind: self.kind.clone(),
            version: self.version,
            occurred_at: self.occurred_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            payload,
        })
    }
}

/// A stable id for "the `what` of `cause`" (UUIDv5 in the cause's namespace).
pub fn derive_id(cause: Uuid, what: &str) -> Uuid {
    Uuid::new_v5(&cause, what.as_bytes())
}

/// Declares the `TYPE` and `VERSION` of payload structs in one line each.
macro_rules! message {
    ($($ty:ty => $name:literal, v = $version:literal);* $(;)?) => {
        $(impl $crate::envelope::Message for $ty {
            const TYPE: &'static str = $name;
            const VERSION: u16 = $version;
        })*
    };
}
pub(crate) use message;
