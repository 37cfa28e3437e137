//! `joxai nlu ...`: evaluate the model, cut a held-out split, classify one message.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::data::{banking77_examples, read_csv_file, stratified_split};
use crate::{Example, IntentModel, default_examples, entities, eval, redact, write_csv};

const USAGE: &str = "\
usage:
  nlu eval FILE.csv [--holdout-of-training] [--tfidf-only] [--weight W] [--gate G]
                                              accuracy, macro-F1, confusions and latency on a text,category CSV
                                              (--holdout-of-training: train without FILE's rows first; the
                                              sentence encoder is blended in unless JOXAI_ENCODER=off or it is not
                                              installed, see --tfidf-only; --weight/--gate override the blend)
  nlu cross-validate [--folds 10] [--seed 7] [--tfidf-only] [--weight W] [--gate G]
                                              k-fold cross-validation over BANKING77's training split: each
                                              fold is scored by a model trained without it (plus all our own
                                              examples), so every row is held out exactly once; prints the
                                              per-fold accuracies, then the report over all rows
  nlu train-head --out nlu/data/encoder-head.bin
                                              train the sentence encoder's head on the default data and write
                                              the file the binary ships (run it after changing the data)
  nlu tune-blend FILE.csv                     choose the blend's settings on a validation slice of the training
                                              data without FILE's rows (FILE itself is never scored)
  nlu holdout --fraction 0.1 --seed 7 --out DIR
                                              write a stratified split of BANKING77's training data as
                                              DIR/train.csv and DIR/heldout.csv
  nlu classify \"text\"                         the prediction and entities as JSON";

/// What `nlu classify` prints.
#[derive(serde::Serialize)]
struct ClassifyOutput {
    text: String,
    language: crate::Language,
    contains_pan: bool,
    #[serde(flatten)]
    prediction: crate::Prediction,
    entities: Vec<entities::Entity>,
}

/// Runs one `nlu` subcommand. `args` are the words after `nlu` (a leading `nlu` is accepted too).
pub fn run_cli(args: &[String]) -> anyhow::Result<()> {
    let args = match args.first() {
        Some(first) if first == "nlu" => &args[1..],
        _ => args,
    };
    let Some((command, rest)) = args.split_first() else {
        bail!("{USAGE}");
    };
    match command.as_str() {
        "eval" => run_eval(rest),
        "holdout" => run_holdout(rest),
        "cross-validate" => run_cross_validate(rest),
        "train-head" => run_train_head(rest),
        "tune-blend" => crate::tune::run_tune_blend(rest),
        "classify" => run_classify(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown nlu command `{other}`\n{USAGE}"),
    }
}

fn run_eval(args: &[String]) -> anyhow::Result<()> {
    let mut file = None;
    let mut holdout_of_training = false;
    let mut tfidf_only = false;
    let mut weight = None;
    let mut gate = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> anyhow::Result<f32> {
            args.next()
                .with_context(|| format!("{name} needs a value"))?
                .parse()
                .with_context(|| format!("{name} must be a number"))
        };
        match arg.as_str() {
            "--holdout-of-training" => holdout_of_training = true,
            "--tfidf-only" => tfidf_only = true,
            "--weight" => weight = Some(number("--weight")?),
            "--gate" => gate = Some(number("--gate")?),
            flag if flag.starts_with("--") => bail!("unknown flag `{flag}` for nlu eval\n{USAGE}"),
            path if file.is_none() => file = Some(path.to_owned()),
            extra => bail!("unexpected argument `{extra}` for nlu eval\n{USAGE}"),
        }
    }
    let Some(file) = file else {
        bail!("nlu eval needs a CSV file\n{USAGE}")
    };
    let rows = read_csv_file(&file)?;

    let train = |examples: &[Example]| {
        if tfidf_only {
            IntentModel::train(examples)
        } else {
            IntentModel::train_blended(examples)
        }
    };
    let mut model = if holdout_of_training {
        // Drop every training row whose text is in FILE, so the model has never seen what it is scored on.
        let held_out: HashSet<&str> = rows.iter().map(|row| row.text.as_str()).collect();
        let training: Vec<Example> = default_examples()
            .into_iter()
            .filter(|example| !held_out.contains(example.text.as_str()))
            .collect();
        println!(
            "training on {} examples (the default data minus the {} rows of {file})",
            training.len(),
            rows.len()
        );
        train(&training)
    } else {
        println!("training the default model");
        train(&default_examples())
    };
    if weight.is_some() || gate.is_some() {
        let defaults = crate::BlendSettings::default();
        model.set_blend(
            weight.unwrap_or(defaults.weight),
            gate.unwrap_or(defaults.gate),
        );
    }
    println!("{}", model.encoder_status());
    println!(
        "training time: {} ms ({} intents, {} features)",
        model.training_time().as_millis(),
        model.intents().len(),
        model.feature_count()
    );
    println!("{}", eval::evaluate(&model, &rows));
    Ok(())
}

