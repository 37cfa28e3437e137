//! Removes card numbers, IBANs and card security codes from text before it is stored, logged, shown or sent to a
//! model. This is the one detector: the ingress runs every field a person types through [`redact`] (customers and
//! staff alike), the ticket worker runs [`mask_across_messages`] over a customer's consecutive messages, and the
//! LLM request builder runs [`redact`] again as a last line.
//!
//! PCI DSS lets a bank keep at most the first six and last four digits of a card number, and never the security
//! code. A false positive costs a masked order number; a false negative leaks a card, so where a rule must guess
//! it masks. Only Luhn-valid runs count as card numbers and only mod-97-valid strings as IBANs, which keeps order
//! ids, phone numbers and amounts readable for the agent.
//!
//! Every detector reads characters through one normalisation step ([`chars`]): digits of any script count as
//! digits, any run of spaces, dots, slashes, dashes, underscores, commas or line breaks separates groups, and
//! invisible characters are read through.

mod cards;
mod chars;
mod codes;
mod iban;

use std::borrow::Cow;

/// Masks every IBAN as country + check digits + `******` + last four, every card number as first six + `******` +
/// last four, and every security code as `***`. Returns the input unchanged (borrowed) when there is nothing to
/// mask. Idempotent: redacting a redacted text changes nothing.
pub fn redact(text: &str) -> Cow<'_, str> {
    // IBANs first: the account part of an IBAN is a long run of digit groups, and a card-number pass would mask
    // a Luhn-valid stretch of it and leave the rest of the IBAN readable.
    let masked_ibans = iban::mask_ibans(text);
    let masked_cards = match cards::mask_card_numbers(&masked_ibans) {
        Cow::Borrowed(_) => masked_ibans,
        Cow::Owned(owned) => Cow::Owned(owned),
    };
    match codes::mask_security_codes(&masked_cards) {
        Some(masked) => Cow::Owned(masked),
        None => masked_cards,
    }
}

/// Masks, in place, a string a person typed; returns whether anything was masked.
pub fn redact_in_place(text: &mut String) -> bool {
    match redact(text) {
        Cow::Borrowed(_) => false,
        Cow::Owned(masked) => {
            *text = masked;
            true
        }
    }
}

/// Whether the text contains a full card number (a Luhn-valid run of 13–19 digits, however written).
pub fn contains_pan(text: &str) -> bool {
    !cards::find_card_numbers(text).is_empty()
}

/// Masks card numbers that only appear when a customer's consecutive messages are read together ("4111 1111",
/// then "1111 1111"). `parts` are the messages in the order they were sent, each already masked on its own by
/// [`redact`]. Returns the new text of every part that must change (`None` for a part that stays), or `None`
/// when no card number crosses from one message into the next. The hidden digits become `*` one for one, so each
/// part keeps its shape.
pub fn mask_across_messages(parts: &[&str]) -> Option<Vec<Option<String>>> {
    cards::mask_across(parts)
}

/// What [`mask_split_number`] found: the new text of each earlier message that must change, and of the latest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitNumber {
    pub earlier: Vec<Option<String>>,
    pub latest: Option<String>,
}

