//! Turns a message into a sparse TF-IDF vector of word unigrams and bigrams plus character n-grams.
//! Contractions are expanded first ("didn't", "didnt" → "did not"), so every spelling shares features.
//!
//! Character n-grams (taken inside each word, padded with a boundary marker) make the model robust to typos,
//! plurals and Spanish inflections ("tarjeta"/"tarjetas"), which matter more for short chat messages than any
//! single word does; word bigrams keep phrases like "not received" apart from "received".

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// How messages become vectors. Chosen on stratified 10% hold-outs of the BANKING77 training split.
#[derive(Debug, Clone, Copy)]
pub struct FeatureSettings {
    /// Character n-grams taken inside each word, padded with boundary markers (`<word>`, scikit-learn's `char_wb`).
    pub char_ngram_min: usize,
    pub char_ngram_max: usize,
    /// Character n-grams over the whole normalised message, spanning word boundaries (`"d not r"`); 0 turns the
    /// block off.
    pub span_ngram_min: usize,
    pub span_ngram_max: usize,
    /// Word n-grams from unigrams up to this length.
    pub word_ngram_max: usize,
    /// Features seen in fewer training messages than this are dropped.
    pub min_document_frequency: u32,
    /// Each block (words, in-word characters, spanning characters) is L2-normalised on its own and then scaled by
    /// its weight, so a long message's many character n-grams cannot drown its words.
    pub word_block_weight: f32,
    pub char_block_weight: f32,
    pub span_block_weight: f32,
    /// "didn't"/"didnt" → "did not", "i've"/"ive" → "i have", and so on, so both spellings share features.
    pub expand_contractions: bool,
    /// Every digit becomes `0`: amounts and dates matter by shape, not value.
    pub digits_to_zero: bool,
}

impl Default for FeatureSettings {
    fn default() -> Self {
        FeatureSettings {
            char_ngram_min: 2,
            char_ngram_max: 5,
            span_ngram_min: 0,
            span_ngram_max: 0,
            word_ngram_max: 2,
            min_document_frequency: 1,
            word_block_weight: 1.0,
            char_block_weight: 1.0,
            span_block_weight: 1.0,
            expand_contractions: true,
            digits_to_zero: false,
        }
    }
}

/// A feature before it has a vocabulary id: a 64-bit hash of the n-gram (collisions are negligible at
/// our vocabulary size) and how often it occurs in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HashedFeature {
    pub hash: u64,
    pub count: u32,
}

/// A message's raw features, split by block because each block is normalised on its own.
#[derive(Debug, Clone, Default)]
pub(crate) struct HashedMessage {
    pub words: Vec<HashedFeature>,
    pub chars: Vec<HashedFeature>,
    pub spans: Vec<HashedFeature>,
}

impl HashedMessage {
    pub fn all(&self) -> impl Iterator<Item = &HashedFeature> {
        self.words
            .iter()
            .chain(self.chars.iter())
            .chain(self.spans.iter())
    }
}

/// A sparse, normalised feature vector: (vocabulary id, value), in a fixed order so sums are reproducible.
pub(crate) type SparseVector = Vec<(u32, f32)>;

/// Hashes are already well mixed, so the map can use them as they are instead of hashing them again.
#[derive(Default)]
pub(crate) struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

pub(crate) type HashIdMap = HashMap<u64, u32, BuildHasherDefault<PassThroughHasher>>;

/// The fitted vocabulary: which hashed n-grams are features, and their inverse document frequencies.
#[derive(Debug, Clone)]
pub(crate) struct Vocabulary {
    settings: FeatureSettings,
    ids: HashIdMap,
    idf: Vec<f32>,
}

impl Vocabulary {
    /// Keeps the n-grams that occur in at least `min_document_frequency` messages. Ids are given in order of first
    /// appearance, so the same data always yields the same vocabulary (no dependence on hash map iteration order).
    pub fn fit(settings: FeatureSettings, messages: &[HashedMessage]) -> Vocabulary {
        let mut document_frequency: HashIdMap = HashIdMap::default();
        let mut first_seen: Vec<u64> = Vec::new();
        for message in messages {
            for feature in message.all() {
                let df = document_frequency.entry(feature.hash).or_insert_with(|| {
                    first_seen.push(feature.hash);
                    0
                });
                *df += 1;
            }
        }
        let documents = messages.len() as f32;
        let mut ids = HashIdMap::default();
        let mut idf = Vec::new();
        for hash in first_seen {
            let df = document_frequency[&hash];
            if df >= settings.min_document_frequency {
                ids.insert(hash, idf.len() as u32);
                // Smoothed IDF as in scikit-learn, so a feature in every message still keeps weight 1.
                idf.push(((1.0 + documents) / (1.0 + df as f32)).ln() + 1.0);
            }
        }
        Vocabulary { settings, ids, idf }
    }

