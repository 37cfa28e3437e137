//! Card data for the tests that look for it everywhere: numbers typed in several scripts and groupings, and a
//! reader that sees digits the way a person does, so a leak is found however it was written or escaped.
#![allow(dead_code)]

use serde_json::Value;

/// The zero of each script the test types digits in.
pub const ASCII: char = '0';
pub const FULLWIDTH: char = '０';
pub const ARABIC_INDIC: char = '٠';
pub const DEVANAGARI: char = '०';

pub fn in_script(digits: &str, zero: char) -> String {
    digits
        .chars()
        .map(|d| char::from_u32(u32::from(zero) + d.to_digit(10).expect("digit")).expect("char"))
        .collect()
}

/// The digits in groups of four joined by `separator`.
pub fn grouped(digits: &str, separator: &str) -> String {
    let chars: Vec<char> = digits.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(separator)
}

/// A valid IBAN of `country` whose account part is `account` digits (ISO 13616 check digits).
pub fn iban(country: &str, account: &str) -> String {
    let rearranged = format!("{account}{country}00");
    let remainder = rearranged.chars().fold(0u32, |r, c| match c.to_digit(10) {
        Some(d) => (r * 10 + d) % 97,
        None => (r * 100 + (c as u32 - 'A' as u32 + 10)) % 97,
    });
    format!("{country}{:02}{account}", 98 - remainder)
}

/// A text as a person reads its digits: JSON escapes undone, digits of the test's scripts as ASCII, spaces,
/// punctuation between groups and invisible characters dropped. A boundary character (`|`) stays, so texts joined
/// with it never run into each other.
pub fn normalised(text: &str) -> String {
    let unescaped = unescape(text);
    let mut out = String::with_capacity(unescaped.len());
    for c in unescaped.chars() {
        let digit = [ASCII, FULLWIDTH, ARABIC_INDIC, DEVANAGARI]
            .iter()
            .find_map(|&zero| {
                (u32::from(c))
                    .checked_sub(u32::from(zero))
                    .filter(|&d| d < 10)
            });
        if let Some(d) = digit {
            out.push(char::from_digit(d, 10).expect("digit"));
        } else if c.is_whitespace()
            || matches!(
                c,
                '.' | '/'
                    | '_'
                    | ','
                    | '-'
                    | '\u{200B}'
                    | '\u{200C}'
                    | '\u{200D}'
                    | '\u{AD}'
                    | '\u{FEFF}'
                    | '\u{2060}'
            )
        {
            continue;
        } else {
            out.push(c.to_ascii_uppercase());
        }
    }
    out
}

/// Undoes the JSON escapes a raw record may hold (`\t`, `\n`, `\r`, `\uXXXX`), so an escaped tab between digit
/// groups reads as the tab it was.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('t') | Some('n') | Some('r') => {
                chars.next();
                out.push(' ');
            }
            Some('u') => {
                let hex: String = chars.clone().skip(1).take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(decoded) if hex.len() == 4 => {
                        for _ in 0..5 {
                            chars.next();
                        }
                        out.push(decoded);
                    }
                    _ => out.push(c),
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// What must never be seen, after normalisation: each card number whole, without its last four, without its
/// first six; each IBAN's account part; each security code with the words before it.
pub struct Secrets {
    pub digits: Vec<String>,
    pub phrases: Vec<String>,
}

impl Secrets {
    /// Forbids a card number: whole, without its last four digits, and (when long enough for the rest to be
    /// unlikely by chance) without its first six.
    pub fn forbid_pan(&mut self, digits: &str) {
        self.digits.push(digits.to_owned());
        self.digits.push(digits[..digits.len() - 4].to_owned());
        if digits.len() >= 16 {
            self.digits.push(digits[6..].to_owned());
        }
    }

    pub fn assert_absent(&self, place: &str, text: &str) {
        let seen = normalised(text);
        for secret in &self.digits {
            assert!(
                !seen.contains(secret.as_str()),
                "{place} holds {secret}:\n{}",
                &text[..text.len().min(3000)]
            );
        }
        let lower = unescape(text).to_lowercase();
        for phrase in &self.phrases {
            assert!(!lower.contains(phrase.as_str()), "{place} holds {phrase:?}");
        }
    }
}

/// Every string inside a JSON value, joined by a boundary.
pub fn strings(value: &Value) -> String {
    let mut out = vec![];
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Object(map) => map.iter().for_each(|(k, v)| {
                out.push(k.clone());
                walk(v, out)
            }),
            _ => out.push(value.to_string()),
        }
    }
    walk(value, &mut out);
    out.join("|")
}
