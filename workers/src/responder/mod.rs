//! The AI responder: answers customer messages in bot-owned conversations.
//!
//! It reacts to `message.classified` events whose decision is `bot`. The offline responder
//! ([`offline`]) always prepares an answer from the customer's data and the knowledge base; when an
//! LLM provider is configured ([`llm`]) the model rewrites it with the conversation and the relevant
//! articles as context, and on any failure the offline answer is used. The answer goes to the ticket
//! worker as a `chat.message.bot_reply` command whose id is derived from the question, so a question
//! is answered at most once however often it is redelivered; the ticket worker stores it only if the
//! bot still owns the conversation at that moment (the responder also checks before doing the work).

pub mod confirmation;
pub mod llm;
pub mod offline;

use joxai_platform::Platform;
use joxai_platform::metrics::metrics;
use joxai_schemas::commands::{EscalateConversation, Handoff, StoreBotReply};
use joxai_schemas::events::MessageClassified;
use joxai_schemas::types::{Decision, EscalationReason, Priority};
use joxai_schemas::{Envelope, Event, RawEnvelope, derive_id};
use uuid::Uuid;

use crate::banking::CoreBanking;
use crate::banking::demo::DemoBank;
use crate::knowledge;
use crate::runtime::{Delivery, Failure, Handler};
use offline::{Lang, OfflineResponder};

/// An answer: something to say, a hand-over to a person, or both (say it, then hand over).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub reply: Option<String>,
    pub handoff: Option<(EscalationReason, Priority)>,
    /// The reply is a question the customer must answer before anything else happens ("Block the card ending
    /// 4242?"): no hand-over yet, the LLM does not rephrase it, and it is stored with the intent
    /// [`confirmation::CONFIRM_BLOCK_CARD`].
    pub asks: bool,
}

impl Answer {
    pub fn reply(text: &str) -> Answer {
        Answer {
            reply: Some(text.to_owned()),
            handoff: None,
            asks: false,
        }
    }
    pub fn handoff(reason: EscalationReason, priority: Priority) -> Answer {
        Answer {
            reply: None,
            handoff: Some((reason, priority)),
            asks: false,
        }
    }
    /// Say this, then a person takes over as urgent.
    pub fn urgent(text: &str) -> Answer {
        Answer {
            reply: Some(text.to_owned()),
            handoff: Some((EscalationReason::UrgentIntent, Priority::Urgent)),
            asks: false,
        }
    }
    /// Ask the customer to confirm before acting.
    pub fn asking(text: String) -> Answer {
        Answer {
            reply: Some(text),
            handoff: None,
            asks: true,
        }
    }
}

/// The bank's rules for the model, prepended to every LLM request.
const SYSTEM_PROMPT: &str = "You are the virtual assistant of a retail bank, chatting with a customer on the bank's website. \
Rules: answer only banking questions; be concise (at most 4 short sentences), polite and correct; answer in the customer's language; \
use only the facts given below and the knowledge-base articles, never invent balances, rates, fees or policies; \
you can never move money, make transfers, change accounts or personal details: explain how the customer can do it or hand over to a person; \
never ask for or repeat full card numbers, security codes, PINs or passwords; \
hand over to a person (handoff) when the customer asks for one, when money or a card may be at risk, or when a person must act.";

pub struct AiResponder<B = DemoBank> {
    platform: Platform,
    offline: OfflineResponder<B>,
    llm: Option<llm::Llm>,
}

impl AiResponder<DemoBank> {
    pub fn new(platform: Platform) -> Self {
        let bank = DemoBank::new(platform.db.clone());
        Self::with_bank(platform, bank)
    }
}

impl<B: CoreBanking> AiResponder<B> {
    pub fn with_bank(platform: Platform, bank: B) -> Self {
        let llm = llm::Llm::from_config(&platform.config);
        if let Some(llm) = &llm {
            tracing::info!(
                provider = llm.provider().label(),
                "AI responder uses an LLM, with offline fallback"
            );
        }
        let offline = OfflineResponder {
            bank,
            db: platform.db.clone(),
            articles: Default::default(),
            settings: platform.settings.clone(),
        };
        Self {
            platform,
            offline,
            llm,
        }
    }

    async fn bot_owns(&self, conversation_id: Uuid) -> Result<bool, Failure> {
        let client = self.platform.db.client().await?;
        let row = joxai_platform::db::Db::timed("owner_check", async {
            let owner = client
                .prepare_cached("SELECT owner FROM conversations WHERE id = $1")
                .await?;
            Ok(client.query_opt(&owner, &[&conversation_id]).await?)
        })
        .await?;
        Ok(row.is_some_and(|r| r.get::<_, &str>(0) == "bot"))
    }

