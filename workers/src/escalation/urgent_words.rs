//! Strong urgent wording in English and Spanish, with negation: the rule that does not depend on the intent
//! model. "my card was stolen" is urgent whatever the model says; "my card is not lost" is not, and also stops
//! the model's guess of a lost card from escalating (see [`super::classify`]).
//!
//! Matching is on words after lower-casing, folding accents (`robó` = `robo`) and dropping apostrophes
//! (`didn't` = `didnt`), so typed-in-a-hurry messages match too. Long words also match with one typo (see
//! [`typo_of`]): "unathorised", "fradulent", "stoeln", "regonise".

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// What the message's wording says about urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// A strong urgent cue that is not negated; the cue is named for the agent.
    Urgent(&'static str),
    /// Only negated cues ("not lost", "no fue un fraude") or an all-clear ("I found my card", "that was me").
    Negated(&'static str),
    /// Nothing either way.
    Neutral,
}

/// Single words that are urgent on their own unless negated.
const URGENT_WORDS: &[&str] = &[
    "fraud",
    "fraudulent",
    "fraudulently",
    "fraudster",
    "fraudsters",
    "scam",
    "scammed",
    "scammer",
    "scammers",
    "stolen",
    "stole",
    "steal",
    "stealing",
    "unauthorised",
    "unauthorized",
    "hacked",
    "hacker",
    "hackers",
    "phishing",
    "phished",
    "compromised",
    "skimmed",
    "cloned",
    "robbed",
    "mugged",
    "pickpocketed",
    "nicked",
    "breach",
    "breached",
    // A robbery.
    "knifepoint",
    "gunpoint",
    // Spanish.
    "fraude",
    "fraudulento",
    "fraudulenta",
    "estafa",
    "estafaron",
    "estafado",
    "estafada",
    "estafador",
    "robado",
    "robada",
    "robaron",
    "robo",
    "roban",
    "robando",
    "hackeado",
    "hackeada",
    "hackearon",
    "suplantacion",
    "suplantado",
    "suplantada",
    "suplantaron",
    "clonada",
    "clonado",
    "clonaron",
    "timo",
    "timaron",
    "atraco",
    "atracaron",
    "atracado",
    "atracada",
];

/// Verbs that are urgent only about a card or an account ("freeze my card", not "freeze cooked rice").
const ACTION_WORDS: &[&str] = &[
    "freeze",
    "block",
    "lock",
    "stop",
    "suspend",
    "congelar",
    "congelen",
    "congela",
    "congelad",
    "bloquear",
    "bloqueen",
    "bloquea",
    "bloqueo",
    "bloqueame",
    "bloquead",
    "suspender",
    "suspendan",
    "parar",
    "paren",
];
/// The objects [`ACTION_WORDS`] must be about, within a few words after (or just before) the verb.
const BANK_OBJECTS: &[&str] = &[
    "card",
    "cards",
    "account",
    "accounts",
    "debit",
    "credit",
    "visa",
    "mastercard",
    "tarjeta",
    "tarjetas",
    "cuenta",
    "cuentas",
];

/// Words that are urgent about a card, wallet or purse near them ("my mastercard is lost", "a missing visa"), not on
/// their own ("lost my way", "a missing parcel").
const LOSS_WORDS: &[&str] = &[
    "lost",
    "missing",
    "perdida",
    "perdido",
    "extraviada",
    "extraviado",
    "extravie",
];
/// What [`LOSS_WORDS`] must be about, within three words either side in the same clause.
const LOSABLE: &[&str] = &[
    "card",
    "cards",
    "visa",
    "mastercard",
    "wallet",
    "purse",
    "tarjeta",
    "tarjetas",
    "cartera",
];
/// "I don't recall" or "I don't remember" is urgent after a payment, charge or other money movement in the same
/// clause ("a transaction I don't recall"), not after anything else ("I don't remember my PIN").
const DENIALS: &[&str] = &[
    "dont recall",
    "do not recall",
    "dont remember",
    "do not remember",
    "no recuerdo",
];
/// See [`DENIALS`]; within five words before.
const MONEY_MOVEMENTS: &[&str] = &[
    "payment",
    "payments",
    "charge",
    "charges",
    "transaction",
    "transactions",
    "debit",
    "withdrawal",
    "withdrawals",
    "purchase",
    "purchases",
    "transfer",
    "cargo",
    "cargos",
    "pago",
    "pagos",
    "compra",
    "compras",
    "retirada",
    "transaccion",
];

/// Phrases that are urgent. `true`: the phrase carries its own negation ("didn't make"), so a negator before it
/// does not cancel it.
const URGENT_PHRASES: &[(&str, bool)] = &[
    ("didnt make", true),
    ("did not make", true),
    ("never made", true),
    ("not me", true),
    ("wasnt me", true),
    ("was not me", true),
    ("not mine", true),
    ("isnt mine", true),
    ("didnt authorise", true),
    ("didnt authorize", true),
    ("did not authorise", true),
    ("did not authorize", true),
    ("never authorised", true),
    ("never authorized", true),
    ("dont recognise", true),
    ("dont recognize", true),
    ("do not recognise", true),
    ("do not recognize", true),
    ("didnt buy", true),
    ("did not buy", true),
    ("never bought", true),
    ("never did", true),
    ("never spent", true),
    ("no idea about", true),
    ("never set up", true),
    ("didnt approve", true),
    ("did not approve", true),
    ("never approved", true),
    ("never took out", true),
    ("didnt take out", true),
    ("did not take out", true),
    ("without my permission", false),
    ("without my consent", false),
    ("without my knowledge", false),
    ("lost my card", false),
    ("lost my cards", false),
    ("lost my debit", false),
    ("lost my credit", false),
    ("lost my wallet", false),
    ("lost my purse", false),
    ("lost my phone", false),
    ("lost both my cards", false),
    ("lsot my card", false),
    ("lost my crad", false),
    ("card is lost", false),
    ("card was lost", false),
    ("card got lost", false),
    ("card lost", false),
    ("lost card", false),
    ("card is missing", false),
    ("card has disappeared", false),
    ("card went missing", false),
    ("card is gone", false),
    ("card gone", false),
    ("cards gone", false),
    ("card s gone", false),
    ("cant find my card", false),
    ("cannot find my card", false),
    ("cant locate my", false),
    ("cant find my wallet", false),
    ("where is my card", false),
    ("no idea where my card", false),
    ("misplaced my", false),
    ("someone knows my", false),
    ("somebody knows my", false),
    ("stranger knows", false),
    ("got hold of my", false),
    ("knows my pin", false),
    ("knows my card", false),
    ("didnt change it", true),
    ("someone paid", false),
    ("somebody paid", false),
    ("someone bought", false),
    ("somebody bought", false),
    ("someone spent", false),
    ("someone is shopping", false),
    ("someone took", false),
    ("somebody took", false),
    ("never been there", true),
    ("never been to", true),
    ("never visited", true),
    ("never been in", true),
    ("want my card blocked", false),
    ("need my card blocked", false),
    ("want it blocked", false),
    ("get my card blocked", false),
    ("want my card frozen", false),
    ("need my card frozen", false),
    ("want my account frozen", false),
    ("need my account frozen", false),
    ("want my account blocked", false),
    ("wallet is gone", false),
    ("purse is gone", false),
    ("wallet is missing", false),
    ("purse is missing", false),
    ("lost my bag", false),
    ("never heard of", true),
    ("company i dont know", true),
    ("shop i dont know", true),
    ("merchant i dont know", true),
    ("i dont know them", true),
    ("wasnt there", true),
    ("was not there", true),
    // A charge from somewhere the customer was not, or for something they do not have.
    ("i was at home", true),
    ("i was home all", true),
    ("i dont even have", true),
    ("safe account", false),
    ("pretending to be", false),
    ("pretended to be", false),
    ("card unusable", false),
    ("draining my account", false),
    ("is draining", false),
    ("emptying my account", false),
    ("haciendose pasar", false),
    ("cuenta segura", false),
    ("vaciando mi cuenta", false),
    ("nunca he oido", true),
    ("took my card", false),
    ("took my cards", false),
    ("took my wallet", false),
    ("took my purse", false),
    ("someone has my card", false),
    ("somebody has my card", false),
    ("someone used my card", false),
    ("somebody used my card", false),
    ("someone is using my card", false),
    ("used my card without", false),
    ("kept my card", false),
    ("swallowed my card", false),
    ("ate my card", false),
    ("eaten by the atm", false),
    ("retained my card", false),
    ("card is stuck", false),
    ("card got stuck", false),
    ("give my card back", true),
    ("give me my card back", true),
    ("give back my card", true),
    ("phone was stolen", false),
    ("left my card", false),
    ("dropped my card", false),
    ("card fell", false),
    ("shared my one time code", false),
    ("gave my card", false),
    ("told them my card", false),
    ("gave them my", false),
    ("read him the code", false),
    ("entered my card", false),
    // Spanish.
    ("no fui yo", true),
    ("no lo hice", true),
    ("no la hice", true),
    ("yo no hice", true),
    ("que no hice", true),
    ("no he hecho", true),
    ("no reconozco", true),
    ("no son mias", true),
    ("no es mio", true),
    ("no es mia", true),
    ("no autorice", true),
    ("no autorizado", true),
    ("no autorizada", true),
    ("no autorizados", true),
    ("no autorizadas", true),
    ("nunca he estado", true),
    ("no estuve", true),
    ("que no conozco", true),
    ("sin mi permiso", false),
    ("sin mi autorizacion", false),
    ("sin autorizacion", false),
    ("sin mi consentimiento", false),
    ("perdi mi tarjeta", false),
    ("perdi la tarjeta", false),
    ("perdi mi targeta", false),
    ("he perdido mi tarjeta", false),
    ("he perdido la tarjeta", false),
    ("perdi la cartera", false),
    ("perdi mi cartera", false),
    ("perdi el movil", false),
    ("perdi el telefono", false),
    ("tarjeta perdida", false),
    ("no encuentro mi tarjeta", false),
    ("no encuentro la tarjeta", false),
    ("se trago", false),
    ("se quedo con mi tarjeta", false),
    ("se quedo atascada", false),
    ("se me cayo la tarjeta", false),
    ("ha desaparecido", false),
    ("me quitaron", false),
    ("sacaron dinero", false),
    ("me sacaron", false),
    ("usaron mi tarjeta", false),
    ("uso mi tarjeta", false),
    ("han usado mi tarjeta", false),
    ("alguien ha pagado", false),
    ("alguien tiene", false),
    ("alguien entro", false),
    ("di mi clave", false),
    ("di los datos", false),
    ("les di el codigo", false),
    ("puse mis datos", false),
    ("me robaron", false),
    ("me han robado", false),
    ("no se donde esta mi tarjeta", false),
];

/// Words that negate a cue a few words later ("not lost", "haven't lost", "no está perdida").
const NEGATORS: &[&str] = &[
    "not", "no", "never", "isnt", "wasnt", "hasnt", "havent", "hadnt", "didnt", "dont", "doesnt",
    "arent", "werent", "nothing", "nobody", "aint", "nunca", "nada", "ni", "tampoco",
];
/// Words between a negator and a cue that keep the cue alive: "I don't know if my card was stolen" is urgent.
const NEGATION_BREAKERS: &[&str] = &[
    "know",
    "sure",
    "if",
    "whether",
    "but",
    "think",
    "understand",
    "why",
    "who",
    "how",
    "se",
    "si",
    "pero",
    "porque",
    "que",
];
/// Words before an action word that undo it: "undo the freeze on my card", "quitar el bloqueo".
const REVERSERS: &[&str] = &[
    "undo", "remove", "lift", "lifted", "removed", "quitar", "quito", "quita", "levantar",
];
/// Words right after a "didn't make" that make it harmless: "I didn't make a mistake".
const HARMLESS_AFTER_MAKE: &[&str] = &["mistake", "mistakes", "error", "sense", "typo"];

/// Words that are not urgent on their own but whose negation means "nothing is wrong".
const NEGATABLE: &[&str] = &[
    "lost",
    "lose",
    "losing",
    "missing",
    "perdida",
    "perdido",
    "perdi",
    "robada",
    "robado",
    "compromised",
];
/// Phrases that say the emergency is over or never was.
const ALL_CLEAR: &[&str] = &[
    "found my card",
    "found the card",
    "found my wallet",
    "card turned up",
    "turned up",
    "false alarm",
    "never mind",
    "was mine",
    "was me",
    "it was my",
    "i know that payment",
    "i recognise all",
    "i recognize all",
    "encontre la tarjeta",
    "encontre mi tarjeta",
    "ya la encontre",
    "la hice yo",
    "lo hice yo",
    "si la hice",
    "fui yo",
];

/// Lower-case, fold accents, drop apostrophes, and split into words.
pub fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| *c != '\'' && *c != '’')
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            c if c.is_alphanumeric() => c,
            // A clause ends: "no, someone stole it" is not a negated "stole".
            ',' | '.' | ';' | ':' | '!' | '?' | '¿' | '¡' => '|',
            _ => ' ',
        })
        .collect();
    folded
        .replace('|', " | ")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Whether the word at `at` is negated by one of the four words before it in the same clause, with no breaker in
