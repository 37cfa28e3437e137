//! For blend experiments (not part of the product): for each held-out seed S in `SEEDS` (default 7,11,23) and
//! validation seed V in `VALIDATION_SEEDS` (default 0,1), leaves out the S held-out rows exactly as
//! `nlu holdout` + `eval --holdout-of-training` do, cuts a stratified 10% validation slice (seed V) from the
//! rest, trains the TF-IDF model on the remaining fit part and writes the validation rows' TF-IDF probabilities
//! to `$OUT/val-S-V.tsv` (intent, text, then one probability per intent in `$OUT/intents.txt` order) and the
//! fit rows to `$OUT/fit-S-V.tsv`. Held-out rows are never written.

use std::collections::HashSet;
use std::io::Write;

use joxai_nlu::{
    IntentModel, banking77_examples, default_examples, encoder::cache_dir, stratified_split,
};

fn list(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|s| s.trim().parse().expect("a whole number"))
        .collect()
}

fn main() -> anyhow::Result<()> {
    let out = std::env::var_os("OUT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("embeddings-experiment"));
    std::fs::create_dir_all(&out)?;
    for seed in list("SEEDS", "7,11,23") {
        let (_, heldout) = stratified_split(&banking77_examples(), 0.1, seed);
        let heldout: HashSet<String> = heldout.into_iter().map(|e| e.text).collect();
        let training: Vec<_> = default_examples()
            .into_iter()
            .filter(|e| !heldout.contains(&e.text))
            .collect();
        for v in list("VALIDATION_SEEDS", "0,1") {
            let (fit, validation) = stratified_split(&training, 0.1, v);
            let model = IntentModel::train(&fit);
            std::fs::write(out.join("intents.txt"), model.intents().join("\n"))?;
            let mut f = std::fs::File::create(out.join(format!("fit-{seed}-{v}.tsv")))?;
            for e in &fit {
                writeln!(f, "{}\t{}", e.intent, e.text.replace(['\t', '\n'], " "))?;
            }
            let mut f = std::fs::File::create(out.join(format!("val-{seed}-{v}.tsv")))?;
            for e in &validation {
                let p = model.tfidf_probabilities(&e.text);
                let p: Vec<String> = p.iter().map(|x| format!("{x:.6e}")).collect();
                writeln!(
                    f,
                    "{}\t{}\t{}",
                    e.intent,
                    e.text.replace(['\t', '\n'], " "),
                    p.join("\t")
                )?;
            }
            println!(
                "seed {seed} validation {v}: fit {} validation {}",
                fit.len(),
                validation.len()
            );
        }
    }
    Ok(())
}
