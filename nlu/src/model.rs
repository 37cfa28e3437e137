//! The intent model: TF-IDF features (see `features`) and a multinomial logistic regression trained by SGD.
//! One-vs-rest linear SVMs solved exactly by dual coordinate descent, and ensembles of several linear models, are
//! available through `TrainingSettings` / `IntentModel::train_ensemble`; on held-out BANKING77 splits neither
//! beat the softmax model (see the crate README), so `train` uses the softmax model alone.
//!
//! Why this and not a neural encoder: it trains in under a second at start-up from data embedded in the binary,
//! needs no weights download (the product runs offline in a bank), classifies in microseconds, and on BANKING77
//! comes within a few points of sentence-encoder models. Softmax probabilities give a confidence the conversation
//! layer can threshold before handing over to a person; on held-out rows they are also better calibrated
//! (log-loss 0.37) than temperature-scaled SVM scores (0.42 at the best temperature).
//!
//! What the product runs, `train_blended`, adds a small sentence encoder when it is installed (all-MiniLM-L6-v2
//! from a registry package, see `encoder` and `data/ENCODER.md`): a logistic-regression head on its layers 4-6
//! whose probabilities are mixed with the TF-IDF model's (see `blend`). That is what takes BANKING77 from 0.91 to
//! 0.93 in 10-fold cross-validation, at about 5-7 ms per encoded message (only messages the TF-IDF model is unsure
//! of are encoded). Without the encoder (`JOXAI_ENCODER=off`, or its files missing) the model is exactly the
//! TF-IDF one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Example;
use crate::blend::{BlendSettings, EmbeddingCache, EncoderHead, cached_head};
use crate::encoder::{Encoder, default_model_dir};
use crate::features::{FeatureSettings, HashedMessage, SparseVector, Vocabulary, hash_message};

/// Which optimiser fits the linear model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solver {
    /// Multinomial logistic regression by SGD (`epochs`, `learning_rate`, `l2`).
    Softmax,
    /// One-vs-rest L2-regularised squared-hinge linear SVMs by dual coordinate descent (`svm_c`,
    /// `svm_tolerance`, `svm_max_epochs`), confidences from a softmax over the scores divided by `temperature`.
    Svm,
}

/// How the classifier is trained. The defaults were chosen on stratified 10% hold-outs of BANKING77's training
/// split (see the crate README); nothing was tuned on a test split.
#[derive(Debug, Clone, Copy)]
pub struct TrainingSettings {
    pub solver: Solver,
    pub epochs: usize,
    /// Initial SGD step size; it decays linearly to zero over training.
    pub learning_rate: f32,
    /// SGD L2 penalty per example.
    pub l2: f32,
    /// Seeds the per-epoch shuffle (SGD) or the per-epoch permutations (SVM). Fixed, so the same data always gives
    /// bit-identical weights.
    pub shuffle_seed: u64,
    /// SVM: the cost of a margin violation (liblinear's / scikit-learn's `C`).
    pub svm_c: f32,
    /// SVM: stop when the projected gradient's spread falls below this (liblinear's `eps`).
    pub svm_tolerance: f32,
    pub svm_max_epochs: usize,
    /// Divides the scores before the softmax that turns them into confidences.
    pub temperature: f32,
    pub features: FeatureSettings,
}

impl Default for TrainingSettings {
    fn default() -> Self {
        TrainingSettings {
            solver: Solver::Softmax,
            epochs: 10,
            learning_rate: 2.0,
            l2: 1e-6,
            shuffle_seed: 0x005e_ed0f_10a1,
            svm_c: 1.0,
            svm_tolerance: 0.1,
            svm_max_epochs: 50,
            temperature: 0.2,
            features: FeatureSettings::default(),
        }
    }
}

/// A trained intent classifier. Immutable after training, so it is `Send + Sync` and shared through an `Arc`.
#[derive(Debug, Clone)]
pub struct IntentModel {
    intents: Vec<String>,
    /// One linear model, or several whose probabilities are averaged.
    members: Vec<Member>,
    /// The sentence-encoder head blended in, when the encoder's weights are installed (see `blend`).
    head: Option<EncoderHead>,
    /// One line saying whether the encoder is on, for the start-up log.
    encoder_status: String,
    training_time: Duration,
}

