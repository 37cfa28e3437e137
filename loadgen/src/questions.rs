//! The mix of customer questions: everyday banking questions the bot answers by itself.
//!
//! Deliberately absent: anything the escalation policy hands to a person (asking for a human, lost
//! or stolen cards, refunds, payments the customer does not recognise, closing the account), since
//! a hand-over ends the bot's part of the conversation and every later message would go unanswered.
//! The classifier also escalates a customer who repeats the same question twice in a row, so each
//! customer walks this list in order (never the same text twice running).

pub const QUESTIONS: &[&str] = &[
    "What is my account balance?",
    "How do I activate my new card?",
    "How long does a bank transfer take to arrive?",
    "What exchange rate do you use for foreign currencies?",
    "What savings plans do you offer?",
    "When will my new card arrive?",
    "How can I change my PIN?",
    "What is the limit for topping up my account?",
    "Can I use my card at any ATM?",
    "What loans can I apply for?",
    "Can I add my card to Apple Pay or Google Pay?",
    "Which countries can I use the app in?",
    "Is there a fee for withdrawing cash?",
    "How do I get a virtual card?",
    "Why is my transfer still pending?",
    "How do I verify my identity?",
];

/// The `n`th question of customer `customer`: each customer starts at a different place in the list.
pub fn question(customer: usize, n: u64) -> &'static str {
    let len = QUESTIONS.len() as u64;
    QUESTIONS[((customer as u64 + n) % len) as usize]
}
