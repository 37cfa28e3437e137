//! Commands: requests to change state. All of them are handled by the ticket worker, which owns
//! conversations, messages and tickets in Postgres.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::envelope::{DecodeError, Envelope, RawEnvelope, message};
use crate::types::{Actor, Availability, CustomerRef, EscalationReason, Priority, TicketStatus};

/// A customer opened the chat. The conversation id was chosen by the ingress, so the customer's token
/// can be issued at once; the worker creates the row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartConversation {
    pub conversation_id: Uuid,
    pub customer: CustomerRef,
    pub locale: String,
    pub channel: String,
    /// The ended conversation this one continues (the customer wrote again after it closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follows_conversation_id: Option<Uuid>,
}

/// A customer's chat message. `message_id` equals the envelope id (UUIDv5 of the conversation and the
/// client's id). The text was already redacted by the ingress: no full card number ever reaches the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostCustomerMessage {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub client_message_id: String,
    /// Already redacted by the ingress.
    pub text: String,
    pub customer: CustomerRef,
    /// Whether the ingress masked card data in `text`: the ticket worker then tells the customer why, once per
    /// conversation. Absent (false) in commands from older producers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub card_data_masked: bool,
    /// The id of the customer's previous message in this conversation, as their client saw it
    /// accepted. The ticket worker stores this message only after that one, so the customer's
    /// messages, and the answers to them, keep the order the customer sent them in even when the
    /// earlier one is delivered late (a worker or a broker node died while it was in flight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_message_id: Option<Uuid>,
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
    /// Hand the conversation to a person right after this reply is stored (for example: the card
    /// was blocked, now a colleague must follow up). Done by the ticket worker after the reply, so
    /// the reply can never be dropped by the escalation it announces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<Handoff>,
}

/// A structured request to hand over to a person.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    pub reason: EscalationReason,
    pub priority: Priority,
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

/// Assign a ticket to a staff member, or unassign it (`assignee_id: None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignTicket {
    pub ticket_id: Uuid,
    pub assignee_id: Option<Uuid>,
    pub actor: Actor,
}

/// Move a ticket through its state machine. `expected_updated_at` makes a stale change a conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeTicketStatus {
    pub ticket_id: Uuid,
    pub status: TicketStatus,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expected_updated_at: Option<time::OffsetDateTime>,
    pub actor: Actor,
}

/// Change a ticket's descriptive fields; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateTicket {
    pub ticket_id: Uuid,
    #[serde(default)]
    pub subject: Option<String>,
    /// `Some("")` clears the category.
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expected_updated_at: Option<time::OffsetDateTime>,
    pub actor: Actor,
}

/// An internal note. `note_id` equals the envelope id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddInternalNote {
    pub ticket_id: Uuid,
    pub note_id: Uuid,
    pub text: String,
    pub actor: Actor,
}

/// A ticket opened by staff: for a conversation, for a known customer, or standalone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateTicket {
    pub ticket_id: Uuid,
    #[serde(default)]
    pub conversation_id: Option<Uuid>,
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    pub subject: String,
    pub priority: Priority,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Set by the ingress to the caller when an agent opens a ticket (never from the request body).
    #[serde(default)]
    pub assign_to: Option<Uuid>,
    pub actor: Actor,
}

/// A staff member takes a bot conversation: its ticket (opened if needed) is assigned to them and
/// the bot stops answering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TakeOverConversation {
    pub conversation_id: Uuid,
    pub actor: Actor,
}

/// Give a conversation back to the bot; its active ticket is resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandBackConversation {
    pub conversation_id: Uuid,
    pub actor: Actor,
}

/// Close a conversation; its active ticket is closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloseConversation {
    pub conversation_id: Uuid,
    pub actor: Actor,
}

/// The customer's satisfaction rating. One per conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateConversation {
    pub conversation_id: Uuid,
    pub rating: i16,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A staff member's availability and/or capacity changed: waiting tickets may now be assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetAvailability {
    pub user_id: Uuid,
    #[serde(default)]
    pub availability: Option<Availability>,
    #[serde(default)]
    pub capacity: Option<i32>,
    pub actor: Actor,
}

/// Re-run automatic assignment of waiting tickets (after a user was deactivated or re-activated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignWaitingTickets {
    pub actor: Actor,
}

