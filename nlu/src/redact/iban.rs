//! IBANs: masked to their country code, check digits and last four characters ("ES91******1332").
//!
//! An IBAN is two letters (the country), two check digits and 11–30 letters or digits (the domestic account
//! number), usually written in groups of four. It is valid when the number formed by moving the first four
//! characters to the end, with each letter read as 10–35, leaves 1 when divided by 97 (ISO 13616). A random
//! string passes that check about once in 97 tries, so strings that merely look like an IBAN stay as written.

use std::borrow::Cow;
use std::ops::Range;

use super::cards::{CARD_MASK, merge_overlapping};
use super::chars::{Class, classify};

/// The length of every country's IBAN, from the ISO 13616 registry (SWIFT's IBAN registry). A country not in
/// the list has no IBAN, so nothing that starts with its code is taken for one.
const LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// The length of the account part (after the four leading characters) of the country's IBAN.
fn account_length(country: [u8; 2]) -> Option<usize> {
    LENGTHS
        .iter()
        .find(|(code, _)| **code == country)
        .map(|(_, len)| len - 4)
}

/// How many characters stay readable at the end.
const KEPT_AT_END: usize = 4;

/// A character of a candidate IBAN's account part: where it is.
#[derive(Clone, Copy)]
struct Symbol {
    at: usize,
    end: usize,
}

/// An IBAN found in a text: its whole span, and the stretch that is hidden (from its fifth character to just
/// before its last four).
struct Iban {
    span: Range<usize>,
    kept_start: Range<usize>,
    kept_end: Range<usize>,
}

/// Masks every valid IBAN in the text. Returns the text unchanged (borrowed) when there is none.
pub(super) fn mask_ibans(text: &str) -> Cow<'_, str> {
    let found = find_ibans(text);
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let spans = merge_overlapping(found.iter().map(|iban| iban.span.clone()));
    let mut out = String::with_capacity(text.len());
    let mut copied_up_to = 0;
    for span in spans {
        out.push_str(&text[copied_up_to..span.start]);
        copied_up_to = span.end;
        // The first IBAN of the stretch says what stays readable; overlapping ones (rare: a valid IBAN inside a
        // longer valid one) are hidden with it.
        let first = found
            .iter()
            .find(|iban| iban.span.start == span.start)
            .expect("a stretch starts at an IBAN");
        let last = found
            .iter()
            .filter(|iban| iban.span.end <= span.end)
            .max_by_key(|iban| iban.span.end)
            .unwrap_or(first);
        push_symbols(&mut out, &text[first.kept_start.clone()]);
        out.push_str(CARD_MASK);
        push_symbols(&mut out, &text[last.kept_end.clone()]);
    }
    out.push_str(&text[copied_up_to..]);
    Cow::Owned(out)
}

/// Writes the letters and digits of `part` in ASCII, dropping separators and invisible characters.
fn push_symbols(out: &mut String, part: &str) {
    for c in part.chars() {
        match classify(c) {
            Class::Digit(value) => out.push(char::from(b'0' + value)),
            Class::Letter(letter) => out.push(char::from(letter)),
            _ => {}
        }
    }
}

/// Every valid IBAN in the text, sorted by start. A candidate starts with a country code that has IBANs and two
/// digits, not glued to a letter or digit before it; its account part runs through letters, digits, single
/// separators and invisible characters for exactly the country's length, and must end there (no letter or digit
/// glued after it).
///
/// Cost: the remainder is carried along as the account part grows, so each candidate costs at most 30 steps.
fn find_ibans(text: &str) -> Vec<Iban> {
    let symbols: Vec<(usize, char, Class)> = text
        .char_indices()
        .map(|(at, c)| (at, c, classify(c)))
        .filter(|(_, _, class)| *class != Class::Invisible)
        .collect();
    let mut found = Vec::new();
    for start in 0..symbols.len() {
        let prefix = &symbols[start..(start + 4).min(symbols.len())];
        let [
            (_, _, Class::Letter(a)),
            (_, _, Class::Letter(b)),
            (_, _, Class::Digit(c1)),
            (_, _, Class::Digit(c2)),
        ] = prefix
        else {
            continue;
        };
        if start > 0 && matches!(symbols[start - 1].2, Class::Letter(_) | Class::Digit(_)) {
            continue;
        }
        // The four leading characters, as they count at the end of the rearranged number: letters as two digits
        // each, then the two check digits.
        let tail = (u32::from(*a - b'A') + 10) * 10_000
            + (u32::from(*b - b'A') + 10) * 100
            + u32::from(*c1) * 10
            + u32::from(*c2);
        let Some(length) = account_length([*a, *b]) else {
            continue;
        };
        let mut account: Vec<Symbol> = Vec::with_capacity(length);
        let mut remainder: u32 = 0;
        let mut valid = false;
        let mut i = start + 4;
        // A single separator may sit between the check digits and the account part, and between its groups.
        let mut after_separator = false;
        while i < symbols.len() && account.len() < length {
            let (at, c, class) = symbols[i];
            let value = match class {
                Class::Digit(d) => u32::from(d),
                Class::Letter(l) => u32::from(l - b'A') + 10,
                Class::Separator if !after_separator => {
                    after_separator = true;
                    i += 1;
                    continue;
                }
                _ => break,
            };
            after_separator = false;
            remainder = (remainder * if value >= 10 { 100 } else { 10 } + value) % 97;
            account.push(Symbol {
                at,
                end: at + c.len_utf8(),
            });
            i += 1;
        }
        let ends_there = symbols
            .get(i)
            .is_none_or(|next| !matches!(next.2, Class::Letter(_) | Class::Digit(_)));
        if account.len() == length && ends_there && (remainder * 1_000_000 + tail) % 97 == 1 {
            valid = true;
        }
        if valid {
            let len = length;
            let last = &account[len - 1];
            let kept = &account[len - KEPT_AT_END];
            found.push(Iban {
                span: symbols[start].0..last.end,
                kept_start: symbols[start].0
                    ..symbols[start + 3].0 + symbols[start + 3].1.len_utf8(),
                kept_end: kept.at..last.end,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_iban_keeps_its_country_check_digits_and_last_four() {
        assert_eq!(
            mask_ibans("ES91 2100 0418 4502 0005 1332"),
            "ES91******1332"
        );
        assert_eq!(
            mask_ibans("my iban is ES9121000418450200051332, thanks"),
            "my iban is ES91******1332, thanks"
        );
        assert_eq!(
            mask_ibans("GB82 WEST 1234 5698 7654 32 please"),
            "GB82******5432 please"
        );
        assert_eq!(mask_ibans("de89 3704 0044 0532 0130 00"), "DE89******3000");
        assert_eq!(
            mask_ibans("FR14\u{200B}2004 1010 0505 0001 3M02 606."),
            "FR14******2606."
        );
    }

    #[test]
    fn strings_that_fail_the_check_stay_as_written() {
        for text in [
            "ES91 2100 0418 4502 0005 1333",
            "AB12 3456 7890 1234 5678",
            "ES12",
            "the ES91 team",
        ] {
            assert!(matches!(mask_ibans(text), Cow::Borrowed(_)), "{text}");
        }
    }
}
