//! The intent model end to end: determinism, held-out accuracy, our own intents, and the embedded data.

use std::collections::HashSet;
use std::sync::OnceLock;

use joxai_nlu::{
    Example, IntentModel, banking77_examples, banking77_intents, default_examples, eval, load_csv,
    stratified_folds, stratified_split, write_csv,
};

/// Training takes about half a second; every test that only classifies shares one model.
fn default_model() -> &'static IntentModel {
    static MODEL: OnceLock<IntentModel> = OnceLock::new();
    MODEL.get_or_init(IntentModel::train_default)
}

/// Trains on the default data minus a stratified 10% of BANKING77 and returns accuracy on that 10%.
fn held_out_accuracy(split_seed: u64) -> f64 {
    let (_, heldout) = stratified_split(&banking77_examples(), 0.1, split_seed);
    let heldout_texts: HashSet<&str> = heldout.iter().map(|row| row.text.as_str()).collect();
    let training: Vec<Example> = default_examples()
        .into_iter()
        .filter(|example| !heldout_texts.contains(example.text.as_str()))
        .collect();
    let model = IntentModel::train(&training);
    eval::evaluate(&model, &heldout).accuracy
}

#[test]
fn accuracy_on_held_out_banking77_rows_stays_above_the_measured_floor() {
    // Measured (TF-IDF model alone): 0.8995 (seed 7), 0.9104 (seed 1), 0.9025 (seed 2), mean 0.9041. The figures are
    // deterministic, so this cannot flake; the floors sit just under them, so a change that costs a point fails here.
    // Three splits because one 10% split (about 1,000 rows) moves accuracy by a point either way. Seed 7 is the split
    // `nlu holdout --seed 7` writes. (Before the out-of-scope examples from many domains and the six new intents:
    // 0.9045 / 0.9144 / 0.9055; two of the five seed-7 rows lost are BANKING77 rows labelled as a direct debit that
    // read "what is the word?" and "what is the matter?", now rightly out of scope. The product's blended model is
    // unchanged or better: 10-fold cross-validation 0.9327 against 0.9317, see nlu/README.md.)
    let accuracies: Vec<f64> = [7, 1, 2].into_iter().map(held_out_accuracy).collect();
    let mean = accuracies.iter().sum::<f64>() / accuracies.len() as f64;
    assert!(
        accuracies[0] >= 0.8975,
        "seed-7 held-out accuracy {:.4} fell below 0.8975",
        accuracies[0]
    );
    assert!(
        mean >= 0.902,
        "mean held-out accuracy {mean:.4} (per split {accuracies:?}) fell below 0.902"
    );
    assert!(
        accuracies.iter().all(|&a| a >= 0.895),
        "one split fell below 0.895: {accuracies:?}"
    );
}

#[test]
fn two_trainings_on_the_same_data_give_bit_identical_predictions() {
    let examples = default_examples();
    let first = IntentModel::train(&examples);
    let second = IntentModel::train(&examples);
    assert_eq!(first.intents(), second.intents());
    for row in examples
        .iter()
        .step_by(7)
        .chain(&[Example::new("¿dónde está mi tarjeta? 💳", "")])
    {
        let a = first.probabilities(&row.text);
        let b = second.probabilities(&row.text);
        let a_bits: Vec<u32> = a.iter().map(|p| p.to_bits()).collect();
        let b_bits: Vec<u32> = b.iter().map(|p| p.to_bits()).collect();
        assert_eq!(a_bits, b_bits, "{}", row.text);
        assert_eq!(first.classify(&row.text), second.classify(&row.text));
    }
}

#[test]
fn our_own_intents_are_recognised_in_phrasings_the_model_never_saw() {
    let model = default_model();
    for (text, expected) in [
        ("can I speak to a real person", "human_agent"),
        (
            "I'd rather talk to somebody from the bank, not a machine",
            "human_agent",
        ),
        ("quiero que me atienda una persona", "human_agent"),
        ("what's my balance?", "account_balance"),
        ("hola", "greeting"),
        ("gracias", "thanks"),
        ("alright, that is everything, see you", "goodbye"),
        ("what did I spend money on last week", "recent_transactions"),
        (
            "when do I need to pay my credit card this month",
            "card_due_date",
        ),
        ("who is going to win the league this year", "out_of_scope"),
    ] {
        let prediction = model.classify(text);
        assert_eq!(prediction.intent, expected, "{text}: {prediction:?}");
    }
}