/// between.
fn negated(words: &[String], at: usize) -> bool {
    for back in 1..=4.min(at) {
        let w = words[at - back].as_str();
        if w == "|" || NEGATION_BREAKERS.contains(&w) {
            return false;
        }
        if NEGATORS.contains(&w) {
            return true;
        }
    }
    false
}

/// The words up to the first clause break.
fn clause(words: &[String]) -> &[String] {
    let end = words.iter().position(|w| w == "|").unwrap_or(words.len());
    &words[..end]
}

/// The words after the last clause break.
fn clause_back(words: &[String]) -> &[String] {
    let start = words.iter().rposition(|w| w == "|").map_or(0, |i| i + 1);
    &words[start..]
}

/// The positions where `phrase` (words separated by single spaces) starts in `words`.
fn find_phrase(words: &[String], phrase: &str) -> Vec<usize> {
    let parts: Vec<&str> = phrase.split(' ').collect();
    if parts.len() > words.len() {
        return Vec::new();
    }
    (0..=words.len() - parts.len())
        .filter(|&i| parts.iter().enumerate().all(|(k, p)| words[i + k] == *p))
        .collect()
}

/// Whether `word` is `cue` typed with one slip, the same first letter kept (people rarely miss the first one, and
/// it keeps short words apart):
/// - a cue of 8 letters or more: one letter changed, added, dropped, or two neighbours swapped ("fradulent",
///   "unauthorsed", "compromized", "estafarom");
/// - a cue of 6 or 7 letters: only a dropped letter or two neighbours swapped ("stoeln", "scamed", "hakced"). A
///   changed or added letter there too often makes another real word: "cloned" / "closed", "stolen" / "stollen",
///   "timaron" / "tomaron".
///
/// Shorter cues match exactly only. Exact matches are not typos (`false`).
pub fn typo_of(word: &str, cue: &str) -> bool {
    // Most pairs differ in length or first letter: rule them out before looking at the letters (this runs for
    // every word of every message against every long cue).
    if word.len().abs_diff(cue.len()) > 2 || word.chars().next() != cue.chars().next() {
        return false;
    }
    let (w, c): (Vec<char>, Vec<char>) = (word.chars().collect(), cue.chars().collect());
    if c.len() < 6 || w == c || w.first() != c.first() {
        return false;
    }
    let long = c.len() >= 8;
    match w.len() as isize - c.len() as isize {
        0 => {
            let differing: Vec<usize> = (0..c.len()).filter(|&i| w[i] != c[i]).collect();
            match differing.as_slice() {
                [_] => long,
                [a, b] => *b == a + 1 && w[*a] == c[*b] && w[*b] == c[*a],
                _ => false,
            }
        }
        // One letter dropped: `word` is `cue` without one of its letters.
        -1 => (0..c.len()).any(|skip| {
            c.iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, ch)| ch)
                .eq(w.iter())
        }),
        1 if long => (0..w.len()).any(|skip| {
            w.iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, ch)| ch)
                .eq(c.iter())
        }),
        _ => false,
    }
}

