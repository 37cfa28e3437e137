//! The intent model: TF-IDF features (see `features`) and a multinomial logistic regression trained by plain SGD.
//!
//! Why this and not a neural encoder: it trains in about 0.6 s at start-up from data embedded in the binary,
//! needs no weights download (the product runs offline in a bank), classifies in microseconds, and on BANKING77
//! comes within a couple of points of sentence-encoder models. Softmax (rather than one-vs-rest SVM scores)
//! gives a confidence the conversation layer can threshold before handing over to a person.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Example;
use crate::features::{FeatureSettings, HashedMessage, SparseVector, Vocabulary, hash_message};

/// How the classifier is trained. The defaults were chosen on a stratified 10% hold-out of BANKING77's training
/// split (see the crate README); nothing was tuned on a test split.
#[derive(Debug, Clone, Copy)]
pub struct TrainingSettings {
    pub epochs: usize,
    /// Initial step size; it decays linearly to zero over training, which settles the weights at the end as
    /// well as averaging iterates did in our trials, at no extra cost.
    pub learning_rate: f32,
    /// L2 penalty per example; keeps weights small so confidences stay honest on unseen phrasings.
    pub l2: f32,
    /// Seeds the per-epoch shuffle. Fixed, so the same data always gives bit-identical weights.
    pub shuffle_seed: u64,
    pub features: FeatureSettings,
}

impl Default for TrainingSettings {
    fn default() -> Self {
        TrainingSettings {
            epochs: 10,
            learning_rate: 2.0,
            l2: 1e-6,
            shuffle_seed: 0x005e_ed0f_10a1,
            features: FeatureSettings::default(),
        }
    }
}

/// A trained intent classifier. Immutable after training, so it is `Send + Sync` and shared through an `Arc`.
#[derive(Debug, Clone)]
pub struct IntentModel {
    intents: Vec<String>,
    vocabulary: Vocabulary,
    /// Feature-major (`weights[feature * intents + intent]`) so scoring a message walks contiguous rows.
    weights: Vec<f32>,
    bias: Vec<f32>,
    training_time: Duration,
}

/// The model's answer for one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub intent: String,
    /// Softmax probability of `intent`, in [0, 1].
    pub confidence: f32,
    /// The next three most likely intents after `intent`, most likely first, with their probabilities.
    pub alternatives: Vec<(String, f32)>,
}

impl IntentModel {
    /// Trains on BANKING77's training split plus all of JoxAI's own examples (about 0.6 s in release).
    pub fn train_default() -> IntentModel {
        IntentModel::train(&crate::default_examples())
    }

    pub fn train(examples: &[Example]) -> IntentModel {
        IntentModel::train_with(examples, &TrainingSettings::default())
    }

    pub fn train_with(examples: &[Example], settings: &TrainingSettings) -> IntentModel {
        let started = Instant::now();

        // Intents are numbered in order of first appearance so the model does not depend on map iteration order.
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

        let hashed = hash_in_parallel(examples, &settings.features);
        let vocabulary = Vocabulary::fit(settings.features, &hashed);
        let vectors: Vec<SparseVector> = hashed
            .iter()
            .map(|message| vocabulary.vectorise(message))
            .collect();
        let (weights, bias) =
            train_softmax(&vectors, &labels, intents.len(), vocabulary.len(), settings);

        IntentModel {
            intents,
            vocabulary,
            weights,
            bias,
            training_time: started.elapsed(),
        }
    }

    pub fn classify(&self, text: &str) -> Prediction {
        let probabilities = self.probabilities(text);
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

    /// The vocabulary size (features kept after the document-frequency cut).
    pub fn feature_count(&self) -> usize {
        self.vocabulary.len()
    }

    /// The probability of every intent, in the order of [`IntentModel::intents`].
    pub fn probabilities(&self, text: &str) -> Vec<f32> {
        let message = hash_message(text, &self.vocabulary.settings());
        let vector = self.vocabulary.vectorise(&message);
        let mut scores = self.bias.clone();
        add_scores(&self.weights, &vector, 1.0, &mut scores);
        softmax(&mut scores);
        scores
    }
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