#[test]
fn spanish_banking_requests_reach_the_banking77_intent() {
    let model = default_model();
    for (text, expected) in [
        ("me robaron la tarjeta en el metro", "lost_or_stolen_card"),
        ("mi tarjeta nueva todavía no ha llegado", "card_arrival"),
        ("quiero cambiar el pin de mi tarjeta", "change_pin"),
        ("quiero cerrar mi cuenta del banco", "terminate_account"),
    ] {
        let prediction = model.classify(text);
        assert_eq!(prediction.intent, expected, "{text}: {prediction:?}");
    }
}

#[test]
fn a_prediction_carries_a_probability_and_three_ranked_alternatives() {
    let prediction = default_model().classify("my card was stolen");
    assert_eq!(prediction.intent, "lost_or_stolen_card");
    assert!((0.0..=1.0).contains(&prediction.confidence));
    assert_eq!(prediction.alternatives.len(), 3);
    assert!(
        prediction
            .alternatives
            .iter()
            .all(|(intent, p)| *intent != prediction.intent && *p <= prediction.confidence)
    );
    assert!(
        prediction
            .alternatives
            .windows(2)
            .all(|pair| pair[0].1 >= pair[1].1)
    );
}

#[test]
fn classifying_odd_input_never_panics() {
    let model = default_model();
    let huge = "card ".repeat(50_000);
    for text in ["", "   ", "🙂💳🏦", "\u{0}\u{feff}", "ÑÑÑ", huge.as_str()] {
        let prediction = model.classify(text);
        assert!(prediction.confidence.is_finite());
    }
}

#[test]
fn the_default_model_knows_all_77_banking_intents_and_ours() {
    let intents: HashSet<&str> = default_model()
        .intents()
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(banking77_intents().len(), 77);
    assert!(
        banking77_intents()
            .iter()
            .all(|intent| intents.contains(intent))
    );
    for ours in [
        "greeting",
        "thanks",
        "goodbye",
        "human_agent",
        "account_balance",
        "recent_transactions",
        "card_credit_limit",
        "card_due_date",
        "card_statement",
        "savings_plans",
        "loan_plans",
        "out_of_scope",
        "freeze_card",
        "unfreeze_card",
        "freeze_account",
        "dispute_charge",
        "branch_hours",
        "atm_limits",
    ] {
        assert!(intents.contains(ours), "{ours}");
    }
}

#[test]
fn every_embedded_example_is_labelled_with_a_known_intent() {
    let examples = default_examples();
    assert!(examples.len() > 10_003);
    assert_eq!(banking77_examples().len(), 10_003);
    let known: HashSet<&str> = default_model()
        .intents()
        .iter()
        .map(String::as_str)
        .collect();
    assert!(
        examples
            .iter()
            .all(|e| known.contains(e.intent.as_str()) && !e.text.trim().is_empty())
    );
}

#[test]
fn csv_with_quotes_commas_and_newlines_round_trips() {
    let rows = vec![
        Example::new("plain", "a"),
        Example::new("with, comma", "b"),
        Example::new("with \"quotes\"", "c"),
        Example::new("two\nlines", "d"),
    ];
    assert_eq!(
        load_csv(&write_csv(&rows)).expect("our own CSV parses"),
        rows
    );
    assert_eq!(
        load_csv("text,category\r\n\"a, b\",x\r\n").expect("CRLF parses"),
        [Example::new("a, b", "x")]
    );
}

#[test]
fn csv_without_the_header_or_with_extra_fields_is_rejected() {
    assert!(load_csv("category,text\nhi,greeting\n").is_err());
    assert!(load_csv("text,category\nhi,greeting,extra\n").is_err());
    assert!(load_csv("text,category\n\"never closed,greeting\n").is_err());
}

