//! Commands: requests to change state. All of them are handled by the ticket worker, which owns
//! conversations, messages and tickets in Postgres.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::envelope::{DecodeError, Envelope, RawEnvelope, message};
use crate::types::{CustomerRef, EscalationReason, Priority};

/// A customer opened the chat. The conversation id was chosen by the ingress, so the customer's token
/// can be issued at once; the worker creates the row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartConversation {
    pub conversation_id: Uuid,
    pub customer: CustomerRef,
    pub locale: String,
    pub channel: String,
}

/// A customer's chat message. `message_id` equals the envelope id (UUIDv5 of the conversation and the
/// client's id). The text was already redacted by the ingress: no full card number ever reaches the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostCustomerMessage {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub client_message_id: String,
    pub text: String,
    pub customer: CustomerRef,
}

/// The AI responder's answer to a customer message. The worker stores it only if the bot still owns
/// the conversation at that moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreBotReply {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub in_reply_to: Uuid,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// The customer message was accepted at this instant (for the end-to-end turn latency metric).
    #[serde(with = "time::serde::rfc3339")]
    pub question_at: time::OffsetDateTime,
}

/// Hand a conversation to a person: opens exactly one ticket for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalateConversation {
    pub conversation_id: Uuid,
    pub reason: EscalationReason,
    pub priority: Priority,
    /// Who asked: `customer`, `classifier`, `responder` or a staff user id.
    pub requested_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_message_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// An agent's reply to the customer of a ticket. `message_id` equals the envelope id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostAgentReply {
    pub ticket_id: Uuid,
    pub message_id: Uuid,
    pub agent_id: Uuid,
    pub text: String,
}

message! {
    StartConversation => "chat.conversation.start", v = 1;
    PostCustomerMessage => "chat.message.post", v = 1;
    StoreBotReply => "chat.message.bot_reply", v = 1;
    EscalateConversation => "conversation.escalate", v = 1;
    PostAgentReply => "ticket.reply", v = 1;
}

/// Every command, decoded. The ticket worker matches on this.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    StartConversation(Envelope<StartConversation>),
    PostCustomerMessage(Envelope<PostCustomerMessage>),
    StoreBotReply(Envelope<StoreBotReply>),
    EscalateConversation(Envelope<EscalateConversation>),
    PostAgentReply(Envelope<PostAgentReply>),
}

impl Command {
    pub fn decode(raw: &RawEnvelope) -> Result<Self, DecodeError> {
        use crate::envelope::Message as M;
        Ok(match raw.kind.as_str() {
            StartConversation::TYPE => Self::StartConversation(raw.decode()?),
            PostCustomerMessage::TYPE => Self::PostCustomerMessage(raw.decode()?),
            StoreBotReply::TYPE => Self::StoreBotReply(raw.decode()?),
            EscalateConversation::TYPE => Self::EscalateConversation(raw.decode()?),
            PostAgentReply::TYPE => Self::PostAgentReply(raw.decode()?),
            other => return Err(DecodeError::UnknownType(other.to_owned())),
        })
    }
}
