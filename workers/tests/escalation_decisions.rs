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
fn a_stolen_card_is_answered_first_then_handed_over_as_urgent() {
    let (decision, priority, reason) =
        decide("someone stole my card yesterday", History::default());
    assert_eq!(
        decision,
        Decision::Bot,
        "the bot blocks the card and confirms first"
    );
    assert_eq!(
        (priority, reason),
        (Some(Priority::Urgent), Some(EscalationReason::UrgentIntent))
    );
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
fn a_second_low_confidence_message_in_a_row_escalates_as_low_confidence() {
    let history = History {
        previous_customer_text: Some("blorf".into()),
        previous_bot_confidence: Some(0.1),
    };
    let verdict = classify(model(), "qwerty zxcv plok", &history);
    if verdict.confidence < joxai_workers::escalation::policy::LOW_CONFIDENCE {
        assert_eq!(verdict.reason, Some(EscalationReason::LowConfidence));
    } else {
        panic!("gibberish should not be classified confidently: {verdict:?}");
    }
    // The first unsure message is answered by the bot (it asks the customer to rephrase).
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
