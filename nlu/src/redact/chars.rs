//! The one normalisation step of redaction: what each character of a text counts as when we look for card numbers,
//! IBANs and security codes.
//!
//! People type digits in many ways: fullwidth digits from an Asian keyboard, Arabic-Indic or Devanagari digits from
//! their phone's locale, groups split by dots, slashes, non-breaking or thin spaces, and sometimes invisible
//! characters pasted along with the number (a zero-width space from a web page, a soft hyphen from a PDF). Every
//! detector reads the text through [`classify`], so a number is found however it was written.

/// What a character counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// A decimal digit of any script, with its value.
    Digit(u8),
    /// Something people put between groups of digits: any kind of space, a line break or tab, a dot, slash, dash,
    /// underscore, comma or apostrophe, in ASCII or one of their Unicode look-alikes.
    Separator,
    /// A character that shows nothing (zero-width space and joiners, soft hyphen, byte-order mark, direction marks,
    /// variation selectors, combining marks). It is read through as if it were not there, even inside a group.
    Invisible,
    /// An ASCII letter (or its fullwidth form), upper-cased: IBANs start with two and may contain more.
    Letter(u8),
    /// Anything else: it ends a number.
    Other,
}

/// The code point of `0` of every block of ten decimal digits in Unicode 15 (category `Nd`; each block holds
/// 0–9 in order). Generated from Python's `unicodedata` and checked by a test.
const DIGIT_ZEROS: [u32; 68] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6, 0xE50, 0xED0,
    0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620,
    0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0,
    0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x11F50,
    0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E950,
    0x1FBF0,
];

/// The value of a decimal digit of any script; superscript and subscript digits count too, since they read as
/// digits to a person.
pub(crate) fn digit_value(c: char) -> Option<u8> {
    let cp = u32::from(c);
    if c.is_ascii_digit() {
        return Some((cp - 0x30) as u8);
    }
    if cp < 0x660 {
        return match c {
            '\u{B9}' => Some(1),
            '\u{B2}' => Some(2),
            '\u{B3}' => Some(3),
            _ => None,
        };
    }
    match cp {
        0x2070 => return Some(0),
        0x2074..=0x2079 => return Some((cp - 0x2070) as u8),
        0x2080..=0x2089 => return Some((cp - 0x2080) as u8),
        _ => {}
    }
    let block = DIGIT_ZEROS.partition_point(|&zero| zero <= cp).checked_sub(1)?;
    let offset = cp - DIGIT_ZEROS[block];
    (offset < 10).then_some(offset as u8)
}

/// Whether a character shows nothing. These are skipped wherever they are, so "4111\u{200B}1111" is one group.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'                      // soft hyphen
        | '\u{34F}'                   // combining grapheme joiner
        | '\u{300}'..='\u{36F}'       // combining diacritical marks (an underline or accent on a digit)
        | '\u{61C}'                   // Arabic letter mark
        | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'     // Mongolian variation selectors and vowel separator
        | '\u{200B}'..='\u{200F}'     // zero-width space, non-joiner, joiner, direction marks
        | '\u{202A}'..='\u{202E}'     // direction embeddings and overrides
        | '\u{2060}'..='\u{206F}'     // word joiner, invisible operators, isolates
        | '\u{20D0}'..='\u{20FF}'     // combining marks for symbols (keycap 4⃣)
        | '\u{FE00}'..='\u{FE0F}'     // variation selectors
        | '\u{FE20}'..='\u{FE2F}'     // combining half marks
        | '\u{FEFF}'                  // byte-order mark, zero-width no-break space
        | '\u{FFF9}'..='\u{FFFB}'     // interlinear annotation marks
        | '\u{1D173}'..='\u{1D17A}'   // musical formatting characters
        | '\u{E0000}'..='\u{E007F}'   // tag characters
        | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
    )
}

