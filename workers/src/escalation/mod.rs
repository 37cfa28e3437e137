//! The escalation classifier: decides, for every customer message, whether the bot answers or a
//! person takes over, and why.
//!
//! Decisions are structured (`decision`, `priority`, `reason`) and published as a
//! `message.classified` event; an escalation is also sent to the ticket worker as a command. Inputs:
//! the intent model (`joxai-nlu`), the policy table ([`policy`]), explicit requests for a person,
//! frustration (negative wording, the same question again) and a second low-confidence guess in a row.

pub mod policy;
pub mod safety;
pub mod urgent_words;

use std::sync::Arc;
use std::time::Instant;

use joxai_nlu::{IntentModel, Prediction};
use joxai_platform::Platform;
use joxai_platform::metrics::metrics;
use joxai_platform::settings::{EscalationSettings, IntentRoute};
use joxai_schemas::commands::EscalateConversation;
use joxai_schemas::events::{MessageClassified, MessageCreated};
use joxai_schemas::types::{ConversationOwner, Decision, EscalationReason, Priority, Sender};
use joxai_schemas::{Envelope, Event, RawEnvelope};
use policy::{IntentPolicy, LOW_CONFIDENCE};
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::runtime::{Delivery, Failure, Handler};

/// The classifier's verdict on one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub intent: String,
    pub confidence: f32,
    pub language: &'static str,
    pub decision: Decision,
    pub priority: Option<Priority>,
    pub reason: Option<EscalationReason>,
    /// Which rule decided, in words, for the agent (in the ticket's summary) and for `joxai nlu safety`.
    pub rule: Option<String>,
}

impl Verdict {
    /// Whether a person takes over as urgent: at once, or right after the bot offers to block a card.
    pub fn is_urgent(&self) -> bool {
        self.reason == Some(EscalationReason::UrgentIntent)
    }

    /// Whether the bot answers with a banking answer: not escalated, not out of scope, not a guess.
    pub fn answers_as_banking(&self) -> bool {
        self.decision == Decision::Bot
            && self.reason.is_none()
            && self.intent != OUT_OF_SCOPE
            && self.confidence >= LOW_CONFIDENCE
    }
}

/// What the classifier knows of the conversation before this message: the wire type, so the
/// history the ticket worker sends in `message.created` is used as it is.
pub use joxai_schemas::events::ConversationHistory as History;

/// The two history columns ([`History`]'s fields, in order) as scalar subqueries on conversation
/// `conversation`, counting only messages stored before `before` when given (SQL placeholders).
/// Used by the ticket worker in the statement that stores a message (where the new row is not yet
/// visible, so no `before` is needed) and by the classifier's own read when an event lacks them.
pub(crate) fn history_columns(conversation: &str, before: Option<&str>) -> String {
    let before = before
        .map(|m| {
            format!(
                "AND id <> {m} AND created_at <= (SELECT created_at FROM messages WHERE id = {m})"
            )
        })
        .unwrap_or_default();
    format!(
        "(SELECT text FROM messages WHERE conversation_id = {conversation} AND sender = 'customer' {before}
           ORDER BY created_at DESC, id DESC LIMIT 1),
         (SELECT confidence FROM messages WHERE conversation_id = {conversation} AND sender = 'bot'
           ORDER BY created_at DESC, id DESC LIMIT 1)"
    )
}

/// Phrases that mean "let me talk to a person", in English and Spanish. Checked before the model:
/// a customer who asks for a person gets one, whatever the model thinks.
const ASK_FOR_HUMAN: &[&str] = &[
    // Not "human" alone: "how many bones are in the human body" is not a request for a person.
    "a human",
    "to human",
    "human agent",
    "human please",
    "human being",
    "real human",
    "real person",
    "a person",
    "an agent",
    "live agent",
    "speak to someone",
    "talk to someone",
    "representative",
    "operator",
    "customer service agent",
    "speak with someone",
    "call me",
    "persona",
    "un humano",
    "con humano",
    "persona real",
    "agente",
    "asesor",
    "operador",
    "hablar con alguien",
    "representante",
];