/// One linear model of the ensemble, with its own features.
#[derive(Debug, Clone)]
struct Member {
    vocabulary: Vocabulary,
    /// Feature-major (`weights[feature * intents + intent]`) so scoring a message walks contiguous rows.
    weights: Vec<f32>,
    bias: Vec<f32>,
    temperature: f32,
    /// Its share of the averaged probability.
    mix: f32,
}

impl Member {
    fn scores(&self, text: &str) -> Vec<f32> {
        let message = hash_message(text, &self.vocabulary.settings());
        let vector = self.vocabulary.vectorise(&message);
        let mut scores = self.bias.clone();
        add_scores(&self.weights, &vector, 1.0, &mut scores);
        scores
    }
}

/// The model's answer for one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub intent: String,
    /// Softmax probability of `intent`, in [0, 1].
    pub confidence: f32,
    /// The next three most likely intents after `intent`, most likely first, with their probabilities.
    pub alternatives: Vec<(String, f32)>,
    /// When the sentence encoder ran on the message (the TF-IDF model was not sure of it): the cosine similarity
    /// of its sentence embedding to the nearest centroid of an in-scope intent (any intent but `out_of_scope`).
    /// Low means the message is far from everything the bank answers; the escalation classifier's out-of-scope
    /// rule reads it with the confidence. `None` when the encoder did not run.
    pub in_scope_similarity: Option<f32>,
}

impl IntentModel {
    /// Trains on BANKING77's training split plus all of JoxAI's own examples (about 0.7 s in release).
    pub fn train_default() -> IntentModel {
        IntentModel::train(&crate::default_examples())
    }

    pub fn train(examples: &[Example]) -> IntentModel {
        IntentModel::train_ensemble(examples, &IntentModel::default_ensemble())
    }

    /// The members `train` uses and their shares of the averaged probability. One member (the softmax model of
    /// `TrainingSettings::default()`): on the held-out splits, averaging it with the SVM, or with models on other
    /// feature views, was no more accurate and doubled training time (see the crate README).
    pub fn default_ensemble() -> Vec<(TrainingSettings, f32)> {
        vec![(TrainingSettings::default(), 1.0)]
    }

    pub fn train_with(examples: &[Example], settings: &TrainingSettings) -> IntentModel {
        IntentModel::train_ensemble(examples, &[(*settings, 1.0)])
    }

    /// Trains one linear model per `(settings, share)` and averages their probabilities with those shares.
    pub fn train_ensemble(
        examples: &[Example],
        members: &[(TrainingSettings, f32)],
    ) -> IntentModel {
        let started = Instant::now();

        let (intents, labels) = number_intents(examples);

        let total_share: f32 = members.iter().map(|(_, share)| share).sum();
        let members = members
            .iter()
            .map(|(settings, share)| {
                let hashed = hash_in_parallel(examples, &settings.features);
                let vocabulary = Vocabulary::fit(settings.features, &hashed);
                let vectors: Vec<SparseVector> = hashed
                    .iter()
                    .map(|message| vocabulary.vectorise(message))
                    .collect();
                let (weights, bias) = match settings.solver {
                    Solver::Softmax => {
                        train_softmax(&vectors, &labels, intents.len(), vocabulary.len(), settings)
                    }
                    Solver::Svm => {
                        train_svm(&vectors, &labels, intents.len(), vocabulary.len(), settings)
                    }
                };
                Member {
                    vocabulary,
                    weights,
                    bias,
                    temperature: match settings.solver {
                        Solver::Softmax => 1.0,
                        Solver::Svm => settings.temperature,
                    },
                    mix: share / total_share,
                }
            })
            .collect();

        IntentModel {
            intents,
            members,
            head: None,
            encoder_status: "encoder off: TF-IDF model only".to_owned(),
            training_time: started.elapsed(),
        }
    }

    /// What the product runs: `train_blended` on the default data.
    pub fn train_default_blended() -> IntentModel {
        IntentModel::train_blended(&crate::default_examples())
    }