    pub fn len(&self) -> usize {
        self.idf.len()
    }

    pub fn settings(&self) -> FeatureSettings {
        self.settings
    }

    /// The message's TF-IDF vector; n-grams outside the vocabulary are ignored.
    pub fn vectorise(&self, message: &HashedMessage) -> SparseVector {
        let mut vector =
            Vec::with_capacity(message.words.len() + message.chars.len() + message.spans.len());
        self.push_block(&message.words, self.settings.word_block_weight, &mut vector);
        self.push_block(&message.chars, self.settings.char_block_weight, &mut vector);
        self.push_block(&message.spans, self.settings.span_block_weight, &mut vector);
        vector
    }

    fn push_block(&self, block: &[HashedFeature], weight: f32, out: &mut SparseVector) {
        let start = out.len();
        for feature in block {
            if let Some(&id) = self.ids.get(&feature.hash) {
                // Sublinear term frequency: a word said twice is more, but not twice, as telling.
                let tf = 1.0 + (feature.count as f32).ln();
                out.push((id, tf * self.idf[id as usize]));
            }
        }
        let norm = out[start..].iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            let scale = weight / norm;
            for (_, value) in &mut out[start..] {
                *value *= scale;
            }
        }
    }
}

/// Extracts the hashed n-grams of a message (deterministic: the same text always gives the same list).
pub(crate) fn hash_message(text: &str, settings: &FeatureSettings) -> HashedMessage {
    let mut normalised = normalise(text);
    if settings.digits_to_zero {
        normalised = normalised
            .chars()
            .map(|c| if c.is_ascii_digit() { '0' } else { c })
            .collect();
    }
    let mut words: Vec<&str> = Vec::new();
    for word in normalised.split_whitespace() {
        match settings.expand_contractions.then(|| expand(word)).flatten() {
            Some(expanded) => words.extend(expanded),
            None => words.push(word),
        }
    }

    let mut word_hashes = Vec::with_capacity(words.len() * settings.word_ngram_max.max(1));
    for start in 0..words.len() {
        let mut hasher = Fnv::new(WORD_SEED);
        for (length, word) in words[start..]
            .iter()
            .take(settings.word_ngram_max.max(1))
            .enumerate()
        {
            if length > 0 {
                hasher.byte(b' ');
            }
            hasher.str(word);
            word_hashes.push(hasher.finish());
        }
    }

    let mut char_hashes = Vec::new();
    let mut padded: Vec<char> = Vec::new();
    for word in &words {
        padded.clear();
        padded.push('<');
        padded.extend(word.chars());
        padded.push('>');
        for n in settings.char_ngram_min..=settings.char_ngram_max {
            // A word shorter than n still contributes itself once, as scikit-learn's `char_wb` does.
            if padded.len() < n {
                if n == settings.char_ngram_min {
                    char_hashes.push(hash_chars(CHAR_SEED, &padded));
                }
                break;
            }
            for window in padded.windows(n) {
                char_hashes.push(hash_chars(CHAR_SEED, window));
            }
        }
    }

    let mut span_hashes = Vec::new();
    if settings.span_ngram_min > 0 {
        let mut text: Vec<char> = vec![' '];
        for word in &words {
            text.extend(word.chars());
            text.push(' ');
        }
        for n in settings.span_ngram_min..=settings.span_ngram_max {
            for window in text.windows(n) {
                span_hashes.push(hash_chars(SPAN_SEED, window));
            }
        }
    }

    HashedMessage {
        words: count_hashes(word_hashes),
        chars: count_hashes(char_hashes),
        spans: count_hashes(span_hashes),
    }
}

