//! Events: facts that already happened. Published by the ticket worker (state changes) and the
//! escalation classifier (its decisions); consumed by the classifier, the AI responder and the notifier.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::envelope::{DecodeError, Envelope, RawEnvelope, message};
use crate::types::{
    Availability, ConversationOwner, CustomerRef, Decision, EscalationReason, MessageView,
    NamedMessage, NoteView, Priority, Sender, StaffRole, TicketView,
};

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
    /// For a customer message: what the escalation classifier needs from the conversation's past,
    /// read by the ticket worker in the same statement that stored the message, so the classifier
    /// needs no Postgres read of its own. Absent on other messages and when the ticket worker took
    /// its general path (a new conversation, a redelivery); the classifier then reads it itself.
    /// Optional, so events without it (older producers) still decode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<ConversationHistory>,
}

/// The conversation's past as of a customer message (see [`MessageCreated::history`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationHistory {
    /// The customer's message before this one, if any (already redacted, as stored).
    pub previous_customer_text: Option<String>,
    /// The confidence of the bot's latest answer in the conversation, if any.
    pub previous_bot_confidence: Option<f32>,
}

/// A stored message's text was masked further: a card number the customer split over consecutive messages
/// ("4111 1111", then "1111 1111") was found when the later part arrived, and its digits were hidden in the
/// earlier parts too. Clients replace the message's text with `text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRedacted {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub text: String,
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

/// A person took the conversation; the widget shows "{agent_name} joined".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationAssigned {
    pub conversation_id: Uuid,
    pub ticket_id: Uuid,
    pub agent_id: Uuid,
    pub agent_name: String,
}

/// The bot answers the conversation again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationHandedBack {
    pub conversation_id: Uuid,
}

/// The conversation was closed; the widget offers the rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationClosed {
    pub conversation_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRated {
    pub conversation_id: Uuid,
    pub rating: i16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Someone is typing. Ephemeral: published straight by the ingress, never stored in Postgres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Typing {
    pub conversation_id: Uuid,
    /// `customer` or `agent`.
    pub sender: Sender,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A ticket changed: assignment, status or fields. Carries the ticket as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketUpdated {
    pub ticket: TicketView,
    /// `assigned`, `unassigned`, `status_changed` or `updated`.
    pub change: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_name: Option<String>,
    /// The assignee before the change, so the agent who lost the ticket hears about it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_assignee_id: Option<Uuid>,
}

/// An internal note. Never shown to customers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketNoteAdded {
    pub ticket_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<Uuid>,
    pub note: NoteView,
}

/// `message.created` as the ticket worker publishes it for a message with a named author (an
/// agent's reply): the same payload as [`MessageCreated`] with `message.author_name` added, so the
/// widget can show "Alex Agent". Decoders of `message.created` read it as a `MessageCreated` (the
/// extra key is ignored); a separate type so every constructor of `MessageCreated` stays valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedMessageCreated {
    pub message: NamedMessage,
    pub owner: ConversationOwner,
    pub customer: CustomerRef,
    pub locale: String,
}

/// A staff member's availability or capacity changed: supervisors' screens update presence live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffAvailabilityChanged {
    pub user_id: Uuid,
    pub display_name: String,
    pub role: StaffRole,
    pub availability: Availability,
    pub capacity: i32,
}

/// A canned response was created, replaced or deleted (`deleted: true`). Staff only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CannedResponseChanged {
    pub id: Uuid,
    pub deleted: bool,
}

/// A knowledge-base article was created, replaced or deleted (`deleted: true`). Staff only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeArticleChanged {
    pub id: Uuid,
    pub deleted: bool,
}

/// An administrator changed the system settings; every process reloads them from Postgres. Not
/// about a conversation: published on [`crate::subjects::Subjects::settings_changed`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsChanged {
    /// The settings' version after the change (each process keeps the highest it has loaded).
    pub version: i64,
}

/// A ticket's SLA due time is near (within the bank's `sla_warning_minutes`) and not met yet.
/// Published by the ticket worker's SLA watch with an id derived from the ticket and the target, so
/// any number of ticket workers announce it once ([`crate::derive_id`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketSlaWarning {
    pub ticket: TicketView,
    /// `first_response` or `resolution`.
    pub target: String,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: time::OffsetDateTime,
}

/// The customer asked for the conversation's transcript by email (the widget's "Email me this
/// conversation"). Published by the ingress; the email worker sends it to the address the customer
/// left. Its id is derived from the conversation and its latest message, so asking twice with nothing
/// new in between sends one email.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptRequested {
    pub conversation_id: Uuid,
}

/// An admin asked to send a failed email again. Published by the ingress on
/// [`crate::subjects::Subjects::email_resend_requested`] (no conversation), with an id derived from the
/// email and its resend count, so a repeated request is dropped by the broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailResendRequested {
    pub email_id: Uuid,
    pub requested_by: Uuid,
}

message! {
    SettingsChanged => "settings.changed", v = 1;
    TicketSlaWarning => "ticket.sla_warning", v = 1;
    TranscriptRequested => "conversation.transcript_requested", v = 1;
    EmailResendRequested => "email.resend_requested", v = 1;
}