    /// The TF-IDF model on `examples`, blended with a sentence-encoder head when the encoder's files are in
    /// [`crate::encoder::default_model_dir`] (unless `JOXAI_ENCODER=off`); otherwise exactly `train` (and
    /// [`IntentModel::encoder_status`] says why the encoder is off).
    ///
    /// On by default since the blend is what reaches the accuracy a bank needs: 10-fold cross-validation over
    /// BANKING77's training split gives 0.93 with it against 0.91 without (see `nlu/README.md`). It costs ~4-6 ms
    /// of CPU for each message the TF-IDF model is not sure of (about a quarter), and ~0.3 s at start-up to load the
    /// encoder; the head for the default data ships in the binary. `JOXAI_ENCODER=off` trades the accuracy for
    /// microsecond classification.
    pub fn train_blended(examples: &[Example]) -> IntentModel {
        let model = IntentModel::train(examples);
        if !encoder_switched_on() {
            let mut model = model;
            model.encoder_status = "encoder off (JOXAI_ENCODER=off); TF-IDF model only".to_owned();
            return model;
        }
        let dir = default_model_dir();
        if !dir.join("model.safetensors").exists() {
            let mut model = model;
            model.encoder_status = format!(
                "encoder off: no model.safetensors in {} (run infra/scripts/fetch-encoder.sh or set JOXAI_ENCODER_DIR); TF-IDF model only",
                dir.display()
            );
            return model;
        }
        match Encoder::load(&dir) {
            Ok(encoder) => {
                model.with_encoder(Arc::new(encoder), examples, &BlendSettings::default())
            }
            Err(error) => {
                let mut model = model;
                model.encoder_status = format!("encoder off: {error:#}; TF-IDF model only");
                model
            }
        }
    }

    /// Trains the encoder head on `examples` (the rows this model was trained on; rows of intents it does not
    /// know are skipped) and blends it in with `settings`.
    pub fn with_encoder(
        mut self,
        encoder: Arc<Encoder>,
        examples: &[Example],
        settings: &BlendSettings,
    ) -> IntentModel {
        let started = Instant::now();
        let (texts, labels) = self.head_rows(examples);
        // The embeddings are only needed to train the head; a shipped or cached head skips them.
        let mut cache_note = String::new();
        let (head, source) = cached_head(
            &encoder,
            || {
                let (embeddings, note) = cached_embeddings(&encoder, &texts);
                cache_note = format!("; {note}");
                embeddings
            },
            &texts,
            &labels,
            &self.intents,
            settings,
        );
        self.head = Some(EncoderHead::new(encoder.clone(), head, *settings));
        let elapsed = started.elapsed();
        self.training_time += elapsed;
        self.encoder_status = format!(
            "encoder on: {} (blend weight {}, gate {}), head {} {} messages in {} ms{cache_note}",
            encoder.dir().display(),
            settings.weight,
            settings.gate,
            source.describe(),
            texts.len(),
            elapsed.as_millis()
        );
        self
    }