/// Whether a message word matches a cue word exactly or as a typo of it (see [`typo_of`]).
fn matches_word(word: &str, cue: &str) -> bool {
    word == cue || typo_of(word, cue)
}

/// A phrase of [`URGENT_PHRASES`] split into words.
struct Phrase {
    text: &'static str,
    words: Vec<&'static str>,
    self_negating: bool,
}

/// The urgent phrases by their first word, and the single-word lists as sets, built once: the rules run on every
/// customer message, so each word is looked up once instead of every phrase being searched for.
struct Lexicon {
    phrases: HashMap<&'static str, Vec<Phrase>>,
    /// The phrases whose first word is long enough to be matched with a typo (see [`typo_of`]).
    long_first_words: Vec<&'static str>,
    urgent: HashSet<&'static str>,
    actions: HashSet<&'static str>,
    negatable: HashSet<&'static str>,
}

fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let mut phrases: HashMap<&'static str, Vec<Phrase>> = HashMap::new();
        for (text, self_negating) in URGENT_PHRASES {
            let words: Vec<&'static str> = text.split(' ').collect();
            phrases.entry(words[0]).or_default().push(Phrase {
                text,
                words,
                self_negating: *self_negating,
            });
        }
        let long_first_words = phrases
            .keys()
            .copied()
            .filter(|first| first.chars().count() >= 6)
            .collect();
        Lexicon {
            phrases,
            long_first_words,
            urgent: URGENT_WORDS.iter().copied().collect(),
            actions: ACTION_WORDS.iter().copied().collect(),
            negatable: NEGATABLE.iter().copied().collect(),
        }
    })
}

