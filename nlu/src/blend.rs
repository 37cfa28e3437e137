//! The encoder head and its blend with the TF-IDF model: a multinomial logistic regression on the sentence
//! encoder's embeddings (see `encoder`), over the same intents, whose probabilities are mixed with the TF-IDF
//! model's as `(1 - w) · P_tfidf + w · P_head`. Optionally gated: the encoder only runs when the TF-IDF model's top
//! probability is below a threshold, so confident messages keep the microsecond path.
//!
//! Training the head needs the embeddings of every training message (about 7 ms each on one core), so they are
//! cached on disk under `$JOXAI_CACHE/encoder-cache/`, keyed by the encoder's fingerprint and each text's hash:
//! only the first start on a machine pays for them.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};

use anyhow::{Context, bail};
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

use crate::encoder::{DIMENSION, Encoder, HEAD_FEATURES, cache_dir, fingerprint, softmax};
use crate::model::{SplitMix64, shuffle};

/// How the head is trained and blended. Chosen with `joxai nlu tune-blend` on a validation slice of the training
/// data (BANKING77's seed-7 training part, 10% slice with seed 0); never on held-out rows.
#[derive(Debug, Clone, Copy)]
pub struct BlendSettings {
    /// The head's share `w` of the blended probability.
    pub weight: f32,
    /// Run the encoder only when the TF-IDF model's top probability is below this (1.0 or more: always).
    pub gate: f32,
    pub epochs: usize,
    /// Initial mini-batch SGD step; decays linearly to zero.
    pub learning_rate: f32,
    /// L2 penalty (weight decay per step, scaled by the step size).
    pub l2: f32,
    pub batch: usize,
    pub momentum: f32,
    pub shuffle_seed: u64,
}

impl Default for BlendSettings {
    fn default() -> Self {
        BlendSettings {
            // Head on layers 4-6 (see `encoder::HEAD_LAYERS`), chosen by `nlu tune-blend` on the validation slices
            // (958 rows each) of two training parts, seeds 7 and 11: mean blended accuracy 0.9259 (0.9290 /
            // 0.9228; TF-IDF alone 0.8987 / 0.9081). Nearby settings are within noise (lr 2, 80 epochs, l2 1e-5,
            // w 0.7: 0.9238; lr 4, 160 epochs, l2 1e-6, w 0.6: 0.9243); without L2, 160 epochs overfit on seed
            // 11 (0.9154 at w 0.6). The last-layer-only head with the earlier settings (lr 2, 80 epochs, w 0.75)
            // gave 0.9238 on the seed-7 slice.
            //
            // The gate trades accuracy for CPU (the encoder costs ~7 ms a message, the TF-IDF model microseconds):
            // 10-fold cross-validation (`nlu cross-validate --gate G`) gives 0.9322 at 0.98, 0.9317 at 0.9 (the
            // encoder runs on 27% of the rows), 0.9304 at 0.8 (19%), 0.9290 at 0.7 (14%). 0.9 costs 5 rows in
            // 10,003 and saves about 40% of the encoder's work.
            weight: 0.6,
            gate: 0.9,
            epochs: 160,
            learning_rate: 2.0,
            l2: 1e-6,
            batch: 32,
            momentum: 0.9,
            shuffle_seed: 0x00e1_c0de_b1e0,
        }
    }
}

/// The trained head with the encoder it reads.
#[derive(Debug, Clone)]
pub(crate) struct EncoderHead {
    pub encoder: Arc<Encoder>,
    /// `HEAD_FEATURES × intents`, input-major.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    /// One unit vector per intent (`intents × DIMENSION`): the direction of its training messages' sentence
    /// embeddings (see [`centroids`]); all zeros for an intent with no rows. Read by the out-of-scope detector.
    pub centroids: Vec<f32>,
    pub settings: BlendSettings,
    batcher: Batcher,
}

impl EncoderHead {
    pub fn new(encoder: Arc<Encoder>, head: HeadWeights, settings: BlendSettings) -> EncoderHead {
        let batcher = Batcher::start(encoder.clone());
        let HeadWeights {
            weights,
            bias,
            centroids,
        } = head;
        EncoderHead {
            encoder,
            weights,
            bias,
            centroids,
            settings,
            batcher,
        }
    }

