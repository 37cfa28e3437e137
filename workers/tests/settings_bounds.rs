//! The settings' safe bounds agree with the escalation policy table they tune.

use joxai_platform::settings::{CONFIDENCE_BOUNDS, PROTECTED_INTENTS, SystemSettings};
use joxai_schemas::types::EscalationReason;
use joxai_workers::escalation::policy::{
    IntentPolicy, LOW_CONFIDENCE, POLICY, is_urgent, policy_for,
};

#[test]
fn every_intent_the_settings_protect_is_an_urgent_intent_of_the_policy_table() {
    for intent in PROTECTED_INTENTS {
        let reason = match policy_for(intent) {
            IntentPolicy::Escalate(_, reason) | IntentPolicy::AnswerThenEscalate(_, reason) => {
                reason
            }
            IntentPolicy::Bot => {
                panic!("{intent} is protected by the settings but answered by the bot in the table")
            }
        };
        assert_eq!(reason, EscalationReason::UrgentIntent, "{intent}");
    }
}

#[test]
fn the_default_threshold_is_the_policy_tables_and_within_the_bounds() {
    assert_eq!(
        SystemSettings::default()
            .escalation
            .low_confidence_threshold,
        LOW_CONFIDENCE
    );
    assert!((CONFIDENCE_BOUNDS.0..=CONFIDENCE_BOUNDS.1).contains(&LOW_CONFIDENCE));
}

#[test]
fn every_urgent_intent_of_the_policy_table_is_protected_from_the_banks_routes() {
    for (intent, _) in POLICY.iter().filter(|(intent, _)| is_urgent(intent)) {
        assert!(
            PROTECTED_INTENTS.contains(intent),
            "{intent} is urgent in the table but a bank could route it to the bot"
        );
    }
}
