//! What to do with each intent: answer with the bot, or hand to a person with a priority and reason.
//!
//! This table is the one place a bank changes to tune escalation. Intents not listed are answered by
//! the bot.

use joxai_schemas::types::{EscalationReason, Priority};

/// The policy of one intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentPolicy {
    /// The bot answers.
    Bot,
    /// A person must take over, at once.
    Escalate(Priority, EscalationReason),
    /// The bot acts and answers first (blocks a lost card and confirms), then a person takes over.
    AnswerThenEscalate(Priority, EscalationReason),
}

/// Intent → policy. Urgent: money or a card may be at risk right now. Needs-human-action: the bot
/// cannot do it (it never moves money, disputes or changes accounts), a person must.
pub const POLICY: &[(&str, IntentPolicy)] = &[
    ("human_agent", IntentPolicy::Escalate(Priority::Normal, EscalationReason::CustomerAsked)),
    ("lost_or_stolen_card", IntentPolicy::AnswerThenEscalate(Priority::Urgent, EscalationReason::UrgentIntent)),
    ("lost_or_stolen_phone", IntentPolicy::Escalate(Priority::Urgent, EscalationReason::UrgentIntent)),
    ("compromised_card", IntentPolicy::AnswerThenEscalate(Priority::Urgent, EscalationReason::UrgentIntent)),
    ("card_payment_not_recognised", IntentPolicy::Escalate(Priority::High, EscalationReason::UrgentIntent)),
    ("cash_withdrawal_not_recognised", IntentPolicy::Escalate(Priority::High, EscalationReason::UrgentIntent)),
    ("direct_debit_payment_not_recognised", IntentPolicy::Escalate(Priority::High, EscalationReason::UrgentIntent)),
    ("card_swallowed", IntentPolicy::Escalate(Priority::High, EscalationReason::UrgentIntent)),
    ("request_refund", IntentPolicy::Escalate(Priority::Normal, EscalationReason::NeedsHumanAction)),
    ("transaction_charged_twice", IntentPolicy::Escalate(Priority::High, EscalationReason::NeedsHumanAction)),
    ("terminate_account", IntentPolicy::Escalate(Priority::Normal, EscalationReason::NeedsHumanAction)),
    ("edit_personal_details", IntentPolicy::Escalate(Priority::Low, EscalationReason::NeedsHumanAction)),
    ("wrong_amount_of_cash_received", IntentPolicy::Escalate(Priority::High, EscalationReason::NeedsHumanAction)),
    ("cash_withdrawal_charge", IntentPolicy::Bot),
];

pub fn policy_for(intent: &str) -> IntentPolicy {
    POLICY.iter().find(|(name, _)| *name == intent).map(|(_, p)| *p).unwrap_or(IntentPolicy::Bot)
}

/// Below this confidence the model's intent is treated as a guess.
pub const LOW_CONFIDENCE: f32 = 0.35;