    /// The texts the encoder head is trained on and their labels: `examples` of the intents this model knows.
    fn head_rows<'a>(&self, examples: &'a [Example]) -> (Vec<&'a str>, Vec<usize>) {
        examples
            .iter()
            .filter_map(|example| {
                let label = self.intents.iter().position(|i| *i == example.intent)?;
                Some((example.text.as_str(), label))
            })
            .unzip()
    }

    /// Trains the encoder head on the default data with the default settings and returns the file the binary
    /// ships as `nlu/data/encoder-head.bin` (`joxai nlu train-head`), so that starts skip the embeddings and the
    /// head's training. Needs the encoder's files; takes about a minute and a half on two cores without the
    /// embedding cache.
    pub fn shipped_head_file(encoder: &Encoder) -> Vec<u8> {
        let examples = crate::default_examples();
        let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
        let (intents, labels) = number_intents(&examples);
        let settings = BlendSettings::default();
        let (embeddings, _) = cached_embeddings(encoder, &texts);
        let head = crate::blend::HeadWeights::train(&embeddings, &labels, intents.len(), &settings);
        let key = crate::blend::head_key(encoder, &texts, &labels, &intents, &settings);
        crate::blend::shipped_head_bytes(key, &head)
    }

    /// Whether the shipped head (`nlu/data/encoder-head.bin`) is the one `shipped_head_file` would train now: false
    /// when the default data, the head's settings or the encoder changed since it was written.
    pub fn shipped_head_is_current(encoder: &Encoder) -> bool {
        let examples = crate::default_examples();
        let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
        let (intents, labels) = number_intents(&examples);
        let key = crate::blend::head_key(
            encoder,
            &texts,
            &labels,
            &intents,
            &BlendSettings::default(),
        );
        crate::blend::shipped_head(intents.len()).is_some_and(|(shipped, _)| shipped == key)
    }

    /// Whether the sentence encoder is blended in, and from where; one line for the start-up log.
    pub fn encoder_status(&self) -> &str {
        &self.encoder_status
    }

    pub fn encoder_enabled(&self) -> bool {
        self.head.is_some()
    }

    /// Changes the blend weight and gate of an encoder-blended model (no effect without the encoder).
    pub fn set_blend(&mut self, weight: f32, gate: f32) {
        if let Some(head) = &mut self.head {
            head.settings.weight = weight;
            head.settings.gate = gate;
        }
    }

    pub fn classify(&self, text: &str) -> Prediction {
        let (probabilities, in_scope_similarity) = self.probabilities_and_similarity(text);
        let mut ranked: Vec<usize> = (0..probabilities.len()).collect();
        // Ties broken by intent index, so equal scores still rank the same way every time.
        ranked.sort_by(|&a, &b| {
            probabilities[b]
                .total_cmp(&probabilities[a])
                .then(a.cmp(&b))
        });
        let Some(&best) = ranked.first() else {
            return Prediction {
                intent: String::new(),
                confidence: 0.0,
                alternatives: Vec::new(),
                in_scope_similarity,
            };
        };
        Prediction {
            intent: self.intents[best].clone(),
            confidence: probabilities[best],
            alternatives: ranked[1..]
                .iter()
                .take(3)
                .map(|&i| (self.intents[i].clone(), probabilities[i]))
                .collect(),
            in_scope_similarity,
        }
    }

    /// Every intent the model can predict, in training order.
    pub fn intents(&self) -> &[String] {
        &self.intents
    }

    /// How long `train` took (feature extraction included).
    pub fn training_time(&self) -> Duration {
        self.training_time
    }

    /// The vocabulary size (features kept after the document-frequency cut), summed over the ensemble.
    pub fn feature_count(&self) -> usize {
        self.members
            .iter()
            .map(|member| member.vocabulary.len())
            .sum()
    }

    /// The probability of every intent, in the order of [`IntentModel::intents`]: the TF-IDF model's, blended
    /// with the encoder head's when the encoder is on.
    pub fn probabilities(&self, text: &str) -> Vec<f32> {
        self.probabilities_and_similarity(text).0
    }

    /// [`IntentModel::probabilities`], and the similarity to the nearest in-scope intent when the encoder ran
    /// (see [`Prediction::in_scope_similarity`]); it reuses the encoding the blend needed, so it costs only the
    /// comparison with the centroids.
    fn probabilities_and_similarity(&self, text: &str) -> (Vec<f32>, Option<f32>) {
        // Messages reach the model redacted; the masks are noise to both models (see `redact::without_masks`).
        let text = crate::redact::without_masks(text);
        let mut probabilities = self.tfidf_probabilities(&text);
        let mut similarity = None;
        if let Some(head) = &self.head {
            head.blend(&mut probabilities, || {
                let features = head.features(&text);
                let in_scope: Vec<bool> = self.intents.iter().map(|i| i != OUT_OF_SCOPE).collect();
                similarity = Some(head.similarity(&features, &in_scope));
                head.probabilities_of(&features)
            });
        }
        (probabilities, similarity)
    }

    /// The encoder head's probabilities alone (`None` without the encoder).
    pub fn encoder_probabilities(&self, text: &str) -> Option<Vec<f32>> {
        self.head.as_ref().map(|head| head.probabilities(text))
    }

    /// The TF-IDF model's probabilities alone.
    pub fn tfidf_probabilities(&self, text: &str) -> Vec<f32> {
        let mut probabilities = vec![0.0f32; self.intents.len()];
        for member in &self.members {
            let mut scores = member.scores(text);
            for score in &mut scores {
                *score /= member.temperature;
            }
            softmax(&mut scores);
            for (p, score) in probabilities.iter_mut().zip(&scores) {
                *p += member.mix * score;
            }
        }
        probabilities
    }

    /// The raw linear scores of the first member (before its temperature and softmax), in the order of
    /// [`IntentModel::intents`]; for choosing a temperature on held-out data.
    pub fn scores(&self, text: &str) -> Vec<f32> {
        self.members.first().map_or_else(
            || vec![0.0; self.intents.len()],
            |member| member.scores(text),
        )
    }
}

