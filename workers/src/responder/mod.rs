//! The AI responder: answers customer messages in bot-owned conversations.
//!
//! It reacts to `message.classified` events whose decision is `bot`, writes an answer with the
//! offline responder ([`offline`]), and sends it to the ticket worker as a `chat.message.bot_reply`
//! command whose id is derived from the question, so a question is answered at most once however
//! often it is redelivered. The ticket worker stores the answer only if the bot still owns the
//! conversation at that moment; the responder also checks before doing the work.

pub mod offline;

use joxai_platform::Platform;
use joxai_schemas::commands::{EscalateConversation, StoreBotReply};
use joxai_schemas::events::MessageClassified;
use joxai_schemas::types::{Decision, EscalationReason, Priority};
use joxai_schemas::{Envelope, Event, RawEnvelope, derive_id};
use uuid::Uuid;

use crate::runtime::{Delivery, Failure, Handler};

/// An answer, or a structured request to hand over to a person.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Reply(String),
    Handoff { reason: EscalationReason, priority: Priority, reply: Option<String> },
}

pub struct AiResponder {
    platform: Platform,
}

impl AiResponder {
    pub fn new(platform: Platform) -> Self {
        Self { platform }
    }

    async fn bot_owns(&self, conversation_id: Uuid) -> Result<bool, Failure> {
        let client = self.platform.db.client().await?;
        let row = client
            .query_opt("SELECT owner FROM conversations WHERE id = $1", &[&conversation_id])
            .await
            .map_err(joxai_platform::db::DbError::from)?;
        Ok(row.is_some_and(|r| r.get::<_, &str>(0) == "bot"))
    }

    async fn on_classified(&self, event: Envelope<MessageClassified>) -> Result<(), Failure> {
        let q = &event.payload;
        if q.decision != Decision::Bot || !self.bot_owns(q.conversation_id).await? {
            return Ok(());
        }
        let answer = offline::answer(q);
        let subjects = self.platform.bus.subjects();
        let reply_text = match answer {
            Answer::Reply(text) => Some(text),
            Answer::Handoff { reason, priority, reply } => {
                let command = EscalateConversation {
                    conversation_id: q.conversation_id,
                    reason,
                    priority,
                    requested_by: "responder".into(),
                    trigger_message_id: Some(q.message_id),
                    summary: None,
                };
                self.platform
                    .bus
                    .publish(subjects.command::<EscalateConversation>(), &Envelope::derived(&event, command))
                    .await?;
                reply
            }
        };
        if let Some(text) = reply_text {
            // The reply's id is the command's id: one answer per question, whatever happens.
            let message_id = derive_id(q.message_id, "bot-reply");
            let command = StoreBotReply {
                conversation_id: q.conversation_id,
                message_id,
                in_reply_to: q.message_id,
                text,
                intent: Some(q.intent.clone()),
                confidence: Some(q.confidence),
                question_at: q.question_at,
            };
            let envelope = Envelope::with_id(message_id, event.correlation_id, Some(event.id), command);
            self.platform.bus.publish(subjects.command::<StoreBotReply>(), &envelope).await?;
        }
        Ok(())
    }
}

impl Handler for AiResponder {
    async fn handle(&self, delivery: &Delivery) -> Result<(), Failure> {
        let raw = RawEnvelope::parse(&delivery.payload)?;
        match Event::decode(&raw)? {
            Event::MessageClassified(event) => self.on_classified(event).await,
            _ => Ok(()),
        }
    }
}
