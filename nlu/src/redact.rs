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

/// The fewest and the most digits a card number can have.
const MIN_DIGITS: usize = 13;
const MAX_DIGITS: usize = 19;

/// How many digits of a card number stay readable at its start and at its end.
const KEPT_AT_START: usize = 6;
const KEPT_AT_END: usize = 4;

/// What replaces the hidden digits of a card number.
const CARD_MASK: &str = "******";

/// How many times the text is searched again after masking, keeping the first six and last four digits of what
/// is found, before the last search masks what it finds completely. See [`mask_card_numbers`].
const PASSES_KEEPING_ENDS: usize = 3;

/// Masks every card number as first six + `******` + last four, and every security code as `***`.
/// Returns the input unchanged (borrowed) when there is nothing to mask.
pub fn redact(text: &str) -> Cow<'_, str> {
    let masked_cards = mask_card_numbers(text);
    match mask_security_codes(&masked_cards) {
        Some(masked) => Cow::Owned(masked),
        None => masked_cards,
    }
}

/// Takes out what `redact` put in (a masked card number such as `407907******3978`, a masked code `***`: any run of
/// three or more `*` with the digits glued to it), leaving a space. The intent model reads the text without them:
/// they carry no meaning of their own, and the sentence encoder read a masked number as a sign of card fraud
/// ("what savings plans do you offer? my card is 407907******3978" came out as an unrecognised withdrawal).
pub fn without_masks(text: &str) -> Cow<'_, str> {
    if !text.contains("***") {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut kept_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'*' {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < bytes.len() && bytes[end] == b'*' {
            end += 1;
        }
        if end - i < 3 {
            i = end;
            continue;
        }
        // ASCII digits and `*` are single bytes, so these bounds are always character boundaries.
        let mut start = i;
        while start > kept_from && bytes[start - 1].is_ascii_digit() {
            start -= 1;
        }
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        out.push_str(&text[kept_from..start]);
        out.push(' ');
        kept_from = end;
        i = end;
    }
    out.push_str(&text[kept_from..]);
    Cow::Owned(out)
}

/// Whether the text contains a full card number (a Luhn-valid run of 13–19 digits).
pub fn contains_pan(text: &str) -> bool {
    !find_card_numbers(text).is_empty()
}

/// A card number found in a text, as byte ranges of that text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CardNumber {
    /// From its first digit to just after its last digit, group separators included.
    span: Range<usize>,
    /// From its seventh digit to just after its fifth-to-last digit: everything but the first six and the last
    /// four digits (and the separators between them).
    hidden: Range<usize>,
}

/// Masks every card number in the text, so that no Luhn-valid run of 13–19 digits is left.
///
/// The first pass works on the text as written: every card number found keeps its first six and last four
/// digits, its other digits become `******` and its separators are dropped ("4111 1111 1111 1111" →
/// "411111******1111"). When card numbers overlap (a number just before a card can form a Luhn-valid stretch
/// with the card's first groups), the digits hidden by any of them are hidden, and the overlapping stretch is
/// written as one piece: every one of those numbers keeps at most its own first six and last four digits.
///
/// Dropping separators joins the digits that stay into new groups, and a new group can form a new Luhn-valid run
/// with a number next to it ("ref 1234567 411111******1111"). So the result is searched again and masked the same
/// way. Every pass only hides more digits, so what the first pass promised still holds. A text crafted so that
/// each pass creates a new run could keep this going for a long time; after [`PASSES_KEEPING_ENDS`] passes the
/// runs still found are replaced by `******` entirely, which creates no new run (the digits left around them are
/// groups that were already searched), so the work stays a small constant number of linear passes.
fn mask_card_numbers(text: &str) -> Cow<'_, str> {
    let mut current = Cow::Borrowed(text);
    for pass in 0..=PASSES_KEEPING_ENDS {
        let cards = find_card_numbers(&current);
        if cards.is_empty() {
            break;
        }
        let keep_ends = pass < PASSES_KEEPING_ENDS;
        current = Cow::Owned(mask(&current, &cards, keep_ends));
    }
    current
}

/// Writes `text` with every card number in `cards` masked. `cards` must be in the order [`find_card_numbers`]
/// returns them (by start, then by end).
///
/// Card numbers that overlap are written together as one stretch without separators: each digit that some card
/// number hides becomes part of a `******`, every other digit stays. With `keep_ends` false the whole stretch
/// becomes a single `******`.
fn mask(text: &str, cards: &[CardNumber], keep_ends: bool) -> String {
    let bytes = text.as_bytes();
    // Both lists come out sorted by start: a card number that starts later also hides from a later digit.
    let stretches = merge_overlapping(cards.iter().map(|card| card.span.clone()));
    let hidden = merge_overlapping(cards.iter().map(|card| card.hidden.clone()));
    let mut out = String::with_capacity(text.len());
    let mut copied_up_to = 0;
    let mut next_hidden = 0;
    for stretch in stretches {
        out.push_str(&text[copied_up_to..stretch.start]);
        copied_up_to = stretch.end;
        if !keep_ends {
            out.push_str(CARD_MASK);
            continue;
        }
        let mut in_mask = false;
        for at in stretch {
            let byte = bytes[at];
            if !byte.is_ascii_digit() {
                // A group separator inside a card number is dropped.
                continue;
            }
            while next_hidden < hidden.len() && hidden[next_hidden].end <= at {
                next_hidden += 1;
            }
            let is_hidden = hidden
                .get(next_hidden)
                .is_some_and(|range| range.start <= at);
            if !is_hidden {
                out.push(char::from(byte));
                in_mask = false;
            } else if !in_mask {
                out.push_str(CARD_MASK);
                in_mask = true;
            }
        }
    }
    out.push_str(&text[copied_up_to..]);
    out
}

