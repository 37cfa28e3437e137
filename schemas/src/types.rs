//! Vocabulary shared by commands, events and the HTTP API.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    Customer,
    Bot,
    Agent,
    System,
}

/// Who answers a conversation right now. Once an agent owns it the bot never answers it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationOwner {
    Bot,
    Agent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    InProgress,
    Resolved,
    Closed,
}

/// Why a conversation was handed to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    /// The customer asked for a person.
    CustomerAsked,
    /// A topic that must reach a person at once (lost or stolen card, unrecognised payment, ...).
    UrgentIntent,
    /// Repeated questions or negative wording.
    Frustration,
    /// The model was unsure twice in a row.
    LowConfidence,
    /// The AI could not produce an answer.
    AiFailure,
    /// The request needs a person to act (refund, dispute, account change).
    NeedsHumanAction,
    /// Opened by a person through the API.
    Manual,
}

/// The classifier's verdict on one customer message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Bot,
    Escalate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Admin,
    Supervisor,
    Agent,
}

/// Who the customer is, as far as the bank vouched for it.
///
/// `external_ref` is the bank's own customer reference; it is only set when the bank's page signed it
/// with the widget secret, so an account-specific answer is never given to an unverified visitor.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CustomerRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub verified: bool,
}

/// A message as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub sender: Sender,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A ticket as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketView {
    pub id: Uuid,
    pub number: String,
    pub conversation_id: Option<Uuid>,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub reason: EscalationReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// `as_str` and `FromStr` for the enums above, matching their serde names (the same words are stored
/// in Postgres and used as metric labels).
macro_rules! names {
    ($($ty:ident { $($variant:ident => $name:literal),* $(,)? })*) => {
        $(
            impl $ty {
                pub const ALL: &'static [$ty] = &[$($ty::$variant),*];
                pub fn as_str(self) -> &'static str {
                    match self { $($ty::$variant => $name),* }
                }
            }
            impl std::str::FromStr for $ty {
                type Err = UnknownName;
                fn from_str(s: &str) -> Result<Self, UnknownName> {
                    match s { $($name => Ok($ty::$variant),)* _ => Err(UnknownName(s.to_owned())) }
                }
            }
            impl std::fmt::Display for $ty {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
            }
        )*
    };
}

#[derive(Debug, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownName(pub String);

names! {
    Sender { Customer => "customer", Bot => "bot", Agent => "agent", System => "system" }
    ConversationOwner { Bot => "bot", Agent => "agent" }
    Priority { Low => "low", Normal => "normal", High => "high", Urgent => "urgent" }
    TicketStatus { Open => "open", InProgress => "in_progress", Resolved => "resolved", Closed => "closed" }
    EscalationReason {
        CustomerAsked => "customer_asked", UrgentIntent => "urgent_intent", Frustration => "frustration",
        LowConfidence => "low_confidence", AiFailure => "ai_failure", NeedsHumanAction => "needs_human_action",
        Manual => "manual",
    }
    Decision { Bot => "bot", Escalate => "escalate" }
    StaffRole { Admin => "admin", Supervisor => "supervisor", Agent => "agent" }
}

/// Whether a staff member takes new tickets now. Only `online` agents get tickets assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Online,
    Away,
    Offline,
}

names! {
    Availability { Online => "online", Away => "away", Offline => "offline" }
}

/// Who asked for a desk change, taken from the verified token (never from a request body). The
/// ticket worker re-checks the actor's scope in the same transaction as the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: Uuid,
    pub role: StaffRole,
}

impl Actor {
    /// Supervisors and admins may act on every ticket; an agent only on their own.
    pub fn sees_everything(&self) -> bool {
        matches!(self.role, StaffRole::Admin | StaffRole::Supervisor)
    }
}

impl TicketStatus {
    /// The ticket state machine: open → in_progress → resolved → closed, with reopening.
    pub fn can_become(self, next: TicketStatus) -> bool {
        use TicketStatus::*;
        matches!(
            (self, next),
            (Open, InProgress | Resolved | Closed)
                | (InProgress, Open | Resolved | Closed)
                | (Resolved, Closed | InProgress)
                | (Closed, InProgress)
        )
    }

    /// Whether the ticket still needs work (counts towards an agent's load).
    pub fn is_active(self) -> bool {
        matches!(self, TicketStatus::Open | TicketStatus::InProgress)
    }
}

impl Priority {
    /// SLA targets in seconds: (first response, resolution). Banks' usual tiers: a lost card
    /// (urgent) must get a person within 15 minutes.
    pub fn sla_seconds(self) -> (i64, i64) {
        match self {
            Priority::Urgent => (15 * 60, 4 * 3600),
            Priority::High => (3600, 8 * 3600),
            Priority::Normal => (4 * 3600, 24 * 3600),
            Priority::Low => (8 * 3600, 72 * 3600),
        }
    }
}

/// An internal note on a ticket: staff only, never part of the customer's transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteView {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub author_id: Uuid,
    pub author_name: String,
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A message with its author's display name, as clients show it ("Alex Agent"): the fields of
/// [`MessageView`] plus `author_name` (agent messages only). A wrapper rather than a new field on
/// `MessageView` so every existing constructor of that type stays valid; on the wire it is the same
/// object with one more optional key, which readers of `MessageView` ignore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedMessage {
    #[serde(flatten)]
    pub message: MessageView,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
}