/// Reads the urgency of `text` from its wording alone.
pub fn wording(text: &str) -> Wording {
    let words = words(text);
    let lexicon = lexicon();
    let mut negated_cue = None;
    for (at, word) in words.iter().enumerate() {
        // The phrases that start with this word, or with a long word it is a typo of.
        let typo_firsts = lexicon
            .long_first_words
            .iter()
            .filter(|first| typo_of(word, first))
            .filter_map(|first| lexicon.phrases.get(first));
        let candidates = lexicon
            .phrases
            .get(word.as_str())
            .into_iter()
            .chain(typo_firsts)
            .flatten();
        for phrase in candidates {
            let end = at + phrase.words.len();
            if end > words.len()
                || !phrase
                    .words
                    .iter()
                    .zip(&words[at..end])
                    .all(|(p, w)| matches_word(w, p))
            {
                continue;
            }
            let next_two = &words[end..(end + 2).min(words.len())];
            if phrase.text.ends_with(" make")
                && next_two
                    .iter()
                    .any(|w| HARMLESS_AFTER_MAKE.contains(&w.as_str()))
            {
                continue;
            }
            if phrase.self_negating || !negated(&words, at) {
                return Wording::Urgent(phrase.text);
            }
            negated_cue.get_or_insert(phrase.text);
        }
        let urgent_word = lexicon
            .urgent
            .get(word.as_str())
            .copied()
            .or_else(|| URGENT_WORDS.iter().copied().find(|cue| typo_of(word, cue)));
        if let Some(cue) = urgent_word {
            if !negated(&words, at) {
                return Wording::Urgent(cue);
            }
            negated_cue.get_or_insert(cue);
        }
        if let Some(cue) = lexicon.actions.get(word.as_str()) {
            let after = clause(&words[at + 1..(at + 5).min(words.len())]);
            // The object may come first ("a new card before I freeze the old one"); the undoing word comes right
            // before ("undo the freeze").
            let before = clause_back(&words[at.saturating_sub(4)..at]);
            let about_the_bank = after
                .iter()
                .chain(before)
                .any(|w| BANK_OBJECTS.contains(&w.as_str()));
            let reversed = words[at.saturating_sub(2)..at]
                .iter()
                .any(|w| REVERSERS.contains(&w.as_str()));
            if about_the_bank && !reversed {
                if !negated(&words, at) {
                    return Wording::Urgent(cue);
                }
                negated_cue.get_or_insert(cue);
            }
        }
        if let Some(cue) = LOSS_WORDS.iter().find(|w| **w == word.as_str()) {
            let near = clause_back(&words[at.saturating_sub(3)..at])
                .iter()
                .chain(clause(&words[at + 1..(at + 4).min(words.len())]))
                .any(|w| LOSABLE.contains(&w.as_str()));
            if near && !negated(&words, at) {
                return Wording::Urgent(cue);
            }
        }
        for denial in DENIALS {
            let parts: Vec<&str> = denial.split(' ').collect();
            let end = at + parts.len();
            if end <= words.len()
                && parts.iter().zip(&words[at..end]).all(|(p, w)| p == w)
                && clause_back(&words[at.saturating_sub(5)..at])
                    .iter()
                    .any(|w| MONEY_MOVEMENTS.contains(&w.as_str()))
            {
                return Wording::Urgent(denial);
            }
        }
        if let Some(cue) = lexicon.negatable.get(word.as_str())
            && negated(&words, at)
        {
            negated_cue.get_or_insert(cue);
        }
    }
    if let Some(cue) = negated_cue {
        return Wording::Negated(cue);
    }
    ALL_CLEAR
        .iter()
        .find(|p| !find_phrase(&words, p).is_empty())
        .map_or(Wording::Neutral, |p| Wording::Negated(p))
}

