//! `joxai nlu safety FILE...`: how safe the bot's decisions are, measured end to end through [`super::classify`]
//! (the very function the escalation classifier runs for every customer message) on labelled `text,category` files.
//!
//! What a row's category means:
//! - an urgent intent (see [`policy::is_urgent`]): the conversation must reach a person as urgent (urgent recall);
//! - `not_urgent`: a negation or all-clear ("my card is not lost"): it must not escalate as urgent;
//! - `out_of_scope`: the bot must not give a banking answer (out-of-scope abstention) and should not escalate;
//! - any other intent: an everyday question; escalating it when the intent's policy is for the bot to answer is a
//!   false escalation, and answering it as another intent with confidence is confidently wrong.
//!
//! `--banking77-holdout SEED` trains without a stratified 10% of BANKING77's training split and scores those rows
//! too (accuracy, urgent recall on its urgent intents, false escalations of the others), so the figures are on
//! rows the model never saw.

use std::time::Instant;

use anyhow::{Context, bail};
use joxai_nlu::{
    Example, IntentModel, Prediction, banking77_examples, default_examples, load_csv,
    stratified_split,
};
use joxai_schemas::types::Decision;

use super::policy::{self, IntentPolicy};
use super::{History, OUT_OF_SCOPE, Verdict, classify, decide};

const USAGE: &str = "usage: joxai nlu safety [--banking77-holdout SEED] [--tfidf-only] [--show-misses] [--sweep] FILE.csv...";

/// What a labelled row expects of the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    Urgent,
    NotUrgent,
    OutOfScope,
    Everyday,
}

pub fn expectation(label: &str) -> Expectation {
    match label {
        "not_urgent" => Expectation::NotUrgent,
        OUT_OF_SCOPE => Expectation::OutOfScope,
        l if policy::is_urgent(l) => Expectation::Urgent,
        _ => Expectation::Everyday,
    }
}

/// Counts over a set of rows.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub urgent: usize,
    pub urgent_caught: usize,
    pub not_urgent: usize,
    pub not_urgent_escalated: usize,
    pub everyday: usize,
    /// Everyday rows whose intent the bot answers (the denominator of the false-escalation rate).
    pub everyday_for_the_bot: usize,
    pub everyday_escalated: usize,
    pub everyday_escalated_urgent: usize,
    /// Everyday rows given the out-of-scope answer (a banking question the bot refused as off-topic).
    pub everyday_abstained: usize,
    pub out_of_scope: usize,
    pub out_of_scope_answered_as_banking: usize,
    pub out_of_scope_escalated: usize,
    /// Everyday and out-of-scope rows answered with a banking answer of another intent.
    pub confident_wrong: usize,
    pub intent_correct: usize,
    /// Rows where the bot offered to block a card (the classifier was sure of a card emergency), and those of them
    /// whose label is not a card emergency (lost, stolen, compromised card or card freeze).
    pub card_offers: usize,
    pub card_offers_wrong: usize,
    pub misses: Vec<String>,
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "—".into()
    } else {
        format!("{:.1}% ({n}/{d})", 100.0 * n as f64 / d as f64)
    }
}

