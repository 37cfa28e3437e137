use std::borrow::Cow;

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
fn a_card_number_is_found_whatever_separates_its_groups() {
    for typed in [
        "4111.1111.1111.1111",
        "4111/1111/1111/1111",
        "4111_1111_1111_1111",
        "4111,1111,1111,1111",
        "4111  1111   1111 1111",
        "4111\u{A0}1111\u{A0}1111\u{A0}1111",
        "4111\u{2009}1111\u{202F}1111\u{3000}1111",
        "4111\t1111\t1111\t1111",
        "4111\n1111\r\n1111\n1111",
        "4111 - 1111 - 1111 - 1111",
        "4111 – 1111 — 1111 − 1111",
        "4111. 1111. 1111. 1111",
        "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
    ] {
        assert_eq!(
            redact(&format!("card: {typed} ok")),
            "card: 411111******1111 ok",
            "{typed:?}"
        );
    }
}

#[test]
fn invisible_characters_inside_a_card_number_do_not_hide_it() {
    for typed in [
        "4111\u{200B}1111\u{200B}1111\u{200B}1111",
        "41\u{200D}11111111111111",
        "4111\u{AD}1111\u{AD}1111\u{AD}1111",
        "\u{FEFF}4111 1111 \u{2060}1111 1111",
        "4111 \u{200C} 1111 1111 1111",
        "4\u{FE0F}\u{20E3}111111111111111",
    ] {
        let masked = redact(typed);
        assert!(
            masked.contains("411111******1111"),
            "{typed:?} → {masked:?}"
        );
        assert!(!contains_pan(&masked), "{typed:?} → {masked:?}");
    }
}

#[test]
fn digits_of_other_scripts_are_read_as_digits() {
    for typed in [
        "４１１１ １１１１ １１１１ １１１１", // fullwidth
        "٤١١١ ١١١١ ١١١١ ١١١١",                 // Arabic-Indic
        "۴۱۱۱۱۱۱۱۱۱۱۱۱۱۱۱",                    // Extended Arabic-Indic (Persian)
        "४१११ ११११ ११११ ११११",                 // Devanagari
        "৪১১১-১১১১-১১১১-১১১১",                 // Bengali
        "๔๑๑๑ ๑๑๑๑ ๑๑๑๑ ๑๑๑๑",                 // Thai
        "4111 １１１１ ١١١١ 1111",             // mixed
        "𝟒𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏𝟏",                    // mathematical bold
    ] {
        assert_eq!(
            redact(&format!("tarjeta {typed}")),
            "tarjeta 411111******1111",
            "{typed:?}"
        );
    }
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
        "I paid 1.234,56 € on 03/04/2025 at 14:30",
        "llámame al 612.345.678",
    ] {
        assert!(matches!(redact(text), Cow::Borrowed(_)), "{text}");
        assert!(!contains_pan(text), "{text}");
    }
}

#[test]
fn security_codes_become_stars() {
    for (typed, masked) in [
        ("my cvv is 123", "my cvv is ***"),
        ("CVC: 4567", "CVC: ***"),
        ("cvv2 321 and that's it", "cvv2 *** and that's it"),
        ("the security code is 999", "the security code is ***"),
        (
            "the 3 digits on the back are 246",
            "the 3 digits on the back are ***",
        ),
        (
            "numbers on the back of my card: 135",
            "numbers on the back of my card: ***",
        ),
        (
            "mi código de seguridad es 123",
            "mi código de seguridad es ***",
        ),
        (
            "los 3 dígitos de atrás son 852",
            "los 3 dígitos de atrás son ***",
        ),
        ("el codigo del reverso: 741", "el codigo del reverso: ***"),
        ("my pin is 4821", "my pin is ***"),
        ("cvv 1 2 3 thanks", "cvv *** thanks"),
        ("cvv ١٢٣", "cvv ***"),
        ("cvv １２３", "cvv ***"),
        (
            "card 4111 1111 1111 1111 cvv 123",
            "card 411111******1111 cvv ***",
        ),
    ] {
        assert_eq!(redact(typed), masked, "{typed:?}");
    }
}

#[test]
fn a_security_code_word_without_a_short_code_changes_nothing() {
    assert_eq!(redact("what is a cvv?"), "what is a cvv?");
    assert_eq!(redact("cvv 12345"), "cvv 12345");
    assert_eq!(
        redact("I need 3 digits on the back? no idea"),
        "I need 3 digits on the back? no idea"
    );
}

