//! Events: facts that already happened. Published by the ticket worker (state changes) and the
//! escalation classifier (its decisions); consumed by the classifier, the AI responder and the notifier.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::envelope::{DecodeError, Envelope, RawEnvelope, message};
use crate::types::{ConversationOwner, CustomerRef, Decision, EscalationReason, MessageView, Priority, TicketView};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationStarted {
    pub conversation_id: Uuid,
    pub customer: CustomerRef,
    pub locale: String,
}

/// A message was stored. `owner` is who owned the conversation right after it was stored, so the
/// classifier and responder need no extra read to know whether the bot may answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageCreated {
    pub message: MessageView,
    pub owner: ConversationOwner,
    pub customer: CustomerRef,
    /// The conversation's locale (`en`, `es`).
    pub locale: String,
}

/// The classifier's structured decision on a customer message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageClassified {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub text: String,
    pub intent: String,
    pub confidence: f32,
    pub language: String,
    pub decision: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<EscalationReason>,
    pub customer: CustomerRef,
    #[serde(with = "time::serde::rfc3339")]
    pub question_at: time::OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationEscalated {
    pub conversation_id: Uuid,
    pub ticket_id: Uuid,
    pub ticket_number: String,
    pub priority: Priority,
    pub reason: EscalationReason,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketCreated {
    pub ticket: TicketView,
}

message! {
    ConversationStarted => "conversation.started", v = 1;
    MessageCreated => "message.created", v = 1;
    MessageClassified => "message.classified", v = 1;
    ConversationEscalated => "conversation.escalated", v = 1;
    TicketCreated => "ticket.created", v = 1;
}

/// Every event, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    ConversationStarted(Envelope<ConversationStarted>),
    MessageCreated(Envelope<MessageCreated>),
    MessageClassified(Envelope<MessageClassified>),
    ConversationEscalated(Envelope<ConversationEscalated>),
    TicketCreated(Envelope<TicketCreated>),
}

impl Event {
    pub fn decode(raw: &RawEnvelope) -> Result<Self, DecodeError> {
        use crate::envelope::Message as M;
        Ok(match raw.kind.as_str() {
            ConversationStarted::TYPE => Self::ConversationStarted(raw.decode()?),
            MessageCreated::TYPE => Self::MessageCreated(raw.decode()?),
            MessageClassified::TYPE => Self::MessageClassified(raw.decode()?),
            ConversationEscalated::TYPE => Self::ConversationEscalated(raw.decode()?),
            TicketCreated::TYPE => Self::TicketCreated(raw.decode()?),
            other => return Err(DecodeError::UnknownType(other.to_owned())),
        })
    }

    /// Whether the customer of the conversation may see this event. Staff see every event.
    pub fn visible_to_customer(kind: &str) -> bool {
        use crate::envelope::Message as M;
        kind == MessageCreated::TYPE || kind == ConversationEscalated::TYPE
    }
}