message! {
    NamedMessageCreated => "message.created", v = 1;
    StaffAvailabilityChanged => "staff.availability_changed", v = 1;
    CannedResponseChanged => "canned_response.changed", v = 1;
    KnowledgeArticleChanged => "knowledge.article_changed", v = 1;
}

message! {
    ConversationAssigned => "conversation.assigned", v = 1;
    ConversationHandedBack => "conversation.handed_back", v = 1;
    ConversationClosed => "conversation.closed", v = 1;
    ConversationRated => "conversation.rated", v = 1;
    Typing => "typing", v = 1;
    TicketUpdated => "ticket.updated", v = 1;
    TicketNoteAdded => "ticket.note_added", v = 1;
}

message! {
    ConversationStarted => "conversation.started", v = 1;
    MessageCreated => "message.created", v = 1;
    MessageRedacted => "message.redacted", v = 1;
    MessageClassified => "message.classified", v = 1;
    ConversationEscalated => "conversation.escalated", v = 1;
    TicketCreated => "ticket.created", v = 1;
}

/// Every event, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    ConversationStarted(Envelope<ConversationStarted>),
    MessageCreated(Envelope<MessageCreated>),
    MessageRedacted(Envelope<MessageRedacted>),
    MessageClassified(Envelope<MessageClassified>),
    ConversationEscalated(Envelope<ConversationEscalated>),
    TicketCreated(Envelope<TicketCreated>),
    ConversationAssigned(Envelope<ConversationAssigned>),
    ConversationHandedBack(Envelope<ConversationHandedBack>),
    ConversationClosed(Envelope<ConversationClosed>),
    ConversationRated(Envelope<ConversationRated>),
    Typing(Envelope<Typing>),
    TicketUpdated(Envelope<TicketUpdated>),
    TicketNoteAdded(Envelope<TicketNoteAdded>),
    StaffAvailabilityChanged(Envelope<StaffAvailabilityChanged>),
    CannedResponseChanged(Envelope<CannedResponseChanged>),
    KnowledgeArticleChanged(Envelope<KnowledgeArticleChanged>),
    SettingsChanged(Envelope<SettingsChanged>),
    TicketSlaWarning(Envelope<TicketSlaWarning>),
    TranscriptRequested(Envelope<TranscriptRequested>),
    EmailResendRequested(Envelope<EmailResendRequested>),
}

impl Event {
    pub fn decode(raw: &RawEnvelope) -> Result<Self, DecodeError> {
        use crate::envelope::Message as M;
        Ok(match raw.kind.as_str() {
            ConversationStarted::TYPE => Self::ConversationStarted(raw.decode()?),
            MessageCreated::TYPE => Self::MessageCreated(raw.decode()?),
            MessageRedacted::TYPE => Self::MessageRedacted(raw.decode()?),
            MessageClassified::TYPE => Self::MessageClassified(raw.decode()?),
            ConversationEscalated::TYPE => Self::ConversationEscalated(raw.decode()?),
            TicketCreated::TYPE => Self::TicketCreated(raw.decode()?),
            ConversationAssigned::TYPE => Self::ConversationAssigned(raw.decode()?),
            ConversationHandedBack::TYPE => Self::ConversationHandedBack(raw.decode()?),
            ConversationClosed::TYPE => Self::ConversationClosed(raw.decode()?),
            ConversationRated::TYPE => Self::ConversationRated(raw.decode()?),
            Typing::TYPE => Self::Typing(raw.decode()?),
            TicketUpdated::TYPE => Self::TicketUpdated(raw.decode()?),
            TicketNoteAdded::TYPE => Self::TicketNoteAdded(raw.decode()?),
            StaffAvailabilityChanged::TYPE => Self::StaffAvailabilityChanged(raw.decode()?),
            CannedResponseChanged::TYPE => Self::CannedResponseChanged(raw.decode()?),
            KnowledgeArticleChanged::TYPE => Self::KnowledgeArticleChanged(raw.decode()?),
            SettingsChanged::TYPE => Self::SettingsChanged(raw.decode()?),
            TicketSlaWarning::TYPE => Self::TicketSlaWarning(raw.decode()?),
            TranscriptRequested::TYPE => Self::TranscriptRequested(raw.decode()?),
            EmailResendRequested::TYPE => Self::EmailResendRequested(raw.decode()?),
            other => return Err(DecodeError::UnknownType(other.to_owned())),
        })
    }

    /// Whether the customer of the conversation may see this event. An allow-list: ticket events,
    /// internal notes and classifier decisions are staff-only by default, whatever is added later.
    pub fn visible_to_customer(kind: &str) -> bool {
        use crate::envelope::Message as M;
        [
            MessageCreated::TYPE,
            MessageRedacted::TYPE,
            ConversationEscalated::TYPE,
            ConversationAssigned::TYPE,
            ConversationHandedBack::TYPE,
            ConversationClosed::TYPE,
            Typing::TYPE,
        ]
        .contains(&kind)
    }

    /// Events about one ticket (an agent sees them only for queue tickets and their own).
    pub fn is_ticket_event(kind: &str) -> bool {
        use crate::envelope::Message as M;
        kind == TicketCreated::TYPE
            || kind == TicketUpdated::TYPE
            || kind == TicketNoteAdded::TYPE
            || kind == TicketSlaWarning::TYPE
    }
}