#[cfg(test)]
mod tests {
    use super::{Wording, typo_of, wording};

    fn urgent(text: &str) -> bool {
        matches!(wording(text), Wording::Urgent(_))
    }

    #[test]
    fn strong_english_words_are_urgent() {
        for text in [
            "I think this is fraud",
            "I've been scammed",
            "my card was stolen",
            "unauthorised payment on my account",
            "there is an unauthorized transaction",
            "my account got hacked",
            "please freeze my card",
            "block my card now",
            "stop my account right away",
        ] {
            assert!(urgent(text), "{text}");
        }
    }

    #[test]
    fn phrases_that_carry_their_own_negation_are_urgent() {
        for text in [
            "there's a charge on my account I never made, from a burger place",
            "I didn't make this payment",
            "that wasnt me",
            "it's not me who paid this",
            "I don't recognise this transaction",
            "no fui yo",
            "no reconozco este cargo",
            "esa compra no la hice",
            "why was I charged by a hotel in Madrid, I was at home all week",
            "a payment to a gym but I don't even have a membership",
        ] {
            assert!(urgent(text), "{text}");
        }
    }

    #[test]
    fn spanish_words_are_urgent_with_or_without_accents() {
        for text in [
            "me robaron la tarjeta",
            "me robó la cartera un tío",
            "creo que es una estafa",
            "hay un fraude en mi cuenta",
            "bloqueen mi tarjeta",
            "congelen mi cuenta ya",
            "perdí mi tarjeta",
            "perdi mi tarjeta",
            "el cajero se tragó mi tarjeta",
            "usaron mi tarjeta sin mi permiso",
        ] {
            assert!(urgent(text), "{text}");
        }
    }