/// The intent of messages no bank bot should answer (our own examples from many domains, `data/joxai_intents.csv`).
pub const OUT_OF_SCOPE: &str = "out_of_scope";

/// The embeddings of `texts`, from the on-disk cache where it has them (the rest computed on up to 4 threads and
/// added to it), and a note on what the cache did.
pub(crate) fn cached_embeddings(encoder: &Encoder, texts: &[&str]) -> (Vec<Vec<f32>>, String) {
    let started = Instant::now();
    let mut cache = EmbeddingCache::open(encoder);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let (embeddings, computed) = cache.embed(encoder, texts, threads);
    let mut note = format!(
        "{computed} embeddings computed, {} from {}",
        texts.len() - computed.min(texts.len()),
        cache.path().display()
    );
    if computed > 0 {
        if let Err(error) = cache.save() {
            note.push_str(&format!(", not saved: {error:#}"));
        }
        note.push_str(&format!(" in {} ms", started.elapsed().as_millis()));
    }
    (embeddings, note)
}

/// Feature hashing is the only part of training that parallelises without changing results: each message is
/// hashed on its own and the halves are joined in order. Two threads because the product machines have two cores.
fn hash_in_parallel(examples: &[Example], settings: &FeatureSettings) -> Vec<HashedMessage> {
    let hash_all = |chunk: &[Example]| -> Vec<HashedMessage> {
        chunk
            .iter()
            .map(|example| hash_message(&example.text, settings))
            .collect()
    };
    if examples.len() < 512 {
        return hash_all(examples);
    }
    let (first, second) = examples.split_at(examples.len() / 2);
    std::thread::scope(|scope| {
        let second_half = scope.spawn(|| hash_all(second));
        let mut hashed = hash_all(first);
        hashed.extend(
            second_half
                .join()
                .expect("hashing a message does not panic"),
        );
        hashed
    })
}

/// Multinomial logistic regression by SGD with L2 regularisation.
///
/// The L2 shrink is applied lazily through one scale factor (`weights = scale * stored`), so each step costs only
/// the message's non-zero features times the number of intents. Single-threaded with a seeded shuffle, so the
/// result is bit-identical for the same data.
fn train_softmax(
    vectors: &[SparseVector],
    labels: &[usize],
    intent_count: usize,
    feature_count: usize,
    settings: &TrainingSettings,
) -> (Vec<f32>, Vec<f32>) {
    let mut weights = vec![0.0f32; feature_count * intent_count];
    let mut bias = vec![0.0f32; intent_count];
    if intent_count == 0 {
        return (weights, bias);
    }
    let mut scale = 1.0f32;
    let mut order: Vec<usize> = (0..vectors.len()).collect();
    let mut rng = SplitMix64(settings.shuffle_seed);
    let mut scores = vec![0.0f32; intent_count];
    let mut step = 0u64;
    let total_steps = (settings.epochs * vectors.len()) as f32;

    for _ in 0..settings.epochs {
        shuffle(&mut order, &mut rng);
        for &i in &order {
            let vector = &vectors[i];
            let learning_rate = settings.learning_rate * (1.0 - step as f32 / total_steps);
            step += 1;

            scores.copy_from_slice(&bias);
            add_scores(&weights, vector, scale, &mut scores);
            softmax(&mut scores);
            // Gradient of the cross-entropy with respect to the scores: p - onehot(label).
            scores[labels[i]] -= 1.0;

            scale *= 1.0 - learning_rate * settings.l2;
            for &(feature, value) in vector {
                let row = &mut weights[feature as usize * intent_count..][..intent_count];
                let step_size = learning_rate * value / scale;
                for (weight, gradient) in row.iter_mut().zip(&scores) {
                    *weight -= step_size * gradient;
                }
            }
            for (b, gradient) in bias.iter_mut().zip(&scores) {
                *b -= learning_rate * gradient;
            }

            // Fold the scale back in before it underflows and the divisions above lose precision.
            if scale < 1e-4 {
                for weight in &mut weights {
                    *weight *= scale;
                }
                scale = 1.0;
            }
        }
    }
    for weight in &mut weights {
        *weight *= scale;
    }
    (weights, bias)
}

