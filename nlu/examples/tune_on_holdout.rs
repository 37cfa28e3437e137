//! How the default settings were chosen: trains on a stratified 90% of BANKING77's training split plus all of
//! JoxAI's own examples and prints accuracy on the held-out 10%. Settings come from the environment so a grid can
//! be run from the shell, e.g. `EPOCHS=12 LR=0.3 L2=2e-5 cargo run --release -p joxai-nlu --example tune_on_holdout`.

use joxai_nlu::{
    IntentModel, TrainingSettings, banking77_examples, default_examples, eval, stratified_split,
};

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let defaults = TrainingSettings::default();
    let mut settings = TrainingSettings {
        epochs: setting("EPOCHS", defaults.epochs),
        learning_rate: setting("LR", defaults.learning_rate),
        l2: setting("L2", defaults.l2),
        shuffle_seed: setting("SHUFFLE_SEED", defaults.shuffle_seed),
        features: defaults.features,
    };
    settings.features.char_ngram_min = setting("CHAR_MIN", settings.features.char_ngram_min);
    settings.features.char_ngram_max = setting("CHAR_MAX", settings.features.char_ngram_max);
    settings.features.min_document_frequency =
        setting("MIN_DF", settings.features.min_document_frequency);
    settings.features.word_block_weight =
        setting("WORD_WEIGHT", settings.features.word_block_weight);
    settings.features.char_block_weight =
        setting("CHAR_WEIGHT", settings.features.char_block_weight);
    // Several splits, because one 10% split (about 1,000 rows) moves accuracy by a point either way.
    let split_seeds: Vec<u64> = setting("SPLIT_SEEDS", "7,1,2".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();

    println!("{settings:?}");
    let mut accuracy_sum = 0.0;
    for &split_seed in &split_seeds {
        let (_, heldout) = stratified_split(&banking77_examples(), 0.1, split_seed);
        let heldout_texts: std::collections::HashSet<&str> =
            heldout.iter().map(|row| row.text.as_str()).collect();
        let training: Vec<_> = default_examples()
            .into_iter()
            .filter(|example| !heldout_texts.contains(example.text.as_str()))
            .collect();
        let model = IntentModel::train_with(&training, &settings);
        let report = eval::evaluate(&model, &heldout);
        accuracy_sum += report.accuracy;
        println!(
            "split_seed={split_seed} features={} train_ms={} macro_f1={:.4} accuracy={:.4}",
            model.feature_count(),
            model.training_time().as_millis(),
            report.macro_f1,
            report.accuracy
        );
    }
    println!(
        "mean accuracy over {} splits: {:.4}",
        split_seeds.len(),
        accuracy_sum / split_seeds.len() as f64
    );
}
