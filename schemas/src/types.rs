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