    #[test]
    fn negated_cues_are_not_urgent_and_say_so() {
        for text in [
            "my card is not lost, I just want to know when it expires",
            "I haven't lost my card, I only want to change my pin",
            "my card wasn't stolen, it stopped working",
            "no fraud here, I just want my balance",
            "mi tarjeta no está perdida",
            "no me han robado nada",
            "no es un fraude, ese pago lo hice yo",
            "I found my card, it was in my other jacket",
            "false alarm, the payment was mine",
        ] {
            assert!(
                matches!(wording(text), Wording::Negated(_)),
                "{text}: {:?}",
                wording(text)
            );
        }
    }

    #[test]
    fn a_negator_before_a_breaker_does_not_cancel_the_cue() {
        assert!(urgent("I don't know if my card was stolen"));
        assert!(urgent("not sure whether I lost my card or it was stolen"));
        assert!(urgent("no sé si me robaron la tarjeta"));
    }

    #[test]
    fn action_words_need_a_card_or_an_account() {
        assert_eq!(wording("can I freeze cooked rice"), Wording::Neutral);
        assert_eq!(
            wording("how do I block spam calls on my phone"),
            Wording::Neutral
        );
        assert!(urgent("how do I freeze my card now?"));
        assert!(urgent("quiero bloquear mi tarjeta"));
        // "unfreeze" and "desbloquear" are other words: turning a card back on is not urgent.
        assert_eq!(wording("how do I unfreeze my card"), Wording::Neutral);
        assert_eq!(wording("desbloquea mi tarjeta"), Wording::Neutral);
    }

    #[test]
    fn a_clause_break_ends_a_negation() {
        assert!(urgent("no, someone stole my card"));
        assert!(!urgent("I am not reporting a scam, just asking about fees"));
        assert!(urgent("the machine didn't give my card back"));
    }

