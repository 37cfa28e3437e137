//! How the default settings were chosen: trains on a stratified 90% of BANKING77's training split plus all of
//! JoxAI's own examples and prints accuracy on the held-out 10%, for several split seeds. Settings come from the
//! environment so a grid can be run from the shell, e.g.
//! `SOLVER=svm C=0.5 CHAR_MIN=2 CHAR_MAX=5 cargo run --release -p joxai-nlu --example tune_on_holdout`.
//! It also reports, for the model's temperature and a sweep of others, the held-out log-loss and the fraction of
//! correct predictions whose confidence is at least 0.35 (the product's low-confidence line).

use joxai_nlu::{
    IntentModel, Solver, TrainingSettings, banking77_examples, default_examples, eval,
    stratified_split,
};

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const LOW_CONFIDENCE: f32 = 0.35;
const TEMPERATURES: [f32; 9] = [0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3, 1.0];

/// Settings from the environment: `prefix` + name (e.g. `B_C=1`), falling back to `base`.
fn settings_from_env(prefix: &str, base: TrainingSettings) -> TrainingSettings {
    let get = |name: &str| format!("{prefix}{name}");
    let mut settings = TrainingSettings {
        solver: match setting(&get("SOLVER"), String::new()).as_str() {
            "svm" => Solver::Svm,
            "softmax" => Solver::Softmax,
            _ => base.solver,
        },
        epochs: setting(&get("EPOCHS"), base.epochs),
        learning_rate: setting(&get("LR"), base.learning_rate),
        l2: setting(&get("L2"), base.l2),
        shuffle_seed: setting(&get("SHUFFLE_SEED"), base.shuffle_seed),
        svm_c: setting(&get("C"), base.svm_c),
        svm_tolerance: setting(&get("TOL"), base.svm_tolerance),
        svm_max_epochs: setting(&get("MAX_EPOCHS"), base.svm_max_epochs),
        temperature: setting(&get("TEMPERATURE"), base.temperature),
        features: base.features,
    };
    let f = &mut settings.features;
    f.char_ngram_min = setting(&get("CHAR_MIN"), f.char_ngram_min);
    f.char_ngram_max = setting(&get("CHAR_MAX"), f.char_ngram_max);
    f.span_ngram_min = setting(&get("SPAN_MIN"), f.span_ngram_min);
    f.span_ngram_max = setting(&get("SPAN_MAX"), f.span_ngram_max);
    f.word_ngram_max = setting(&get("WORD_MAX"), f.word_ngram_max);
    f.min_document_frequency = setting(&get("MIN_DF"), f.min_document_frequency);
    f.word_block_weight = setting(&get("WORD_WEIGHT"), f.word_block_weight);
    f.char_block_weight = setting(&get("CHAR_WEIGHT"), f.char_block_weight);
    f.span_block_weight = setting(&get("SPAN_WEIGHT"), f.span_block_weight);
    f.expand_contractions = setting(&get("CONTRACTIONS"), f.expand_contractions);
    f.digits_to_zero = setting(&get("DIGITS"), f.digits_to_zero);
    settings
}

fn main() {
    // The default model's members, each adjustable with its own prefix (`A_`, `B_`, ...); with `SINGLE=1` only
    // the first member, adjustable without a prefix.
    let mut members: Vec<(TrainingSettings, f32)> = IntentModel::default_ensemble();
    if setting("SINGLE", 0u8) != 0 {
        members.truncate(1);
        members[0].0 = settings_from_env("", members[0].0);
    } else {
        for (k, (settings, share)) in members.iter_mut().enumerate() {
            let prefix = format!("{}_", (b'A' + k as u8) as char);
            *settings = settings_from_env(&prefix, *settings);
            *share = setting(&format!("{prefix}SHARE"), *share);
        }
        members.retain(|(_, share)| *share > 0.0);
    }
    // Several splits, because one 10% split (about 1,000 rows) moves accuracy by a point either way.
    let split_seeds: Vec<u64> = setting("SPLIT_SEEDS", "7,1,2".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();

    for member in &members {
        println!("{member:?}");
    }
    let mut accuracy_sum = 0.0;
    let mut sweep = vec![(0.0f64, 0usize, 0usize); TEMPERATURES.len()];
    for &split_seed in &split_seeds {
        let (_, heldout) = stratified_split(&banking77_examples(), 0.1, split_seed);
        let heldout_texts: std::collections::HashSet<&str> =
            heldout.iter().map(|row| row.text.as_str()).collect();
        let training: Vec<_> = default_examples()
            .into_iter()
            .filter(|example| !heldout_texts.contains(example.text.as_str()))
            .collect();
        let model = IntentModel::train_ensemble(&training, &members);
        let report = eval::evaluate(&model, &heldout);
        accuracy_sum += report.accuracy;

        // Confidence on held-out rows, at the model's own temperature.
        let mut confident_correct = 0;
        let mut log_loss = 0.0f64;
        for row in &heldout {
            let probabilities = model.probabilities(&row.text);
            let truth = model
                .intents()
                .iter()
                .position(|i| *i == row.intent)
                .unwrap_or(0);
            log_loss -= f64::from(probabilities[truth].max(1e-12)).ln();
            let prediction = model.classify(&row.text);
            if prediction.intent == row.intent && prediction.confidence >= LOW_CONFIDENCE {
                confident_correct += 1;
            }
        }
        for (slot, &temperature) in sweep.iter_mut().zip(&TEMPERATURES) {
            for row in &heldout {
                let mut scores = model.scores(&row.text);
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0.0f64;
                for s in &mut scores {
                    *s = ((*s - max) / temperature).exp();
                    sum += f64::from(*s);
                }
                let truth = model
                    .intents()
                    .iter()
                    .position(|i| *i == row.intent)
                    .unwrap_or(0);
                slot.0 -= (f64::from(scores[truth]) / sum).max(1e-12).ln();
                let best = (0..scores.len())
                    .max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)))
                    .unwrap_or(0);
                if best == truth {
                    slot.2 += 1;
                    if f64::from(scores[best]) / sum >= f64::from(LOW_CONFIDENCE) {
                        slot.1 += 1;
                    }
                }
            }
        }
        println!(
            "split_seed={split_seed} features={} train_ms={} macro_f1={:.4} accuracy={:.4} log_loss={:.4} \
             correct_with_confidence>=0.35={:.4} p50_us={:.1} p99_us={:.1}",
            model.feature_count(),
            model.training_time().as_millis(),
            report.macro_f1,
            report.accuracy,
            log_loss / heldout.len() as f64,
            confident_correct as f64 / report.correct.max(1) as f64,
            report.latency_p50_micros,
            report.latency_p99_micros,
        );
    }
    let rows = split_seeds.len() as f64 * 1005.0;
    for (&temperature, (loss, confident, correct)) in TEMPERATURES.iter().zip(&sweep) {
        println!(
            "  temperature {temperature:5.2}: mean log-loss {:.4}, correct with confidence >= 0.35: {:.4}",
            loss / rows,
            *confident as f64 / (*correct).max(1) as f64
        );
    }
    println!(
        "mean accuracy over {} splits: {:.4}",
        split_seeds.len(),
        accuracy_sum / split_seeds.len() as f64
    );
}
