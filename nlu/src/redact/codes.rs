//! Card security codes (CVV, CVC, CID …) and PINs: a 3–4 digit code shortly after words that name one, in English
//! or Spanish, becomes `***`.

use std::sync::OnceLock;

use regex::Regex;

/// The words that announce a security code. A code is only masked after one of them, since "3 digits" alone are
/// everywhere (amounts, dates, times).
const CUES: &str = concat!(
    r"cvv2?|cvc2?|cvn|csc|cid|pin(?:\s+(?:code|number))?",
    r"|card\s+verification(?:\s+(?:code|value|number))?",
    r"|security\s+(?:code|number|digits)",
    r"|(?:digits|numbers|code)\s+(?:on|at|from|in)\s+the\s+back(?:\s+of\s+(?:the|my)\s+card)?",
    r"|back\s+of\s+(?:the|my)\s+card",
    // Spanish: "código de seguridad", "los 3 dígitos de atrás", "número secreto", "clave", "el pin" …
    r"|c[óo]digo\s+(?:de\s+seguridad|de\s+verificaci[óo]n|cvv|cvc|pin|de\s+atr[áa]s|de\s+detr[áa]s|del\s+reverso|de\s+la\s+parte\s+(?:de\s+atr[áa]s|trasera|posterior))",
    r"|(?:d[íi]gitos|n[úu]meros)\s+(?:de\s+seguridad|de\s+atr[áa]s|de\s+detr[áa]s|del\s+reverso|de\s+la\s+parte\s+(?:de\s+atr[áa]s|trasera|posterior))",
    r"|reverso\s+de\s+(?:la|mi)\s+tarjeta|n[úu]mero\s+(?:de\s+seguridad|secreto)|clave(?:\s+secreta)?",
);

/// A cue, then up to 25 characters without digits, then the code: 3 or 4 digits of any script, which may be
/// spaced or dotted ("1 2 3") or carry invisible characters. The character after the code is matched too (the
/// regex crate has no look-ahead) so "cvv 12345" is not taken as "cvv 1234".
fn security_code_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        let gap = r"[\s.\-\u{AD}\u{200B}-\u{200D}\u{2060}\u{FEFF}]?";
        Regex::new(&format!(r"(?i)\b(?:{CUES})\b\D{{0,25}}?(\d(?:{gap}\d){{2,3}})(?:[^\d\u{{AD}}\u{{200B}}-\u{{200D}}\u{{2060}}\u{{FEFF}}]|$)"))
            .expect("the security code pattern is a valid regex")
    })
}

/// The text with every security code masked, or `None` when there is none.
pub(super) fn mask_security_codes(text: &str) -> Option<String> {
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
