//! Removes card numbers and card security codes from text before it is stored, logged or sent to a model.
//!
//! PCI DSS lets a bank keep at most the first six and last four digits of a card number, and never the security
//! code. A false positive costs a masked order number; a false negative leaks a card, so where a rule must guess
//! it masks. Only Luhn-valid runs count as card numbers, which keeps order ids, phone numbers and IBAN fragments
//! readable for the agent.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

/// Masks every card number as first six + `******` + last four, and every security code as `***`.
/// Returns the input unchanged (borrowed) when there is nothing to mask.
pub fn redact(text: &str) -> Cow<'_, str> {
    let card_numbers = find_card_numbers(text);
    let masked_cards: Cow<'_, str> = if card_numbers.is_empty() {
        Cow::Borrowed(text)
    } else {
        let mut out = String::with_capacity(text.len());
        let mut copied_up_to = 0;
        for span in card_numbers {
            out.push_str(&text[copied_up_to..span.start]);
            let digits: Vec<u8> = text.as_bytes()[span.clone()]
                .iter()
                .copied()
                .filter(u8::is_ascii_digit)
                .collect();
            // The digits are ASCII, so these byte slices are valid UTF-8.
            out.push_str(&String::from_utf8_lossy(&digits[..6]));
            out.push_str("******");
            out.push_str(&String::from_utf8_lossy(&digits[digits.len() - 4..]));
            copied_up_to = span.end;
        }
        out.push_str(&text[copied_up_to..]);
        Cow::Owned(out)
    };
    match mask_security_codes(&masked_cards) {
        Some(masked) => Cow::Owned(masked),
        None => masked_cards,
    }
}

/// Whether the text contains a full card number (a Luhn-valid run of 13–19 digits).
pub fn contains_pan(text: &str) -> bool {
    !find_card_numbers(text).is_empty()
}

/// Byte ranges of card numbers: 13–19 digits passing the Luhn check, written together or in groups separated by
/// single spaces or dashes ("4111 1111 1111 1111", "4111-1111-1111-1111", Amex "3782 822463 10005").
///
/// A run of groups may hold more than one number or extra digits around one ("call 555 4111 1111 1111 1111"), so
/// every stretch of whole groups is tried, longest first. Groups are never split, which keeps a long order id from
/// being masked just because some 13 of its digits happen to pass Luhn (one stretch in ten does).
fn find_card_numbers(text: &str) -> Vec<Range<usize>> {
    const MIN_DIGITS: usize = 13;
    const MAX_DIGITS: usize = 19;
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut groups: Vec<Range<usize>> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        groups.clear();
        let mut end = i;
        loop {
            let start = end;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            groups.push(start..end);
            let separated_group_follows = end + 1 < bytes.len()
                && matches!(bytes[end], b' ' | b'-')
                && bytes[end + 1].is_ascii_digit();
            if !separated_group_follows {
                break;
            }
            end += 1;
        }

        let mut first = 0;
        while first < groups.len() {
            let mut digit_count = 0;
            let mut longest_valid = None;
            for last in first..groups.len() {
                digit_count += groups[last].len();
                if digit_count > MAX_DIGITS {
                    break;
                }
                if digit_count >= MIN_DIGITS && passes_luhn(bytes, &groups[first..=last]) {
                    longest_valid = Some(last);
                }
            }
            match longest_valid {
                Some(last) => {
                    found.push(groups[first].start..groups[last].end);
                    first = last + 1;
                }
                None => first += 1,
            }
        }
        i = end;
    }
    found
}

fn passes_luhn(bytes: &[u8], groups: &[Range<usize>]) -> bool {
    let mut sum = 0u32;
    let digits = groups
        .iter()
        .rev()
        .flat_map(|group| bytes[group.clone()].iter().rev());
    for (position, &byte) in digits.enumerate() {
        let mut digit = u32::from(byte - b'0');
        if position % 2 == 1 {
            digit *= 2;
            if digit > 9 {
                digit -= 9;
            }
        }
        sum += digit;
    }
    sum.is_multiple_of(10)
}

