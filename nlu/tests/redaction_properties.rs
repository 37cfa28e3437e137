//! Issue 8, item 13: properties of card-data redaction, checked on generated input.
//!
//! Invariant: whatever text surrounds it, a Luhn-valid card number (13–19 digits, written together or
//! in groups separated by single spaces or dashes) never survives `redact` beyond its first six and
//! last four digits, and a 3–4 digit security code after a cue word ("cvv", "security code", ...)
//! never survives at all.

use joxai_nlu::redact::{contains_pan, redact};
use proptest::prelude::*;

/// A Luhn-valid card number of `len` digits built from `body` (its first `len - 1` digits).
fn luhn_complete(body: &[u8]) -> String {
    let mut sum = 0u32;
    // Walking the body from its right end, the first digit sits next to the check digit: doubled.
    for (i, &d) in body.iter().rev().enumerate() {
        let mut d = u32::from(d);
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    let check = (10 - sum % 10) % 10;
    body.iter().map(|d| char::from(b'0' + d)).chain(std::iter::once(char::from_digit(check, 10).expect("digit"))).collect()
}

fn pan() -> impl Strategy<Value = String> {
    (13usize..=19).prop_flat_map(|len| {
        (1u8..=9, proptest::collection::vec(0u8..=9, len - 2)).prop_map(|(first, rest)| {
            let mut body = vec![first];
            body.extend(rest);
            luhn_complete(&body)
        })
    })
}

/// The digits split into groups (1–8 digits) joined by single spaces or dashes, or written together.
fn formatted(pan: String) -> impl Strategy<Value = (String, String)> {
    let len = pan.len();
    (proptest::collection::vec(1usize..=8, 1..=19), proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-")], 19))
        .prop_map(move |(sizes, separators)| {
            let mut out = String::new();
            let mut at = 0;
            let mut gap = 0;
            for size in sizes.into_iter().chain(std::iter::repeat(8)) {
                if at >= len {
                    break;
                }
                if at > 0 {
                    out.push_str(separators[gap % separators.len()]);
                    gap += 1;
                }
                let end = (at + size).min(len);
                out.push_str(&pan[at..end]);
                at = end;
            }
            (pan.clone(), out)
        })
}

/// Text without digits around the card number: letters (Latin, Spanish, RTL, emoji), punctuation.
fn words() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-ZñÑéáü¿?¡!.,:;()\\[\\]/ \u{05d0}-\u{05ea}\u{0627}-\u{064a}🙂💳]{0,40}").expect("regex")
}

/// A separator between text and a number that cannot join the number's groups.
fn boundary() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(" "), Just(": "), Just(" ("), Just("\n"), Just(" — ")]
}