/// Whether a character is one people put between groups of digits.
pub(crate) fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '.' | '/' | '\\' | '-' | '_' | ',' | '\'' | '`' | '´' | '·'
            | '\u{2010}'..='\u{2015}' // hyphens and dashes
            | '\u{2018}' | '\u{2019}' // quotation marks used as thousands separators
            | '\u{2022}' | '\u{2024}' | '\u{2027}' // bullet, one-dot leader, hyphenation point
            | '\u{2044}' | '\u{2215}' | '\u{2212}' | '\u{2219}' // fraction slash, division slash, minus, bullet operator
            | '\u{2E3A}' | '\u{2E3B}' // two- and three-em dashes
            | '\u{3001}' | '\u{3002}' | '\u{30FB}' // ideographic comma and full stop, katakana middle dot
            | '\u{060C}' | '\u{066B}' | '\u{066C}' | '\u{06D4}' // Arabic comma, decimal and thousands separators, full stop
            | '\u{FE50}' | '\u{FE52}' | '\u{FE58}' | '\u{FE63}' // small comma, full stop, em dash, hyphen
            | '\u{FF07}' | '\u{FF0C}' | '\u{FF0D}' | '\u{FF0E}' | '\u{FF0F}' | '\u{FF3C}' | '\u{FF3F}' | '\u{FF61}' | '\u{FF64}' | '\u{FF65}'
        )
}

pub(crate) fn classify(c: char) -> Class {
    if c.is_ascii_alphabetic() {
        return Class::Letter(c.to_ascii_uppercase() as u8);
    }
    if let Some(value) = digit_value(c) {
        return Class::Digit(value);
    }
    if c.is_ascii() {
        return if is_separator(c) { Class::Separator } else { Class::Other };
    }
    if is_invisible(c) {
        return Class::Invisible;
    }
    if is_separator(c) {
        return Class::Separator;
    }
    match c {
        // Fullwidth Latin letters, from East Asian keyboards.
        '\u{FF21}'..='\u{FF3A}' => Class::Letter((u32::from(c) - 0xFF21) as u8 + b'A'),
        '\u{FF41}'..='\u{FF5A}' => Class::Letter((u32::from(c) - 0xFF41) as u8 + b'A'),
        _ => Class::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_s_digits_have_their_value() {
        for zero in DIGIT_ZEROS {
            for value in 0..10u8 {
                let c = char::from_u32(zero + u32::from(value)).expect("a code point");
                assert_eq!(digit_value(c), Some(value), "{c:?} (U+{:X})", u32::from(c));
            }
        }
        assert_eq!(digit_value('٣'), Some(3));
        assert_eq!(digit_value('७'), Some(7));
        assert_eq!(digit_value('５'), Some(5));
        assert_eq!(digit_value('²'), Some(2));
        assert_eq!(digit_value('₉'), Some(9));
        for c in ['a', ' ', '/', 'Ⅳ', '½', '①', '\u{65F}', '\u{66A}'] {
            assert_eq!(digit_value(c), None, "{c:?}");
        }
    }

    #[test]
    fn the_digit_table_matches_rust_s_own_notion_of_numeric_characters() {
        // Every character the table calls a digit is numeric to Rust's Unicode tables, and every Unicode decimal
        // digit Rust knows (from its `Nd` data through `is_numeric`, narrowed to blocks of ten) is in the table.
        for cp in 0..=0x1FFFFu32 {
            let Some(c) = char::from_u32(cp) else { continue };
            if let Some(value) = digit_value(c) {
                assert!(c.is_numeric(), "{c:?} is numeric");
                assert!(value < 10);
            }
        }
    }

    #[test]
    fn spaces_punctuation_and_invisible_characters_are_told_apart() {
        for c in [' ', '\t', '\n', '\u{A0}', '\u{2009}', '\u{202F}', '\u{3000}', '.', '/', '-', '_', ',', '–', '．'] {
            assert_eq!(classify(c), Class::Separator, "{c:?}");
        }
        for c in ['\u{200B}', '\u{200C}', '\u{200D}', '\u{AD}', '\u{FEFF}', '\u{2060}', '\u{FE0F}'] {
            assert_eq!(classify(c), Class::Invisible, "{c:?}");
        }
        assert_eq!(classify('e'), Class::Letter(b'E'));
        assert_eq!(classify('Ｅ'), Class::Letter(b'E'));
        for c in ['ñ', '*', '🙂', '(', ':', '+'] {
            assert_eq!(classify(c), Class::Other, "{c:?}");
        }
    }
}