/// English contractions as they arrive after `normalise` joined the apostrophe ("didn't" → "didnt"), which is
/// also how many customers type them. Only unambiguous forms: "well" (we'll), "ill" (i'll), "id" (i'd) and
/// "its" are words of their own.
fn expand(word: &str) -> Option<[&'static str; 2]> {
    Some(match word {
        "dont" => ["do", "not"],
        "doesnt" => ["does", "not"],
        "didnt" => ["did", "not"],
        "cant" | "cannot" => ["can", "not"],
        "wont" => ["will", "not"],
        "isnt" => ["is", "not"],
        "arent" => ["are", "not"],
        "wasnt" => ["was", "not"],
        "werent" => ["were", "not"],
        "havent" => ["have", "not"],
        "hasnt" => ["has", "not"],
        "hadnt" => ["had", "not"],
        "wouldnt" => ["would", "not"],
        "couldnt" => ["could", "not"],
        "shouldnt" => ["should", "not"],
        "im" => ["i", "am"],
        "ive" => ["i", "have"],
        "youve" => ["you", "have"],
        "weve" => ["we", "have"],
        "theyve" => ["they", "have"],
        "youre" => ["you", "are"],
        "theyre" => ["they", "are"],
        "whats" => ["what", "is"],
        "thats" => ["that", "is"],
        "theres" => ["there", "is"],
        "wheres" => ["where", "is"],
        "hows" => ["how", "is"],
        "whys" => ["why", "is"],
        "whos" => ["who", "is"],
        "youll" => ["you", "will"],
        "itll" => ["it", "will"],
        "youd" => ["you", "would"],
        _ => return None,
    })
}

/// Sorts and counts, so the feature order depends only on the text.
fn count_hashes(mut hashes: Vec<u64>) -> Vec<HashedFeature> {
    hashes.sort_unstable();
    let mut features: Vec<HashedFeature> = Vec::with_capacity(hashes.len());
    for hash in hashes {
        match features.last_mut() {
            Some(last) if last.hash == hash => last.count += 1,
            _ => features.push(HashedFeature { hash, count: 1 }),
        }
    }
    features
}

/// Lower-cases, folds Spanish/Latin accents to ASCII (customers type "codigo" as often as "código"), drops
/// apostrophes inside words ("don't" = "dont"), keeps currency symbols as their own tokens, and turns every other
/// non-alphanumeric character into a space.
pub(crate) fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_alphanumeric() {
            for lower in c.to_lowercase() {
                out.push(fold_accent(lower));
            }
        } else if c == '\'' || c == '’' {
            // Joined, not split: "what's" and "whats" should be the same token.
        } else if matches!(c, '$' | '€' | '£') {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(' ');
        }
    }
    out
}

pub(crate) fn fold_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        _ => c,
    }
}

const WORD_SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const CHAR_SEED: u64 = 0x1656_67b1_9e37_79f9;
const SPAN_SEED: u64 = 0x27d4_eb2f_1656_67c5;

/// FNV-1a with a per-kind seed, finished with a SplitMix64 mix so the pass-through map sees well-spread keys.
/// Written out rather than using `DefaultHasher`, whose output Rust does not promise to keep across releases.
struct Fnv(u64);

impl Fnv {
    fn new(seed: u64) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325 ^ seed)
    }
    fn byte(&mut self, b: u8) {
        self.0 ^= u64::from(b);
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }
    fn str(&mut self, s: &str) {
        for b in s.bytes() {
            self.byte(b);
        }
    }
    fn char(&mut self, c: char) {
        let mut buffer = [0u8; 4];
        for &b in c.encode_utf8(&mut buffer).as_bytes() {
            self.byte(b);
        }
    }
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn hash_chars(seed: u64, chars: &[char]) -> u64 {
    let mut hasher = Fnv::new(seed);
    for &c in chars {
        hasher.char(c);
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_folds_accents_and_joins_apostrophes() {
        assert_eq!(
            normalise("¿Dónde está mi TARJETA? What's"),
            " donde esta mi tarjeta  whats"
        );
    }

    #[test]
    fn contractions_with_or_without_apostrophe_share_features() {
        let settings = FeatureSettings::default();
        let with = hash_message("I didn't get it, what's wrong", &settings);
        let without = hash_message("i didnt get it whats wrong", &settings);
        let expanded = hash_message("I did not get it, what is wrong", &settings);
        assert_eq!(with.words, without.words);
        assert_eq!(with.words, expanded.words);
        assert_eq!(with.chars, expanded.chars);
    }

    #[test]
    fn the_same_text_always_hashes_to_the_same_features() {
        let settings = FeatureSettings::default();
        let a = hash_message("my card hasn't arrived", &settings);
        let b = hash_message("my card hasn't arrived", &settings);
        assert_eq!(a.words, b.words);
        assert_eq!(a.chars, b.chars);
        assert!(!a.chars.is_empty());
    }
}
