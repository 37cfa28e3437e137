//! Which language a message is in: English or Spanish, the two the bank serves.

use serde::Serialize;

use crate::features::normalise;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Language {
    English,
    Spanish,
}

/// Common function words and banking words that belong to one language only (accents folded, since customers
/// often leave them out). Words both languages use ("no", "me", "a") are left out on purpose.
const SPANISH_WORDS: &[&str] = &[
    "el",
    "la",
    "los",
    "las",
    "de",
    "del",
    "que",
    "y",
    "en",
    "un",
    "una",
    "por",
    "para",
    "con",
    "es",
    "mi",
    "mis",
    "tu",
    "su",
    "al",
    "lo",
    "como",
    "mas",
    "pero",
    "ya",
    "este",
    "esta",
    "esto",
    "si",
    "porque",
    "cuando",
    "muy",
    "sin",
    "sobre",
    "tambien",
    "hay",
    "donde",
    "quien",
    "desde",
    "todo",
    "nos",
    "yo",
    "hola",
    "gracias",
    "quiero",
    "tengo",
    "cuenta",
    "tarjeta",
    "dinero",
    "puedo",
    "necesito",
    "cuanto",
    "cuanta",
    "saldo",
    "transferencia",
    "hablar",
    "persona",
    "favor",
    "buenos",
    "buenas",
    "dias",
    "tardes",
    "noches",
    "adios",
    "ayer",
    "hoy",
    "semana",
    "pasada",
    "pasado",
    "mes",
    "ano",
    "pago",
    "cobro",
    "ha",
    "han",
    "llegado",
    "llega",
    "cajero",
    "cual",
    "estoy",
    "tiene",
    "hacer",
    "puede",
    "quisiera",
    "ayuda",
    "ayudame",
    "perdido",
    "robado",
    "robaron",
    "sido",
    "cuentas",
    "tarjetas",
    "prestamo",
    "ahorro",
    "ahorros",
    "hasta",
    "luego",
    "vale",
    "bueno",
    "chao",
    "sigue",
    "todavia",
    "aun",
    "recibido",
    "mismo",
    "mio",
    "enviado",
    "envie",
    "cambio",
    "cancelar",
    "cerrar",
];

const ENGLISH_WORDS: &[&str] = &[
    "the",
    "an",
    "is",
    "are",
    "was",
    "were",
    "i",
    "you",
    "my",
    "to",
    "of",
    "and",
    "in",
    "on",
    "for",
    "with",
    "it",
    "this",
    "that",
    "what",
    "how",
    "can",
    "do",
    "does",
    "did",
    "not",
    "have",
    "has",
    "be",
    "at",
    "your",
    "from",
    "please",
    "why",
    "when",
    "where",
    "which",
    "account",
    "card",
    "money",
    "want",
    "need",
    "help",
    "hi",
    "hello",
    "thanks",
    "thank",
    "bye",
    "get",
    "still",
    "yet",
    "received",
    "arrived",
    "payment",
    "transfer",
    "balance",
    "there",
    "would",
    "like",
    "should",
    "will",
    "im",
    "dont",
    "cant",
    "isnt",
    "hasnt",
    "been",
    "much",
    "many",
    "talk",
    "speak",
    "someone",
    "agent",
    "human",
    "yesterday",
    "today",
    "week",
    "month",
    "last",
    "charged",
    "fee",
    "wrong",
    "lost",
    "stolen",
    "show",
    "tell",
    "about",
    "if",
    "or",
    "but",
    "just",
    "some",
    "any",
];

/// Counts words found only in Spanish or only in English; Spanish punctuation and letters (¿ ¡ ñ, accented
/// vowels) count for Spanish too. Ties, and messages with no known word, go to English, the bank's default.
pub fn detect_language(text: &str) -> Language {
    let mut spanish = 0usize;
    let mut english = 0usize;
    for c in text.chars() {
        if matches!(
            c,
            '¿' | '¡' | 'ñ' | 'Ñ' | 'á' | 'é' | 'í' | 'ó' | 'ú' | 'Á' | 'É' | 'Í' | 'Ó' | 'Ú'
        ) {
            spanish += 1;
        }
    }
    for word in normalise(text).split_whitespace() {
        if SPANISH_WORDS.contains(&word) {
            spanish += 1;
        }
        if ENGLISH_WORDS.contains(&word) {
            english += 1;
        }
    }
    if spanish > english {
        Language::Spanish
    } else {
        Language::English
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spanish_messages_are_detected_as_spanish() {
        for text in [
            "hola",
            "¿Dónde está mi tarjeta?",
            "quiero hablar con una persona",
            "no me ha llegado la transferencia",
            "me robaron la tarjeta ayer",
            "cual es mi saldo",
            "gracias",
        ] {
            assert_eq!(detect_language(text), Language::Spanish, "{text}");
        }
    }

    #[test]
    fn english_messages_and_messages_without_words_are_detected_as_english() {
        for text in [
            "hello",
            "Where is my card?",
            "I want to talk to a human",
            "thanks!",
            "",
            "1234 ???",
        ] {
            assert_eq!(detect_language(text), Language::English, "{text}");
        }
    }
}