/// The customer ends the chat from the widget: the conversation closes (its active ticket too) and
/// the widget asks for a rating. Carries no actor: the customer's token names the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndChat {
    pub conversation_id: Uuid,
}

/// Create (`create: true`) or replace a canned response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveCannedResponse {
    pub id: Uuid,
    pub create: bool,
    pub title: String,
    pub body: String,
    pub actor: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteCannedResponse {
    pub id: Uuid,
    pub actor: Actor,
}

/// Create (`create: true`) or replace a knowledge-base article (the AI responder answers from these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveKnowledgeArticle {
    pub id: Uuid,
    pub create: bool,
    pub slug: String,
    pub locale: String,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub intents: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub active: bool,
    pub actor: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteKnowledgeArticle {
    pub id: Uuid,
    pub actor: Actor,
}

message! {
    EndChat => "conversation.end_chat", v = 1;
    SaveCannedResponse => "canned_response.save", v = 1;
    DeleteCannedResponse => "canned_response.delete", v = 1;
    SaveKnowledgeArticle => "knowledge.article.save", v = 1;
    DeleteKnowledgeArticle => "knowledge.article.delete", v = 1;
}

message! {
    AssignTicket => "ticket.assign", v = 1;
    ChangeTicketStatus => "ticket.status", v = 1;
    UpdateTicket => "ticket.update", v = 1;
    AddInternalNote => "ticket.note", v = 1;
    CreateTicket => "ticket.create", v = 1;
    TakeOverConversation => "conversation.take_over", v = 1;
    HandBackConversation => "conversation.hand_back", v = 1;
    CloseConversation => "conversation.close", v = 1;
    RateConversation => "conversation.rate", v = 1;
    SetAvailability => "user.availability", v = 1;
    AssignWaitingTickets => "ticket.assign_waiting", v = 1;
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
    AssignTicket(Envelope<AssignTicket>),
    ChangeTicketStatus(Envelope<ChangeTicketStatus>),
    UpdateTicket(Envelope<UpdateTicket>),
    AddInternalNote(Envelope<AddInternalNote>),
    CreateTicket(Envelope<CreateTicket>),
    TakeOverConversation(Envelope<TakeOverConversation>),
    HandBackConversation(Envelope<HandBackConversation>),
    CloseConversation(Envelope<CloseConversation>),
    RateConversation(Envelope<RateConversation>),
    SetAvailability(Envelope<SetAvailability>),
    AssignWaitingTickets(Envelope<AssignWaitingTickets>),
    EndChat(Envelope<EndChat>),
    SaveCannedResponse(Envelope<SaveCannedResponse>),
    DeleteCannedResponse(Envelope<DeleteCannedResponse>),
    SaveKnowledgeArticle(Envelope<SaveKnowledgeArticle>),
    DeleteKnowledgeArticle(Envelope<DeleteKnowledgeArticle>),
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
            AssignTicket::TYPE => Self::AssignTicket(raw.decode()?),
            ChangeTicketStatus::TYPE => Self::ChangeTicketStatus(raw.decode()?),
            UpdateTicket::TYPE => Self::UpdateTicket(raw.decode()?),
            AddInternalNote::TYPE => Self::AddInternalNote(raw.decode()?),
            CreateTicket::TYPE => Self::CreateTicket(raw.decode()?),
            TakeOverConversation::TYPE => Self::TakeOverConversation(raw.decode()?),
            HandBackConversation::TYPE => Self::HandBackConversation(raw.decode()?),
            CloseConversation::TYPE => Self::CloseConversation(raw.decode()?),
            RateConversation::TYPE => Self::RateConversation(raw.decode()?),
            SetAvailability::TYPE => Self::SetAvailability(raw.decode()?),
            AssignWaitingTickets::TYPE => Self::AssignWaitingTickets(raw.decode()?),
            EndChat::TYPE => Self::EndChat(raw.decode()?),
            SaveCannedResponse::TYPE => Self::SaveCannedResponse(raw.decode()?),
            DeleteCannedResponse::TYPE => Self::DeleteCannedResponse(raw.decode()?),
            SaveKnowledgeArticle::TYPE => Self::SaveKnowledgeArticle(raw.decode()?),
            DeleteKnowledgeArticle::TYPE => Self::DeleteKnowledgeArticle(raw.decode()?),
            other => return Err(DecodeError::UnknownType(other.to_owned())),
        })
    }
}