#[test]
fn ibans_keep_country_check_digits_and_last_four() {
    assert_eq!(
        redact("send it to ES91 2100 0418 4502 0005 1332 please"),
        "send it to ES91******1332 please"
    );
    assert_eq!(
        redact("IBAN: GB82WEST12345698765432"),
        "IBAN: GB82******5432"
    );
    // Fails mod-97: left alone.
    assert_eq!(
        redact("ES91 2100 0418 4502 0005 1333"),
        "ES91 2100 0418 4502 0005 1333"
    );
}

#[test]
fn contains_pan_detects_card_numbers_only() {
    assert!(contains_pan("4111 1111 1111 1111"));
    assert!(contains_pan("4111.1111.1111.1111"));
    assert!(!contains_pan("4111 1111"));
    assert!(!contains_pan(""));
}

#[test]
fn a_card_number_split_over_messages_is_masked_in_every_part() {
    let parts = ["my card is 4111 1111", "1111 1111 is it blocked?"];
    let masked = mask_across_messages(&parts).expect("a number crosses the messages");
    assert_eq!(masked[0].as_deref(), Some("my card is 4111 11**"));
    assert_eq!(masked[1].as_deref(), Some("**** 1111 is it blocked?"));
    let three = ["4111", "1111.1111", "1111"];
    let masked = mask_across_messages(&three).expect("three parts");
    let joined: Vec<String> = masked
        .iter()
        .zip(three)
        .map(|(m, p)| m.clone().unwrap_or_else(|| p.to_owned()))
        .collect();
    assert!(!contains_pan(&joined.join("\n")), "{joined:?}");
    assert!(mask_across_messages(&["hello", "4111 1111"]).is_none());
    assert!(mask_across_messages(&["4111 1111 1111 1111"]).is_none());
    // A number already masked inside one part does not count as crossing.
    assert!(mask_across_messages(&["411111******1111", "thanks"]).is_none());
}

/// The digits of `parts` read in `order`, joined: what someone reading the transcript that way sees.
fn digits_in(parts: &[String], order: &[usize]) -> String {
    order
        .iter()
        .flat_map(|&i| parts[i].chars().filter(char::is_ascii_digit))
        .collect()
}

#[test]
fn a_split_number_is_found_whichever_part_was_stored_first() {
    let pan = "4539148803436467";
    // Two halves of equal length pass Luhn in either order, so both readings are masked: more is hidden than
    // first six + last four, never less.
    let found = mask_split_number(&["my card is 4539 1488"], "0343 6467").expect("in order");
    let parts = vec![
        found.earlier[0].clone().expect("first part masked"),
        found.latest.clone().expect("second part masked"),
    ];
    for order in [[0, 1], [1, 0]] {
        let seen = digits_in(&parts, &order);
        assert!(!contains_pan(&seen) && seen.len() <= 10, "{parts:?}");
    }
    // The second part was stored first; the first part arrives last.
    let found = mask_split_number(&["hello", "0343 6467 ok"], "my card is 4539 1488")
        .expect("out of order");
    let parts = vec![
        found.earlier[1].clone().expect("stored part masked"),
        found.latest.clone().expect("latest masked"),
    ];
    for order in [[0, 1], [1, 0]] {
        let seen = digits_in(&parts, &order);
        assert!(
            !contains_pan(&seen) && !seen.contains(&pan[6..12]),
            "{parts:?}"
        );
        assert!(
            seen.len() <= 10,
            "at most six + four digits stay: {parts:?}"
        );
    }
    assert!(mask_split_number(&["hello"], "1111 1111").is_none());
}

#[test]
fn only_messages_starting_with_a_digit_or_holding_four_may_be_part_of_a_number() {
    assert!(may_be_part_of_a_number("1111 2222"));
    assert!(may_be_part_of_a_number(" \u{200B}- ٣٣ and"));
    assert!(may_be_part_of_a_number("my card is 4111 1111 "));
    assert!(may_be_part_of_a_number("my card is 41.11"));
    assert!(may_be_part_of_a_number("then 4420 4965"));
    assert!(!may_be_part_of_a_number("question 123"));
    assert!(!may_be_part_of_a_number("and 12 ok"));
    assert!(!may_be_part_of_a_number(""));
}

