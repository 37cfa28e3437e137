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
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x11F50, 0x16A60, 0x16AC0,
    0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E950,
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
        // Enclosed digits people use as decoration: circled ①–⑨ and ⓪, parenthesised ⑴–⑼, with a full stop
        // ⒈–⒐, negative circled ❶–❾ and ⓿, sans-serif circled ➀–➈ and ➊–➒, double circled ⓵–⓽, and the
        // "digit with comma/full stop" 🄀–🄊.
        0x2460..=0x2468 => return Some((cp - 0x2460 + 1) as u8),
        0x24EA | 0x24FF | 0x1F100 | 0x1F101 => return Some(0),
        0x2474..=0x247C => return Some((cp - 0x2474 + 1) as u8),
        0x2488..=0x2490 => return Some((cp - 0x2488 + 1) as u8),
        0x2776..=0x277E => return Some((cp - 0x2776 + 1) as u8),
        0x2780..=0x2788 => return Some((cp - 0x2780 + 1) as u8),
        0x278A..=0x2792 => return Some((cp - 0x278A + 1) as u8),
        0x24F5..=0x24FD => return Some((cp - 0x24F5 + 1) as u8),
        0x1F102..=0x1F10A => return Some((cp - 0x1F102 + 1) as u8),
        _ => {}
    }
    let block = DIGIT_ZEROS
        .partition_point(|&zero| zero <= cp)
        .checked_sub(1)?;
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
        | '\u{2800}'                 // braille blank
        | '\u{1BCA0}'..='\u{1BCA3}' // shorthand format controls
    )
}

/// Whether a character is one people put between groups of digits: any kind of space or line break, and any
/// punctuation, symbol or control character (dots, slashes, dashes, colons, pipes, plus signs, brackets, quotes,
/// emoji, …) — anything that is neither a letter nor a digit. The one exception is `*`, the mask redaction
/// writes: it must end a number, so that a masked card is never read as part of a longer one.
pub(crate) fn is_separator(c: char) -> bool {
    c != '*' && !c.is_alphanumeric()
}

pub(crate) fn classify(c: char) -> Class {
    if c.is_ascii_alphabetic() {
        return Class::Letter(c.to_ascii_uppercase() as u8);
    }
    if let Some(value) = digit_value(c) {
        return Class::Digit(value);
    }
    if c.is_ascii() {
        return if is_separator(c) {
            Class::Separator
        } else {
            Class::Other
        };
    }
    if is_invisible(c) {
        return Class::Invisible;
    }
    if let Some(latin) = latin_look_alike(c) {
        return Class::Letter(latin);
    }
    if is_separator(c) {
        Class::Separator
    } else {
        Class::Other
    }
}

/// The Latin capital a letter looks like, for letters of other alphabets that look the same ("ЕЅ91…", a country
/// code in Cyrillic) and fullwidth Latin letters from East Asian keyboards.
pub(crate) fn latin_look_alike(c: char) -> Option<u8> {
    Some(match c {
        '\u{FF21}'..='\u{FF3A}' => (u32::from(c) - 0xFF21) as u8 + b'A',
        '\u{FF41}'..='\u{FF5A}' => (u32::from(c) - 0xFF41) as u8 + b'A',
        // Cyrillic
        'А' | 'а' => b'A',
        'В' | 'в' => b'B',
        'С' | 'с' => b'C',
        'Е' | 'е' => b'E',
        'Н' | 'н' => b'H',
        'І' | 'і' => b'I',
        'Ј' | 'ј' => b'J',
        'К' | 'к' => b'K',
        'М' | 'м' => b'M',
        'О' | 'о' => b'O',
        'Р' | 'р' => b'P',
        'Ѕ' | 'ѕ' => b'S',
        'Т' | 'т' => b'T',
        'Х' | 'х' => b'X',
        'У' | 'у' => b'Y',
        'Ԁ' | 'ԁ' => b'D',
        // Greek
        'Α' => b'A',
        'Β' => b'B',
        'Ε' => b'E',
        'Ζ' => b'Z',
        'Η' => b'H',
        'Ι' => b'I',
        'Κ' => b'K',
        'Μ' => b'M',
        'Ν' => b'N',
        'Ο' | 'ο' => b'O',
        'Ρ' => b'P',
        'Τ' => b'T',
        'Υ' => b'Y',
        'Χ' => b'X',
        _ => return None,
    })
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
        assert_eq!(digit_value('④'), Some(4));
        assert_eq!(digit_value('❾'), Some(9));
        assert_eq!(digit_value('⓿'), Some(0));
        for c in ['a', ' ', '/', 'Ⅳ', '½', '\u{65F}', '\u{66A}'] {
            assert_eq!(digit_value(c), None, "{c:?}");
        }
    }

    #[test]
    fn the_digit_table_matches_rust_s_own_notion_of_numeric_characters() {
        // Every character the table calls a digit is numeric to Rust's Unicode tables, and every Unicode decimal
        // digit Rust knows (from its `Nd` data through `is_numeric`, narrowed to blocks of ten) is in the table.
        for cp in 0..=0x1FFFFu32 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            if let Some(value) = digit_value(c) {
                assert!(c.is_numeric(), "{c:?} is numeric");
                assert!(value < 10);
            }
        }
    }

    #[test]
    fn spaces_punctuation_and_invisible_characters_are_told_apart() {
        for c in [
            ' ', '\t', '\n', '\u{A0}', '\u{2009}', '\u{202F}', '\u{3000}', '.', '/', '-', '_', ',',
            '–', '．', ':', '|', '+', '(', '🙂', '\u{1B}',
        ] {
            assert_eq!(classify(c), Class::Separator, "{c:?}");
        }
        for c in [
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{AD}', '\u{FEFF}', '\u{2060}', '\u{FE0F}',
        ] {
            assert_eq!(classify(c), Class::Invisible, "{c:?}");
        }
        assert_eq!(classify('e'), Class::Letter(b'E'));
        assert_eq!(classify('Ｅ'), Class::Letter(b'E'));
        assert_eq!(classify('Ѕ'), Class::Letter(b'S'));
        for c in ['ñ', '*', 'ж', 'é'] {
            assert_eq!(classify(c), Class::Other, "{c:?}");
        }
    }
}