    #[test]
    fn harmless_readings_of_urgent_phrases_are_not_urgent() {
        assert!(!urgent(
            "I didn't make a mistake on the transfer, when will it arrive"
        ));
        assert!(!urgent("how do I undo the freeze on my card"));
        assert!(!urgent("has my card been posted yet"));
        assert!(urgent("I didn't make the payment to this shop"));
    }

    #[test]
    fn everyday_questions_carry_no_cue() {
        for text in [
            "what's my balance",
            "how long does a transfer take",
            "¿cuánto puedo sacar del cajero?",
        ] {
            assert_eq!(wording(text), Wording::Neutral, "{text}");
        }
    }

    #[test]
    fn long_cues_match_with_one_slip_and_short_ones_only_with_a_dropped_or_swapped_letter() {
        for (word, cue) in [
            ("fradulent", "fraudulent"),
            ("unathorised", "unauthorised"),
            ("unauthorsied", "unauthorised"),
            ("compromized", "compromised"),
            ("fraudulentt", "fraudulent"),
            ("estafarom", "estafaron"),
            ("stoeln", "stolen"),
            ("stlen", "stolen"),
            ("scamed", "scammed"),
            ("hakced", "hacked"),
        ] {
            assert!(typo_of(word, cue), "{word} ~ {cue}");
        }
        for (word, cue) in [
            // Real words one letter away from a short cue.
            ("closed", "cloned"),
            ("stollen", "stolen"),
            ("tomaron", "timaron"),
            ("rubbed", "robbed"),
            // Too short to guess at, a changed first letter, two slips, or no slip at all.
            ("frud", "fraud"),
            ("traudulent", "fraudulent"),
            ("fradulant", "fraudulent"),
            ("stolen", "stolen"),
        ] {
            assert!(!typo_of(word, cue), "{word} !~ {cue}");
        }
    }

    #[test]
    fn urgent_wording_with_a_typo_is_still_urgent_and_a_negated_one_still_negated() {
        for text in [
            "my card was stoeln",
            "I see an unathorised payment",
            "i dont reconise this payment",
            "this looks fradulent",
            "creo que es una tarjeta clonda",
            "fui estafadoo ayer",
        ] {
            assert!(urgent(text), "{text}: {:?}", wording(text));
        }
        assert!(matches!(
            wording("my card wasn't stoeln, it just stopped working"),
            Wording::Negated(_)
        ));
        assert_eq!(wording("my account was closed last year"), Wording::Neutral);
        assert_eq!(wording("I scanned my receipt"), Wording::Neutral);
    }

    #[test]
    fn a_lost_or_missing_card_is_urgent_but_other_lost_things_are_not() {
        for text in [
            "my mastercard is lost",
            "my visa went missing",
            "mi tarjeta está extraviada",
            "I think the card is lost somewhere at home",
        ] {
            assert!(urgent(text), "{text}");
        }
        for text in [
            "I lost my way to the branch",
            "my parcel went missing",
            "lost connection while paying, did the transfer go through?",
        ] {
            assert_eq!(wording(text), Wording::Neutral, "{text}");
        }
        assert!(matches!(
            wording("my visa is not lost, I want to raise its limit"),
            Wording::Negated(_)
        ));
    }

    #[test]
    fn not_recalling_a_payment_is_urgent_but_not_recalling_a_pin_is_not() {
        for text in [
            "there is a transaction I don't recall",
            "a charge I do not remember making",
            "hay un cargo que no recuerdo",
            "funds were taken by a seller I didn't approve",
            "i never took out that cash",
        ] {
            assert!(urgent(text), "{text}");
        }
        for text in [
            "I don't remember my PIN",
            "no recuerdo mi contraseña",
            "I don't recall when my card expires",
        ] {
            assert_eq!(wording(text), Wording::Neutral, "{text}");
        }
    }

    #[test]
    fn a_security_breach_is_urgent() {
        assert!(urgent("The card has suffered a security breach."));
        assert!(urgent("my details were breached"));
        assert!(urgent("my card was taken at knifepoint"));
        assert!(urgent("me atracaron al salir del cajero"));
    }

    #[test]
    fn the_card_may_come_before_the_freeze_in_the_same_clause() {
        assert!(urgent(
            "Should I order a new card before I freeze my original one?"
        ));
        assert_eq!(
            wording("I got my new card. Can I freeze cooked rice?"),
            Wording::Neutral
        );
    }
}