#[test]
fn the_stratified_split_holds_out_about_a_tenth_of_every_intent() {
    let rows = banking77_examples();
    let (train, heldout) = stratified_split(&rows, 0.1, 7);
    assert_eq!(train.len() + heldout.len(), rows.len());
    for intent in banking77_intents() {
        let total = rows.iter().filter(|r| r.intent == *intent).count();
        let held = heldout.iter().filter(|r| r.intent == *intent).count();
        assert_eq!(held, (total as f64 * 0.1).round() as usize, "{intent}");
    }
    assert_eq!(stratified_split(&rows, 0.1, 7).1, heldout);
}

#[test]
fn cross_validation_folds_hold_every_row_once_and_a_tenth_of_every_intent_each() {
    let rows = banking77_examples();
    let fold_of = stratified_folds(&rows, 10, 7);
    assert_eq!(fold_of.len(), rows.len());
    assert!(fold_of.iter().all(|&fold| fold < 10));
    for intent in banking77_intents() {
        let members: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].intent == *intent)
            .collect();
        for fold in 0..10 {
            let held = members.iter().filter(|&&i| fold_of[i] == fold).count();
            // Dealt in turn: every fold gets the intent's share, rounded down or up.
            assert!(
                held == members.len() / 10 || held == members.len().div_ceil(10),
                "{intent}: fold {fold} holds {held} of {}",
                members.len()
            );
        }
    }
    assert_eq!(
        stratified_folds(&rows, 10, 7),
        fold_of,
        "the same seed deals the same folds"
    );
    assert_ne!(
        stratified_folds(&rows, 10, 8),
        fold_of,
        "another seed deals other folds"
    );
}

/// The sentence encoder's weights, when `infra/scripts/fetch-encoder.sh` installed them (`make test` does).
fn encoder() -> Option<joxai_nlu::encoder::Encoder> {
    let dir = joxai_nlu::encoder::default_model_dir();
    if !dir.join("model.safetensors").exists() {
        println!(
            "skipped: no encoder weights in {} (run infra/scripts/fetch-encoder.sh)",
            dir.display()
        );
        return None;
    }
    Some(joxai_nlu::encoder::Encoder::load(&dir).expect("the encoder loads"))
}

#[test]
fn the_shipped_encoder_head_matches_the_current_data_settings_and_encoder() {
    let Some(encoder) = encoder() else { return };
    assert!(
        IntentModel::shipped_head_is_current(&encoder),
        "nlu/data/encoder-head.bin was trained on other data, settings or encoder weights: run \
         `joxai nlu train-head --out nlu/data/encoder-head.bin` and commit the file"
    );
}

#[test]
fn the_product_model_blends_the_encoder_with_the_shipped_head_and_is_deterministic() {
    if encoder().is_none() {
        return;
    }
    let model = IntentModel::train_default_blended();
    assert!(model.encoder_enabled(), "{}", model.encoder_status());
    assert!(
        model.encoder_status().contains("shipped"),
        "{}",
        model.encoder_status()
    );
    let again = IntentModel::train_default_blended();
    // Messages the TF-IDF model alone is unsure of, so the encoder's head takes part.
    for text in [
        "my money from the transfer still hasn't shown up",
        "the exchange rate on my cash withdrawal looks off",
        "¿por qué me cobraron dos veces?",
    ] {
        let (a, b) = (model.classify(text), again.classify(text));
        assert_eq!(a.intent, b.intent, "{text}");
        assert_eq!(a.confidence.to_bits(), b.confidence.to_bits(), "{text}");
    }
}

#[test]
fn the_eval_report_ends_with_the_accuracy_line() {
    let rows = vec![
        Example::new("my card was stolen", "lost_or_stolen_card"),
        Example::new("hello", "greeting"),
    ];
    let report = eval::evaluate(default_model(), &rows).to_string();
    assert_eq!(report.lines().last(), Some("accuracy: 1.0000"));
}
