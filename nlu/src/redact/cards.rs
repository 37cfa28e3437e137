//! Card numbers (PANs): found however they are written, masked to their first six and last four digits.

use std::borrow::Cow;
use std::ops::Range;

use super::chars::{Class, classify};

/// The fewest and the most digits a card number can have.
const MIN_DIGITS: usize = 13;
const MAX_DIGITS: usize = 19;

/// How many digits of a card number stay readable at its start and at its end.
const KEPT_AT_START: usize = 6;
const KEPT_AT_END: usize = 4;

/// What replaces the hidden digits of a card number.
pub(super) const CARD_MASK: &str = "******";

/// How many times the text is searched again after masking, keeping the first six and last four digits of what
/// is found, before the last search masks what it finds completely. See [`mask_card_numbers`].
const PASSES_KEEPING_ENDS: usize = 3;

/// A card number found in a text, as byte ranges of that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CardNumber {
    /// From its first digit to just after its last digit, group separators included.
    pub span: Range<usize>,
    /// From its seventh digit to just after its fifth-to-last digit: everything but the first six and the last
    /// four digits (and the separators between them).
    pub hidden: Range<usize>,
}

/// Masks every card number in the text, so that no Luhn-valid run of 13–19 digits is left.
///
/// The first pass works on the text as written: every card number found keeps its first six and last four
/// digits (as ASCII digits, whatever script they were typed in), its other digits become `******` and its
/// separators and invisible characters are dropped ("4111.1111 1111\u{200B}1111" → "411111******1111"). When card
/// numbers overlap (a number just before a card can form a Luhn-valid stretch with the card's first groups), the
/// digits hidden by any of them are hidden, and the overlapping stretch is written as one piece: every one of
/// those numbers keeps at most its own first six and last four digits.
///
/// Dropping separators joins the digits that stay into new groups, and a new group can form a new Luhn-valid run
/// with a number next to it ("ref 1234567 411111******1111"). So the result is searched again and masked the same
/// way. Every pass only hides more digits, so what the first pass promised still holds. A text crafted so that
/// each pass creates a new run could keep this going for a long time; after [`PASSES_KEEPING_ENDS`] passes the
/// runs still found are replaced by `******` entirely, which creates no new run (the digits left around them are
/// groups that were already searched), so the work stays a small constant number of linear passes.
pub(super) fn mask_card_numbers(text: &str) -> Cow<'_, str> {
    let mut current = Cow::Borrowed(text);
    for pass in 0..=PASSES_KEEPING_ENDS {
        let mut cards = find_card_numbers(&current);
        if pass == 0 {
            // A mistyped card number (one digit wrong fails Luhn) is still 15 of the card's 16 digits.
            let cued = find_cued_numbers(&current);
            if !cued.is_empty() {
                cards.extend(cued);
                cards.sort_by_key(|card| (card.span.start, card.span.end));
            }
        }
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
/// number hides becomes part of a `******`, every other digit stays (as an ASCII digit). With `keep_ends` false
/// the whole stretch becomes a single `******`.
fn mask(text: &str, cards: &[CardNumber], keep_ends: bool) -> String {
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
        for (offset, c) in text[stretch.clone()].char_indices() {
            let Class::Digit(value) = classify(c) else {
                // Separators and invisible characters inside a card number are dropped.
                continue;
            };
            let at = stretch.start + offset;
            while next_hidden < hidden.len() && hidden[next_hidden].end <= at {
                next_hidden += 1;
            }
            let is_hidden = hidden
                .get(next_hidden)
                .is_some_and(|range| range.start <= at);
            if !is_hidden {
                out.push(char::from(b'0' + value));
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
pub(super) fn merge_overlapping(ranges: impl Iterator<Item = Range<usize>>) -> Vec<Range<usize>> {
    let mut merged: Vec<Range<usize>> = Vec::new();
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start < last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

/// One digit of a run, where it is in the text and its value.
#[derive(Debug, Clone, Copy)]
struct Digit {
    at: usize,
    end: usize,
    value: u8,
}

/// Every card number in the text: 13–19 digits (of any script) passing the Luhn check, written together or in
/// groups separated by any run of separators ("4111 1111 1111 1111", "4111.1111.1111.1111", "4111 - 1111",
/// Amex "3782 822463 10005"), with invisible characters anywhere inside. Sorted by start, then by end.
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
pub(super) fn find_card_numbers(text: &str) -> Vec<CardNumber> {
    let mut found = Vec::new();
    let mut digits: Vec<Digit> = Vec::new();
    // Each group as a range of indices into `digits`.
    let mut groups: Vec<Range<usize>> = Vec::new();
    let mut separated = false;
    for (at, c) in text.char_indices() {
        match classify(c) {
            Class::Digit(value) => {
                if groups.is_empty() || separated {
                    groups.push(digits.len()..digits.len());
                }
                digits.push(Digit {
                    at,
                    end: at + c.len_utf8(),
                    value,
                });
                if let Some(group) = groups.last_mut() {
                    group.end = digits.len();
                }
                separated = false;
            }
            Class::Invisible => {}
            Class::Separator => separated = !groups.is_empty(),
            Class::Letter(_) | Class::Other => {
                check_run(&digits, &groups, &mut found);
                digits.clear();
                groups.clear();
                separated = false;
            }
        }
    }
    check_run(&digits, &groups, &mut found);
    found
}

/// Words that say the digits next to them are a card number, in English and Spanish (lower case).
const CARD_CUES: &[&str] = &[
    "card",
    "cards",
    "tarjeta",
    "tarjetas",
    "visa",
    "mastercard",
    "amex",
    "maestro",
    "debit",
    "credit",
    "débito",
    "debito",
    "crédito",
    "credito",
    "pan",
    "cc",
];
/// Words that may stand between a cue and the number ("my card number is …", "mi tarjeta es …").
const CUE_FILLERS: &[&str] = &[
    "number", "num", "no", "nr", "nº", "n", "is", "was", "my", "the", "its", "it's", "here", "es",
    "era", "mi", "la", "el", "de", "del", "su", "número", "numero", "nro", "of",
];

/// Every run of 13–19 digits, Luhn-valid or not, whose nearest word before or after it (skipping filler words
/// such as "number" or "es") names a card: "my card 4111111111111112", "4111 1111 1111 1112 es mi tarjeta". A
/// customer who mistypes one digit has still typed most of their card number, and the word says what it is, so
/// it is masked like a valid one. Without such a word a number that fails Luhn stays readable ("order
/// 1234567890123"), and a run of other length is never a card. The whole run counts (groups are never split).
pub(super) fn find_cued_numbers(text: &str) -> Vec<CardNumber> {
    enum Token {
        Word(bool),
        Run(Vec<Digit>),
    }
    // The text as words (each: does it name a card?) and runs of digit groups; filler words dropped.
    let mut tokens: Vec<Token> = Vec::new();
    let mut word = String::new();
    let mut run: Vec<Digit> = Vec::new();
    let end_word = |word: &mut String, tokens: &mut Vec<Token>| {
        if word.is_empty() {
            return;
        }
        let lower = word.to_lowercase();
        word.clear();
        if !CUE_FILLERS.contains(&lower.as_str()) {
            tokens.push(Token::Word(CARD_CUES.contains(&lower.as_str())));
        }
    };
    let end_run = |run: &mut Vec<Digit>, tokens: &mut Vec<Token>| {
        if !run.is_empty() {
            tokens.push(Token::Run(std::mem::take(run)));
        }
    };
    for (at, c) in text.char_indices() {
        match classify(c) {
            Class::Digit(value) => {
                end_word(&mut word, &mut tokens);
                run.push(Digit {
                    at,
                    end: at + c.len_utf8(),
                    value,
                });
            }
            Class::Invisible => {}
            // Between groups of one number, or between words.
            Class::Separator if !run.is_empty() => {}
            _ if c.is_alphabetic() || c == '\'' || c == 'º' => {
                end_run(&mut run, &mut tokens);
                word.push(c);
            }
            _ => {
                end_word(&mut word, &mut tokens);
                end_run(&mut run, &mut tokens);
            }
        }
    }
    end_word(&mut word, &mut tokens);
    end_run(&mut run, &mut tokens);
    let cue = |token: Option<&Token>| matches!(token, Some(Token::Word(true)));
    let mut found = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let Token::Run(digits) = token else { continue };
        let n = digits.len();
        let cued = cue(i.checked_sub(1).and_then(|j| tokens.get(j))) || cue(tokens.get(i + 1));
        if cued && (MIN_DIGITS..=MAX_DIGITS).contains(&n) {
            found.push(CardNumber {
                span: digits[0].at..digits[n - 1].end,
                hidden: digits[KEPT_AT_START].at..digits[n - KEPT_AT_END - 1].end,
            });
        }
    }
    found
}

/// Adds every Luhn-valid stretch of whole groups of one run to `found`.
fn check_run(digits: &[Digit], groups: &[Range<usize>], found: &mut Vec<CardNumber>) {
    if digits.len() < MIN_DIGITS {
        return;
    }
    for first in 0..groups.len() {
        let mut luhn = LuhnSums::default();
        for group in &groups[first..] {
            if luhn.digits + group.len() > MAX_DIGITS {
                break;
            }
            for digit in &digits[group.clone()] {
                luhn.push(digit.value);
            }
            if luhn.digits >= MIN_DIGITS && luhn.is_valid() {
                let start = groups[first].start;
                let end = group.end;
                found.push(CardNumber {
                    span: digits[start].at..digits[end - 1].end,
                    hidden: digits[start + KEPT_AT_START].at..digits[end - KEPT_AT_END - 1].end,
                });
            }
        }
    }
}

/// The Luhn sum of a digit string that grows to the right.
///
/// Luhn doubles every second digit counting from the right end, so which digits are doubled changes with every
/// digit added. Keeping both possible sums (digits at even positions from the left doubled, or odd ones) lets a
/// stretch grow one group at a time without summing its digits again.
#[derive(Default)]
pub(super) struct LuhnSums {
    pub digits: usize,
    doubling_even_positions: u32,
    doubling_odd_positions: u32,
}

impl LuhnSums {
    pub fn push(&mut self, digit: u8) {
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

    pub fn is_valid(&self) -> bool {
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

/// Masks the card numbers that only appear when consecutive texts are read as one (a customer who sends
/// "4111 1111" and then "1111 1111"). Each part alone must already have been masked with [`super::redact`].
///
/// The parts are read joined by line breaks; the hidden digits of every card number that crosses from one part
/// into the next become `*`, one for one, in the part they were typed in, so the parts keep their shape. A `*`
/// inside a group splits it, and the new smaller groups can form a new Luhn-valid stretch with their neighbours,
/// so the joined text is searched again, as [`mask_card_numbers`] does, and after [`PASSES_KEEPING_ENDS`] passes
/// every digit of what is still found becomes `*` (which cannot create a new stretch). Returns the new text of
/// each part that changed, `None` for the others, or `None` overall when no card number crosses a boundary.
pub(super) fn mask_across(parts: &[&str]) -> Option<Vec<Option<String>>> {
    let mut current: Vec<String> = parts.iter().map(|part| (*part).to_owned()).collect();
    let mut changed = vec![false; parts.len()];
    for pass in 0..=PASSES_KEEPING_ENDS {
        let texts: Vec<&str> = current.iter().map(String::as_str).collect();
        let Some(changes) = mask_across_once(&texts, pass < PASSES_KEEPING_ENDS) else {
            break;
        };
        for (i, change) in changes.into_iter().enumerate() {
            if let Some(text) = change {
                current[i] = text;
                changed[i] = true;
            }
        }
    }
    if !changed.contains(&true) {
        return None;
    }
    Some(
        current
            .into_iter()
            .zip(changed)
            .map(|(text, changed)| changed.then_some(text))
            .collect(),
    )
}

/// One pass of [`mask_across`]: with `keep_ends`, each card number of the joined text keeps its first six and
/// last four digits; without, all its digits become `*`.
fn mask_across_once(parts: &[&str], keep_ends: bool) -> Option<Vec<Option<String>>> {
    if parts.len() < 2 {
        return None;
    }
    // What of each part is read: words before the first digit of a later part ("then 1111 1111") and after the
    // last digit of an earlier one ("4111 1111 and") are left out, so the digits on either side of a boundary
    // meet. A part without digits is read whole and keeps the parts around it apart.
    fn digit_at(part: &str) -> impl Iterator<Item = (usize, char)> + '_ {
        part.char_indices()
            .filter(|(_, c)| matches!(classify(*c), Class::Digit(_)))
    }
    let views: Vec<Range<usize>> = parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let (Some((first, _)), Some((last, c))) =
                (digit_at(part).next(), digit_at(part).last())
            else {
                return 0..part.len();
            };
            let start = if i > 0 { first } else { 0 };
            let end = if i + 1 < parts.len() {
                last + c.len_utf8()
            } else {
                part.len()
            };
            start..end
        })
        .collect();
    let mut joined = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    let mut starts = Vec::with_capacity(parts.len());
    for (i, (part, view)) in parts.iter().zip(&views).enumerate() {
        if i > 0 {
            joined.push('\n');
        }
        starts.push(joined.len());
        joined.push_str(&part[view.clone()]);
    }
    // The first pass finds the numbers that cross a boundary (each part alone has none). A later pass may also
    // find one inside a part, formed by the `*` an earlier pass put into a group: it is masked the same way.
    let crossing: Vec<CardNumber> = find_card_numbers(&joined);
    if crossing.is_empty() {
        return None;
    }
    let hidden = merge_overlapping(crossing.iter().map(|card| {
        if keep_ends {
            card.hidden.clone()
        } else {
            card.span.clone()
        }
    }));
    let mut out: Vec<Option<String>> = vec![None; parts.len()];
    for (i, part) in parts.iter().enumerate() {
        let (start, view) = (starts[i], &views[i]);
        let mut changed = String::with_capacity(part.len());
        let mut any = false;
        for (offset, c) in part.char_indices() {
            let is_hidden = view.contains(&offset)
                && matches!(classify(c), Class::Digit(_))
                && hidden
                    .iter()
                    .any(|range| range.contains(&(start + offset - view.start)));
            if is_hidden {
                changed.push('*');
                any = true;
            } else {
                changed.push(c);
            }
        }
        if any {
            out[i] = Some(changed);
        }
    }
    Some(out)
}
