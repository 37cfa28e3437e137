//! Card security codes (CVV, CVC, CID …) and PINs: a 3–4 digit code shortly after words that name one, in English
//! or Spanish, becomes `***`.

use std::sync::OnceLock;

use regex::Regex;

/// The words that announce a security code. A code is only masked after (or just before) one of them, since
/// "3 digits" alone are everywhere (amounts, dates, times).
const CUES: &str = concat!(
    r"c[\s.\-]?v[\s.\-]?v2?|c[\s.\-]?v[\s.\-]?c2?|cvn|csc|cid|pin(?:\s+(?:code|number))?",
    r"|card\s+verification(?:\s+(?:code|value|number))?|verification\s+(?:code|value|number)",
    r"|sec(?:urity)?\s*(?:code|number|digits)|card\s+code|signature\s+(?:panel\s+)?code",
    r"|(?:digits|numbers|code)\s+(?:on|at|from|in)\s+the\s+back(?:\s+of\s+(?:the|my)\s+card)?",
    r"|back\s+of\s+(?:(?:the|my)\s+)?card",
    // Spanish: "código de seguridad", "los 3 dígitos de atrás", "las tres cifras", "número secreto", "clave" …
    r"|c[óo]digo\s+(?:de\s+seguridad|de\s+verificaci[óo]n|secreto|cvv|cvc|pin|de\s+atr[áa]s|de\s+detr[áa]s|del\s+reverso|de\s+la\s+parte\s+(?:de\s+atr[áa]s|trasera|posterior)|de\s+(?:tres|3|cuatro|4)\s+(?:cifras|d[íi]gitos|n[úu]meros))",
    r"|(?:d[íi]gitos|n[úu]meros|cifras)\s+(?:de\s+seguridad|de\s+atr[áa]s|de\s+detr[áa]s|del\s+reverso|de\s+la\s+parte\s+(?:de\s+atr[áa]s|trasera|posterior))",
    r"|reverso\s+de\s+(?:la|mi)\s+tarjeta|n[úu]mero\s+(?:de\s+seguridad|de\s+verificaci[óo]n|secreto)|clave(?:\s+secreta)?",
);

/// A security code: 3 or 4 digits of any script, which may be spaced or dotted ("1 2 3") or carry invisible
/// characters.
const CODE: &str = r"\d(?:[\s.\-\u{AD}\u{200B}-\u{200D}\u{2060}\u{FEFF}]?\d){2,3}";
/// What may follow a code: anything but another digit (the regex crate has no look-ahead, so it is matched, and
/// "cvv 12345" is not taken as "cvv 1234").
const AFTER: &str = r"(?:[^\d\u{AD}\u{200B}-\u{200D}\u{2060}\u{FEFF}]|$)";

/// The patterns, each with the code as its first group:
/// - a cue, then up to 25 characters that are not digits (a lone "4" or "3rd" may be among them: "CID 4 digits:
///   3902"), or nothing ("cvv809"), then the code;
/// - the code, then "is"/"es" and a cue ("257 is my cvv", "143 es mi cvv");
/// - a masked card number, an expiry date, then the code with no word at all ("486196******9502 12/27 026");
/// - a masked card number, then a 3-digit code with no word at all ("486196******9502 026"; a lone 4-digit group
///   there is more often an expiry date than an Amex code).
fn security_code_patterns() -> &'static [Regex; 4] {
    static PATTERNS: OnceLock<[Regex; 4]> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        // ASCII word boundaries: a Unicode `\b` keeps the regex crate off its fast automaton, and the cues are
        // ASCII words (a non-ASCII letter next to one counts as a boundary, which only masks more).
        let gap = r"(?:[^\d]|(?-u:\b)\d(?:st|nd|rd|th)?(?-u:\b))";
        let card = r"\d{6}\*{6}\d{4}[^\d*]{0,12}?";
        let expiry = r"(?:\d{1,2}\s*[/\-.]\s*\d{2,4}|\d{4})[^\d*]{0,12}?";
        let three = r"\d(?:[\s.\-\u{AD}\u{200B}-\u{200D}\u{2060}\u{FEFF}]?\d){2}";
        let compile = |pattern: String| Regex::new(&pattern).expect("the security code patterns are valid regexes");
        [
            compile(format!(r"(?i)(?-u:\b)(?:{CUES})(?:(?-u:\b){gap}{{0,25}}?|)({CODE}){AFTER}")),
            compile(format!(r"(?i)(?:^|[^\d])({CODE})\s*(?:is|es|=|:)\s+(?:(?:my|the|its|mi|el|la|su)\s+)?(?:{CUES})(?-u:\b)")),
            compile(format!(r"(?i){card}{expiry}({CODE}){AFTER}")),
            compile(format!(r"(?i){card}({three}){AFTER}")),
        ]
    })
}

/// The text with every security code masked, or `None` when there is none.
pub(super) fn mask_security_codes(text: &str) -> Option<String> {
    let mut codes: Vec<std::ops::Range<usize>> = security_code_patterns()
        .iter()
        .flat_map(|pattern| {
            pattern
                .captures_iter(text)
                .filter_map(|c| c.get(1))
                .map(|code| code.range())
        })
        .collect();
    if codes.is_empty() {
        return None;
    }
    codes.sort_by_key(|code| (code.start, code.end));
    let codes = super::cards::merge_overlapping(codes.into_iter());
    let mut out = String::with_capacity(text.len());
    let mut copied_up_to = 0;
    for code in codes {
        out.push_str(&text[copied_up_to..code.start]);
        out.push_str("***");
        copied_up_to = code.end;
    }
    out.push_str(&text[copied_up_to..]);
    Some(out)
}

/// A security code sent in the message after its cue ("my cvv is", then "165") or after the card number
/// ("486196******9502", then "540"): the latest message with the code masked, or `None`.
///
/// The latest message must hold a single group of digits (the code, perhaps with a few words: "165", "it's
/// 165"): a message with more groups ("my new card is 4968 7763") is more likely a part of a card number, which
/// the split-number check joins with the messages around it — masking one of its groups as a code would leave
/// the rest of the number readable across the messages.
pub(super) fn mask_code_after(previous: &str, latest: &str) -> Option<String> {
    if digit_groups(latest) != 1 {
        return None;
    }
    let joined = format!("{previous}\n{latest}");
    let masked = mask_security_codes(&joined)?;
    // Only a code in the latest message counts here; the previous one was masked on its own already.
    let kept = masked.strip_prefix(previous)?.strip_prefix('\n')?;
    (kept != latest).then(|| kept.to_owned())
}

/// How many groups of digits (of any script) the text holds, anything else between them.
fn digit_groups(text: &str) -> usize {
    use super::chars::{Class, classify};
    let mut groups = 0;
    let mut in_group = false;
    for c in text.chars() {
        match classify(c) {
            Class::Digit(_) => {
                if !in_group {
                    groups += 1;
                }
                in_group = true;
            }
            Class::Invisible => {}
            _ => in_group = false,
        }
    }
    groups
}
