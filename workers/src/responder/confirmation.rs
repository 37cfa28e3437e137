//! Asking the customer before the bot acts on their account: "Block the card ending 4242? Yes / No".
//!
//! The question is a bot message stored with the intent [`CONFIRM_BLOCK_CARD`] and the card endings in its text;
//! the customer's next message answers it (the widget shows Yes / No buttons that send exactly those words, see
//! `frontends/widget`). The classifier lets a bare answer through to the responder (see [`is_bare_answer`]) so the
//! model never guesses at "yes".

/// The intent stored with the bot's question (never predicted by the model).
pub const CONFIRM_BLOCK_CARD: &str = "confirm_block_card";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YesNo {
    Yes,
    No,
}

const YES: &[&str] = &[
    "yes",
    "y",
    "yes please",
    "yes block it",
    "yes do it",
    "yeah",
    "yep",
    "ok",
    "okay",
    "sure",
    "confirm",
    "please do",
    "do it",
    "go ahead",
    "si",
    "sí",
    "si por favor",
    "sí por favor",
    "vale",
    "claro",
    "adelante",
    "confirmo",
    "hazlo",
];
const NO: &[&str] = &[
    "no",
    "n",
    "no thanks",
    "no thank you",
    "nope",
    "dont",
    "don't",
    "do not",
    "not that one",
    "wrong card",
    "cancel",
    "no gracias",
    "no es esa",
    "esa no",
    "cancela",
];

fn normal(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace() || *c == '\'')
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// "Yes" or "No" in English or Spanish, alone or with a word of politeness.
pub fn yes_or_no(text: &str) -> Option<YesNo> {
    let text = normal(text);
    if YES.contains(&text.as_str()) {
        Some(YesNo::Yes)
    } else if NO.contains(&text.as_str()) {
        Some(YesNo::No)
    } else {
        None
    }
}

/// The four-digit card endings in `text` ("the one ending 4242", "…4242 or …1881").
pub fn card_endings(text: &str) -> Vec<String> {
    let mut endings = Vec::new();
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            if run.len() == 4 && !endings.contains(&run) {
                endings.push(run.clone());
            }
            run.clear();
        }
    }
    endings
}

/// A message that only answers a question: yes, no, or a card ending ("4242", "the one ending 4242").
pub fn is_bare_answer(text: &str) -> bool {
    yes_or_no(text).is_some() || (text.chars().count() <= 32 && card_endings(text).len() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_and_no_are_read_in_both_languages_with_or_without_punctuation() {
        assert_eq!(yes_or_no("Yes"), Some(YesNo::Yes));
        assert_eq!(yes_or_no("yes, please!"), Some(YesNo::Yes));
        assert_eq!(yes_or_no("Sí"), Some(YesNo::Yes));
        assert_eq!(yes_or_no("No"), Some(YesNo::No));
        assert_eq!(yes_or_no("no gracias"), Some(YesNo::No));
        assert_eq!(yes_or_no("yes my card was stolen yesterday"), None);
    }

    #[test]
    fn card_endings_are_four_digit_runs_only() {
        assert_eq!(
            card_endings("Block the card ending 4242? Yes / No"),
            vec!["4242"]
        );
        assert_eq!(
            card_endings("…4242 (debit) or …1881 (credit)"),
            vec!["4242", "1881"]
        );
        assert!(card_endings("I paid 12345 or 12 euros").is_empty());
        assert!(is_bare_answer("the one ending 1881"));
        assert!(!is_bare_answer(
            "my card ending 1881 was stolen on the train last night"
        ));
    }
}
