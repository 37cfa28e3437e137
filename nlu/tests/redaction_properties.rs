//! Properties of card-data redaction, checked on generated input.
//!
//! Invariant: whatever text surrounds it and however it is typed (any brand and length, digits of any
//! script, any separators between groups, invisible characters inside), a Luhn-valid card number never
//! survives `redact` beyond its first six and last four digits; a 3–4 digit security code after a cue
//! word ("cvv", "security code", "código de seguridad", ...) never survives at all; a valid IBAN keeps
//! only its country, check digits and last four. Numbers that are none of these stay as written.

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
    body.iter()
        .map(|d| char::from(b'0' + d))
        .chain(std::iter::once(char::from_digit(check, 10).expect("digit")))
        .collect()
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
    (
        proptest::collection::vec(1usize..=8, 1..=19),
        proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-")], 19),
    )
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
    proptest::string::string_regex(
        "[a-zA-ZñÑéáü¿?¡!.,:;()\\[\\]/ \u{05d0}-\u{05ea}\u{0627}-\u{064a}🙂💳]{0,40}",
    )
    .expect("regex")
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
        // A letter on each side: a glue of punctuation alone (" . ") would join the numbers into one run of groups.
        let glue = format!(" {glue} and ");
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
        between in "[ :=\\-][ :=is\\-]{0,11}",
        before in words(),
        after in prop_oneof![Just(String::new()), words().prop_map(|w| format!(" {w}"))],
    ) {
        let text = format!("{before} {cue}{between}{code}{after}");
        let out = redact(&text);
        prop_assert_eq!(out.as_ref(), format!("{before} {cue}{between}***{after}"));
    }

    /// Redaction never panics and never grows digits: whatever the input, the output holds no more
    /// digits than the input did.
    #[test]
    fn redaction_never_panics_and_never_adds_digits(text in any::<String>()) {
        let out = redact(&text);
        // Digits of any script: a masked card keeps its first six and last four as ASCII digits.
        let count = |s: &str| s.chars().filter(|c| c.is_numeric()).count();
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

// ---- Every way a person might type a card number ----------------------------------------------------------------

/// The issuer prefixes of the major brands and the lengths they use (Visa, Mastercard old and new ranges, Amex,
/// Discover, Diners, JCB, UnionPay, Maestro).
const BRANDS: &[(&str, &[usize])] = &[
    ("4", &[13, 16, 19]),
    ("51", &[16]),
    ("55", &[16]),
    ("2221", &[16]),
    ("2720", &[16]),
    ("34", &[15]),
    ("37", &[15]),
    ("6011", &[16, 19]),
    ("65", &[16, 19]),
    ("36", &[14]),
    ("3528", &[16, 19]),
    ("62", &[16, 17, 18, 19]),
    ("6759", &[13, 15, 18, 19]),
];

fn branded_pan() -> impl Strategy<Value = String> {
    (
        0..BRANDS.len(),
        0usize..4,
        proptest::collection::vec(0u8..=9, 19),
    )
        .prop_map(|(brand, length, random)| {
            let (prefix, lengths) = BRANDS[brand];
            let len = lengths[length % lengths.len()];
            let mut body: Vec<u8> = prefix.bytes().map(|b| b - b'0').collect();
            body.extend(&random[..len - 1 - prefix.len()]);
            luhn_complete(&body)
        })
}

/// The `0` of some scripts people type digits in: ASCII, fullwidth, Arabic-Indic, Extended Arabic-Indic,
/// Devanagari, Bengali, Thai, mathematical bold.
const ZEROS: &[char] = &['0', '０', '٠', '۰', '०', '০', '๐', '𝟎'];

/// Runs of what people put between groups.
const SEPARATORS: &[&str] = &[
    " ",
    "  ",
    "-",
    " - ",
    ".",
    ". ",
    "/",
    "_",
    ",",
    ", ",
    "\t",
    "\n",
    "\r\n",
    "\u{A0}",
    "\u{2009}",
    "\u{202F}",
    "\u{2007}",
    "\u{3000}",
    "–",
    "—",
    "．",
    "\u{2002}",
    " / ",
    "\u{A0}\u{A0}",
];

/// What can hide inside a number without showing.
const INVISIBLES: &[&str] = &[
    "\u{200B}", "\u{200C}", "\u{200D}", "\u{AD}", "\u{FEFF}", "\u{2060}", "\u{200E}",
];

/// A card number typed in any of the families: digits of one script or mixed, groups of 1–8 joined by any
/// separator run (or none), invisible characters sprinkled anywhere inside.
fn typed_any_way(pan: String) -> impl Strategy<Value = (String, String)> {
    let len = pan.len();
    (
        proptest::collection::vec(1usize..=8, 19),
        proptest::collection::vec(
            prop_oneof![3 => Just(None), 7 => (0..SEPARATORS.len()).prop_map(Some)],
            19,
        ),
        prop_oneof![Just(None), (0..ZEROS.len()).prop_map(Some)],
        proptest::collection::vec(0..ZEROS.len(), 19),
        proptest::collection::vec(
            prop_oneof![9 => Just(None), 1 => (0..INVISIBLES.len()).prop_map(Some)],
            19,
        ),
    )
        .prop_map(move |(sizes, separators, script, mixed, invisibles)| {
            let mut out = String::new();
            let mut at = 0;
            for (gap, size) in sizes.into_iter().enumerate() {
                if at >= len {
                    break;
                }
                if let (true, Some(separator)) = (at > 0, separators[gap]) {
                    out.push_str(SEPARATORS[separator]);
                }
                let end = (at + size).min(len);
                for (i, digit) in pan[at..end].bytes().enumerate() {
                    let zero = ZEROS[script.unwrap_or(mixed[(at + i) % mixed.len()])];
                    out.push(
                        char::from_u32(u32::from(zero) + u32::from(digit - b'0')).expect("a digit"),
                    );
                    if let (Some(invisible), true) =
                        (invisibles[(at + i) % invisibles.len()], at + i + 1 < len)
                    {
                        out.push_str(INVISIBLES[invisible]);
                    }
                }
                at = end;
            }
            (pan.clone(), out)
        })
}

/// Words in English and Spanish around a number, always starting and ending with a letter so they never join it.
fn sentence() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("my"),
            Just("card"),
            Just("number"),
            Just("is"),
            Just("please"),
            Just("block"),
            Just("it"),
            Just("mi"),
            Just("tarjeta"),
            Just("es"),
            Just("por"),
            Just("favor"),
            Just("número"),
            Just("¿qué"),
            Just("pasó?"),
            Just("thanks!"),
            Just("hola,"),
            Just("the"),
            Just("bank")
        ],
        1..6,
    )
    .prop_map(|words| words.join(" "))
}