    /// The head's input for `text`, its encoding shared with whatever other messages are waiting (see `Batcher`).
    pub fn features(&self, text: &str) -> Vec<f32> {
        self.batcher
            .head_features(text)
            .unwrap_or_else(|| self.encoder.head_features(text))
    }

    /// The head's probabilities for `text`.
    pub fn probabilities(&self, text: &str) -> Vec<f32> {
        self.probabilities_of(&self.features(text))
    }

    /// The cosine similarity between the sentence embedding in `features` (the last layer's block) and the nearest
    /// centroid of an intent for which `in_scope` is true: how close the message is to anything the bank answers.
    /// About 37k multiply-adds (95 intents × 384), some 20 µs, against the forward pass's milliseconds.
    pub fn similarity(&self, features: &[f32], in_scope: &[bool]) -> f32 {
        nearest_similarity(&self.centroids, features, in_scope)
    }

    pub fn probabilities_of(&self, embedding: &[f32]) -> Vec<f32> {
        let mut scores = self.bias.clone();
        let intents = scores.len();
        for (x, row) in embedding.iter().zip(self.weights.chunks_exact(intents)) {
            for (s, w) in scores.iter_mut().zip(row) {
                *s += x * w;
            }
        }
        softmax(&mut scores);
        scores
    }

    /// `(1 - w) · tfidf + w · head`, or `tfidf` untouched when the gate says the TF-IDF model is sure enough.
    pub fn blend(&self, tfidf: &mut [f32], head: impl FnOnce() -> Vec<f32>) {
        let top = tfidf.iter().copied().fold(0.0f32, f32::max);
        if top >= self.settings.gate {
            return;
        }
        let w = self.settings.weight;
        for (p, h) in tfidf.iter_mut().zip(head()) {
            *p = (1.0 - w) * *p + w * h;
        }
    }
}

/// The last layer's block of the head's input (the sentence-transformers embedding of all-MiniLM-L6-v2: the
/// mean-pooled last layer), scaled back to unit length. The earlier layers' blocks help the head tell intents apart
/// but carry more wording than meaning, so similarity is measured on the last one alone.
fn sentence_embedding(features: &[f32]) -> Vec<f32> {
    let block = &features[features.len().saturating_sub(DIMENSION)..];
    let norm = dot(block, block).sqrt();
    if norm == 0.0 {
        return block.to_vec();
    }
    block.iter().map(|v| v / norm).collect()
}

/// See [`EncoderHead::similarity`]; -1 when no intent is in scope.
fn nearest_similarity(centroids: &[f32], features: &[f32], in_scope: &[bool]) -> f32 {
    let sentence = sentence_embedding(features);
    centroids
        .chunks_exact(DIMENSION)
        .zip(in_scope)
        .filter(|(_, inside)| **inside)
        .map(|(centroid, _)| dot(centroid, &sentence))
        .fold(-1.0f32, f32::max)
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The centroid of each intent's training messages (their sentence embeddings averaged, then scaled to unit
/// length), `intent_count × DIMENSION`; computed from the same embeddings as the head, at the same time.
pub(crate) fn centroids(
    embeddings: &[Vec<f32>],
    labels: &[usize],
    intent_count: usize,
) -> Vec<f32> {
    let mut sums = vec![0.0f32; intent_count * DIMENSION];
    for (embedding, &label) in embeddings.iter().zip(labels) {
        let sentence = sentence_embedding(embedding);
        for (s, v) in sums[label * DIMENSION..][..DIMENSION]
            .iter_mut()
            .zip(&sentence)
        {
            *s += v;
        }
    }
    for row in sums.chunks_exact_mut(DIMENSION) {
        let norm = dot(row, row).sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
    sums
}

/// The most messages one forward pass takes. Measured (`nlu/examples/encoder_batching.rs`): the CPU per message falls
/// up to about 8-16 messages per pass (the weights are read from memory once for all of them) and rises again at 32 (the
/// stacked rows no longer fit the caches), and a longer batch only makes its first message wait longer.
const MAX_BATCH: usize = 16;

/// One thread that encodes for every caller of a head: it takes the first message that arrives and everything
/// that queued behind it (up to `MAX_BATCH`) and runs them as one forward pass (`Encoder::head_features_batch`).
/// A lone message is encoded at once, as before; under load, messages that arrive while a pass runs share the
/// next one, so the 42 MB of weights are read from memory once per batch instead of once per message
/// (`docs/performance.md`). The thread ends when the head is dropped.
#[derive(Debug, Clone)]
struct Batcher {
    requests: mpsc::Sender<EncodeRequest>,
}

#[derive(Debug)]
struct EncodeRequest {
    text: String,
    reply: mpsc::SyncSender<Vec<f32>>,
}

impl Batcher {
    fn start(encoder: Arc<Encoder>) -> Batcher {
        let (requests, queue) = mpsc::channel::<EncodeRequest>();
        let spawned = std::thread::Builder::new()
            .name("joxai-encoder".into())
            .spawn(move || {
                while let Ok(first) = queue.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match queue.try_recv() {
                            Ok(request) => batch.push(request),
                            Err(_) => break,
                        }
                    }
                    let texts: Vec<&str> = batch.iter().map(|r| r.text.as_str()).collect();
                    let features = encoder.head_features_batch(&texts);
                    for (request, features) in batch.into_iter().zip(features) {
                        // The caller may have gone (its task cancelled); nothing to do then.
                        let _ = request.reply.send(features);
                    }
                }
            });
        // If the thread could not start, the queue went with the closure: every request fails at once and callers
        // encode by themselves (`EncoderHead::probabilities`), one by one as before.
        drop(spawned);
        Batcher { requests }
    }

    /// The head features of `text` from the encoder thread; `None` if that thread is not running.
    fn head_features(&self, text: &str) -> Option<Vec<f32>> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.requests
            .send(EncodeRequest {
                text: text.to_owned(),
                reply,
            })
            .ok()?;
        answer.recv().ok()
    }
}

