//! Measures an intent model on labelled rows: accuracy, macro-F1 over the BANKING77 intents present, the most
//! confused intent pairs, and classification latency.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Instant;

use crate::{Example, IntentModel, banking77_intents};

const WORST_PAIRS_SHOWN: usize = 10;

#[derive(Debug, Clone)]
pub struct EvalReport {
    pub rows: usize,
    pub correct: usize,
    pub accuracy: f64,
    /// Mean F1 over the BANKING77 intents that occur as a label in the rows (the benchmark's usual metric; our own
    /// intents are left out so the figure stays comparable with published ones).
    pub macro_f1: f64,
    pub macro_f1_intents: usize,
    /// (expected, predicted, count), most frequent first.
    pub worst_confusions: Vec<(String, String, usize)>,
    pub latency_p50_micros: f64,
    pub latency_p99_micros: f64,
    pub latency_mean_micros: f64,
}

/// Classifies every row with `model` and compares with its label.
pub fn evaluate(model: &IntentModel, rows: &[Example]) -> EvalReport {
    let (predictions, latencies_micros) = classify_all(model, rows);
    report(rows, &predictions, latencies_micros)
}

/// The predicted intent of every row, and how long each classification took (µs).
pub fn classify_all(model: &IntentModel, rows: &[Example]) -> (Vec<String>, Vec<f64>) {
    let mut latencies_micros = Vec::with_capacity(rows.len());
    let mut predictions = Vec::with_capacity(rows.len());
    for row in rows {
        let started = Instant::now();
        let prediction = model.classify(&row.text);
        latencies_micros.push(started.elapsed().as_secs_f64() * 1e6);
        predictions.push(prediction.intent);
    }
    (predictions, latencies_micros)
}

/// The report for `rows` given each row's predicted intent and classification latency (µs); used directly by
/// cross-validation, where each fold's rows are classified by a different model.
pub fn report(
    rows: &[Example],
    predictions: &[String],
    mut latencies_micros: Vec<f64>,
) -> EvalReport {
    let correct = rows
        .iter()
        .zip(predictions)
        .filter(|(row, predicted)| row.intent == **predicted)
        .count();

    // BTreeMaps so ties and report order are the same on every run.
    let mut confusions: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (row, predicted) in rows.iter().zip(predictions) {
        if row.intent != *predicted {
            *confusions
                .entry((row.intent.as_str(), predicted.as_str()))
                .or_default() += 1;
        }
    }
    let mut worst_confusions: Vec<(String, String, usize)> = confusions
        .into_iter()
        .map(|((expected, predicted), n)| (expected.to_owned(), predicted.to_owned(), n))
        .collect();
    worst_confusions.sort_by_key(|(_, _, count)| std::cmp::Reverse(*count));
    worst_confusions.truncate(WORST_PAIRS_SHOWN);

    let benchmark: BTreeSet<&str> = banking77_intents().iter().copied().collect();
    let present: BTreeSet<&str> = rows
        .iter()
        .map(|row| row.intent.as_str())
        .filter(|intent| benchmark.contains(intent))
        .collect();
    let mut f1_sum = 0.0;
    for &intent in &present {
        let true_positives = rows
            .iter()
            .zip(predictions)
            .filter(|(row, predicted)| row.intent == intent && *predicted == intent)
            .count();
        let predicted_positives = predictions
            .iter()
            .filter(|predicted| *predicted == intent)
            .count();
        let actual_positives = rows.iter().filter(|row| row.intent == intent).count();
        let precision = ratio(true_positives, predicted_positives);
        let recall = ratio(true_positives, actual_positives);
        if precision + recall > 0.0 {
            f1_sum += 2.0 * precision * recall / (precision + recall);
        }
    }

    latencies_micros.sort_by(f64::total_cmp);
    let latency_mean_micros = if latencies_micros.is_empty() {
        0.0
    } else {
        latencies_micros.iter().sum::<f64>() / latencies_micros.len() as f64
    };
    EvalReport {
        latency_mean_micros,
        rows: rows.len(),
        correct,
        accuracy: ratio(correct, rows.len()),
        macro_f1: if present.is_empty() {
            0.0
        } else {
            f1_sum / present.len() as f64
        },
        macro_f1_intents: present.len(),
        worst_confusions,
        latency_p50_micros: percentile(&latencies_micros, 0.50),
        latency_p99_micros: percentile(&latencies_micros, 0.99),
    }
}

fn ratio(numerator: usize, denominator: usize) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((fraction * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Ends with the line `accuracy: ` and the figure with four decimals (for example `accuracy: 0.9045`), which scripts read.
impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rows: {} (correct {})", self.rows, self.correct)?;
        writeln!(
            f,
            "macro-F1 over {} BANKING77 intents: {:.4}",
            self.macro_f1_intents, self.macro_f1
        )?;
        writeln!(
            f,
            "latency per message: p50 {:.1} µs, p99 {:.1} µs, mean {:.1} µs",
            self.latency_p50_micros, self.latency_p99_micros, self.latency_mean_micros
        )?;
        writeln!(f, "most confused (expected -> predicted: count):")?;
        if self.worst_confusions.is_empty() {
            writeln!(f, "  none")?;
        }
        for (expected, predicted, count) in &self.worst_confusions {
            writeln!(f, "  {expected} -> {predicted}: {count}")?;
        }
        write!(f, "accuracy: {:.4}", self.accuracy)
    }
}