/// A 3–4 digit code shortly after a word that names a card security code. The character after the digits is
/// matched too (the regex crate has no look-ahead) so "cvv 12345" is not taken as "cvv 1234".
fn security_code_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(
            r"(?i)\b(?:cvv2?|cvc2?|cvn|csc|card\s+verification\s+(?:code|value|number)|security\s+(?:code|number)|c[óo]digo\s+(?:de\s+seguridad|cvv|cvc))[^0-9]{0,20}?([0-9]{3,4})(?:[^0-9]|$)",
        )
        .expect("the security code pattern is a valid regex")
    })
}

fn mask_security_codes(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut copied_up_to = 0;
    for captures in security_code_pattern().captures_iter(text) {
        let Some(code) = captures.get(1) else {
            continue;
        };
        out.push_str(&text[copied_up_to..code.start()]);
        out.push_str("***");
        copied_up_to = code.end();
    }
    if copied_up_to == 0 {
        return None;
    }
    out.push_str(&text[copied_up_to..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_number_keeps_only_its_first_six_and_last_four_digits() {
        assert_eq!(
            redact("my card is 4111 1111 1111 1111 thanks"),
            "my card is 411111******1111 thanks"
        );
        assert_eq!(redact("4111-1111-1111-1111"), "411111******1111");
        assert_eq!(redact("4111111111111111"), "411111******1111");
        assert_eq!(redact("amex 3782 822463 10005."), "amex 378282******0005.");
        assert_eq!(
            redact("mi tarjeta es 5555555555554444, ¿qué pasó?"),
            "mi tarjeta es 555555******4444, ¿qué pasó?"
        );
    }

    #[test]
    fn a_card_number_next_to_other_digits_is_still_found() {
        assert_eq!(
            redact("call 555 4111 1111 1111 1111"),
            "call 555 411111******1111"
        );
        assert_eq!(
            redact("two: 4111111111111111 and 5555555555554444"),
            "two: 411111******1111 and 555555******4444"
        );
    }

    #[test]
    fn numbers_that_fail_the_luhn_check_stay_as_they_are() {
        for text in [
            "order 4111 1111 1111 1112 was late",
            "my order id is 1234567890123",
            "reference 12345678901234567890123456",
            "call me on +34 612 345 678",
            "transfer of 1,000,000 on 2024-05-01",
        ] {
            assert!(matches!(redact(text), Cow::Borrowed(_)), "{text}");
            assert!(!contains_pan(text), "{text}");
        }
    }

    #[test]
    fn security_codes_become_stars() {
        assert_eq!(redact("my cvv is 123"), "my cvv is ***");
        assert_eq!(redact("CVC: 4567"), "CVC: ***");
        assert_eq!(redact("cvv2 321 and that's it"), "cvv2 *** and that's it");
        assert_eq!(
            redact("the security code is 999"),
            "the security code is ***"
        );
        assert_eq!(
            redact("mi código de seguridad es 123"),
            "mi código de seguridad es ***"
        );
        assert_eq!(
            redact("card 4111 1111 1111 1111 cvv 123"),
            "card 411111******1111 cvv ***"
        );
    }

    #[test]
    fn a_security_code_word_without_a_short_code_changes_nothing() {
        assert_eq!(redact("what is a cvv?"), "what is a cvv?");
        assert_eq!(redact("cvv 12345"), "cvv 12345");
    }

    #[test]
    fn contains_pan_detects_card_numbers_only() {
        assert!(contains_pan("4111 1111 1111 1111"));
        assert!(!contains_pan("4111 1111"));
        assert!(!contains_pan(""));
    }

    #[test]
    fn redaction_never_panics_on_odd_or_huge_input() {
        let huge_digits = "4".repeat(1_000_000);
        let spaced_digits = "1 ".repeat(200_000);
        let card_like_groups = "4111 1111 1111 1111 ".repeat(10_000);
        for text in [
            "",
            "🙂💳",
            "cvv",
            "4",
            "4111 1111 1111 1111 ",
            "-4111-1111-1111-1111-",
            "ｃｖｖ １２３",
            "٤١١١١١١١١١١١١١١١",
            huge_digits.as_str(),
            spaced_digits.as_str(),
            card_like_groups.as_str(),
        ] {
            let _ = redact(text);
            let _ = contains_pan(text);
        }
        assert!(!redact(&card_like_groups).contains("4111 1111 1111 1111"));
    }
}