/// Multinomial logistic regression on dense embeddings by mini-batch SGD with momentum. Single-threaded with a
/// seeded shuffle, so the same data gives the same weights.
pub(crate) fn train_head(
    embeddings: &[Vec<f32>],
    labels: &[usize],
    intent_count: usize,
    settings: &BlendSettings,
) -> (Vec<f32>, Vec<f32>) {
    let mut weights = vec![0.0f32; HEAD_FEATURES * intent_count];
    let mut bias = vec![0.0f32; intent_count];
    let n = embeddings.len();
    if n == 0 || intent_count == 0 {
        return (weights, bias);
    }
    let batch = settings.batch.clamp(1, n);
    let mut velocity_w = vec![0.0f32; weights.len()];
    let mut velocity_b = vec![0.0f32; intent_count];
    let mut gradient_w = vec![0.0f32; weights.len()];
    let mut x = vec![0.0f32; batch * HEAD_FEATURES];
    let mut g = vec![0.0f32; batch * intent_count];
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64(settings.shuffle_seed);
    let steps_per_epoch = n.div_ceil(batch);
    let total_steps = (settings.epochs * steps_per_epoch) as f32;
    let mut step = 0usize;
    for _ in 0..settings.epochs {
        shuffle(&mut order, &mut rng);
        for members in order.chunks(batch) {
            let m = members.len();
            let learning_rate = settings.learning_rate * (1.0 - step as f32 / total_steps);
            step += 1;
            for (row, &i) in x.chunks_exact_mut(HEAD_FEATURES).zip(members) {
                row.copy_from_slice(&embeddings[i]);
            }
            // Scores of the batch, then the cross-entropy gradient p - onehot, averaged over the batch.
            for row in g.chunks_exact_mut(intent_count).take(m) {
                row.copy_from_slice(&bias);
            }
            {
                let a = ArrayView2::from_shape((m, HEAD_FEATURES), &x[..m * HEAD_FEATURES])
                    .expect("batch shape");
                let b = ArrayView2::from_shape((HEAD_FEATURES, intent_count), &weights[..])
                    .expect("weights shape");
                let mut c =
                    ArrayViewMut2::from_shape((m, intent_count), &mut g[..m * intent_count])
                        .expect("scores shape");
                general_mat_mul(1.0, &a, &b, 1.0, &mut c);
            }
            for (row, &i) in g.chunks_exact_mut(intent_count).zip(members) {
                softmax(row);
                row[labels[i]] -= 1.0;
                for v in row.iter_mut() {
                    *v /= m as f32;
                }
            }
            {
                let a = ArrayView2::from_shape((m, HEAD_FEATURES), &x[..m * HEAD_FEATURES])
                    .expect("batch shape");
                let gv = ArrayView2::from_shape((m, intent_count), &g[..m * intent_count])
                    .expect("grad shape");
                let mut c =
                    ArrayViewMut2::from_shape((HEAD_FEATURES, intent_count), &mut gradient_w[..])
                        .expect("grad shape");
                general_mat_mul(1.0, &a.t(), &gv, 0.0, &mut c);
            }
            for ((v, grad), w) in velocity_w.iter_mut().zip(&gradient_w).zip(&weights) {
                *v = settings.momentum * *v + grad + settings.l2 * w;
            }
            for (w, v) in weights.iter_mut().zip(&velocity_w) {
                *w -= learning_rate * v;
            }
            for (k, v) in velocity_b.iter_mut().enumerate() {
                let grad: f32 = g.chunks_exact(intent_count).take(m).map(|row| row[k]).sum();
                *v = settings.momentum * *v + grad;
            }
            for (b, v) in bias.iter_mut().zip(&velocity_b) {
                *b -= learning_rate * v;
            }
        }
    }
    (weights, bias)
}