#[test]
fn redaction_never_panics_on_odd_or_huge_input() {
    let huge_digits = "4".repeat(1_000_000);
    let spaced_digits = "1 ".repeat(200_000);
    let card_like_groups = "4111 1111 1111 1111 ".repeat(10_000);
    let iban_like = "ES91 ".repeat(100_000);
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
        iban_like.as_str(),
    ] {
        let _ = redact(text);
        let _ = contains_pan(text);
    }
    assert!(!redact(&card_like_groups).contains("4111 1111 1111 1111"));
}

#[test]
fn redacting_twice_changes_nothing_more() {
    for text in [
        "card 4111.1111.1111.1111 cvv 123 iban ES9121000418450200051332",
        "ref 2 1028450406346198 918",
        "٤١١١ ١١١١ ١١١١ ١١١١",
    ] {
        let once = redact(text).into_owned();
        assert_eq!(redact(&once), once, "{text:?}");
    }
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

#[test]
fn masking_a_split_number_leaves_no_number_formed_by_its_own_stars() {
    // Found by the fuzzer: hiding "82-82" in the first part left the group "8", and "4111 1131 11112 8" (14
    // digits) passed Luhn on its own.
    // (No word naming a card next to the digits: each half alone must hold no number, Luhn-valid or cued.)
    let text = "my ref 4111 1131 11112-82-822463 then 3782-82-822463-1\u{0}005";
    let middle = text
        .char_indices()
        .map(|(i, _)| i)
        .nth(text.chars().count() / 2)
        .unwrap_or(0);
    let (first, second) = (
        redact(&text[..middle]).into_owned(),
        redact(&text[middle..]).into_owned(),
    );
    let split = mask_split_number(&[&first], &second).expect("a number crosses the halves");
    let first = split.earlier[0].clone().unwrap_or(first);
    let second = split.latest.unwrap_or(second);
    assert!(
        !contains_pan(&format!("{first}\n{second}")),
        "{first:?} / {second:?}"
    );
}

#[test]
fn reading_messages_in_another_order_never_leaves_a_number_in_the_stored_order() {
    // Found by the fuzzer: read latest-first, "605\n 1111 1111822" held a card number, and masking it left
    // "1822\n463-100822" (a Luhn-valid 13 digits) in the order the messages are shown.
    let (first, second) = (" 1111 1111822", "463-100822,605");
    let split = mask_split_number(&[first], second).expect("some reading holds a number");
    let first = split.earlier[0].clone().unwrap_or_else(|| first.to_owned());
    let second = split.latest.unwrap_or_else(|| second.to_owned());
    assert!(
        !contains_pan(&format!("{first}\n{second}")),
        "{first:?} / {second:?}"
    );
}

#[test]
fn a_card_number_is_found_whatever_punctuation_or_symbol_separates_its_groups() {
    for separator in [
        ":", ";", "|", "+", "~", "#", "=", "\"", ")(", "][", "\u{FF1A}", "\u{2043}", "\u{301C}",
        "…", "💳", "\u{2800}", "\u{1B}",
    ] {
        let typed = ["4111", "1111", "1111", "1111"].join(separator);
        assert_eq!(
            redact(&format!("card {typed} thanks")),
            "card 411111******1111 thanks",
            "{separator:?}"
        );
    }
    assert_eq!(redact("card ④①①①①①①①①①①①①①①①"), "card 411111******1111");
}

#[test]
fn security_codes_in_more_wordings_become_stars() {
    for (typed, masked) in [
        ("verification value: 703", "verification value: ***"),
        ("257 is my cvv", "*** is my cvv"),
        ("143 es mi cvv", "*** es mi cvv"),
        (
            "291 es el código de seguridad",
            "*** es el código de seguridad",
        ),
        ("c.v.v. 185", "c.v.v. ***"),
        ("C V V 802", "C V V ***"),
        ("sec code 791", "sec code ***"),
        ("securitycode497", "securitycode***"),
        ("cvv809", "cvv***"),
        ("CID 4 digits: 3902", "CID 4 digits: ***"),
        ("cvv (the 3 numbers) 267", "cvv (the 3 numbers) ***"),
        ("card code: 591", "card code: ***"),
        ("back of card 892", "back of card ***"),
        ("código secreto 021", "código secreto ***"),
        ("código de 3 dígitos 924", "código de 3 dígitos ***"),
        ("número de verificación 395", "número de verificación ***"),
        ("4861962582439502 12/27 026", "486196******9502 12/27 ***"),
        (
            "4861962582439502, exp 12/27, 218",
            "486196******9502, exp 12/27, ***",
        ),
        ("4861962582439502 1227 625", "486196******9502 1227 ***"),
    ] {
        assert_eq!(redact(typed), masked, "{typed:?}");
    }
    assert_eq!(
        redact("call me at 12:30 about 3 cards"),
        "call me at 12:30 about 3 cards"
    );
}

#[test]
fn a_security_code_sent_after_its_cue_or_its_card_is_masked() {
    let found = mask_split_number(&["my cvv is"], "165").expect("a code after its cue");
    assert_eq!(found.latest.as_deref(), Some("***"));
    let found = mask_split_number(&["mi código de seguridad es"], "420 gracias").expect("Spanish");
    assert_eq!(found.latest.as_deref(), Some("*** gracias"));
    let found =
        mask_split_number(&["card 486196******9502"], "540").expect("a code after the card");
    assert_eq!(found.latest.as_deref(), Some("***"));
    assert!(mask_split_number(&["how are you"], "165").is_none());
}

#[test]
fn look_alike_letters_and_spaced_ibans_are_still_ibans() {
    assert_eq!(redact("ЕЅ91 2100 0418 4502 0005 1332"), "ES91******1332");
}

#[test]
fn words_around_the_parts_of_a_split_number_do_not_hide_it() {
    for (first, second) in [
        ("my card is 4539 1488 and", "then 0343 6467 ok"),
        ("first part: 453914880343", "last four: 6467"),
    ] {
        let found = mask_split_number(&[first], second).expect("words around the parts");
        let parts = vec![
            found.earlier[0].clone().unwrap_or_else(|| first.to_owned()),
            found.latest.clone().unwrap_or_else(|| second.to_owned()),
        ];
        let seen = digits_in(&parts, &[0, 1]);
        assert!(seen.len() <= 10 && !seen.contains("880343"), "{parts:?}");
    }
}

#[test]
fn a_mistyped_card_number_next_to_a_word_naming_a_card_is_masked_too() {
    for (typed, expected) in [
        ("my card 4111111111111112", "my card 411111******1112"),
        (
            "card number: 4111 1111 1111 1112 thanks",
            "card number: 411111******1112 thanks",
        ),
        (
            "my card number is 4111-1111-1111-1112",
            "my card number is 411111******1112",
        ),
        (
            "4111111111111112 es mi tarjeta",
            "411111******1112 es mi tarjeta",
        ),
        (
            "mi tarjeta de crédito 5555 5555 5555 4445",
            "mi tarjeta de crédito 555555******4445",
        ),
        ("VISA 4111.1111.1111.1112", "VISA 411111******1112"),
    ] {
        assert_eq!(redact(typed), expected, "{typed:?}");
    }
}

#[test]
fn a_number_that_fails_luhn_without_a_card_word_beside_it_stays_readable() {
    for typed in [
        "order 4111111111111112",
        "my card was lost, order 1234567890123 please",
        "call 4111111111111112 about my card? no: reference 1234567890123",
        "card 12345678901234567890",
        "card 123456789012",
    ] {
        assert_eq!(redact(typed), typed, "{typed:?}");
    }
}

#[test]
fn a_part_of_a_card_number_after_a_security_code_cue_is_left_to_the_split_check() {
    // "mi código de seguridad es ***" and then the first half of a card: masking "4968" as a code would
    // leave the other 12 digits readable once the second half arrives.
    let split = mask_split_number(
        &[
            "the cvv is ***",
            "mi código de seguridad es ***",
            "my new card is 4968 7763",
        ],
        "1234 5678 is it blocked?",
    )
    .expect("the halves form a card number");
    assert_eq!(
        split.earlier[2].as_deref(),
        Some("my new card is **** 77**")
    );
    assert_eq!(split.latest.as_deref(), Some("**** 56** is it blocked?"));
    assert!(
        mask_split_number(
            &["mi código de seguridad es ***"],
            "my new card is 4968 7763"
        )
        .is_none(),
        "two groups after a code cue are not a code"
    );
    // A code on its own, or with a few words, after its cue is still masked.
    let code = mask_split_number(&["mi código de seguridad es"], "it's 165").expect("a code");
    assert_eq!(code.latest.as_deref(), Some("it's ***"));
}