/// A sparse matrix in compressed rows: row `i` is `indices/values[offsets[i]..offsets[i + 1]]`. One flat
/// allocation, so the solver's passes over the rows stream through memory.
struct Rows {
    offsets: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl Rows {
    fn new(vectors: &[SparseVector]) -> Rows {
        let mut rows = Rows {
            offsets: Vec::with_capacity(vectors.len() + 1),
            indices: Vec::new(),
            values: Vec::new(),
        };
        rows.offsets.push(0);
        for vector in vectors {
            for &(index, value) in vector {
                rows.indices.push(index);
                rows.values.push(value);
            }
            rows.offsets.push(rows.indices.len());
        }
        rows
    }

    fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let range = self.offsets[i]..self.offsets[i + 1];
        (&self.indices[range.clone()], &self.values[range])
    }
}

/// The constant feature that stands in for the bias, regularised with the weights as liblinear does.
const SVM_BIAS_FEATURE: f32 = 1.0;

/// One-vs-rest linear SVMs with the squared hinge loss, each solved by dual coordinate descent with shrinking
/// (Hsieh et al. 2008, liblinear's `L2R_L2LOSS_SVC_DUAL`). The intents are independent problems, so they are split
/// between two threads; each has its own seeded permutation, so the result does not depend on scheduling.
fn train_svm(
    vectors: &[SparseVector],
    labels: &[usize],
    intent_count: usize,
    feature_count: usize,
    settings: &TrainingSettings,
) -> (Vec<f32>, Vec<f32>) {
    let rows = Rows::new(vectors);
    let solve_all = |first: usize| -> Vec<Vec<f32>> {
        (first..intent_count)
            .step_by(2)
            .map(|intent| solve_svm_dual(&rows, labels, intent, feature_count, settings))
            .collect()
    };
    let (even, odd) = std::thread::scope(|scope| {
        let odd = scope.spawn(|| solve_all(1));
        let even = solve_all(0);
        (even, odd.join().expect("the SVM solver does not panic"))
    });
    let mut weights = vec![0.0f32; feature_count * intent_count];
    let mut bias = vec![0.0f32; intent_count];
    for (intent, w) in even
        .iter()
        .zip(0..)
        .map(|(w, k)| (2 * k, w))
        .chain(odd.iter().zip(0..).map(|(w, k)| (2 * k + 1, w)))
    {
        for (feature, &weight) in w[..feature_count].iter().enumerate() {
            weights[feature * intent_count + intent] = weight;
        }
        bias[intent] = w[feature_count] * SVM_BIAS_FEATURE;
    }
    (weights, bias)
}

