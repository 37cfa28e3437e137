//! `joxai nlu tune-blend FILE`: chooses the encoder head's training settings, the blend weight and the gate on a
//! stratified 10% validation slice (seed 0) of the training data without FILE's rows. FILE is only used to leave
//! its rows out; nothing is scored on it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::blend::{BlendSettings, EncoderHead, HeadWeights, train_head};
use crate::data::read_csv_file;
use crate::encoder::{Encoder, default_model_dir};
use crate::{Example, IntentModel, default_examples, stratified_split};

pub(crate) fn run_tune_blend(args: &[String]) -> anyhow::Result<()> {
    let [file] = args else {
        bail!("usage: nlu tune-blend FILE.csv");
    };
    let excluded = read_csv_file(file)?;
    let excluded: HashSet<&str> = excluded.iter().map(|row| row.text.as_str()).collect();
    let training: Vec<Example> = default_examples()
        .into_iter()
        .filter(|example| !excluded.contains(example.text.as_str()))
        .collect();
    let (fit, validation) = stratified_split(&training, 0.1, 0);
    println!(
        "training data without {file}: {} rows; fitting on {}, validating on {}",
        training.len(),
        fit.len(),
        validation.len()
    );

    let dir = default_model_dir();
    let encoder = Arc::new(
        Encoder::load(&dir)
            .with_context(|| format!("loading the encoder from {}", dir.display()))?,
    );
    let tfidf = IntentModel::train(&fit);
    let label = |example: &Example| tfidf.intents().iter().position(|i| *i == example.intent);
    let fit_labels: Vec<usize> = fit
        .iter()
        .map(|e| label(e).expect("fit intents are known"))
        .collect();
    let validation_labels: Vec<Option<usize>> = validation.iter().map(label).collect();

    let started = Instant::now();
    let fit_texts: Vec<&str> = fit.iter().map(|e| e.text.as_str()).collect();
    let validation_texts: Vec<&str> = validation.iter().map(|e| e.text.as_str()).collect();
    let (fit_embeddings, note) = crate::model::cached_embeddings(&encoder, &fit_texts);
    let (validation_embeddings, _) = crate::model::cached_embeddings(&encoder, &validation_texts);
    println!("embeddings: {note} ({} ms)", started.elapsed().as_millis());

    let tfidf_probabilities: Vec<Vec<f32>> = validation
        .iter()
        .map(|e| tfidf.tfidf_probabilities(&e.text))
        .collect();
    let accuracy = |probabilities: &[Vec<f32>]| -> f64 {
        let correct = probabilities
            .iter()
            .zip(&validation_labels)
            .filter(|(p, label)| Some(argmax(p)) == **label)
            .count();
        correct as f64 / validation.len() as f64
    };
    println!("TF-IDF alone: {:.4}", accuracy(&tfidf_probabilities));

    let defaults = BlendSettings::default();
    let mut best: Option<(f64, BlendSettings, Vec<Vec<f32>>)> = None;
    for (learning_rate, epochs, l2) in [
        (0.2, 40, 1e-5),
        (0.5, 40, 1e-5),
        (1.0, 80, 1e-5),
        (2.0, 80, 1e-5),
        (2.0, 160, 1e-6),
        (4.0, 160, 1e-6),
        (4.0, 160, 0.0),
    ] {
        let settings = BlendSettings {
            learning_rate,
            epochs,
            l2,
            ..defaults
        };
        let started = Instant::now();
        let (weights, bias) = train_head(
            &fit_embeddings,
            &fit_labels,
            tfidf.intents().len(),
            &settings,
        );
        let head = EncoderHead::new(
            encoder.clone(),
            HeadWeights {
                weights,
                bias,
                centroids: Vec::new(),
            },
            settings,
        );
        let head_probabilities: Vec<Vec<f32>> = validation_embeddings
            .iter()
            .map(|e| head.probabilities_of(e))
            .collect();
        let mut line = format!(
            "lr {learning_rate} epochs {epochs} l2 {l2:e} ({} ms): head alone {:.4}; blend w=",
            started.elapsed().as_millis(),
            accuracy(&head_probabilities)
        );
        for step in 4..=16 {
            let weight = step as f32 * 0.05;
            let blended = blend_all(&tfidf_probabilities, &head_probabilities, weight, 1.0);
            let a = accuracy(&blended);
            line.push_str(&format!(" {weight:.2}:{a:.4}"));
            if best.as_ref().is_none_or(|(b, _, _)| a > *b) {
                best = Some((
                    a,
                    BlendSettings { weight, ..settings },
                    head_probabilities.clone(),
                ));
            }
        }
        println!("{line}");
    }
    let Some((best_accuracy, best_settings, head_probabilities)) = best else {
        bail!("no setting was tried");
    };
    println!("best: {best_settings:?} -> {best_accuracy:.4}");
    for gate in [0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0] {
        let blended = blend_all(
            &tfidf_probabilities,
            &head_probabilities,
            best_settings.weight,
            gate,
        );
        let encoded = tfidf_probabilities
            .iter()
            .filter(|p| p.iter().copied().fold(0.0f32, f32::max) < gate)
            .count();
        println!(
            "gate {gate}: {:.4}, encoder runs on {:.1}% of messages",
            accuracy(&blended),
            100.0 * encoded as f64 / validation.len() as f64
        );
    }
    Ok(())
}

fn blend_all(tfidf: &[Vec<f32>], head: &[Vec<f32>], weight: f32, gate: f32) -> Vec<Vec<f32>> {
    tfidf
        .iter()
        .zip(head)
        .map(|(t, h)| {
            if t.iter().copied().fold(0.0f32, f32::max) >= gate {
                return t.clone();
            }
            t.iter()
                .zip(h)
                .map(|(a, b)| (1.0 - weight) * a + weight * b)
                .collect()
        })
        .collect()
}

fn argmax(p: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = i;
        }
    }
    best
}
