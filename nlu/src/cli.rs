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
                                              sentence encoder is blended in when JOXAI_ENCODER=on and it is
                                              installed, see --tfidf-only; --weight/--gate override the blend)
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
        model.set_blend(weight.unwrap_or(defaults.weight), gate.unwrap_or(defaults.gate));
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