    /// The last messages of the conversation, oldest first, as the model sees them.
    async fn recent_turns(&self, conversation_id: Uuid) -> Result<Vec<llm::Turn>, Failure> {
        let client = self.platform.db.client().await?;
        let rows = client
            .query(
                "SELECT sender, text FROM (
                    SELECT sender, text, created_at FROM messages
                    WHERE conversation_id = $1 AND sender IN ('customer', 'bot', 'agent')
                    ORDER BY created_at DESC LIMIT 10) recent
                 ORDER BY created_at",
                &[&conversation_id],
            )
            .await
            .map_err(joxai_platform::db::DbError::from)?;
        Ok(rows
            .iter()
            .map(|r| llm::Turn {
                role: if r.get::<_, &str>(0) == "customer" {
                    "user"
                } else {
                    "assistant"
                },
                text: r.get(1),
            })
            .collect())
    }

    /// Let the LLM rewrite the offline draft, with the facts and articles as context.
    async fn with_llm(
        &self,
        llm: &llm::Llm,
        q: &MessageClassified,
        draft: &Answer,
    ) -> Result<Answer, Failure> {
        let lang = Lang::of(&q.language);
        let articles =
            knowledge::search(&self.platform.db, Some(&q.intent), &q.text, lang.code(), 3).await?;
        let mut system = format!("{SYSTEM_PROMPT}\n\nCustomer language: {}.\n", lang.code());
        if let Some(reply) = &draft.reply {
            system.push_str(&format!(
                "Facts prepared for this question (accurate, use them): {reply}\n"
            ));
        }
        for a in &articles {
            system.push_str(&format!("\nArticle \"{}\": {}\n", a.title, a.body));
        }
        let mut turns = self.recent_turns(q.conversation_id).await?;
        if turns.last().is_none_or(|t| t.role != "user") {
            turns.push(llm::Turn {
                role: "user",
                text: q.text.clone(),
            });
        }
        let label = llm.provider().label();
        match llm.answer(&system, &turns).await {
            Ok(reply) => Ok(Answer {
                asks: false,
                reply: Some(reply.reply),
                // The offline hand-over (for example after blocking a card) always stands.
                handoff: draft
                    .handoff
                    .or(reply.handoff.map(|h| (h.reason, h.priority))),
            }),
            Err(llm::LlmError::Malformed(detail)) => {
                // A model that answers in the wrong shape cannot be trusted with this customer.
                tracing::warn!(
                    provider = label,
                    detail,
                    "malformed LLM answer: handing over to a person"
                );
                metrics().llm_fallbacks.with_label_values(&[label]).inc();
                Ok(Answer {
                    reply: draft.reply.clone(),
                    handoff: Some((EscalationReason::AiFailure, Priority::Normal)),
                    asks: false,
                })
            }
            Err(e) => {
                tracing::warn!(provider = label, error = %e, "LLM unavailable: answering offline");
                metrics().llm_fallbacks.with_label_values(&[label]).inc();
                Ok(draft.clone())
            }
        }
    }

    async fn on_classified(&self, event: Envelope<MessageClassified>) -> Result<(), Failure> {
        let q = &event.payload;
        if q.decision != Decision::Bot {
            return Ok(());
        }
        // A person may have taken the conversation since the classifier looked: then the bot says
        // nothing. (The ticket worker checks again under the conversation's lock when it stores the
        // reply, which settles a take-over racing this answer.)
        if !self.bot_owns(q.conversation_id).await? {
            return Ok(());
        }
        let draft = self.offline.answer(q).await?;
        let mut answer = match &self.llm {
            Some(llm) if draft.reply.is_some() && !draft.asks => {
                self.with_llm(llm, q, &draft).await?
            }
            _ => draft,
        };
        // The classifier may ask for an answer first and a person after (a lost card); not while the bot waits for
        // the customer's answer to its question.
        if answer.handoff.is_none()
            && !answer.asks
            && let (Some(reason), Some(priority)) = (q.reason, q.priority)
        {
            answer.handoff = Some((reason, priority));
        }
        let subjects = self.platform.bus.subjects();
        let handoff = answer
            .handoff
            .map(|(reason, priority)| Handoff { reason, priority });
        match answer.reply {
            Some(text) => {
                // The reply's id is the command's id: one answer per question, whatever happens.
                let message_id = derive_id(q.message_id, "bot-reply");
                let command = StoreBotReply {
                    conversation_id: q.conversation_id,
                    message_id,
                    in_reply_to: q.message_id,
                    text,
                    intent: Some(if answer.asks {
                        confirmation::CONFIRM_BLOCK_CARD.to_owned()
                    } else {
                        q.intent.clone()
                    }),
                    confidence: Some(q.confidence),
                    question_at: q.question_at,
                    handoff,
                };
                let envelope =
                    Envelope::with_id(message_id, event.correlation_id, Some(event.id), command);
                self.platform
                    .bus
                    .publish(subjects.command::<StoreBotReply>(), &envelope)
                    .await?;
            }
            None => {
                if let Some(h) = handoff {
                    let command = EscalateConversation {
                        conversation_id: q.conversation_id,
                        reason: h.reason,
                        priority: h.priority,
                        requested_by: "responder".into(),
                        trigger_message_id: Some(q.message_id),
                        summary: None,
                    };
                    self.platform
                        .bus
                        .publish(
                            subjects.command::<EscalateConversation>(),
                            &Envelope::derived(&event, command),
                        )
                        .await?;
                }
            }
        }
        Ok(())
    }
}

impl<B: CoreBanking> Handler for AiResponder<B> {
    async fn handle(&self, delivery: &Delivery) -> Result<(), Failure> {
        let raw = RawEnvelope::parse(&delivery.payload)?;
        match Event::decode(&raw)? {
            Event::MessageClassified(event) => self.on_classified(event).await,
            _ => Ok(()),
        }
    }
}