fn run_cross_validate(args: &[String]) -> anyhow::Result<()> {
    let mut folds = 10usize;
    let mut seed = 7u64;
    let mut tfidf_only = false;
    let defaults = crate::BlendSettings::default();
    let (mut weight, mut gate) = (defaults.weight, defaults.gate);
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--folds" => folds = value()?.parse().context("--folds must be a whole number")?,
            "--seed" => seed = value()?.parse().context("--seed must be a whole number")?,
            "--tfidf-only" => tfidf_only = true,
            "--weight" => weight = value()?.parse().context("--weight must be a number")?,
            "--gate" => gate = value()?.parse().context("--gate must be a number")?,
            other => bail!("unknown argument `{other}` for nlu cross-validate\n{USAGE}"),
        }
    }
    if folds < 2 {
        bail!("--folds must be at least 2, got {folds}");
    }
    let rows = banking77_examples();
    let fold_of = crate::data::stratified_folds(&rows, folds, seed);
    let mut predictions = vec![String::new(); rows.len()];
    let mut latencies = vec![0.0; rows.len()];
    let mut encoded = 0usize;
    for fold in 0..folds {
        let held_out: Vec<usize> = (0..rows.len()).filter(|&i| fold_of[i] == fold).collect();
        let held_out_texts: HashSet<&str> =
            held_out.iter().map(|&i| rows[i].text.as_str()).collect();
        // Our own examples stay in every training set; a BANKING77 text that is also elsewhere in the data
        // (the split has a few duplicates) is left out with its fold, so no scored text was trained on.
        let training: Vec<Example> = default_examples()
            .into_iter()
            .filter(|example| !held_out_texts.contains(example.text.as_str()))
            .collect();
        let mut model = if tfidf_only {
            IntentModel::train(&training)
        } else {
            IntentModel::train_blended(&training)
        };
        model.set_blend(weight, gate);
        let fold_rows: Vec<Example> = held_out.iter().map(|&i| rows[i].clone()).collect();
        let (fold_predictions, fold_latencies) = eval::classify_all(&model, &fold_rows);
        if model.encoder_enabled() {
            // The rows the gate sent to the encoder: the TF-IDF model's top probability below it.
            encoded += fold_rows
                .iter()
                .filter(|row| {
                    let top = model
                        .tfidf_probabilities(&row.text)
                        .into_iter()
                        .fold(0.0f32, f32::max);
                    top < gate
                })
                .count();
        }
        let correct = fold_rows
            .iter()
            .zip(&fold_predictions)
            .filter(|(row, predicted)| row.intent == **predicted)
            .count();
        println!(
            "fold {}/{folds}: {} rows, accuracy {:.4} (trained on {}; {})",
            fold + 1,
            fold_rows.len(),
            correct as f64 / fold_rows.len().max(1) as f64,
            training.len(),
            model.encoder_status()
        );
        for ((&i, predicted), latency) in held_out.iter().zip(fold_predictions).zip(fold_latencies)
        {
            predictions[i] = predicted;
            latencies[i] = latency;
        }
    }
    println!(
        "{folds}-fold cross-validation over {} BANKING77 training rows (split seed {seed}):",
        rows.len()
    );
    if encoded > 0 {
        println!(
            "sentence encoder: blend weight {weight}, gate {gate}: ran on {encoded} rows ({:.1}%)",
            100.0 * encoded as f64 / rows.len() as f64
        );
    }
    println!("{}", eval::report(&rows, &predictions, latencies));
    Ok(())
}

fn run_train_head(args: &[String]) -> anyhow::Result<()> {
    let out = match args {
        [flag, out] if flag == "--out" => PathBuf::from(out),
        _ => bail!("usage: nlu train-head --out FILE\n{USAGE}"),
    };
    let dir = crate::encoder::default_model_dir();
    let encoder = crate::encoder::Encoder::load(&dir).with_context(|| {
        format!(
            "loading the encoder from {} (run infra/scripts/fetch-encoder.sh first)",
            dir.display()
        )
    })?;
    let started = std::time::Instant::now();
    let bytes = IntentModel::shipped_head_file(&encoder);
    std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote the encoder head ({} bytes) to {} in {} ms; rebuild to ship it",
        bytes.len(),
        out.display(),
        started.elapsed().as_millis()
    );
    Ok(())
}

fn run_holdout(args: &[String]) -> anyhow::Result<()> {
    let mut fraction = 0.1;
    let mut seed = 7;
    let mut out = None;
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--fraction" => fraction = value()?.parse().context("--fraction must be a number")?,
            "--seed" => seed = value()?.parse().context("--seed must be a whole number")?,
            "--out" => out = Some(PathBuf::from(value()?)),
            other => bail!("unknown argument `{other}` for nlu holdout\n{USAGE}"),
        }
    }
    if !(0.0..1.0).contains(&fraction) {
        bail!("--fraction must be in [0, 1), got {fraction}");
    }
    let Some(out) = out else {
        bail!("nlu holdout needs --out DIR\n{USAGE}")
    };

    let (train, heldout) = stratified_split(&banking77_examples(), fraction, seed);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for (name, rows) in [("train.csv", &train), ("heldout.csv", &heldout)] {
        let path = out.join(name);
        std::fs::write(&path, write_csv(rows))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {} rows to {}", rows.len(), path.display());
    }
    Ok(())
}

fn run_classify(args: &[String]) -> anyhow::Result<()> {
    if args.is_empty() {
        bail!("nlu classify needs the text to classify\n{USAGE}");
    }
    let text = args.join(" ");
    let model = IntentModel::train_default_blended();
    eprintln!("{}", model.encoder_status());
    let prediction = model.classify(&text);
    let output = ClassifyOutput {
        // Never echo a card number, even on a developer's terminal.
        text: redact::redact(&text).into_owned(),
        language: crate::detect_language(&text),
        contains_pan: redact::contains_pan(&text),
        prediction,
        entities: entities::extract(&text),
    };
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(())
}