const HEAD_MAGIC: &[u8; 8] = b"JXHEAD03";
const SHIPPED_MAGIC: &[u8; 8] = b"JXHEAD04";

/// The head trained on the default data (BANKING77's training split plus our own examples) with the default
/// settings, shipped in the binary so that no start ever needs the training messages' embeddings (about a minute
/// on two cores) or the head's training (15-20 s). Written by `joxai nlu train-head` (see `nlu/README.md`):
/// `JXHEAD04`, the key's fingerprint (u64, little-endian), then the weights, the bias and the intents' centroids
/// (see [`centroids`]) as f32 little-endian.
/// It is used only when its key matches the data, settings and encoder of this run exactly; otherwise the head
/// comes from the disk cache or is trained, as for any other data.
const SHIPPED_HEAD: &[u8] = include_bytes!("../data/encoder-head.bin");

/// Where a head came from, for the start-up log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadSource {
    Shipped,
    Cached,
    Trained,
}

impl HeadSource {
    pub fn describe(self) -> &'static str {
        match self {
            HeadSource::Shipped => "shipped in the binary (nlu/data/encoder-head.bin), trained on",
            HeadSource::Cached => "read from the cache, trained on",
            HeadSource::Trained => "trained on",
        }
    }
}

/// The fingerprint of everything a head's weights depend on: the encoder, the training settings (not the blend
/// weight or the gate), the intents, and every training text with its label.
pub(crate) fn head_key(
    encoder: &Encoder,
    texts: &[&str],
    labels: &[usize],
    intents: &[String],
    settings: &BlendSettings,
) -> u64 {
    let mut key = format!(
        "{:016x}|{HEAD_FEATURES}|{}|{}|{}|{}|{}|{}|{}",
        encoder.fingerprint(),
        settings.epochs,
        settings.learning_rate,
        settings.l2,
        settings.batch,
        settings.momentum,
        settings.shuffle_seed,
        intents.join(",")
    );
    for (text, label) in texts.iter().zip(labels) {
        key.push_str(&format!("|{label}:{:016x}", text_hash(text)));
    }
    fingerprint(key.as_bytes())
}

/// A head's weights (`HEAD_FEATURES × intents`, input-major), bias, and the intents' centroids.
#[derive(Debug, Clone)]
pub(crate) struct HeadWeights {
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub centroids: Vec<f32>,
}

impl HeadWeights {
    /// Trains the head and computes the centroids on the same embeddings.
    pub fn train(
        embeddings: &[Vec<f32>],
        labels: &[usize],
        intent_count: usize,
        settings: &BlendSettings,
    ) -> HeadWeights {
        let (weights, bias) = train_head(embeddings, labels, intent_count, settings);
        HeadWeights {
            weights,
            bias,
            centroids: centroids(embeddings, labels, intent_count),
        }
    }

    fn values(&self) -> impl Iterator<Item = &f32> {
        self.weights.iter().chain(&self.bias).chain(&self.centroids)
    }
}

/// The shipped head's key and weights, if the file is well formed for `intent_count` intents.
pub(crate) fn shipped_head(intent_count: usize) -> Option<(u64, HeadWeights)> {
    let bytes = SHIPPED_HEAD;
    if bytes.len() < 16 || &bytes[..8] != SHIPPED_MAGIC {
        return None;
    }
    let mut key = [0u8; 8];
    key.copy_from_slice(&bytes[8..16]);
    let head = parse_values(&bytes[16..], intent_count)?;
    Some((u64::from_le_bytes(key), head))
}

