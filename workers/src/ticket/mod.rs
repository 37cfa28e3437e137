//! The ticket worker: the only writer of conversations, messages and tickets.
//!
//! Every command is handled in one Postgres transaction keyed by the command's id, then the events it
//! caused are published with ids derived from that command. A redelivered command therefore changes
//! nothing twice: the insert finds the row already there, and the republished events are dropped by
//! JetStream's duplicate window (or recognised by id downstream).

mod batch;
pub mod desk;
pub mod lifecycle;
mod store;

use joxai_platform::Platform;
use joxai_platform::metrics::metrics;
use joxai_schemas::commands::{
    Command, EscalateConversation, PostAgentReply, PostCustomerMessage, StartConversation,
    StoreBotReply,
};
use joxai_schemas::events::{
    ConversationEscalated, ConversationStarted, MessageCreated, MessageRedacted,
    NamedMessageCreated, TicketCreated,
};
use joxai_schemas::types::{ConversationOwner, NamedMessage, Sender};
use joxai_schemas::{Envelope, Message, RawEnvelope};
use uuid::Uuid;

use crate::runtime::{Delivery, Failure, Handler};
pub use store::NewMessage;

/// How old an unanswered earlier question of the conversation may be and still hold a later answer
/// back (see [`store::earlier_question_unanswered`]), and how long a customer's message waits for
/// their previous one (see `wait_for_previous`): longer than the AI responder's ack wait (60 s),
/// so an answer whose responder died, or whose broker node was down, is redelivered and stored
/// first. A question that never gets a bot answer holds the later ones up for at most this long.
const ORDER_WINDOW: std::time::Duration = std::time::Duration::from_secs(90);
/// How long one delivery of a bot reply waits in this process for that earlier answer, polling;
/// then it is handed back to the broker to come again later ([`Failure::NotYet`]), so a long wait
/// holds no handler slot and no connection.
const ORDER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
const ORDER_POLL: std::time::Duration = std::time::Duration::from_millis(20);
const ORDER_POLL_MAX: std::time::Duration = std::time::Duration::from_millis(320);
/// How far back a take-over re-publishes bot replies ahead of its own events. Shorter than the
/// events stream's duplicate window (120 s), so the re-published copies are recognised as the same.
const TAKEOVER_REPUBLISH: std::time::Duration = std::time::Duration::from_secs(60);

pub struct TicketWorker {
    platform: Platform,
    /// Woken each time this process stores a bot reply, so an answer waiting for an earlier one
    /// (see `store_bot_reply`) looks again at once instead of at its next poll. Answers stored by
    /// other processes are seen at the next poll.
    reply_stored: tokio::sync::Notify,
    /// Shares commits between the hot statements of concurrent messages (see [`batch`]).
    batcher: batch::WriteBatcher,
}

/// Write batches in flight at once, each on one pooled connection (`JOXAI_TICKET_WRITE_LANES`
/// overrides it). A second lane keeps Postgres busy while a batch's commit is being flushed; more
/// would only make batches smaller, so more commits for the same messages.
const WRITE_LANES: usize = 2;