/// Negative wording that signals a frustrated customer.
const FRUSTRATION: &[&str] = &[
    "useless",
    "ridiculous",
    "terrible",
    "awful",
    "not helpful",
    "doesn't help",
    "does not help",
    "stupid",
    "angry",
    "furious",
    "worst",
    "complaint",
    "fed up",
    "unacceptable",
    "inútil",
    "no sirve",
    "harto",
    "harta",
    "queja",
    "vergüenza",
    "pésimo",
    "fatal",
];

fn contains_phrase(text: &str, phrases: &[&str]) -> bool {
    phrases.iter().any(|p| {
        text.match_indices(p).any(|(i, _)| {
            // Whole words only: "agent" must not match "agenda".
            let before = text[..i].chars().next_back();
            let after = text[i + p.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    })
}

fn normalise(text: &str) -> String {
    text.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Decide bot or human for `text`. Pure: the same inputs always give the same verdict.
///
/// The rules, in order (the thresholds are in [`policy`], each with the measurement that chose it):
/// 0. A bare answer ("yes", "no", a card ending) goes to the responder, which reads it against its question.
/// 1. **Urgent wording** not negated ("stolen", "fraud", "didn't make", "freeze my card", "me robaron", ...; see
///    [`urgent_words`]) → urgent.
/// 2. **Urgent intent** (see [`policy::is_urgent`]) as the model's top intent at any confidence, or urgent intents
///    among its alternatives adding up to ≥ [`policy::URGENT_ALTERNATIVE`] (≥ [`policy::URGENT_BEHIND_OUT_OF_SCOPE`]
///    when the model reads the message as out of scope) → urgent; unless the wording negates the emergency ("my card
///    is not lost") and carries no urgent cue.
/// 3. An urgent case is escalated at once, except a lost, stolen or compromised card (or a card freeze) that the
///    model is sure of (≥ [`policy::ACT_ON_CARD`]): the bot first offers to block the card, asks the customer to
///    confirm which one, and then hands over as urgent (see the offline responder).
/// 4. The customer asked for a person → normal escalation.
/// 5. **Out of scope** (see [`reads_out_of_scope`]: top intent `out_of_scope`, a hesitant top with `out_of_scope`
///    next, or far from every in-scope intent by the encoder's similarity) → the bot answers that it only helps
///    with banking (intent `out_of_scope`).
/// 6. The intent's policy when the model is confident; frustration or the same message again; a second guess in a
///    row; otherwise the bot answers (below [`policy::LOW_CONFIDENCE`] it says it is not sure).
pub fn classify(model: &IntentModel, text: &str, history: &History) -> Verdict {
    classify_tuned(
        model,
        text,
        history,
        &EscalationSettings {
            low_confidence_threshold: LOW_CONFIDENCE,
            intent_routes: BTreeMap::new(),
        },
    )
}

/// [`classify`] with the bank's tuning (the settings' low-confidence threshold and routes per intent),
/// applied within the bounds [`policy::tuned`] and [`policy::routed`] enforce.
pub fn classify_tuned(
    model: &IntentModel,
    text: &str,
    history: &History,
    tuning: &EscalationSettings,
) -> Verdict {
    let started = Instant::now();
    let prediction = model.classify(text);
    let m = metrics();
    m.nlu_duration.observe(started.elapsed().as_secs_f64());
    m.nlu_intents
        .with_label_values(&[prediction.intent.as_str()])
        .inc();
    decide(
        &prediction,
        text,
        history,
        &policy::tuned(tuning),
        &tuning.intent_routes,
    )
}

/// The rules of [`classify`] on a prediction already made, with the given thresholds and the bank's routes per
/// intent (the product passes the bank's settings through [`policy::tuned`]; `joxai nlu safety --sweep` tries
/// other thresholds).
pub fn decide(
    prediction: &Prediction,
    text: &str,
    history: &History,
    thresholds: &policy::Thresholds,
    routes: &BTreeMap<String, IntentRoute>,
) -> Verdict {
    let language = match joxai_nlu::detect_language(text) {
        joxai_nlu::Language::Spanish => "es",
        joxai_nlu::Language::English => "en",
    };
    let lower = normalise(text);
    let verdict = |decision, priority, reason, rule: String| Verdict {
        intent: prediction.intent.clone(),
        confidence: prediction.confidence,
        language,
        decision,
        priority,
        reason,
        rule: Some(rule),
    };
    let escalate = |priority, reason, rule: String| {
        verdict(Decision::Escalate, Some(priority), Some(reason), rule)
    };

    // 1-3: safety first.
    let wording = urgent_words::wording(text);
    // The urgent intents among the alternatives: their probabilities summed, and the most likely one.
    let all_clear = policy::ALL_CLEAR_INTENTS.contains(&prediction.intent.as_str());
    let urgent_alternatives = prediction
        .alternatives
        .iter()
        .filter(|(intent, _)| !all_clear && policy::is_urgent(intent));
    let urgent_mass: f32 = urgent_alternatives.clone().map(|(_, p)| p).sum();
    let likeliest_urgent = urgent_alternatives.max_by(|a, b| a.1.total_cmp(&b.1));
    let out_of_scope = reads_out_of_scope(prediction, thresholds);
    let urgent_alternative = likeliest_urgent.filter(|_| {
        urgent_mass >= thresholds.urgent_alternative
            || (out_of_scope && urgent_mass >= thresholds.urgent_behind_out_of_scope)
    });
    if !matches!(wording, urgent_words::Wording::Urgent(_))
        && crate::responder::confirmation::is_bare_answer(text)
    {
        // "Yes", "No", "4242": an answer to the bot's question about blocking a card (the responder reads it against
        // that question); the model's guess at such a word means nothing.
        return verdict(
            Decision::Bot,
            None,
            None,
            "an answer to the bot's question".into(),
        );
    }
    let urgent = match wording {
        urgent_words::Wording::Urgent(cue) => Some(format!("urgent wording \"{cue}\"")),
        urgent_words::Wording::Negated(_) => None,
        urgent_words::Wording::Neutral if policy::is_urgent(&prediction.intent) => Some(format!(
            "urgent intent {} (confidence {:.2})",
            prediction.intent, prediction.confidence
        )),
        urgent_words::Wording::Neutral => urgent_alternative.map(|(intent, p)| {
            format!(
                "urgent intent {intent} among the alternatives ({p:.2}; urgent intents {urgent_mass:.2} in all)"
            )
        }),
    };
    if let Some(rule) = urgent {
        let priority = if policy::is_urgent(&prediction.intent) {
            policy::urgent_priority_routed(&prediction.intent, routes)
        } else {
            Priority::Urgent
        };
        let acts_on_card =
            crate::responder::offline::BLOCK_CARD.contains(&prediction.intent.as_str());
        if acts_on_card && prediction.confidence >= thresholds.act_on_card {
            // The responder offers to block the card, asks which one, then hands over (see `responder::offline`).
            return verdict(
                Decision::Bot,
                Some(priority),
                Some(EscalationReason::UrgentIntent),
                rule,
            );
        }
        return escalate(priority, EscalationReason::UrgentIntent, rule);
    }

    if contains_phrase(&lower, ASK_FOR_HUMAN) {
        return escalate(
            Priority::Normal,
            EscalationReason::CustomerAsked,
            "the customer asked for a person".into(),
        );
    }
    if policy::is_urgent(&prediction.intent) {
        // Only reached when the wording negates the emergency ("my card is not lost, when does it expire?"): the
        // bot answers the most likely other intent, and never acts on the card.
        let (intent, confidence) = prediction
            .alternatives
            .iter()
            .find(|(intent, _)| !policy::is_urgent(intent))
            .cloned()
            .unwrap_or_else(|| (OUT_OF_SCOPE.to_owned(), 0.0));
        return Verdict {
            intent,
            confidence,
            ..verdict(Decision::Bot, None, None, "urgent wording negated".into())
        };
    }

    let repeated = history
        .previous_customer_text
        .as_deref()
        .map(normalise)
        .is_some_and(|prev| prev == lower && lower.len() > 3);
    let frustrated = contains_phrase(&lower, FRUSTRATION) || repeated;
    // "This bot is useless" reads as off-topic to the model, but a frustrated customer gets a person.
    let out_of_scope = if prediction.intent == OUT_OF_SCOPE {
        !frustrated
    } else {
        out_of_scope
    };
    if out_of_scope {
        return Verdict {
            intent: OUT_OF_SCOPE.into(),
            ..verdict(Decision::Bot, None, None, "out of scope".into())
        };
    }

    let confident = prediction.confidence >= thresholds.low_confidence;
    match policy::routed(&prediction.intent, routes) {
        // Urgent intents were handled above; negated ones ("my card is not lost") are answered, not escalated.
        IntentPolicy::Escalate(_, EscalationReason::UrgentIntent)
        | IntentPolicy::AnswerThenEscalate(_, EscalationReason::UrgentIntent) => {}
        IntentPolicy::Escalate(priority, reason) if confident => {
            return escalate(priority, reason, format!("policy of {}", prediction.intent));
        }
        IntentPolicy::AnswerThenEscalate(priority, reason) if confident => {
            // The responder acts and answers first; the reason and priority tell it to hand over after.
            return verdict(
                Decision::Bot,
                Some(priority),
                Some(reason),
                format!("policy of {}", prediction.intent),
            );
        }
        _ => {}
    }
    if frustrated {
        return escalate(
            Priority::High,
            EscalationReason::Frustration,
            "frustration".into(),
        );
    }
    if !confident
        && history
            .previous_bot_confidence
            .is_some_and(|c| c < thresholds.low_confidence)
    {
        return escalate(
            Priority::Normal,
            EscalationReason::LowConfidence,
            "unsure twice in a row".into(),
        );
    }
    Verdict {
        intent: prediction.intent.clone(),
        confidence: prediction.confidence,
        language,
        decision: Decision::Bot,
        priority: None,
        reason: None,
        rule: None,
    }
}

/// Whether the model's reading is "not a banking question": its top intent is `out_of_scope`; or `out_of_scope` is
/// among the alternatives with probability ≥ [`policy::OUT_OF_SCOPE_ALTERNATIVE`] while the top is below
/// [`policy::OUT_OF_SCOPE_TOP_BELOW`]; or the encoder ran and the message is far from every in-scope intent
/// (similarity below [`policy::OUT_OF_SCOPE_SIMILARITY`]) while the top is below
/// [`policy::OUT_OF_SCOPE_SIMILARITY_TOP_BELOW`]. Urgent wording and urgent intents are read before it, so it never
/// swallows an emergency.
fn reads_out_of_scope(prediction: &Prediction, thresholds: &policy::Thresholds) -> bool {
    let hesitant = prediction.confidence < thresholds.out_of_scope_top_below
        && prediction
            .alternatives
            .iter()
            .any(|(i, p)| i == OUT_OF_SCOPE && *p >= thresholds.out_of_scope_alternative);
    let far = prediction.in_scope_similarity.is_some_and(|s| {
        s < thresholds.out_of_scope_similarity
            && prediction.confidence < thresholds.out_of_scope_similarity_top_below
    });
    prediction.intent == OUT_OF_SCOPE || hesitant || far
}

/// The intent of questions no bank bot should answer.
pub const OUT_OF_SCOPE: &str = "out_of_scope";

pub struct EscalationClassifier {
    platform: Platform,
    model: Arc<IntentModel>,
}

impl EscalationClassifier {
    pub fn new(platform: Platform, model: Arc<IntentModel>) -> Self {
        Self { platform, model }
    }

    async fn history(&self, conversation_id: Uuid, message_id: Uuid) -> Result<History, Failure> {
        let client = self.platform.db.client().await?;
        // One statement (prepared once per connection): it runs for every customer message.
        let history = client
            .prepare_cached(&format!("SELECT {}", history_columns("$1", Some("$2"))))
            .await
            .map_err(joxai_platform::db::DbError::from)?;
        let row = client
            .query_one(&history, &[&conversation_id, &message_id])
            .await
            .map_err(joxai_platform::db::DbError::from)?;
        Ok(History {
            previous_customer_text: row.get(0),
            previous_bot_confidence: row.get(1),
        })
    }

    async fn on_message(&self, event: Envelope<MessageCreated>) -> Result<(), Failure> {
        let message = &event.payload.message;
        // Only customer messages in bot-owned conversations need a decision: once a person owns
        // the conversation, the person answers.
        if message.sender != Sender::Customer || event.payload.owner != ConversationOwner::Bot {
            return Ok(());
        }
        // Read by the ticket worker with the message when it could (no round trip here).
        let history = match &event.payload.history {
            Some(h) => h.clone(),
            None => self.history(message.conversation_id, message.id).await?,
        };
        // With the sentence encoder blended in, a classification can take several milliseconds of CPU: run it on
        // the blocking pool so it never holds up the async threads (sockets, HTTP, other consumers). The TF-IDF
        // model alone answers in microseconds, less than the hand-off would cost.
        let verdict = if self.model.encoder_enabled() {
            let (model, text) = (self.model.clone(), message.text.clone());
            let tuning = self.platform.settings.current().settings.escalation.clone();
            tokio::task::spawn_blocking(move || classify_tuned(&model, &text, &history, &tuning))
                .await
                .map_err(|e| {
                    Failure::Transient(anyhow::anyhow!("the classification task failed: {e}"))
                })?
        } else {
            classify_tuned(
                &self.model,
                &message.text,
                &history,
                &self.platform.settings.current().settings.escalation,
            )
        };
        let subjects = self.platform.bus.subjects();
        if verdict.decision == Decision::Escalate {
            let (priority, reason) = (
                verdict.priority.unwrap_or(Priority::Normal),
                verdict.reason.unwrap_or(EscalationReason::CustomerAsked),
            );
            let command = EscalateConversation {
                conversation_id: message.conversation_id,
                reason,
                priority,
                requested_by: "classifier".into(),
                trigger_message_id: Some(message.id),
                summary: Some(summary(
                    &message.text,
                    &verdict.intent,
                    verdict.rule.as_deref(),
                )),
            };
            let envelope = Envelope::derived(&event, command);
            self.platform
                .bus
                .publish(subjects.command::<EscalateConversation>(), &envelope)
                .await?;
        }
        let classified = MessageClassified {
            conversation_id: message.conversation_id,
            message_id: message.id,
            text: message.text.clone(),
            intent: verdict.intent,
            confidence: verdict.confidence,
            language: verdict.language.into(),
            decision: verdict.decision,
            priority: verdict.priority,
            reason: verdict.reason,
            customer: event.payload.customer.clone(),
            question_at: message.created_at,
        };
        let envelope = Envelope::derived(&event, classified);
        self.platform
            .bus
            .publish(
                subjects.event::<MessageClassified>(message.conversation_id),
                &envelope,
            )
            .await?;
        Ok(())
    }
}

/// A one-line ticket subject from the customer's words.
fn summary(text: &str, intent: &str, rule: Option<&str>) -> String {
    let mut short: String = text.chars().take(80).collect();
    if text.chars().count() > 80 {
        short.push('…');
    }
    match rule {
        // The agent sees why at a glance: "URGENT: urgent wording "stolen" — lost or stolen card — ...".
        Some(rule) if rule.starts_with("urgent") => {
            format!("URGENT: {rule} — {} — {short}", intent.replace('_', " "))
        }
        _ => format!("{} — {}", intent.replace('_', " "), short),
    }
}

impl Handler for EscalationClassifier {
    async fn handle(&self, delivery: &Delivery) -> Result<(), Failure> {
        let raw = RawEnvelope::parse(&delivery.payload)?;
        match Event::decode(&raw)? {
            Event::MessageCreated(event) => self.on_message(event).await,
            // The consumer's filter only delivers message.created; anything else is harmless.
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every safety rule of [`decide`], on predictions written by hand so each rule is tested on its own.
    use super::*;

    fn prediction(intent: &str, confidence: f32, alternatives: &[(&str, f32)]) -> Prediction {
        Prediction {
            intent: intent.into(),
            confidence,
            alternatives: alternatives
                .iter()
                .map(|(i, p)| ((*i).to_owned(), *p))
                .collect(),
            in_scope_similarity: None,
        }
    }

    fn decide_now(p: &Prediction, text: &str) -> Verdict {
        decide(
            p,
            text,
            &History::default(),
            &policy::THRESHOLDS,
            &BTreeMap::new(),
        )
    }

    #[test]
    fn an_urgent_top_intent_escalates_as_urgent_at_any_confidence() {
        let v = decide_now(
            &prediction(
                "card_payment_not_recognised",
                0.34,
                &[("card_payment_fee_charged", 0.30)],
            ),
            "what is this",
        );
        assert_eq!(
            (v.decision, v.priority, v.reason),
            (
                Decision::Escalate,
                Some(Priority::Urgent),
                Some(EscalationReason::UrgentIntent)
            )
        );
        assert!(
            v.rule
                .as_deref()
                .unwrap_or_default()
                .contains("card_payment_not_recognised")
        );
        let v = decide_now(&prediction("freeze_account", 0.12, &[]), "hmm");
        assert!(v.is_urgent() && v.decision == Decision::Escalate);
    }

    #[test]
    fn an_urgent_alternative_with_meaningful_probability_escalates_and_a_faint_one_does_not() {
        let strong = prediction(
            "card_arrival",
            0.5,
            &[
                ("lost_or_stolen_card", policy::URGENT_ALTERNATIVE),
                ("card_linking", 0.1),
            ],
        );
        assert!(decide_now(&strong, "where is it").is_urgent());
        let faint = prediction(
            "card_arrival",
            0.8,
            &[("lost_or_stolen_card", policy::URGENT_ALTERNATIVE - 0.01)],
        );
        assert!(!decide_now(&faint, "where is it").is_urgent());
    }

    #[test]
    fn urgent_alternatives_count_together() {
        // Each alone is below the threshold; together they are at it.
        let half = policy::URGENT_ALTERNATIVE / 2.0 + 0.001;
        let spread = prediction(
            "cancel_transfer",
            0.5,
            &[
                ("direct_debit_payment_not_recognised", half),
                ("card_payment_not_recognised", half),
                ("card_linking", 0.05),
            ],
        );
        let v = decide_now(&spread, "I need to cancel a transaction on my debit card");
        assert!(v.is_urgent() && v.decision == Decision::Escalate);
        assert!(
            v.rule.as_deref().unwrap_or_default().contains("in all"),
            "{:?}",
            v.rule
        );
        let one = prediction(
            "cancel_transfer",
            0.5,
            &[
                ("direct_debit_payment_not_recognised", half),
                ("card_linking", half),
            ],
        );
        assert!(!decide_now(&one, "I need to cancel a transfer").is_urgent());
    }

    #[test]
    fn a_message_far_from_every_banking_intent_gets_the_out_of_scope_answer() {
        let with_similarity = |confidence: f32, similarity: Option<f32>| Prediction {
            in_scope_similarity: similarity,
            ..prediction("exchange_rate", confidence, &[("card_linking", 0.1)])
        };
        let below = policy::OUT_OF_SCOPE_SIMILARITY - 0.05;
        let above = policy::OUT_OF_SCOPE_SIMILARITY + 0.05;
        let hesitant = policy::OUT_OF_SCOPE_SIMILARITY_TOP_BELOW - 0.1;
        let far = decide_now(&with_similarity(hesitant, Some(below)), "who won the match");
        assert_eq!(
            (far.intent.as_str(), far.decision, far.reason),
            (OUT_OF_SCOPE, Decision::Bot, None)
        );
        // Close to a banking intent, or the model sure of it, or the encoder not run: a banking answer.
        for p in [
            with_similarity(hesitant, Some(above)),
            with_similarity(policy::OUT_OF_SCOPE_SIMILARITY_TOP_BELOW, Some(below)),
            with_similarity(hesitant, None),
        ] {
            assert!(
                decide_now(&p, "what rate do you give for dollars").answers_as_banking(),
                "{p:?}"
            );
        }
        // Never for an emergency: urgent wording or an urgent top intent is read first.
        assert!(
            decide_now(
                &with_similarity(hesitant, Some(below)),
                "my card was stolen"
            )
            .is_urgent()
        );
        let urgent_far = Prediction {
            in_scope_similarity: Some(below),
            ..prediction("card_swallowed", hesitant, &[])
        };
        assert!(decide_now(&urgent_far, "the machine did not give it back").is_urgent());
        // In Spanish too.
        let far_es = decide_now(
            &with_similarity(hesitant, Some(below)),
            "¿quién ganó el partido?",
        );
        assert_eq!(far_es.intent, OUT_OF_SCOPE);
    }

    #[test]
    fn an_all_clear_top_intent_is_not_escalated_for_an_urgent_alternative() {
        let p = prediction("unfreeze_card", 0.45, &[("freeze_card", 0.35)]);
        let v = decide_now(&p, "my card is on pause, how do I switch it on");
        assert!(!v.is_urgent() && v.decision == Decision::Bot);
    }

    #[test]
    fn urgent_wording_escalates_whatever_the_model_says_in_english_and_spanish() {
        for text in [
            "somebody stole my wallet",
            "this is a scam",
            "me robaron la cartera",
            "hay un fraude en mi cuenta",
        ] {
            let v = decide_now(&prediction("greeting", 0.9, &[]), text);
            assert!(v.is_urgent() && v.decision == Decision::Escalate, "{text}");
            assert!(
                v.rule
                    .as_deref()
                    .unwrap_or_default()
                    .starts_with("urgent wording"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_negated_emergency_is_answered_as_the_next_intent_and_never_escalated() {
        for text in [
            "my card is not lost, when does it expire?",
            "mi tarjeta no está perdida, ¿cuándo caduca?",
        ] {
            let p = prediction("lost_or_stolen_card", 0.7, &[("card_about_to_expire", 0.2)]);
            let v = decide_now(&p, text);
            assert_eq!((v.decision, v.reason), (Decision::Bot, None), "{text}");
            assert_eq!(v.intent, "card_about_to_expire", "{text}");
        }
    }

    #[test]
    fn a_sure_card_emergency_lets_the_bot_ask_before_blocking_and_an_unsure_one_goes_to_a_person() {
        let sure = decide_now(
            &prediction("lost_or_stolen_card", policy::ACT_ON_CARD, &[]),
            "I lost my card",
        );
        assert_eq!(
            (sure.decision, sure.reason),
            (Decision::Bot, Some(EscalationReason::UrgentIntent))
        );
        let unsure = decide_now(
            &prediction("lost_or_stolen_card", policy::ACT_ON_CARD - 0.01, &[]),
            "I lost my card",
        );
        assert_eq!(
            (unsure.decision, unsure.priority),
            (Decision::Escalate, Some(Priority::Urgent))
        );
    }

    #[test]
    fn out_of_scope_gets_the_polite_answer_not_a_banking_one_nor_an_escalation() {
        let top = decide_now(
            &prediction("out_of_scope", 0.5, &[("exchange_rate", 0.3)]),
            "how is the stock market",
        );
        assert_eq!(
            (top.intent.as_str(), top.decision, top.reason),
            (OUT_OF_SCOPE, Decision::Bot, None)
        );
        assert!(!top.answers_as_banking());
        let alternative = prediction(
            "exchange_rate",
            policy::OUT_OF_SCOPE_TOP_BELOW - 0.1,
            &[(OUT_OF_SCOPE, policy::OUT_OF_SCOPE_ALTERNATIVE)],
        );
        assert_eq!(
            decide_now(&alternative, "what is the dow jones at").intent,
            OUT_OF_SCOPE
        );
        let banking = prediction(
            "exchange_rate",
            policy::OUT_OF_SCOPE_TOP_BELOW,
            &[(OUT_OF_SCOPE, 0.3)],
        );
        assert!(decide_now(&banking, "what rate do you give for dollars").answers_as_banking());
    }

    #[test]
    fn a_bare_yes_or_card_ending_goes_to_the_responder_whatever_the_model_guesses() {
        for text in ["Yes", "sí", "No", "4242"] {
            let v = decide_now(&prediction("lost_or_stolen_card", 0.2, &[]), text);
            assert_eq!((v.decision, v.reason), (Decision::Bot, None), "{text}");
        }
    }

    #[test]
    fn urgency_comes_before_a_request_for_a_person_and_the_agent_sees_why() {
        let v = decide_now(
            &prediction("human_agent", 0.9, &[]),
            "my card was stolen, get me a real person",
        );
        assert_eq!(v.priority, Some(Priority::Urgent));
        let line = summary(
            "my card was stolen, get me a real person",
            &v.intent,
            v.rule.as_deref(),
        );
        assert!(
            line.starts_with("URGENT: urgent wording \"stolen\""),
            "{line}"
        );
        let asked = decide_now(
            &prediction("human_agent", 0.9, &[]),
            "can I talk to a real person",
        );
        assert_eq!(asked.reason, Some(EscalationReason::CustomerAsked));
    }

    #[test]
    fn a_frustrated_customer_gets_a_person_even_when_the_model_reads_it_as_off_topic() {
        let v = decide_now(&prediction("out_of_scope", 0.8, &[]), "this is useless");
        assert_eq!(
            (v.decision, v.reason),
            (Decision::Escalate, Some(EscalationReason::Frustration))
        );
        let history = History {
            previous_customer_text: Some("what's the weather".into()),
            previous_bot_confidence: Some(0.9),
        };
        let again = decide(
            &prediction("out_of_scope", 0.8, &[]),
            "what's the weather",
            &history,
            &policy::THRESHOLDS,
            &BTreeMap::new(),
        );
        assert_eq!(again.reason, Some(EscalationReason::Frustration));
    }

    #[test]
    fn the_banks_threshold_and_routes_apply_but_never_leave_an_urgent_intent_or_a_request_for_a_person_to_the_bot()
     {
        // A stricter threshold: the same guess is now "unsure", twice in a row goes to a person.
        let tuning = EscalationSettings {
            low_confidence_threshold: 0.6,
            intent_routes: BTreeMap::new(),
        };
        let history = History {
            previous_customer_text: None,
            previous_bot_confidence: Some(0.5),
        };
        let guess = prediction("card_arrival", 0.5, &[]);
        assert_eq!(
            decide(
                &guess,
                "where is it",
                &history,
                &policy::THRESHOLDS,
                &BTreeMap::new()
            )
            .decision,
            Decision::Bot
        );
        let strict = decide(
            &guess,
            "where is it",
            &history,
            &policy::tuned(&tuning),
            &tuning.intent_routes,
        );
        assert_eq!(
            (strict.decision, strict.reason),
            (Decision::Escalate, Some(EscalationReason::LowConfidence))
        );
        // Out of bounds whatever is stored: held at the bound.
        let silly = EscalationSettings {
            low_confidence_threshold: 0.99,
            intent_routes: BTreeMap::new(),
        };
        assert_eq!(policy::tuned(&silly).low_confidence, 0.8);

        let routes = BTreeMap::from([
            ("card_arrival".to_owned(), IntentRoute::High),
            ("request_refund".to_owned(), IntentRoute::Bot),
            ("lost_or_stolen_phone".to_owned(), IntentRoute::Bot),
            ("card_payment_not_recognised".to_owned(), IntentRoute::High),
            ("human_agent".to_owned(), IntentRoute::Bot),
        ]);
        let t = &policy::THRESHOLDS;
        let d = |p: &Prediction, text: &str| decide(p, text, &History::default(), t, &routes);
        let v = d(
            &prediction("card_arrival", 0.9, &[]),
            "when does my card come",
        );
        assert_eq!(
            (v.decision, v.priority),
            (Decision::Escalate, Some(Priority::High))
        );
        assert_eq!(
            d(&prediction("request_refund", 0.9, &[]), "refund please").decision,
            Decision::Bot
        );
        let phone = d(
            &prediction("lost_or_stolen_phone", 0.9, &[]),
            "my phone is gone",
        );
        assert_eq!(
            (phone.decision, phone.priority),
            (Decision::Escalate, Some(Priority::Urgent)),
            "never the bot"
        );
        let payment = d(
            &prediction("card_payment_not_recognised", 0.9, &[]),
            "what is this payment",
        );
        assert_eq!(
            (payment.decision, payment.priority),
            (Decision::Escalate, Some(Priority::High))
        );
        let person = d(
            &prediction("human_agent", 0.9, &[]),
            "I need help from your team",
        );
        assert_eq!(
            person.decision,
            Decision::Escalate,
            "a customer who asks for a person gets one"
        );
    }

    #[test]
    fn the_human_body_is_not_a_request_for_a_human() {
        let v = decide_now(
            &prediction("out_of_scope", 0.6, &[]),
            "how many bones are in the human body",
        );
        assert_eq!(
            (v.decision, v.intent.as_str()),
            (Decision::Bot, OUT_OF_SCOPE)
        );
    }
}