/// The bytes of a shipped-head file for `key` (see `SHIPPED_HEAD`).
pub(crate) fn shipped_head_bytes(key: u64, head: &HeadWeights) -> Vec<u8> {
    let mut bytes = SHIPPED_MAGIC.to_vec();
    bytes.extend_from_slice(&key.to_le_bytes());
    for v in head.values() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes
}

/// The head for exactly these texts, labels, intents, settings and encoder: the shipped one when its key matches,
/// else the one a previous run trained from `$JOXAI_CACHE/encoder-cache/head-c-<key>.bin`, else `train_head` (and
/// the centroids) on the embeddings `embed` returns (called only then) and saved to that cache. The cache file is
/// 0.6 MB.
pub(crate) fn cached_head(
    encoder: &Encoder,
    embed: impl FnOnce() -> Vec<Vec<f32>>,
    texts: &[&str],
    labels: &[usize],
    intents: &[String],
    settings: &BlendSettings,
) -> (HeadWeights, HeadSource) {
    let key = head_key(encoder, texts, labels, intents, settings);
    if let Some((shipped_key, head)) = shipped_head(intents.len())
        && shipped_key == key
    {
        return (head, HeadSource::Shipped);
    }
    let path = cache_dir()
        .join("encoder-cache")
        .join(format!("head-c-{key:016x}.bin"));
    if let Some(head) = std::fs::read(&path)
        .ok()
        .and_then(|bytes| parse_head(&bytes, intents.len()))
    {
        return (head, HeadSource::Cached);
    }
    let head = HeadWeights::train(&embed(), labels, intents.len(), settings);
    let mut bytes = HEAD_MAGIC.to_vec();
    for v in head.values() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    // A failure to save only costs the next start the training time again.
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    if path
        .parent()
        .is_some_and(|dir| std::fs::create_dir_all(dir).is_ok())
        && std::fs::write(&temporary, &bytes).is_ok()
    {
        let _ = std::fs::rename(&temporary, &path);
    }
    (head, HeadSource::Trained)
}

fn parse_head(bytes: &[u8], intent_count: usize) -> Option<HeadWeights> {
    if bytes.len() < 8 || &bytes[..8] != HEAD_MAGIC {
        return None;
    }
    parse_values(&bytes[8..], intent_count)
}

fn parse_values(bytes: &[u8], intent_count: usize) -> Option<HeadWeights> {
    let (weight_count, bias_count) = (HEAD_FEATURES * intent_count, intent_count);
    if bytes.len() != 4 * (weight_count + bias_count + intent_count * DIMENSION) {
        return None;
    }
    let mut weights: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let mut bias = weights.split_off(weight_count);
    let centroids = bias.split_off(bias_count);
    Some(HeadWeights {
        weights,
        bias,
        centroids,
    })
}

const CACHE_MAGIC: &[u8; 8] = b"JXEMB002";

/// Embeddings already computed with one encoder, by text hash, kept in
/// `$JOXAI_CACHE/encoder-cache/head-features-<fingerprint>.bin` (the head's input, see `Encoder::head_features`).
pub(crate) struct EmbeddingCache {
    path: PathBuf,
    /// In file order, so the file is rewritten the same way every time.
    rows: Vec<(u64, Vec<f32>)>,
    index: HashMap<u64, usize>,
}

impl EmbeddingCache {
    /// Opens the cache for `encoder`; a missing or unreadable file is an empty cache.
    pub fn open(encoder: &Encoder) -> EmbeddingCache {
        let path = cache_dir()
            .join("encoder-cache")
            .join(format!("head-features-{:016x}.bin", encoder.fingerprint()));
        let rows = std::fs::read(&path)
            .ok()
            .and_then(|bytes| parse_cache(&bytes).ok())
            .unwrap_or_default();
        let index = rows
            .iter()
            .enumerate()
            .map(|(i, (hash, _))| (*hash, i))
            .collect();
        EmbeddingCache { path, rows, index }
    }

