//! Subjects: where each message travels.
//!
//! Every subject starts with a configurable prefix (default `joxai`) so that tests, tenants and
//! environments sharing one NATS server never see each other's traffic.
//!
//! - commands: `{prefix}.cmd.{type}` (for example `joxai.cmd.chat.message.post`)
//! - events: `{prefix}.evt.conv.{conversation_id}.{type}`, so a customer's socket can replay exactly
//!   its own conversation's events by subject filter; a customer's own `message.created` has one
//!   more token, `.customer`, so the escalation classifier is delivered customer messages only
//! - system-wide events (not about a conversation): `{prefix}.evt.{type}` (`joxai.evt.settings.changed`,
//!   `joxai.evt.email.resend_requested`)
//! - dead letters: `{prefix}.dlq.{worker}`

use uuid::Uuid;

use crate::envelope::Message;

/// The subject namespace of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    prefix: String,
}

impl Subjects {
    /// `prefix` must be a NATS token: letters, digits, `-` and `_` only.
    pub fn new(prefix: impl Into<String>) -> Result<Self, InvalidPrefix> {
        let prefix = prefix.into();
        let valid = !prefix.is_empty()
            && prefix.len() <= 32
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if valid {
            Ok(Self { prefix })
        } else {
            Err(InvalidPrefix(prefix))
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The stream-name form of the prefix (`joxai-t1` → `JOXAI_T1`); stream names allow no dots or dashes.
    pub fn stream_prefix(&self) -> String {
        self.prefix.to_ascii_uppercase().replace('-', "_")
    }

    pub fn command<M: Message>(&self) -> String {
        format!("{}.cmd.{}", self.prefix, M::TYPE)
    }

    pub fn all_commands(&self) -> String {
        format!("{}.cmd.>", self.prefix)
    }

    pub fn event<M: Message>(&self, conversation_id: Uuid) -> String {
        format!("{}.evt.conv.{}.{}", self.prefix, conversation_id, M::TYPE)
    }

    /// Where a customer's `message.created` goes: the event's subject plus `.customer`. Only these
    /// need a bot-or-human decision; the bot's and agents' messages skip the classifier entirely.
    pub fn customer_message_created(&self, conversation_id: Uuid) -> String {
        format!(
            "{}.customer",
            self.event::<crate::events::MessageCreated>(conversation_id)
        )
    }

    /// Where the assistant's own `message.created` goes (its answers and notices): the event's subject plus
    /// `.bot`. Only the sockets want them; the email worker's filter (agents' replies) and the classifier's
    /// (customers' messages) never see them, which saves a delivery and an acknowledgement per chat turn.
    pub fn bot_message_created(&self, conversation_id: Uuid) -> String {
        format!(
            "{}.bot",
            self.event::<crate::events::MessageCreated>(conversation_id)
        )
    }

    /// Every customer's `message.created`, whatever the conversation (the classifier's filter).
    pub fn customer_messages_created(&self) -> String {
        format!(
            "{}.customer",
            self.events_of::<crate::events::MessageCreated>()
        )
    }

    /// Every event of one type, whatever the conversation (a consumer's filter).
    pub fn events_of<M: Message>(&self) -> String {
        format!("{}.evt.conv.*.{}", self.prefix, M::TYPE)
    }

    /// Every event of one conversation (a customer socket's replay filter).
    pub fn conversation_events(&self, conversation_id: Uuid) -> String {
        format!("{}.evt.conv.{}.>", self.prefix, conversation_id)
    }

    /// Where [`crate::events::SettingsChanged`] goes: in the events stream (`evt.>`), but under no
    /// conversation, so no customer socket ever receives it.
    pub fn settings_changed(&self) -> String {
        format!(
            "{}.evt.{}",
            self.prefix,
            crate::events::SettingsChanged::TYPE
        )
    }

    /// Where [`crate::events::EmailResendRequested`] goes: in the events stream, under no
    /// conversation (the email worker's consumer reads it; no customer socket ever does).
    pub fn email_resend_requested(&self) -> String {
        format!(
            "{}.evt.{}",
            self.prefix,
            crate::events::EmailResendRequested::TYPE
        )
    }

    pub fn all_events(&self) -> String {
        format!("{}.evt.>", self.prefix)
    }

    pub fn dead_letter(&self, worker: &str) -> String {
        format!("{}.dlq.{}", self.prefix, worker)
    }

    pub fn all_dead_letters(&self) -> String {
        format!("{}.dlq.>", self.prefix)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("subject prefix {0:?} must be 1-32 letters, digits, '-' or '_'")]
pub struct InvalidPrefix(pub String);