impl TicketWorker {
    /// Must be called inside a Tokio runtime: it starts the write batcher's tasks.
    pub fn new(platform: Platform) -> Self {
        // At most a quarter of the pool, so the lanes never take every connection of a small pool.
        let lanes = std::env::var("JOXAI_TICKET_WRITE_LANES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(WRITE_LANES)
            .min((platform.config.db_pool_size / 4).max(1));
        let batcher = batch::WriteBatcher::start(platform.db.clone(), lanes);
        Self {
            platform,
            reply_stored: tokio::sync::Notify::new(),
            batcher,
        }
    }

    /// The bank's settings as last loaded (they follow every change saved in the panel).
    fn settings(&self) -> std::sync::Arc<joxai_platform::settings::SystemSettings> {
        std::sync::Arc::new(self.platform.settings.current().settings.clone())
    }

    async fn publish<T: Message>(
        &self,
        conversation_id: Uuid,
        envelope: Envelope<T>,
    ) -> Result<(), Failure> {
        let subject = self.platform.bus.subjects().event::<T>(conversation_id);
        self.platform.bus.publish(subject, &envelope).await?;
        Ok(())
    }

    /// Publish one of the assistant's messages (an answer or a notice) on its own subject (see
    /// [`joxai_schemas::subjects::Subjects::bot_message_created`]).
    async fn publish_bot_message(
        &self,
        conversation_id: Uuid,
        envelope: Envelope<MessageCreated>,
    ) -> Result<(), Failure> {
        let subject = self
            .platform
            .bus
            .subjects()
            .bot_message_created(conversation_id);
        self.platform.bus.publish(subject, &envelope).await?;
        Ok(())
    }

    async fn start_conversation(&self, cmd: Envelope<StartConversation>) -> Result<(), Failure> {
        let p = &cmd.payload;
        let mut client = self.platform.db.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(joxai_platform::db::DbError::from)?;
        store::ensure_conversation(&tx, p.conversation_id, &p.customer, &p.locale, &p.channel)
            .await?;
        // The customer's first message may have been stored first, creating the conversation with the
        // default language: the start command is the one that knows it.
        store::set_conversation_start(&tx, p.conversation_id, &p.locale, p.follows_conversation_id)
            .await?;
        tx.commit()
            .await
            .map_err(joxai_platform::db::DbError::from)?;
        drop(client); // before publishing (see `escalate`)
        let event = ConversationStarted {
            conversation_id: p.conversation_id,
            customer: p.customer.clone(),
            locale: p.locale.clone(),
        };
        self.publish(p.conversation_id, Envelope::derived(&cmd, event))
            .await
    }

    async fn post_customer_message(
        &self,
        cmd: Envelope<PostCustomerMessage>,
    ) -> Result<(), Failure> {
        let p = &cmd.payload;
        let new = NewMessage {
            id: p.message_id,
            conversation_id: p.conversation_id,
            sender: Sender::Customer,
            author_id: None,
            text: &p.text,
            client_message_id: Some(&p.client_message_id),
            in_reply_to: None,
            intent: None,
            confidence: None,
        };
        // Messages with masked card data, and messages that could be part of a card number split over messages
        // ("4111 1111", then "1111 1111"), take the general path: it reads the earlier messages.
        let may_be_split = joxai_nlu::redact::may_be_part_of_a_number(&p.text);
        let needs_care = p.card_data_masked || may_be_split;
        let fast = if needs_care {
            None
        } else {
            self.batcher
                .customer_message(&new, p.after_message_id)
                .await?
        };
        let mut redacted = vec![];
        let mut notice = None;
        let (message, conversation, history) = match fast {
            Some((message, conversation, history)) => (message, conversation, Some(history)),
            None => {
                // No conversation yet, a redelivery, card data, or the customer's previous message
                // is not stored yet: the general path.
                self.wait_for_previous(&cmd).await?;
                let mut client = self.platform.db.client().await?;
                let tx = client
                    .transaction()
                    .await
                    .map_err(joxai_platform::db::DbError::from)?;
                let conversation =
                    store::ensure_conversation(&tx, p.conversation_id, &p.customer, "en", "widget")
                        .await?;
                let mut text = std::borrow::Cow::Borrowed(p.text.as_str());
                let mut earlier = vec![];
                if may_be_split {
                    // Locked, so that of two parts of one number stored at once by two workers, the second to
                    // commit sees the first.
                    store::lock_conversation(&tx, p.conversation_id).await?;
                    earlier =
                        store::recent_customer_texts(&tx, p.conversation_id, p.message_id).await?;
                    let parts: Vec<&str> = earlier.iter().map(|(_, text)| text.as_str()).collect();
                    if let Some(split) = joxai_nlu::redact::mask_split_number(&parts, &p.text) {
                        for ((id, _), change) in earlier.iter().zip(split.earlier) {
                            if let Some(masked) = change {
                                store::replace_message_text(&tx, *id, &masked).await?;
                                redacted.push((*id, masked));
                            }
                        }
                        if let Some(masked) = split.latest {
                            text = std::borrow::Cow::Owned(masked);
                        }
                        // A ticket opened on an earlier part quotes it in its subject: masked the same way.
                        store::mask_split_number_in_subjects(&tx, p.conversation_id, &p.text)
                            .await?;
                    }
                }
                let message = store::insert_message(&tx, NewMessage { text: &text, ..new }).await?;
                if !message.inserted && redacted.is_empty() {
                    // A redelivery. The first attempt may have masked earlier parts of a split number and
                    // stopped before the clients were told: tell them again (same event ids, so a client
                    // that already heard it hears nothing new).
                    redacted.extend(earlier.into_iter().filter(|(_, text)| text.contains('*')));
                }
                if p.card_data_masked || !redacted.is_empty() {
                    notice = store::insert_card_data_notice(
                        &tx,
                        p.conversation_id,
                        &conversation.locale,
                    )
                    .await?;
                }
                tx.commit()
                    .await
                    .map_err(joxai_platform::db::DbError::from)?;
                drop(client); // before publishing (see `escalate`)
                // The classifier reads the history itself on this (rare) path.
                (message, conversation, None)
            }
        };
        let mut conversation = conversation;
        if conversation.closed {
            let (next, _) = lifecycle::conversation_transition(
                lifecycle::ConversationState::Closed,
                lifecycle::ConversationEvent::CustomerMessage,
            )
            .map_err(|refusal| {
                Failure::Permanent(anyhow::anyhow!(
                    "lifecycle refused a late message: {refusal:?}"
                ))
            })?;
            debug_assert_eq!(next, lifecycle::ConversationState::WithBot);
            let client = self.platform.db.client().await?;
            store::reopen_for_assistant(&client, p.conversation_id).await?;
            drop(client);
            tracing::info!(conversation_id = %p.conversation_id, "a message reached an ended conversation: the assistant answers it");
            conversation.owner = ConversationOwner::Bot;
            conversation.closed = false;
        }
        let event = MessageCreated {
            message: message.view,
            owner: conversation.owner,
            customer: p.customer.clone(),
            locale: conversation.locale,
            history,
        };
        let owner = event.owner;
        let locale = event.locale.clone();
        // On the customer-message subject: the classifier's filter takes only these.
        let subject = self
            .platform
            .bus
            .subjects()
            .customer_message_created(p.conversation_id);
        self.platform
            .bus
            .publish(subject, &Envelope::derived(&cmd, event))
            .await?;
        // Ids derived from the command and the message: a redelivered command republishes the same events,
        // which JetStream's duplicate window drops.
        for (message_id, text) in redacted {
            let event = MessageRedacted {
                conversation_id: p.conversation_id,
                message_id,
                text,
            };
            let id = joxai_schemas::derive_id(cmd.id, &format!("message.redacted.{message_id}"));
            self.publish(
                p.conversation_id,
                Envelope::with_id(id, cmd.correlation_id, Some(cmd.id), event),
            )
            .await?;
        }
        if let Some(note) = notice {
            let event = MessageCreated {
                message: note.view,
                owner,
                customer: p.customer.clone(),
                locale,
                history: None,
            };
            let id = joxai_schemas::derive_id(cmd.id, "message.created.card_data_notice");
            self.publish_bot_message(
                p.conversation_id,
                Envelope::with_id(id, cmd.correlation_id, Some(cmd.id), event),
            )
            .await?;
        }
        Ok(())
    }

    /// Return once the customer's previous message (`after_message_id`) is stored, so the customer's
    /// messages are stored, and answered, in the order they sent them. It polls for up to
    /// [`ORDER_WAIT`], then hands the message back to the broker ([`Failure::NotYet`]). A previous
    /// message that has not arrived [`ORDER_WINDOW`] after this one was accepted holds it up no
    /// longer (the client named one that was never accepted, or it failed for good).
    async fn wait_for_previous(&self, cmd: &Envelope<PostCustomerMessage>) -> Result<(), Failure> {
        let Some(previous) = cmd.payload.after_message_id else {
            return Ok(());
        };
        let started = tokio::time::Instant::now();
        let mut poll = ORDER_POLL;
        loop {
            {
                let client = self.platform.db.client().await?;
                if store::message_exists(&client, previous).await? {
                    return Ok(());
                }
            }
            let waited = time::OffsetDateTime::now_utc() - cmd.occurred_at;
            if waited > ORDER_WINDOW {
                tracing::warn!(conversation_id = %cmd.payload.conversation_id, %previous, "the customer's previous message never arrived: storing this one without it");
                return Ok(());
            }
            if started.elapsed() >= ORDER_WAIT {
                return Err(Failure::NotYet(anyhow::anyhow!(
                    "the customer's previous message {previous} is not stored yet"
                )));
            }
            tokio::time::sleep(poll).await;
            poll = (poll * 2).min(ORDER_POLL_MAX);
        }
    }

    async fn store_bot_reply(
        &self,
        cmd: Envelope<StoreBotReply>,
        delivery: &Delivery,
    ) -> Result<(), Failure> {
        use joxai_platform::db::DbError;
        let p = &cmd.payload;
        let started = tokio::time::Instant::now();
        let mut poll = ORDER_POLL;
        let new = NewMessage {
            id: p.message_id,
            conversation_id: p.conversation_id,
            sender: Sender::Bot,
            author_id: None,
            text: &p.text,
            client_message_id: None,
            in_reply_to: Some(p.in_reply_to),
            intent: p.intent.as_deref(),
            confidence: p.confidence,
        };
        // The common case in one statement (sharing its commit with others when the worker is
        // busy), then the answers that came before it, read after it so every earlier one is seen.
        let fast = {
            let (fast, earlier) = self.batcher.bot_reply(&new, ORDER_WINDOW).await?;
            match fast {
                store::FastBotReply::AgentOwns => {
                    tracing::info!(conversation_id = %p.conversation_id, "an agent owns the conversation: bot reply dropped");
                    return Ok(());
                }
                store::FastBotReply::Stored(message, conversation) => {
                    self.reply_stored.notify_waiters();
                    let earlier: Vec<_> = earlier
                        .into_iter()
                        .filter(|m| m.id != p.message_id)
                        .collect();
                    Some((message, conversation, earlier))
                }
                store::FastBotReply::NotHandled => None,
            }
        };
        let (message, conversation, earlier) = if let Some(done) = fast {
            done
        } else {
            loop {
                // Registered before looking, so an answer stored while we look still wakes us.
                let stored_meanwhile = self.reply_stored.notified();
                tokio::pin!(stored_meanwhile);
                stored_meanwhile.as_mut().enable();
                let mut client = self.platform.db.client().await?;
                let tx = client.transaction().await.map_err(DbError::from)?;
                // Three statements in one round trip, run by Postgres in this order: lock the
                // conversation (so an escalation cannot slip in between the owner check and the
                // insert), then — each with a fresh snapshot taken once the lock is held, so every
                // earlier answer is committed and visible — is an earlier question still unanswered
                // (answers go out in the order of the questions), and which answers came before.
                let (conversation, waiting, earlier) = tokio::try_join!(
                    store::lock_conversation(&tx, p.conversation_id),
                    store::earlier_question_unanswered(
                        &tx,
                        p.conversation_id,
                        p.in_reply_to,
                        ORDER_WINDOW
                    ),
                    store::recent_bot_replies(
                        &tx,
                        p.conversation_id,
                        store::REPUBLISH_WINDOW,
                        store::REPUBLISH_MAX
                    ),
                )?;
                let Some(conversation) = conversation else {
                    return Err(Failure::Permanent(anyhow::anyhow!(
                        "conversation {} does not exist",
                        p.conversation_id
                    )));
                };
                if conversation.owner != ConversationOwner::Bot {
                    tracing::info!(conversation_id = %p.conversation_id, "an agent owns the conversation: bot reply dropped");
                    return Ok(());
                }
                if waiting && started.elapsed() >= ORDER_WAIT {
                    // Still waiting: the earlier answer is late (its responder or broker node died
                    // and it will be redelivered). Come back later rather than answer out of order.
                    tracing::info!(conversation_id = %p.conversation_id, attempt = delivery.attempt, "an earlier question is not answered yet: the answer waits");
                    return Err(Failure::NotYet(anyhow::anyhow!(
                        "an earlier question of conversation {} is not answered yet",
                        p.conversation_id
                    )));
                }
                if waiting {
                    drop(tx);
                    drop(client);
                    // Polls back off (20 ms doubling to 320 ms): a backlog of waiting answers must not
                    // take the connections the answers they wait for need. An answer stored by this
                    // process ends the wait early.
                    let _ = tokio::time::timeout(poll, stored_meanwhile).await;
                    poll = (poll * 2).min(ORDER_POLL_MAX);
                    continue;
                }
                let message = store::insert_message(&tx, new.clone()).await?;
                tx.commit().await.map_err(DbError::from)?;
                self.reply_stored.notify_waiters();
                let earlier: Vec<_> = earlier
                    .into_iter()
                    .filter(|m| m.id != p.message_id)
                    .collect();
                break (message, conversation, earlier);
            }
        };
        // An earlier answer may be stored but not yet published (another worker is between its
        // commit and its publish): publish it first, under its own id, so it cannot arrive second.
        self.publish_replies(p.conversation_id, earlier, &conversation)
            .await?;
        if message.inserted {
            let m = metrics();
            m.chat_turns.inc();
            let turn = (time::OffsetDateTime::now_utc() - p.question_at)
                .as_seconds_f64()
                .max(0.0);
            m.chat_turn_duration.observe(turn);
        }
        let event = MessageCreated {
            message: message.view,
            owner: ConversationOwner::Bot,
            customer: conversation.customer,
            locale: conversation.locale,
            history: None,
        };
        self.publish_bot_message(p.conversation_id, Envelope::derived(&cmd, event))
            .await?;
        if let Some(handoff) = p.handoff {
            // Published only now, after the reply is stored, so the escalation cannot overtake it.
            let escalate = EscalateConversation {
                conversation_id: p.conversation_id,
                reason: handoff.reason,
                priority: handoff.priority,
                requested_by: "responder".into(),
                trigger_message_id: Some(p.in_reply_to),
                summary: None,
            };
            let subject = self
                .platform
                .bus
                .subjects()
                .command::<EscalateConversation>();
            self.platform
                .bus
                .publish(subject, &Envelope::derived(&cmd, escalate))
                .await?;
        }
        Ok(())
    }

    async fn escalate(&self, cmd: Envelope<EscalateConversation>) -> Result<(), Failure> {
        let p = &cmd.payload;
        let mut client = self.platform.db.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(joxai_platform::db::DbError::from)?;
        let Some(conversation) = store::lock_conversation(&tx, p.conversation_id).await? else {
            // The conversation's start command may not be stored yet: try again shortly.
            return Err(Failure::Transient(anyhow::anyhow!(
                "conversation {} not stored yet",
                p.conversation_id
            )));
        };
        if conversation.closed {
            // An escalation that arrives after the conversation ended (a late classifier verdict, a click
            // in a stale widget): nobody is there to help; the customer's next message opens a new one.
            let refusal = lifecycle::conversation_transition(
                lifecycle::ConversationState::Closed,
                lifecycle::ConversationEvent::Escalate,
            );
            tracing::info!(conversation_id = %p.conversation_id, ?refusal, "escalation of a closed conversation dropped");
            return Ok(());
        }
        let settings = self.settings();
        let outcome = store::open_ticket(&tx, cmd.id, p, &conversation.locale, &settings).await?;
        if outcome.created {
            // Give the new ticket to a free agent now, in the same transaction; its events are
            // recorded under the opening command and published after the ticket's own.
            let mut ctx = desk::Ctx {
                cmd_id: cmd.id,
                correlation_id: cmd.correlation_id,
                subjects: self.platform.bus.subjects().clone(),
                events: vec![],
                settings,
            };
            desk::auto_assign(&tx, &mut ctx, outcome.ticket.id).await?;
            let events = serde_json::to_value(&ctx.events).unwrap_or_default();
            tx.execute(
                "INSERT INTO command_results (id, kind, ok, events) VALUES ($1, 'conversation.escalate', true, $2)
                 ON CONFLICT (id) DO NOTHING",
                &[&cmd.id, &events],
            )
            .await
            .map_err(joxai_platform::db::DbError::from)?;
        }
        tx.commit()
            .await
            .map_err(joxai_platform::db::DbError::from)?;
        // Give the connection back before publishing: what follows may need one of its own, and
        // holding one while waiting for another can starve a small pool (found with a pool of 4).
        drop(client);
        if outcome.created {
            let m = metrics();
            m.escalations.with_label_values(&[p.reason.as_str()]).inc();
            m.tickets_created
                .with_label_values(&[outcome.ticket.priority.as_str()])
                .inc();
        }
        // A bot reply stored before the hand-over must not reach the customer after it.
        self.publish_bot_replies_first(p.conversation_id, TAKEOVER_REPUBLISH)
            .await?;
        // Events derive from the command that opened the ticket, so a second escalation of the same
        // conversation republishes the same ids and nothing is pushed twice.
        let source = outcome.source_command_id;
        if let Some(system_message) = outcome.system_message {
            let event = MessageCreated {
                message: system_message,
                owner: ConversationOwner::Agent,
                customer: conversation.customer.clone(),
                locale: conversation.locale.clone(),
                history: None,
            };
            self.publish_bot_message(
                p.conversation_id,
                Envelope::derived_from_id(source, cmd.correlation_id, event),
            )
            .await?;
        }
        let escalated = ConversationEscalated {
            conversation_id: p.conversation_id,
            ticket_id: outcome.ticket.id,
            ticket_number: outcome.ticket.number.clone(),
            priority: outcome.ticket.priority,
            reason: outcome.ticket.reason,
        };
        self.publish(
            p.conversation_id,
            Envelope::derived_from_id(source, cmd.correlation_id, escalated),
        )
        .await?;
        let created = TicketCreated {
            ticket: outcome.ticket,
        };
        self.publish(
            p.conversation_id,
            Envelope::derived_from_id(source, cmd.correlation_id, created),
        )
        .await?;
        // The automatic assignment's events were recorded with the command that opened the ticket,
        // so a redelivery (or a second escalation) republishes the same ids.
        self.republish_recorded(source).await
    }

    /// Publish again the `message.created` events of the conversation's bot replies of the last
    /// `window`, oldest first, under the ids their own handler uses, before a take-over's events.
    ///
    /// Why: each handler publishes its events after its commit. A bot reply committed just before
    /// an agent took over could otherwise have its event published after the take-over's, and the
    /// customer would see the bot speak after the person joined. Publishing it first, under the
    /// same `Nats-Msg-Id`, fixes the order; whichever copy comes second is dropped by JetStream's
    /// duplicate window, so nothing is pushed twice.
    async fn publish_bot_replies_first(
        &self,
        conversation_id: Uuid,
        window: std::time::Duration,
    ) -> Result<(), Failure> {
        let client = self.platform.db.client().await?;
        let replies = store::recent_bot_replies(&client, conversation_id, window, i64::MAX).await?;
        if replies.is_empty() {
            return Ok(());
        }
        let Some(conversation) = store::conversation(&client, conversation_id).await? else {
            return Ok(());
        };
        drop(client);
        self.publish_replies(conversation_id, replies, &conversation)
            .await
    }

    /// Publish the `message.created` events of stored bot replies, exactly as `store_bot_reply`
    /// publishes them (same ids), so that a copy published early and the original count once.
    async fn publish_replies(
        &self,
        conversation_id: Uuid,
        replies: Vec<joxai_schemas::types::MessageView>,
        conversation: &store::ConversationState,
    ) -> Result<(), Failure> {
        for message in replies {
            let id = message.id;
            let event = MessageCreated {
                message,
                owner: ConversationOwner::Bot,
                customer: conversation.customer.clone(),
                locale: conversation.locale.clone(),
                history: None,
            };
            // The reply command's id is the message id (see the AI responder), and the event id is
            // derived from it: the same id as the original publish.
            let envelope = Envelope::derived_from_id(id, id, event);
            self.publish_bot_message(conversation_id, envelope).await?;
        }
        Ok(())
    }

    /// Publish the events recorded with command `id` in `command_results` (none if there is no row).
    async fn republish_recorded(&self, id: Uuid) -> Result<(), Failure> {
        let client = self.platform.db.client().await?;
        let row = client
            .query_opt("SELECT events FROM command_results WHERE id = $1", &[&id])
            .await
            .map_err(joxai_platform::db::DbError::from)?;
        let Some(row) = row else { return Ok(()) };
        let events: Vec<desk::Pending> =
            serde_json::from_value(row.get(0)).map_err(|e| Failure::Permanent(e.into()))?;
        self.publish_pending(events).await
    }

    async fn publish_pending(&self, events: Vec<desk::Pending>) -> Result<(), Failure> {
        for event in events {
            self.platform
                .bus
                .publish_raw(
                    event.subject,
                    &event.id,
                    async_nats::HeaderMap::new(),
                    event.body.into_bytes().into(),
                )
                .await?;
        }
        Ok(())
    }

    /// Run one desk command: apply it and record its outcome in one transaction, then publish.
    async fn desk(
        &self,
        id: Uuid,
        correlation_id: Uuid,
        kind: &str,
        command: &Command,
    ) -> Result<(), Failure> {
        use joxai_platform::db::DbError;
        let mut client = self.platform.db.client().await?;
        let tx = client.transaction().await.map_err(DbError::from)?;
        let done = tx
            .query_opt("SELECT ok FROM command_results WHERE id = $1", &[&id])
            .await
            .map_err(DbError::from)?;
        if done.is_some() {
            drop(tx);
            drop(client);
            return self.republish_recorded(id).await;
        }
        let mut ctx = desk::Ctx {
            cmd_id: id,
            correlation_id,
            subjects: self.platform.bus.subjects().clone(),
            events: vec![],
            settings: self.settings(),
        };
        let verdict = match command {
            Command::AssignTicket(c) => desk::assign(&tx, &mut ctx, &c.payload).await?,
            Command::ChangeTicketStatus(c) => {
                desk::change_status(&tx, &mut ctx, &c.payload).await?
            }
            Command::UpdateTicket(c) => desk::update(&tx, &mut ctx, &c.payload).await?,
            Command::AddInternalNote(c) => desk::add_note(&tx, &mut ctx, &c.payload).await?,
            Command::CreateTicket(c) => desk::create_ticket(&tx, &mut ctx, &c.payload).await?,
            Command::TakeOverConversation(c) => desk::take_over(&tx, &mut ctx, &c.payload).await?,
            Command::HandBackConversation(c) => desk::hand_back(&tx, &mut ctx, &c.payload).await?,
            Command::CloseConversation(c) => desk::close(&tx, &mut ctx, &c.payload).await?,
            Command::RateConversation(c) => desk::rate(&tx, &mut ctx, &c.payload).await?,
            Command::SetAvailability(c) => {
                desk::set_availability(&tx, &mut ctx, &c.payload).await?
            }
            Command::AssignWaitingTickets(c) => {
                desk::assign_waiting_command(&tx, &mut ctx, &c.payload).await?
            }
            Command::EndChat(c) => desk::end_chat(&tx, &mut ctx, &c.payload).await?,
            Command::SaveCannedResponse(c) => desk::save_canned(&tx, &mut ctx, &c.payload).await?,
            Command::DeleteCannedResponse(c) => {
                desk::delete_canned(&tx, &mut ctx, &c.payload).await?
            }
            Command::SaveKnowledgeArticle(c) => {
                desk::save_article(&tx, &mut ctx, &c.payload).await?
            }
            Command::DeleteKnowledgeArticle(c) => {
                desk::delete_article(&tx, &mut ctx, &c.payload).await?
            }
            _ => {
                return Err(Failure::Permanent(anyhow::anyhow!(
                    "{kind} is not a desk command"
                )));
            }
        };
        match verdict {
            desk::Verdict::Applied => {
                let events = serde_json::to_value(&ctx.events).unwrap_or_default();
                tx.execute(
                    "INSERT INTO command_results (id, kind, ok, events) VALUES ($1, $2, true, $3)",
                    &[&id, &kind, &events],
                )
                .await
                .map_err(DbError::from)?;
                tx.commit().await.map_err(DbError::from)?;
                drop(client); // before publishing (see `escalate`)
                // A person took the conversation from the bot: a bot reply stored just before must
                // not reach the customer after the "joined" notice.
                let taken = match command {
                    Command::TakeOverConversation(c) => Some(c.payload.conversation_id),
                    Command::CreateTicket(c) => c.payload.conversation_id,
                    _ => None,
                };
                if let Some(conversation_id) = taken {
                    self.publish_bot_replies_first(conversation_id, TAKEOVER_REPUBLISH)
                        .await?;
                }
                self.publish_pending(ctx.events).await
            }
            desk::Verdict::Rejected(code, message) => {
                // Nothing the command did is kept; only the refusal is recorded.
                tx.rollback().await.map_err(DbError::from)?;
                tracing::info!(command_id = %id, kind, code, message, "desk command rejected");
                client
                    .execute(
                        "INSERT INTO command_results (id, kind, ok, error_code, error_message) VALUES ($1, $2, false, $3, $4)
                         ON CONFLICT (id) DO NOTHING",
                        &[&id, &kind, &code, &message],
                    )
                    .await
                    .map_err(DbError::from)?;
                Ok(())
            }
        }
    }

    /// An agent's reply. Replying to a queue ticket takes it, exactly like `POST /tickets/{id}/assign`
    /// would: the ticket and conversation get the assignee and the customer is told who joined
    /// (`conversation.assigned`). Those events are recorded with the command in `command_results`,
    /// so a redelivery republishes the same ids instead of deciding again.
    async fn post_agent_reply(&self, cmd: Envelope<PostAgentReply>) -> Result<(), Failure> {
        use joxai_platform::db::DbError;
        let p = &cmd.payload;
        let mut client = self.platform.db.client().await?;
        let tx = client.transaction().await.map_err(DbError::from)?;
        let Some((conversation_id, conversation)) =
            store::lock_ticket_conversation(&tx, p.ticket_id).await?
        else {
            return Err(Failure::Permanent(anyhow::anyhow!(
                "ticket {} has no conversation",
                p.ticket_id
            )));
        };
        let state = lifecycle::ConversationState::from_row(
            if conversation.closed {
                "closed"
            } else {
                "open"
            },
            conversation.owner,
        );
        if let Err(lifecycle::Refusal(why)) =
            lifecycle::conversation_transition(state, lifecycle::ConversationEvent::StaffReply)
        {
            // The ingress refuses replies to ended conversations with 409; this one raced the close. It is
            // not stored: a message the customer can never see would only mislead the next reader.
            tracing::info!(ticket_id = %p.ticket_id, message_id = %p.message_id, why, "agent reply to an ended conversation dropped");
            return Ok(());
        }
        let mut ctx = desk::Ctx {
            cmd_id: cmd.id,
            correlation_id: cmd.correlation_id,
            subjects: self.platform.bus.subjects().clone(),
            events: vec![],
            settings: self.settings(),
        };
        let before = desk::read_ticket(&tx, p.ticket_id).await?;
        // Replying to a queue ticket takes it, before the reply is stored: the "X joined" message
        // then comes first in every transcript. A redelivered command finds the ticket assigned
        // already (the first delivery committed both), and a reply stored already takes nothing again.
        let stored_already = tx
            .query_opt("SELECT 1 FROM messages WHERE id = $1", &[&p.message_id])
            .await
            .map_err(DbError::from)?
            .is_some();
        if before.assignee_id.is_none() && !stored_already {
            desk::set_assignee(
                &tx,
                &mut ctx,
                &before,
                Some(p.agent_id),
                &p.agent_id.to_string(),
            )
            .await?;
        }
        let message = store::insert_message(
            &tx,
            NewMessage {
                id: p.message_id,
                conversation_id,
                sender: Sender::Agent,
                author_id: Some(p.agent_id),
                text: &p.text,
                client_message_id: None,
                in_reply_to: None,
                intent: None,
                confidence: None,
            },
        )
        .await?;
        if message.inserted {
            store::record_agent_reply(&tx, p.ticket_id, p.agent_id, cmd.id).await?;
            // Every reply changes the ticket (first response, status, `updated_at`): the panel learns its
            // latest version from this event, so the agent's next change is not refused as stale.
            let change = if before.status == joxai_schemas::types::TicketStatus::Open {
                "status_changed"
            } else {
                "replied"
            };
            desk::ticket_updated(&tx, &mut ctx, p.ticket_id, change, before.assignee_id).await?;
            let events = serde_json::to_value(&ctx.events).unwrap_or_default();
            tx.execute(
                "INSERT INTO command_results (id, kind, ok, events) VALUES ($1, 'ticket.reply', true, $2)
                 ON CONFLICT (id) DO NOTHING",
                &[&cmd.id, &events],
            )
            .await
            .map_err(DbError::from)?;
        }
        let author_name: Option<String> = tx
            .query_opt(
                "SELECT display_name FROM users WHERE id = $1",
                &[&p.agent_id],
            )
            .await
            .map_err(DbError::from)?
            .map(|r| r.get(0));
        tx.commit().await.map_err(DbError::from)?;
        drop(client); // before publishing (see `escalate`)
        // "Alex joined" first, then Alex's message.
        self.republish_recorded(cmd.id).await?;
        let event = NamedMessageCreated {
            message: NamedMessage {
                message: message.view,
                author_name,
            },
            owner: conversation.owner,
            customer: conversation.customer,
            locale: conversation.locale,
        };
        self.publish(conversation_id, Envelope::derived(&cmd, event))
            .await
    }
}

impl Handler for TicketWorker {
    async fn handle(&self, delivery: &Delivery) -> Result<(), Failure> {
        let raw = RawEnvelope::parse(&delivery.payload)?;
        match Command::decode(&raw)? {
            Command::StartConversation(c) => self.start_conversation(c).await,
            Command::PostCustomerMessage(c) => self.post_customer_message(c).await,
            Command::StoreBotReply(c) => self.store_bot_reply(c, delivery).await,
            Command::EscalateConversation(c) => self.escalate(c).await,
            Command::PostAgentReply(c) => self.post_agent_reply(c).await,
            other => {
                self.desk(raw.id, raw.correlation_id, &raw.kind, &other)
                    .await
            }
        }
    }
}