/// Masks a card number split between the latest message and the customer's `earlier` ones (oldest first).
///
/// Several workers store a conversation's messages at once, so the second part of a number can be stored before
/// the first. So the messages are read in every order the latest one could have been typed in (after all the
/// earlier ones, then one place earlier at a time), each reading on the texts as they are, and every digit any
/// reading hides is hidden (two halves of equal length pass the Luhn check in either order, so the reading alone
/// cannot tell which was typed first). Then the stored order (earlier ones, then the latest) is read once more,
/// so that the transcript as shown holds no card number either. A security code sent alone after its cue or
/// after the card ("my cvv is", then "165") is masked too.
pub fn mask_split_number(earlier: &[&str], latest: &str) -> Option<SplitNumber> {
    let original: Vec<&str> = earlier
        .iter()
        .copied()
        .chain(std::iter::once(latest))
        .collect();
    let last = earlier.len();
    // Per part, the characters (by index) that some reading turns into `*`.
    let mut hidden: Vec<std::collections::BTreeSet<usize>> =
        vec![Default::default(); original.len()];
    for position in (0..=last).rev() {
        let mut order: Vec<usize> = (0..last).collect();
        order.insert(position, last);
        let parts: Vec<&str> = order.iter().map(|&i| original[i]).collect();
        let Some(changes) = cards::mask_across(&parts) else {
            continue;
        };
        for (&i, change) in order.iter().zip(changes) {
            let Some(text) = change else { continue };
            // Masking replaces digits by `*` one for one, so characters line up.
            for (at, (before, after)) in original[i].chars().zip(text.chars()).enumerate() {
                if before != after {
                    hidden[i].insert(at);
                }
            }
        }
    }
    let mut texts: Vec<String> = original
        .iter()
        .zip(&hidden)
        .map(|(text, hidden)| {
            text.chars()
                .enumerate()
                .map(|(at, c)| if hidden.contains(&at) { '*' } else { c })
                .collect()
        })
        .collect();
    let mut changed: Vec<bool> = hidden.iter().map(|h| !h.is_empty()).collect();
    let stored: Vec<&str> = texts.iter().map(String::as_str).collect();
    if let Some(changes) = cards::mask_across(&stored) {
        for (i, change) in changes.into_iter().enumerate() {
            if let Some(text) = change {
                texts[i] = text;
                changed[i] = true;
            }
        }
    }
    // A security code sent on its own after its cue or after the card ("my cvv is", then "165").
    if last > 0
        && let Some(masked) = codes::mask_code_after(&texts[last - 1], &texts[last])
    {
        texts[last] = masked;
        changed[last] = true;
    }
    if !changed.contains(&true) {
        return None;
    }
    let mut results: Vec<Option<String>> = texts
        .into_iter()
        .zip(changed)
        .map(|(text, changed)| changed.then_some(text))
        .collect();
    let latest = results.pop().flatten();
    Some(SplitNumber {
        earlier: results,
        latest,
    })
}

/// Whether a message could be part of a card number split over messages: it has a run of at least four digits
/// (ignoring separators and invisible characters), or it starts with a digit. Only such messages need
/// [`mask_split_number`], so the ticket worker reads earlier messages for them alone; "question 12" keeps the
/// worker's batched path.
pub fn may_be_part_of_a_number(text: &str) -> bool {
    use chars::Class;
    let mut before_any_word = true;
    let mut run = 0;
    for c in text.chars() {
        match chars::classify(c) {
            Class::Invisible | Class::Separator => {}
            Class::Digit(_) => {
                run += 1;
                if before_any_word || run >= 4 {
                    return true;
                }
            }
            Class::Letter(_) | Class::Other => {
                before_any_word = false;
                run = 0;
            }
        }
    }
    false
}

/// Takes out what `redact` put in (a masked card number such as `407907******3978`, a masked code `***`: any run of
/// three or more `*` with the digits glued to it), leaving a space. The intent model reads the text without them:
/// they carry no meaning of their own, and the sentence encoder read a masked number as a sign of card fraud
/// ("what savings plans do you offer? my card is 407907******3978" came out as an unrecognised withdrawal).
pub fn without_masks(text: &str) -> Cow<'_, str> {
    if !text.contains("***") {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut kept_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'*' {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < bytes.len() && bytes[end] == b'*' {
            end += 1;
        }
        if end - i < 3 {
            i = end;
            continue;
        }
        // ASCII digits and `*` are single bytes, so these bounds are always character boundaries.
        let mut start = i;
        while start > kept_from && bytes[start - 1].is_ascii_digit() {
            start -= 1;
        }
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        out.push_str(&text[kept_from..start]);
        out.push(' ');
        kept_from = end;
        i = end;
    }
    out.push_str(&text[kept_from..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests;