/// One binary problem (`intent` against the rest). Returns the weights with the bias weight appended.
fn solve_svm_dual(
    rows: &Rows,
    labels: &[usize],
    intent: usize,
    feature_count: usize,
    settings: &TrainingSettings,
) -> Vec<f32> {
    let n = labels.len();
    let diagonal = 0.5 / settings.svm_c;
    let mut w = vec![0.0f32; feature_count + 1];
    let mut alpha = vec![0.0f32; n];
    let sign: Vec<f32> = labels
        .iter()
        .map(|&label| if label == intent { 1.0 } else { -1.0 })
        .collect();
    let q_diagonal: Vec<f32> = (0..n)
        .map(|i| {
            let (_, values) = rows.row(i);
            values.iter().map(|v| v * v).sum::<f32>()
                + SVM_BIAS_FEATURE * SVM_BIAS_FEATURE
                + diagonal
        })
        .collect();
    let mut rng =
        SplitMix64(settings.shuffle_seed ^ (intent as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut active: Vec<usize> = (0..n).collect();
    let mut active_len = n;
    let mut projected_max_old = f32::INFINITY;

    for _ in 0..settings.svm_max_epochs {
        shuffle(&mut active[..active_len], &mut rng);
        let mut projected_max = f32::NEG_INFINITY;
        let mut projected_min = f32::INFINITY;
        let mut s = 0;
        while s < active_len {
            let i = active[s];
            let y = sign[i];
            let (indices, values) = rows.row(i);
            let mut margin = w[feature_count] * SVM_BIAS_FEATURE;
            for (&index, &value) in indices.iter().zip(values) {
                margin += w[index as usize] * value;
            }
            let gradient = y * margin - 1.0 + diagonal * alpha[i];
            let mut projected = gradient;
            if alpha[i] == 0.0 {
                if gradient > projected_max_old {
                    // Shrinking: this example is far on the right side and will stay at zero; drop it for now.
                    active_len -= 1;
                    active.swap(s, active_len);
                    continue;
                }
                projected = gradient.min(0.0);
            }
            projected_max = projected_max.max(projected);
            projected_min = projected_min.min(projected);
            if projected.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - gradient / q_diagonal[i]).max(0.0);
                let step = (alpha[i] - old) * y;
                for (&index, &value) in indices.iter().zip(values) {
                    w[index as usize] += step * value;
                }
                w[feature_count] += step * SVM_BIAS_FEATURE;
            }
            s += 1;
        }
        if projected_max - projected_min <= settings.svm_tolerance {
            if active_len == n {
                break;
            }
            // Converged on the shrunk problem: check once more on every example.
            active_len = n;
            projected_max_old = f32::INFINITY;
            continue;
        }
        // (liblinear also shrinks examples stuck at the upper bound; with the squared hinge there is none.)
        projected_max_old = if projected_max <= 0.0 {
            f32::INFINITY
        } else {
            projected_max
        };
    }
    w
}

/// `scores += scale * W·x`, one contiguous row per non-zero feature.
fn add_scores(weights: &[f32], vector: &SparseVector, scale: f32, scores: &mut [f32]) {
    let intent_count = scores.len();
    for &(feature, value) in vector {
        let row = &weights[feature as usize * intent_count..][..intent_count];
        let coefficient = value * scale;
        for (score, weight) in scores.iter_mut().zip(row) {
            *score += coefficient * weight;
        }
    }
}

fn softmax(scores: &mut [f32]) {
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

/// A tiny fixed PRNG: the shuffle must be identical on every machine and Rust release.
pub(crate) struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (the modulo bias is irrelevant at our sizes).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }
}

/// Fisher–Yates with our own generator.
pub(crate) fn shuffle<T>(items: &mut [T], rng: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i + 1);
        items.swap(i, j);
    }
}

/// The intents of `examples` numbered in order of first appearance (so a model never depends on map iteration
/// order), and each example's number. A model trained on `examples` has exactly these intents and labels, which is
/// what lets the shipped head be checked without training one.
fn number_intents(examples: &[Example]) -> (Vec<String>, Vec<usize>) {
    let mut intents: Vec<String> = Vec::new();
    let mut labels = Vec::with_capacity(examples.len());
    for example in examples {
        let label = match intents.iter().position(|intent| *intent == example.intent) {
            Some(label) => label,
            None => {
                intents.push(example.intent.clone());
                intents.len() - 1
            }
        };
        labels.push(label);
    }
    (intents, labels)
}

/// Whether to blend the sentence encoder into the intent model: yes unless `JOXAI_ENCODER` is `off` (or `0`,
/// `false`, `no`). The encoder's files must also be installed (`infra/scripts/fetch-encoder.sh`).
pub fn encoder_switched_on() -> bool {
    !std::env::var("JOXAI_ENCODER").is_ok_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "off" | "0" | "false" | "no"
        )
    })
}