impl Tally {
    pub fn add(&mut self, row: &Example, verdict: &Verdict) {
        if verdict.is_urgent() && verdict.decision == Decision::Bot {
            self.card_offers += 1;
            if !crate::responder::offline::BLOCK_CARD.contains(&row.intent.as_str()) {
                self.card_offers_wrong += 1;
            }
        }
        let miss = |why: &str| {
            format!(
                "{why}: {:?} [{}] -> {} {:.2} {:?} ({})",
                row.text,
                row.intent,
                verdict.intent,
                verdict.confidence,
                verdict.decision,
                verdict.rule.as_deref().unwrap_or("-")
            )
        };
        match expectation(&row.intent) {
            Expectation::Urgent => {
                self.urgent += 1;
                if verdict.is_urgent() {
                    self.urgent_caught += 1;
                } else {
                    self.misses.push(miss("urgent missed"));
                }
            }
            Expectation::NotUrgent => {
                self.not_urgent += 1;
                if verdict.is_urgent() {
                    self.not_urgent_escalated += 1;
                    self.misses.push(miss("negation escalated"));
                }
            }
            Expectation::OutOfScope => {
                self.out_of_scope += 1;
                if verdict.answers_as_banking() {
                    self.out_of_scope_answered_as_banking += 1;
                    self.confident_wrong += 1;
                    self.misses.push(miss("out of scope answered"));
                } else if verdict.decision == Decision::Escalate || verdict.reason.is_some() {
                    self.out_of_scope_escalated += 1;
                    self.misses.push(miss("out of scope escalated"));
                }
            }
            Expectation::Everyday => {
                self.everyday += 1;
                if verdict.intent == row.intent {
                    self.intent_correct += 1;
                }
                let escalated = verdict.decision == Decision::Escalate || verdict.reason.is_some();
                if policy::policy_for(&row.intent) == IntentPolicy::Bot {
                    self.everyday_for_the_bot += 1;
                    if escalated {
                        self.everyday_escalated += 1;
                        self.misses.push(miss("false escalation"));
                    }
                }
                if verdict.is_urgent() {
                    self.everyday_escalated_urgent += 1;
                }
                if verdict.intent == OUT_OF_SCOPE && verdict.reason.is_none() {
                    self.everyday_abstained += 1;
                }
                if verdict.answers_as_banking() && verdict.intent != row.intent {
                    self.confident_wrong += 1;
                }
            }
        }
    }

