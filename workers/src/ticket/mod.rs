//! The ticket worker: the only writer of conversations, messages and tickets.
//!
//! Every command is handled in one Postgres transaction keyed by the command's id, then the events it
//! caused are published with ids derived from that command. A redelivered command therefore changes
//! nothing twice: the insert finds the row already there, and the republished events are dropped by
//! JetStream's duplicate window (or recognised by id downstream).

mod store;

use joxai_platform::Platform;
use joxai_platform::metrics::metrics;
use joxai_schemas::commands::{
    Command, EscalateConversation, PostAgentReply, PostCustomerMessage, StartConversation, StoreBotReply,
};
use joxai_schemas::events::{ConversationEscalated, ConversationStarted, MessageCreated, TicketCreated};
use joxai_schemas::types::{ConversationOwner, Sender};
use joxai_schemas::{Envelope, Message, RawEnvelope};
use uuid::Uuid;

use crate::runtime::{Delivery, Failure, Handler};
pub use store::NewMessage;

pub struct TicketWorker {
    platform: Platform,
}

impl TicketWorker {
    pub fn new(platform: Platform) -> Self {
        Self { platform }
    }

    async fn publish<T: Message>(&self, conversation_id: Uuid, envelope: Envelope<T>) -> Result<(), Failure> {
        let subject = self.platform.bus.subjects().event::<T>(conversation_id);
        self.platform.bus.publish(subject, &envelope).await?;
        Ok(())
    }

    async fn start_conversation(&self, cmd: Envelope<StartConversation>) -> Result<(), Failure> {
        let p = &cmd.payload;
        let mut client = self.platform.db.client().await?;
        let tx = client.transaction().await.map_err(joxai_platform::db::DbError::from)?;
        store::ensure_conversation(&tx, p.conversation_id, &p.customer, &p.locale, &p.channel).await?;
        tx.commit().await.map_err(joxai_platform::db::DbError::from)?;
        let event = ConversationStarted {
            conversation_id: p.conversation_id,
            customer: p.customer.clone(),
            locale: p.locale.clone(),
        };
        self.publish(p.conversation_id, Envelope::derived(&cmd, event)).await
    }

    async fn post_customer_message(&self, cmd: Envelope<PostCustomerMessage>) -> Result<(), Failure> {
        let p = &cmd.payload;
        let mut client = self.platform.db.client().await?;
        let tx = client.transaction().await.map_err(joxai_platform::db::DbError::from)?;
        let conversation = store::ensure_conversation(&tx, p.conversation_id, &p.customer, "en", "widget").await?;
        let message = store::insert_message(&tx, NewMessage {
            id: p.message_id,
            conversation_id: p.conversation_id,
            sender: Sender::Customer,
            author_id: None,
            text: &p.text,
            client_message_id: Some(&p.client_message_id),
            in_reply_to: None,
            intent: None,
            confidence: None,
        })
        .await?;
        tx.commit().await.map_err(joxai_platform::db::DbError::from)?;
        let event = MessageCreated {
            message: message.view,
            owner: conversation.owner,
            customer: p.customer.clone(),
            locale: conversation.locale,
        };
        self.publish(p.conversation_id, Envelope::derived(&cmd, event)).await
    }

    async fn store_bot_reply(&self, cmd: Envelope<StoreBotReply>) -> Result<(), Failure> {
        let p = &cmd.payload;
        let mut client = self.platform.db.client().await?;
        let tx = client.transaction().await.map_err(joxai_platform::db::DbError::from)?;
        // Lock the conversation so an escalation cannot slip in between this check and the insert.
        let Some(conversation) = store::lock_conversation(&tx, p.conversation_id).await? else {
            return Err(Failure::Permanent(anyhow::anyhow!("conversation {} does not exist", p.conversation_id)));
        };
        if conversation.owner != ConversationOwner::Bot {
            tracing::info!(conversation_id = %p.conversation_id, "an agent owns the conversation: bot reply dropped");
            return Ok(());
        }
        let message = store::insert_message(&tx, NewMessage {
            id: p.message_id,
            conversation_id: p.conversation_id,
            sender: Sender::Bot,
            author_id: None,
            text: &p.text,
            client_message_id: None,
            in_reply_to: Some(p.in_reply_to),
            intent: p.intent.as_deref(),
            confidence: p.confidence,
        })
        .await?;
        tx.commit().await.map_err(joxai_platform::db::DbError::from)?;
        if message.inserted {
            let m = metrics();
            m.chat_turns.inc();
            let turn = (time::OffsetDateTime::now_utc() - p.question_at).as_seconds_f64().max(0.0);
            m.chat_turn_duration.observe(turn);
        }
        let event = MessageCreated {
            message: message.view,
            owner: ConversationOwner::Bot,
            customer: conversation.customer,
            locale: conversation.locale,
        };
        self.publish(p.conversation_id, Envelope::derived(&cmd, event)).await
    }