/// The digits of a text as a person reads them, run by run: digits of any script as ASCII, invisible characters
/// dropped, separators joining groups of one run. Independent of the code under test.
fn digit_runs(text: &str) -> Vec<String> {
    let mut runs = vec![String::new()];
    for c in text.chars() {
        let zero = ZEROS
            .iter()
            .find(|&&zero| (u32::from(zero)..u32::from(zero) + 10).contains(&u32::from(c)));
        if let Some(&zero) = zero {
            runs.last_mut()
                .expect("a run")
                .push(char::from(b'0' + (u32::from(c) - u32::from(zero)) as u8));
        } else if INVISIBLES.contains(&c.to_string().as_str())
            || SEPARATORS.iter().any(|s| s.contains(c))
        {
            continue;
        } else if !runs.last().expect("a run").is_empty() {
            runs.push(String::new());
        }
    }
    runs.retain(|run| !run.is_empty());
    runs
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether any 13–19-digit window of any run is Luhn-valid.
fn has_luhn_window(text: &str) -> bool {
    digit_runs(text).iter().any(|run| {
        (13..=19).any(|len| {
            run.len() >= len && (0..=run.len() - len).any(|at| luhn_valid(&run[at..at + len]))
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Typed in any family, amid English or Spanish words, a card number becomes its first six and last four
    /// digits: no Luhn-valid run of 13–19 digits is left once the text is normalised, and the card's own digit
    /// string appears nowhere.
    #[test]
    fn a_card_number_typed_any_way_keeps_only_six_and_four(
        (pan, typed) in branded_pan().prop_flat_map(typed_any_way),
        before in sentence(),
        after in sentence(),
    ) {
        let text = format!("{before} {typed} {after}");
        prop_assert!(has_luhn_window(&text), "the oracle sees the card in {:?}", text);
        prop_assert!(contains_pan(&text), "detected: {:?}", text);
        let out = redact(&text);
        prop_assert!(!has_luhn_window(&out), "a card number survives in {:?} (input {:?})", out, text);
        prop_assert!(!digit_runs(&out).iter().any(|run| run.contains(&pan)), "{} in {:?}", pan, out);
        prop_assert_eq!(out.as_ref(), format!("{before} {}******{} {after}", &pan[..6], &pan[pan.len() - 4..]));
    }

    /// Split over two to four consecutive messages, a card number is caught when the messages are read
    /// together, and every part keeps at most the card's first six and last four digits.
    #[test]
    fn a_card_number_split_over_messages_never_survives_their_joining(
        (_, typed) in branded_pan().prop_flat_map(typed_any_way),
        cuts in proptest::collection::vec(1usize..18, 1..4),
        before in sentence(),
    ) {
        // Cut only between digits (never inside a group's invisible characters), at 1–3 places.
        let boundaries: Vec<usize> = typed.char_indices().map(|(i, _)| i).filter(|&i| i > 0).collect();
        let mut at: Vec<usize> = cuts.iter().map(|c| boundaries[c % boundaries.len()]).collect();
        at.sort_unstable();
        at.dedup();
        let mut parts = vec![];
        let mut from = 0;
        for cut in at {
            parts.push(typed[from..cut].to_owned());
            from = cut;
        }
        parts.push(typed[from..].to_owned());
        parts[0] = format!("{before} {}", parts[0]);
        let stored: Vec<String> = parts.iter().map(|p| redact(p).into_owned()).collect();
        let refs: Vec<&str> = stored.iter().map(String::as_str).collect();
        let fixed: Vec<String> = match joxai_nlu::redact::mask_across_messages(&refs) {
            Some(changes) => changes.into_iter().zip(&stored).map(|(c, s)| c.unwrap_or_else(|| s.clone())).collect(),
            None => stored.clone(),
        };
        let joined = fixed.join("\n");
        prop_assert!(!has_luhn_window(&joined), "a card number survives in {:?} (parts {:?})", fixed, parts);
        // Six + four digits of the card stay, unless a part alone also looked like a card (its own 6 + 4 stay).
        let digits: usize = digit_runs(&joined).iter().map(String::len).sum();
        let masked_alone = stored.iter().filter(|part| part.contains("******")).count();
        prop_assert!(digits <= 10 * (1 + masked_alone), "more than six + four digits survive in {:?}", fixed);
    }

    /// A security code in any wording the product understands, English or Spanish, in ASCII or other digits,
    /// becomes `***`.
    #[test]
    fn a_security_code_in_any_wording_becomes_stars(
        cue in prop_oneof![
            Just("cvv"), Just("CVV2"), Just("cvc"), Just("security code"), Just("the 3 digits on the back are"),
            Just("numbers on the back of the card:"), Just("código de seguridad"), Just("codigo de verificacion"),
            Just("los tres dígitos de atrás son"), Just("números del reverso"), Just("my pin is"), Just("clave"),
        ],
        code in proptest::collection::vec(0u8..=9, 3..=4),
        zero in 0..ZEROS.len(),
        before in sentence(),
        after in sentence(),
    ) {
        let written: String = code.iter().map(|&d| char::from_u32(u32::from(ZEROS[zero]) + u32::from(d)).expect("digit")).collect();
        let text = format!("{before} {cue} {written} {after}");
        let out = redact(&text);
        prop_assert_eq!(out.as_ref(), format!("{before} {cue} *** {after}"));
    }

    /// A valid IBAN, grouped by four or not, keeps only its country, check digits and last four characters.
    #[test]
    fn a_valid_iban_keeps_only_country_check_digits_and_last_four(
        (country, account) in prop_oneof![
            Just("ES").prop_flat_map(|c| (Just(c), "[0-9]{20}")),
            Just("DE").prop_flat_map(|c| (Just(c), "[0-9]{18}")),
            Just("FR").prop_flat_map(|c| (Just(c), "[0-9]{10}[0-9A-Z]{11}[0-9]{2}")),
            Just("GB").prop_flat_map(|c| (Just(c), "[A-Z]{4}[0-9]{14}")),
            Just("IT").prop_flat_map(|c| (Just(c), "[A-Z][0-9]{10}[0-9A-Z]{12}")),
            Just("NL").prop_flat_map(|c| (Just(c), "[A-Z]{4}[0-9]{10}")),
        ],
        grouped in any::<bool>(),
        before in sentence(),
    ) {
        let check = 98 - iban_remainder(&format!("{account}{country}00"));
        let compact = format!("{country}{check:02}{account}");
        let written = if grouped {
            compact.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).expect("ascii")).collect::<Vec<_>>().join(" ")
        } else {
            compact.clone()
        };
        let text = format!("{before} {written} ok");
        let out = redact(&text);
        prop_assert_eq!(out.as_ref(), format!("{before} {}******{} ok", &compact[..4], &compact[compact.len() - 4..]));
    }

    /// Phone numbers, amounts, dates, order numbers that fail Luhn and IBAN-like strings that fail mod-97 stay as
    /// written.
    #[test]
    fn numbers_that_are_not_card_data_stay_as_written(
        phone in "\\+34 [6-9][0-9]{2} [0-9]{3} [0-9]{3}",
        amount in "[1-9][0-9]{0,2}(,[0-9]{3}){0,2}\\.[0-9]{2}",
        date in "20[0-9]{2}-[01][0-9]-[0-3][0-9]",
        order in "[1-9][0-9]{12,18}",
        (country, account) in prop_oneof![
            Just("ES").prop_flat_map(|c| (Just(c), "[0-9]{20}")),
            Just("DE").prop_flat_map(|c| (Just(c), "[0-9]{18}")),
        ],
        before in sentence(),
    ) {
        prop_assume!(!luhn_valid(&order));
        // The right check digits are 98 − remainder; one more (mod 97) is always wrong.
        let wrong = (98 - iban_remainder(&format!("{account}{country}00")) + 1) % 97;
        let iban_like = format!("{country}{wrong:02}{account}");
        let text = format!("{before} call {phone} paid {amount} on {date} order {order} iban {iban_like} ok");
        // Written without spaces, its 20–22 digits are one group: too long for a card number.
        let out = redact(&text);
        prop_assert_eq!(out.as_ref(), text.as_str());
    }
}

/// The mod-97 remainder of an IBAN-style string (letters as 10–35), as ISO 13616 computes it.
fn iban_remainder(s: &str) -> u32 {
    s.chars().fold(0u32, |r, c| {
        if c.is_ascii_digit() {
            (r * 10 + (c as u32 - '0' as u32)) % 97
        } else {
            (r * 100 + (c as u32 - 'A' as u32 + 10)) % 97
        }
    })
}
