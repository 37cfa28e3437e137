//! The classifier's structured decisions, on written examples of every reason.

use joxai_nlu::IntentModel;
use joxai_schemas::types::{Decision, EscalationReason, Priority};
use joxai_workers::escalation::{History, classify};

/// The model the product runs: the TF-IDF model blended with the sentence encoder when it is installed.
fn model() -> &'static IntentModel {
    static MODEL: std::sync::OnceLock<IntentModel> = std::sync::OnceLock::new();
    MODEL.get_or_init(IntentModel::train_default_blended)
}

fn decide(text: &str, history: History) -> (Decision, Option<Priority>, Option<EscalationReason>) {
    let v = classify(model(), text, &history);
    (v.decision, v.priority, v.reason)
}

#[test]
fn asking_for_a_person_escalates_with_reason_customer_asked_in_english_and_spanish() {
    for text in [
        "I want to talk to a human",
        "can I speak to a real person please",
        "quiero hablar con una persona",
        "Agent please",
    ] {
        assert_eq!(
            decide(text, History::default()).2,
            Some(EscalationReason::CustomerAsked),
            "{text}"
        );
    }
}

#[test]
fn a_stolen_card_reaches_a_person_as_urgent_and_the_bot_acts_first_only_when_certain() {
    let verdict = classify(
        model(),
        "someone stole my card yesterday",
        &History::default(),
    );
    assert_eq!(
        (verdict.priority, verdict.reason),
        (Some(Priority::Urgent), Some(EscalationReason::UrgentIntent))
    );
    // The bot may offer to block the card (and ask the customer to confirm) only when it is certain;
    // otherwise a person takes it straight away.
    let certain = verdict.confidence >= joxai_workers::escalation::policy::ACT_ON_CARD;
    let expected = if certain {
        Decision::Bot
    } else {
        Decision::Escalate
    };
    assert_eq!(verdict.decision, expected, "{verdict:?}");
}

#[test]
fn an_unrecognised_payment_escalates_as_urgent_intent() {
    let (decision, _, reason) = decide(
        "there is a payment on my card I don't recognise",
        History::default(),
    );
    assert_eq!(decision, Decision::Escalate);
    assert_eq!(reason, Some(EscalationReason::UrgentIntent));
}

#[test]
fn negative_wording_or_the_same_question_again_escalates_as_frustration() {
    assert_eq!(
        decide(
            "this is useless, you are not helping at all",
            History::default()
        )
        .2,
        Some(EscalationReason::Frustration)
    );
    let history = History {
        previous_customer_text: Some("Where is my transfer?".into()),
        previous_bot_confidence: Some(0.9),
    };
    assert_eq!(
        decide("where is my transfer?", history).2,
        Some(EscalationReason::Frustration)
    );
}

#[test]
fn gibberish_never_gets_a_banking_answer_and_a_second_unsure_message_escalates() {
    let history = History {
        previous_customer_text: Some("blorf".into()),
        previous_bot_confidence: Some(0.1),
    };
    let verdict = classify(model(), "qwerty zxcv plok", &history);
    // Gibberish is either read as out of scope (the polite "I only help with banking" answer) or as an unsure
    // guess; an unsure guess after another unsure answer goes to a person.
    if verdict.intent == joxai_workers::escalation::OUT_OF_SCOPE {
        assert_eq!(
            (verdict.decision, verdict.reason),
            (Decision::Bot, None),
            "{verdict:?}"
        );
    } else {
        assert!(
            verdict.confidence < joxai_workers::escalation::policy::LOW_CONFIDENCE,
            "{verdict:?}"
        );
        assert_eq!(verdict.reason, Some(EscalationReason::LowConfidence));
    }
    let first = classify(model(), "qwerty zxcv plok", &History::default());
    assert_eq!(first.decision, Decision::Bot);
}

#[test]
fn a_refund_request_needs_a_person_to_act() {
    let (decision, _, reason) = decide("I want a refund for this purchase", History::default());
    assert_eq!(decision, Decision::Escalate);
    assert_eq!(reason, Some(EscalationReason::NeedsHumanAction));
}

#[test]
fn an_ordinary_question_is_answered_by_the_bot() {
    for text in [
        "how do I activate my card?",
        "what are your savings plans?",
        "hola",
        "how long does a transfer take?",
    ] {
        assert_eq!(decide(text, History::default()).0, Decision::Bot, "{text}");
    }
}