    pub fn print(&self, name: &str) {
        println!("{name}:");
        if self.urgent > 0 {
            println!(
                "  urgent recall:                 {}",
                pct(self.urgent_caught, self.urgent)
            );
        }
        if self.not_urgent > 0 {
            println!(
                "  negations escalated as urgent: {}",
                pct(self.not_urgent_escalated, self.not_urgent)
            );
        }
        if self.everyday > 0 {
            println!(
                "  false escalations (everyday):  {}",
                pct(self.everyday_escalated, self.everyday_for_the_bot)
            );
            println!(
                "  everyday escalated as urgent:  {}",
                pct(self.everyday_escalated_urgent, self.everyday)
            );
            println!(
                "  everyday answered as out of scope: {}",
                pct(self.everyday_abstained, self.everyday)
            );
            println!(
                "  everyday intent accuracy:      {}",
                pct(self.intent_correct, self.everyday)
            );
        }
        if self.out_of_scope > 0 {
            let abstained = self.out_of_scope
                - self.out_of_scope_answered_as_banking
                - self.out_of_scope_escalated;
            println!(
                "  out-of-scope abstention:       {}",
                pct(abstained, self.out_of_scope)
            );
            println!(
                "  out of scope answered as banking: {}",
                pct(self.out_of_scope_answered_as_banking, self.out_of_scope)
            );
            println!(
                "  out of scope escalated:        {}",
                pct(self.out_of_scope_escalated, self.out_of_scope)
            );
        }
        if self.card_offers > 0 {
            println!(
                "  offers to block a card:        {} ({} on rows that are not a card emergency)",
                self.card_offers, self.card_offers_wrong
            );
        }
        if self.everyday + self.out_of_scope > 0 {
            println!(
                "  confident-wrong rate:          {}",
                pct(self.confident_wrong, self.everyday + self.out_of_scope)
            );
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.urgent += other.urgent;
        self.urgent_caught += other.urgent_caught;
        self.not_urgent += other.not_urgent;
        self.not_urgent_escalated += other.not_urgent_escalated;
        self.everyday += other.everyday;
        self.everyday_for_the_bot += other.everyday_for_the_bot;
        self.everyday_escalated += other.everyday_escalated;
        self.everyday_escalated_urgent += other.everyday_escalated_urgent;
        self.everyday_abstained += other.everyday_abstained;
        self.out_of_scope += other.out_of_scope;
        self.out_of_scope_answered_as_banking += other.out_of_scope_answered_as_banking;
        self.out_of_scope_escalated += other.out_of_scope_escalated;
        self.confident_wrong += other.confident_wrong;
        self.intent_correct += other.intent_correct;
        self.card_offers += other.card_offers;
        self.card_offers_wrong += other.card_offers_wrong;
    }
}

/// Scores `rows` through [`classify`] with no conversation history (every row is a first message); returns the
/// tally, the time spent, and the model's predictions (for `--sweep`).
pub fn tally(
    model: &IntentModel,
    rows: &[Example],
) -> (Tally, std::time::Duration, Vec<Prediction>) {
    let mut tally = Tally::default();
    let mut spent = std::time::Duration::ZERO;
    let mut predictions = Vec::with_capacity(rows.len());
    for row in rows {
        let started = Instant::now();
        let verdict = classify(model, &row.text, &History::default());
        spent += started.elapsed();
        tally.add(row, &verdict);
        predictions.push(model.classify(&row.text));
    }
    (tally, spent, predictions)
}

/// The same rows decided again with other thresholds, from the predictions already made.
fn tally_with(
    rows: &[Example],
    predictions: &[Prediction],
    thresholds: &policy::Thresholds,
) -> Tally {
    let mut tally = Tally::default();
    for (row, prediction) in rows.iter().zip(predictions) {
        tally.add(
            row,
            &decide(
                prediction,
                &row.text,
                &History::default(),
                thresholds,
                &Default::default(),
            ),
        );
    }
    tally
}

/// Urgent recall, false escalations and out-of-scope banking answers over a grid of thresholds around the product's.
fn sweep(scored: &[(Example, Prediction)]) {
    let (rows, predictions): (Vec<Example>, Vec<Prediction>) = scored.iter().cloned().unzip();
    let line = |r: &Tally| {
        format!(
            "{} | {} | {} | {} | {} | {} | {}",
            pct(r.urgent_caught, r.urgent),
            pct(r.not_urgent_escalated, r.not_urgent),
            pct(r.everyday_escalated, r.everyday_for_the_bot),
            pct(r.everyday_escalated_urgent, r.everyday),
            pct(r.everyday_abstained, r.everyday),
            pct(r.out_of_scope_answered_as_banking, r.out_of_scope),
            pct(r.out_of_scope_escalated, r.out_of_scope),
        )
    };
    println!(
        "columns: urgent recall | negations escalated | false escalations | everyday escalated as urgent | everyday answered as out of scope | out of scope answered as banking | out of scope escalated"
    );
    println!("sweep (urgent alternatives summed / behind out of scope):");
    for urgent_alternative in [0.12, 0.15, 0.18, 0.20, 0.22, 0.25, 0.30, 1.01] {
        for urgent_behind_out_of_scope in [0.05, 0.08, 0.10, 0.12, 0.15, 1.01] {
            let t = policy::Thresholds {
                urgent_alternative,
                urgent_behind_out_of_scope,
                ..policy::THRESHOLDS
            };
            let r = tally_with(&rows, &predictions, &t);
            println!(
                "  {urgent_alternative:.2} / {urgent_behind_out_of_scope:.2}: {}",
                line(&r)
            );
        }
    }
    println!("sweep (out-of-scope alternative / top below):");
    for (out_of_scope_alternative, out_of_scope_top_below) in [
        (0.10, 0.5),
        (0.15, 0.6),
        (0.20, 0.6),
        (0.15, 0.8),
        (1.01, 0.0),
    ] {
        let t = policy::Thresholds {
            out_of_scope_alternative,
            out_of_scope_top_below,
            ..policy::THRESHOLDS
        };
        let r = tally_with(&rows, &predictions, &t);
        println!(
            "  {out_of_scope_alternative:.2} / {out_of_scope_top_below:.1}: {}",
            line(&r)
        );
    }
    println!(
        "sweep (encoder similarity below / top below; off = the detector without the similarity term):"
    );
    for out_of_scope_similarity in [-1.0, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60] {
        for out_of_scope_similarity_top_below in [0.5, 0.6, 0.7, 0.8, 0.9] {
            let t = policy::Thresholds {
                out_of_scope_similarity,
                out_of_scope_similarity_top_below,
                ..policy::THRESHOLDS
            };
            let r = tally_with(&rows, &predictions, &t);
            println!(
                "  {out_of_scope_similarity:.2} / {out_of_scope_similarity_top_below:.1}: {}",
                line(&r)
            );
        }
    }
    println!(
        "sweep (act on card): offers to block a card, of which not a card emergency, urgent recall"
    );
    for act_on_card in [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99] {
        let r = tally_with(
            &rows,
            &predictions,
            &policy::Thresholds {
                act_on_card,
                ..policy::THRESHOLDS
            },
        );
        println!(
            "  {act_on_card:.2}: {} | {} | {}",
            r.card_offers,
            r.card_offers_wrong,
            pct(r.urgent_caught, r.urgent)
        );
    }
}

pub fn run_cli(args: &[String]) -> anyhow::Result<()> {
    let mut files = Vec::new();
    let mut holdout_seed = None;
    let mut tfidf_only = false;
    let mut show_misses = false;
    let mut run_sweep = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--banking77-holdout" => {
                holdout_seed = Some(
                    args.next()
                        .context("--banking77-holdout needs a seed")?
                        .parse()
                        .context("the seed is a whole number")?,
                )
            }
            "--tfidf-only" => tfidf_only = true,
            "--show-misses" => show_misses = true,
            "--sweep" => run_sweep = true,
            flag if flag.starts_with("--") => bail!("unknown flag `{flag}`\n{USAGE}"),
            file => files.push(file.to_owned()),
        }
    }
    if files.is_empty() && holdout_seed.is_none() {
        bail!("{USAGE}");
    }
    let mut sets = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
        sets.push((
            file.clone(),
            load_csv(&text).with_context(|| format!("parsing {file}"))?,
        ));
    }
    let mut training = default_examples();
    if let Some(seed) = holdout_seed {
        let (_, held_out) = stratified_split(&banking77_examples(), 0.1, seed);
        let held: std::collections::HashSet<&str> =
            held_out.iter().map(|e| e.text.as_str()).collect();
        training.retain(|e| !held.contains(e.text.as_str()));
        sets.push((
            format!("BANKING77 held-out rows (10%, seed {seed})"),
            held_out,
        ));
    }
    // Our evaluation sets are never trained on: drop any row that is also a training text.
    let scored: std::collections::HashSet<&str> = sets
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|e| e.text.as_str()))
        .collect();
    let before = training.len();
    training.retain(|e| !scored.contains(e.text.as_str()));
    let started = Instant::now();
    let model = if tfidf_only {
        IntentModel::train(&training)
    } else {
        IntentModel::train_blended(&training)
    };
    println!(
        "model: {} training rows ({} left out as scored), trained in {:.1} s; {}",
        training.len(),
        before - training.len(),
        started.elapsed().as_secs_f64(),
        model.encoder_status()
    );
    let mut total = Tally::default();
    let (mut spent, mut count) = (std::time::Duration::ZERO, 0usize);
    let mut scored = Vec::new();
    for (name, rows) in &sets {
        let (tally, time, predictions) = tally(&model, rows);
        scored.extend(rows.iter().cloned().zip(predictions));
        spent += time;
        count += rows.len();
        tally.print(&format!("{name} ({} rows)", rows.len()));
        if show_misses {
            for miss in &tally.misses {
                println!("    {miss}");
            }
        }
        total.merge(&tally);
    }
    if sets.len() > 1 {
        total.print(&format!("all sets ({count} rows)"));
    }
    println!(
        "mean decision time per message: {:.0} µs",
        spent.as_secs_f64() * 1e6 / count.max(1) as f64
    );
    // What the safety rules add to each message on top of the model (word matching, no model call).
    let (rows, predictions): (Vec<Example>, Vec<Prediction>) = scored.iter().cloned().unzip();
    let started = Instant::now();
    let _ = tally_with(&rows, &predictions, &policy::THRESHOLDS);
    println!(
        "of which the safety rules: {:.1} µs per message",
        started.elapsed().as_secs_f64() * 1e6 / rows.len().max(1) as f64
    );
    let encoded = predictions
        .iter()
        .filter(|p| p.in_scope_similarity.is_some())
        .count();
    println!(
        "the sentence encoder ran (and the similarity term was read) on {}",
        pct(encoded, predictions.len())
    );
    if run_sweep {
        sweep(&scored);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Expectation, expectation};

    #[test]
    fn a_row_label_says_what_the_decision_must_be() {
        assert_eq!(expectation("lost_or_stolen_card"), Expectation::Urgent);
        assert_eq!(
            expectation("card_payment_not_recognised"),
            Expectation::Urgent
        );
        assert_eq!(expectation("freeze_account"), Expectation::Urgent);
        assert_eq!(expectation("not_urgent"), Expectation::NotUrgent);
        assert_eq!(expectation("out_of_scope"), Expectation::OutOfScope);
        assert_eq!(expectation("atm_limits"), Expectation::Everyday);
    }
}