    /// The embedding of every text, computing (on `threads` threads) and remembering the ones not cached yet.
    /// Returns the embeddings and how many were computed.
    pub fn embed(
        &mut self,
        encoder: &Encoder,
        texts: &[&str],
        threads: usize,
    ) -> (Vec<Vec<f32>>, usize) {
        let mut missing: Vec<&str> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for &text in texts {
            let hash = text_hash(text);
            if !self.index.contains_key(&hash) && seen.insert(hash) {
                missing.push(text);
            }
        }
        let computed = encoder.head_features_all(&missing, threads);
        for (text, embedding) in missing.iter().zip(computed) {
            self.index.insert(text_hash(text), self.rows.len());
            self.rows.push((text_hash(text), embedding));
        }
        let embeddings = texts
            .iter()
            .map(|text| self.rows[self.index[&text_hash(text)]].1.clone())
            .collect();
        (embeddings, missing.len())
    }

    /// Writes the cache (to a temporary file renamed into place, so readers never see half a file).
    pub fn save(&self) -> anyhow::Result<()> {
        let dir = self
            .path
            .parent()
            .context("the cache path has a directory")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut bytes = Vec::with_capacity(16 + self.rows.len() * (8 + 4 * HEAD_FEATURES));
        bytes.extend_from_slice(CACHE_MAGIC);
        bytes.extend_from_slice(&(HEAD_FEATURES as u32).to_le_bytes());
        bytes.extend_from_slice(&(self.rows.len() as u32).to_le_bytes());
        for (hash, embedding) in &self.rows {
            bytes.extend_from_slice(&hash.to_le_bytes());
            for v in embedding {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        let temporary = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        let mut file = std::fs::File::create(&temporary)
            .with_context(|| format!("creating {}", temporary.display()))?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &self.path)
            .with_context(|| format!("renaming to {}", self.path.display()))?;
        Ok(())
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

fn parse_cache(bytes: &[u8]) -> anyhow::Result<Vec<(u64, Vec<f32>)>> {
    if bytes.len() < 16 || &bytes[..8] != CACHE_MAGIC {
        bail!("not an embedding cache");
    }
    let word = |at: usize| {
        u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
    };
    let (dimension, count) = (word(8), word(12));
    let record = 8 + 4 * dimension;
    if dimension != HEAD_FEATURES || bytes.len() != 16 + count * record {
        bail!("the embedding cache has the wrong size");
    }
    Ok(bytes[16..]
        .chunks_exact(record)
        .map(|r| {
            let mut hash = [0u8; 8];
            hash.copy_from_slice(&r[..8]);
            let embedding = r[8..]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (u64::from_le_bytes(hash), embedding)
        })
        .collect())
}

fn text_hash(text: &str) -> u64 {
    fingerprint(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::{DIMENSION, HEAD_FEATURES, centroids, nearest_similarity};

    /// Head features whose last-layer block points along `axis` (plus a little of `noise_axis`).
    fn features(axis: usize, noise_axis: usize, noise: f32) -> Vec<f32> {
        let mut f = vec![0.0; HEAD_FEATURES];
        let last = HEAD_FEATURES - DIMENSION;
        f[last + axis] = 1.0;
        f[last + noise_axis] += noise;
        // The earlier layers' blocks must not count.
        f[0] = 5.0;
        f
    }

    #[test]
    fn centroids_are_unit_directions_of_each_intents_sentence_embeddings() {
        let embeddings = vec![
            features(0, 1, 0.2),
            features(0, 2, 0.2),
            features(3, 3, 0.0),
        ];
        let c = centroids(&embeddings, &[0, 0, 1], 3);
        for row in c.chunks_exact(DIMENSION).take(2) {
            let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        }
        assert!(
            c[2 * DIMENSION..].iter().all(|v| *v == 0.0),
            "no rows, no direction"
        );
        assert!(c[0] > 0.9 && c[DIMENSION + 3] > 0.99);
    }

    #[test]
    fn similarity_is_to_the_nearest_in_scope_intent_only() {
        let embeddings = vec![features(0, 0, 0.0), features(5, 5, 0.0)];
        let c = centroids(&embeddings, &[0, 1], 2);
        let near_the_second = features(5, 6, 0.1);
        let both = nearest_similarity(&c, &near_the_second, &[true, true]);
        assert!(both > 0.99, "{both}");
        // The second intent is out of scope: the message is far from everything in scope.
        let in_scope_only = nearest_similarity(&c, &near_the_second, &[true, false]);
        assert!(in_scope_only.abs() < 1e-5, "{in_scope_only}");
        assert_eq!(
            nearest_similarity(&c, &near_the_second, &[false, false]),
            -1.0
        );
    }
}