    async fn escalate(&self, cmd: Envelope<EscalateConversation>) -> Result<(), Failure> {
        let p = &cmd.payload;
        let mut client = self.platform.db.client().await?;
        let tx = client.transaction().await.map_err(joxai_platform::db::DbError::from)?;
        let Some(conversation) = store::lock_conversation(&tx, p.conversation_id).await? else {
            // The conversation's start command may not be stored yet: try again shortly.
            return Err(Failure::Transient(anyhow::anyhow!("conversation {} not stored yet", p.conversation_id)));
        };
        let outcome = store::open_ticket(&tx, cmd.id, p, &conversation.locale).await?;
        tx.commit().await.map_err(joxai_platform::db::DbError::from)?;
        if outcome.created {
            let m = metrics();
            m.escalations.with_label_values(&[p.reason.as_str()]).inc();
            m.tickets_created.with_label_values(&[outcome.ticket.priority.as_str()]).inc();
        }
        // Events derive from the command that opened the ticket, so a second escalation of the same
        // conversation republishes the same ids and nothing is pushed twice.
        let source = outcome.source_command_id;
        if let Some(system_message) = outcome.system_message {
            let event = MessageCreated {
                message: system_message,
                owner: ConversationOwner::Agent,
                customer: conversation.customer.clone(),
                locale: conversation.locale.clone(),
            };
            self.publish(p.conversation_id, Envelope::derived_from_id(source, cmd.correlation_id, event)).await?;
        }
        let escalated = ConversationEscalated {
            conversation_id: p.conversation_id,
            ticket_id: outcome.ticket.id,
            ticket_number: outcome.ticket.number.clone(),
            priority: outcome.ticket.priority,
            reason: outcome.ticket.reason,
        };
        self.publish(p.conversation_id, Envelope::derived_from_id(source, cmd.correlation_id, escalated)).await?;
        let created = TicketCreated { ticket: outcome.ticket };
        self.publish(p.conversation_id, Envelope::derived_from_id(source, cmd.correlation_id, created)).await
    }

    async fn post_agent_reply(&self, cmd: Envelope<PostAgentReply>) -> Result<(), Failure> {
        let p = &cmd.payload;
        let mut client = self.platform.db.client().await?;
        let tx = client.transaction().await.map_err(joxai_platform::db::DbError::from)?;
        let Some((conversation_id, conversation)) = store::lock_ticket_conversation(&tx, p.ticket_id).await? else {
            return Err(Failure::Permanent(anyhow::anyhow!("ticket {} has no conversation", p.ticket_id)));
        };
        let message = store::insert_message(&tx, NewMessage {
            id: p.message_id,
            conversation_id,
            sender: Sender::Agent,
            author_id: Some(p.agent_id),
            text: &p.text,
            client_message_id: None,
            in_reply_to: None,
            intent: None,
            confidence: None,
        })
        .await?;
        if message.inserted {
            store::record_agent_reply(&tx, p.ticket_id, p.agent_id, cmd.id).await?;
        }
        tx.commit().await.map_err(joxai_platform::db::DbError::from)?;
        let event = MessageCreated {
            message: message.view,
            owner: conversation.owner,
            customer: conversation.customer,
            locale: conversation.locale,
        };
        self.publish(conversation_id, Envelope::derived(&cmd, event)).await
    }
}

impl Handler for TicketWorker {
    async fn handle(&self, delivery: &Delivery) -> Result<(), Failure> {
        let raw = RawEnvelope::parse(&delivery.payload)?;
        match Command::decode(&raw)? {
            Command::StartConversation(c) => self.start_conversation(c).await,
            Command::PostCustomerMessage(c) => self.post_customer_message(c).await,
            Command::StoreBotReply(c) => self.store_bot_reply(c).await,
            Command::EscalateConversation(c) => self.escalate(c).await,
            Command::PostAgentReply(c) => self.post_agent_reply(c).await,
        }
    }
}