fn masked(pan: &str) -> String {
    format!("{}******{}", &pan[..6], &pan[pan.len() - 4..])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// A card number amid any digit-free text keeps exactly its first six and last four digits, and
    /// nothing else in the text changes.
    #[test]
    fn a_luhn_valid_card_number_keeps_only_its_first_six_and_last_four_digits(
        (digits, written) in pan().prop_flat_map(formatted),
        before in words(), left in boundary(), right in boundary(), after in words(),
    ) {
        let text = format!("{before}{left}{written}{right}{after}");
        prop_assert!(contains_pan(&text), "detected: {text:?}");
        let out = redact(&text);
        prop_assert_eq!(out.as_ref(), format!("{before}{left}{}{right}{after}", masked(&digits)));
    }

    /// Several card numbers in one message are all masked, each keeping exactly its first six and last
    /// four digits, and the text between them does not change.
    ///
    /// The expected text is compared whole. Looking for seven or five of a card's digits in a row
    /// failed about one run in ten by chance alone: the kept six digits of a card hold its own last
    /// five, or another card's, once in some ten thousand cards ("335033******3503").
    #[test]
    fn every_card_number_in_a_message_is_masked(
        cards in proptest::collection::vec(pan().prop_flat_map(formatted), 1..4),
        glue in words(),
    ) {
        let glue = format!(" {glue} ");
        let text = cards.iter().map(|(_, w)| w.clone()).collect::<Vec<_>>().join(&glue);
        let out = redact(&text);
        let expected = cards.iter().map(|(digits, _)| masked(digits)).collect::<Vec<_>>().join(&glue);
        prop_assert_eq!(out.as_ref(), expected, "input {:?}", text);
    }

    /// A security code after a cue word becomes `***`, whatever (digit-free) words sit between them.
    #[test]
    fn a_security_code_after_a_cue_word_never_survives(
        cue in prop_oneof![
            Just("cvv"), Just("CVV2"), Just("cvc"), Just("Cvc2"), Just("cvn"), Just("csc"),
            Just("security code"), Just("Security  Number"), Just("card verification value"),
            Just("card verification code"), Just("código de seguridad"), Just("codigo cvv"),
        ],
        code in "[0-9]{3,4}",
        between in "[ :=is\\-]{1,12}",
        before in words(),
        after in prop_oneof![Just(String::new()), words().prop_map(|w| format!(" {w}"))],
    ) {
        let text = format!("{before} {cue}{between}{code}{after}");
        let out = redact(&text);
        prop_assert_eq!(out.as_ref(), format!("{before} {cue}{between}***{after}"));
    }

    /// Redaction never panics and never grows digits: whatever the input, the output holds no more
    /// ASCII digits than the input did.
    #[test]
    fn redaction_never_panics_and_never_adds_digits(text in any::<String>()) {
        let out = redact(&text);
        let count = |s: &str| s.bytes().filter(u8::is_ascii_digit).count();
        prop_assert!(count(&out) <= count(&text));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// A card number written right after another short number in the same run of groups ("qty 2
    /// 4111 1111 …", "ref 07 4111 …") still shows no more than its first six and last four digits.
    ///
    /// Checked by counting, not by looking for seven or five of the card's digits in a row: the
    /// number before the card may be masked together with it, and the kept digits of the two can
    /// repeat the card's own digits by chance ("ref 6 995394******9953" holds "69953", the last
    /// five digits of 9953940369953, yet shows only six + four of them).
    #[test]
    fn a_card_number_after_another_number_group_still_keeps_only_six_and_four(
        noise in "[1-9][0-9]{0,3}",
        (digits, written) in pan().prop_flat_map(formatted),
    ) {
        let text = format!("ref {noise} {written} thanks");
        let out = redact(&text);
        let count = |s: &str| s.bytes().filter(u8::is_ascii_digit).count();
        let (Some(first_mask), Some(last_mask)) = (out.find("******"), out.rfind("******")) else {
            return Err(TestCaseError::fail(format!("{digits} not masked in {out:?} (input {text:?})")));
        };
        // Before the first mask: the other number, then at most the card's first six digits.
        prop_assert!(
            count(&out[..first_mask]) <= noise.len() + 6,
            "more than the first six digits of {} survive in {:?} (input {:?})", digits, out, text
        );
        // After the last mask: at most the card's last four digits.
        prop_assert!(
            count(&out[last_mask..]) <= 4,
            "more than the last four digits of {} survive in {:?} (input {:?})", digits, out, text
        );
        // Anywhere: at most the other number plus six + four digits of the card.
        prop_assert!(
            count(&out) <= noise.len() + 10,
            "more than 6+4 digits of {} survive in {:?} (input {:?})", digits, out, text
        );
    }

    /// No Luhn-valid run of 13–19 digits is left after redaction, even in text made only of digit groups
    /// (where a kept first six or last four can join a neighbouring number into a new run).
    #[test]
    fn no_card_number_is_left_after_redaction(
        text in "([0-9]{1,8}[ -]?){0,12}",
        (_, written) in pan().prop_flat_map(formatted),
        at in 0usize..=12,
    ) {
        let cut = text.char_indices().map(|(i, _)| i).nth(at).unwrap_or(text.len());
        let text = format!("{}{written} {}", &text[..cut], &text[cut..]);
        let out = redact(&text);
        prop_assert!(!contains_pan(&out), "a card number is left in {:?} (input {:?})", out, text);
    }
}