/// Joins ranges that overlap; the ranges must come sorted by start.
fn merge_overlapping(ranges: impl Iterator<Item = Range<usize>>) -> Vec<Range<usize>> {
    let mut merged: Vec<Range<usize>> = Vec::new();
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start < last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

/// Every card number in the text: 13–19 digits passing the Luhn check, written together or in groups separated
/// by single spaces or dashes ("4111 1111 1111 1111", "4111-1111-1111-1111", Amex "3782 822463 10005").
/// Sorted by start, then by end.
///
/// A run of groups may hold more than one number or extra digits around one ("call 555 4111 1111 1111 1111",
/// "ref 2 1028450406346198 918"), and we cannot tell which stretch is the real card. Taking one stretch and
/// skipping past it is not safe: if "2 1028…" happens to pass Luhn, the card "1028…" that starts inside it is
/// never checked and its tail stays readable. So every stretch of whole groups with 13–19 digits is checked and
/// all that pass are returned, overlapping or not; [`mask`] hides the union.
///
/// Groups are never split, which keeps a long order id from being masked just because some 13 of its digits
/// happen to pass Luhn (about one stretch in ten does).
///
/// Cost: a stretch has at most 19 digits, so at most 19 groups, and the Luhn sum grows with each added group, so
/// each group starts at most 19 checks of constant cost: linear in the text's length.
fn find_card_numbers(text: &str) -> Vec<CardNumber> {
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

        for first in 0..groups.len() {
            let mut luhn = LuhnSums::default();
            for last in first..groups.len() {
                let group = &groups[last];
                if luhn.digits + group.len() > MAX_DIGITS {
                    break;
                }
                for &byte in &bytes[group.clone()] {
                    luhn.push(byte - b'0');
                }
                if luhn.digits >= MIN_DIGITS && luhn.is_valid() {
                    let stretch = &groups[first..=last];
                    found.push(CardNumber {
                        span: stretch[0].start..group.end,
                        hidden: digit_at(stretch, KEPT_AT_START)
                            ..digit_at(stretch, luhn.digits - KEPT_AT_END - 1) + 1,
                    });
                }
            }
        }
        i = end;
    }
    found
}

/// The byte offset of the digit with index `index` (from 0) in a stretch of groups.
fn digit_at(groups: &[Range<usize>], mut index: usize) -> usize {
    for group in groups {
        if index < group.len() {
            return group.start + index;
        }
        index -= group.len();
    }
    unreachable!("the stretch has more digits than the index")
}

/// The Luhn sum of a digit string that grows to the right.
///
/// Luhn doubles every second digit counting from the right end, so which digits are doubled changes with every
/// digit added. Keeping both possible sums (digits at even positions from the left doubled, or odd ones) lets a
/// stretch grow one group at a time without summing its digits again.
#[derive(Default)]
struct LuhnSums {
    digits: usize,
    doubling_even_positions: u32,
    doubling_odd_positions: u32,
}

impl LuhnSums {
    fn push(&mut self, digit: u8) {
        let digit = u32::from(digit);
        let doubled = if digit * 2 > 9 {
            digit * 2 - 9
        } else {
            digit * 2
        };
        if self.digits.is_multiple_of(2) {
            self.doubling_even_positions += doubled;
            self.doubling_odd_positions += digit;
        } else {
            self.doubling_even_positions += digit;
            self.doubling_odd_positions += doubled;
        }
        self.digits += 1;
    }

    fn is_valid(&self) -> bool {
        // The last digit (the check digit) is never doubled: with an even count it sits at an odd position, so the
        // doubled digits are at the even positions.
        let sum = if self.digits.is_multiple_of(2) {
            self.doubling_even_positions
        } else {
            self.doubling_odd_positions
        };
        sum.is_multiple_of(10)
    }
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
    fn a_card_number_overlapping_another_luhn_valid_stretch_keeps_only_six_and_four() {
        // "2 1028450406346198" and "1028450406346198 918" pass Luhn as well as the card itself. Taking only the
        // first of them used to give "ref 210284******6198 918": 12 of the card's 16 digits readable.
        assert_eq!(redact("ref 2 1028450406346198 918"), "ref 210284******8918");
        assert!(!contains_pan(&redact("ref 2 1028450406346198 918")));
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

    #[test]
    fn the_intent_model_reads_a_redacted_message_without_its_masks() {
        assert_eq!(
            without_masks("my card is 407907******3978, cvv ***!"),
            "my card is  , cvv  !"
        );
        assert_eq!(
            without_masks(&redact("card 4111 1111 1111 1111 please")),
            "card   please"
        );
        assert_eq!(without_masks("5 * 3 ** 2 = 30"), "5 * 3 ** 2 = 30");
        assert_eq!(without_masks("ñ***é"), "ñ é");
        assert!(matches!(without_masks("no masks here"), Cow::Borrowed(_)));
    }
}
