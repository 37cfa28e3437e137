//! The training data embedded in the binary, and the `text,category` CSV format it is kept in.

use std::sync::OnceLock;

use anyhow::{Context, bail};

use crate::Example;
use crate::model::{SplitMix64, shuffle};

/// PolyAI's BANKING77 training split (CC-BY-4.0, see `data/banking77/README.md`).
const BANKING77_TRAIN_CSV: &str = include_str!("../data/banking77/train.csv");
const BANKING77_CATEGORIES_JSON: &str = include_str!("../data/banking77/categories.json");
/// Intents BANKING77 lacks (small talk, hand-over to a person, account questions, out of scope), EN + ES.
const JOXAI_INTENTS_CSV: &str = include_str!("../data/joxai_intents.csv");
/// Spanish phrasings of the most common BANKING77 intents, which has English only.
const JOXAI_SPANISH_CSV: &str = include_str!("../data/joxai_spanish.csv");

/// The 77 BANKING77 intent names, in the order of `categories.json`.
pub fn banking77_intents() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        // The file is embedded and checked by a test, so a parse failure is a build defect, not an input error.
        serde_json::from_str(BANKING77_CATEGORIES_JSON)
            .expect("embedded categories.json is a JSON list of names")
    })
}

/// BANKING77's training split alone (no JoxAI examples), e.g. to cut a held-out split from.
pub fn banking77_examples() -> Vec<Example> {
    load_csv(BANKING77_TRAIN_CSV).expect("embedded BANKING77 train.csv is valid CSV")
}

/// Our own examples: the extra intents and the Spanish phrasings of BANKING77 intents.
pub(crate) fn joxai_examples() -> Vec<Example> {
    let mut examples =
        load_csv(JOXAI_INTENTS_CSV).expect("embedded joxai_intents.csv is valid CSV");
    examples.extend(load_csv(JOXAI_SPANISH_CSV).expect("embedded joxai_spanish.csv is valid CSV"));
    examples
}

/// Everything the default model trains on: BANKING77's training split followed by our own examples.
pub fn default_examples() -> Vec<Example> {
    let mut examples = banking77_examples();
    examples.extend(joxai_examples());
    examples
}

/// Parses a `text,category` CSV (RFC 4180: quoted fields, `""` for a quote, newlines inside quotes, CRLF or LF).
/// The header row is required, so a file with the columns swapped is rejected instead of silently mislabelled.
pub fn load_csv(text: &str) -> anyhow::Result<Vec<Example>> {
    let records = parse_csv_records(text)?;
    let mut rows = records.into_iter();
    let Some((_, header)) = rows.next() else {
        bail!("the CSV is empty: expected a `text,category` header");
    };
    let header: Vec<&str> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}'))
        .collect();
    if header != ["text", "category"] {
        bail!(
            "expected the header `text,category`, found `{}`",
            header.join(",")
        );
    }
    let mut examples = Vec::new();
    for (line, fields) in rows {
        match fields.as_slice() {
            [only] if only.trim().is_empty() => continue,
            [text, category] => {
                let intent = category.trim();
                if intent.is_empty() {
                    bail!("line {line}: the category is empty");
                }
                examples.push(Example::new(text.as_str(), intent));
            }
            _ => bail!(
                "line {line}: expected 2 fields (text,category), found {}",
                fields.len()
            ),
        }
    }
    Ok(examples)
}

/// Splits CSV text into records, each with the 1-based line it starts on (for error messages).
fn parse_csv_records(text: &str) -> anyhow::Result<Vec<(usize, Vec<String>)>> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut line = 1;
    let mut record_line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => in_quotes = true,
            ',' => fields.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                records.push((record_line, std::mem::take(&mut fields)));
                line += 1;
                record_line = line;
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        bail!("line {record_line}: a quoted field is never closed");
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push((record_line, fields));
    }
    Ok(records)
}

/// Writes examples as a `text,category` CSV that [`load_csv`] reads back unchanged.
pub fn write_csv(examples: &[Example]) -> String {
    let mut out = String::from("text,category\n");
    for example in examples {
        push_csv_field(&mut out, &example.text);
        out.push(',');
        push_csv_field(&mut out, &example.intent);
        out.push('\n');
    }
    out
}

fn push_csv_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) || field.starts_with(' ') || field.ends_with(' ') {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// Reads a CSV file from disk, naming the file in any error.
pub(crate) fn read_csv_file(path: &str) -> anyhow::Result<Vec<Example>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    load_csv(&text).with_context(|| format!("parsing {path}"))
}

/// Splits rows so each intent keeps (about) `fraction` of its rows held out, chosen by a seeded shuffle.
/// Both halves keep the original row order.
pub fn stratified_split(
    rows: &[Example],
    fraction: f64,
    seed: u64,
) -> (Vec<Example>, Vec<Example>) {
    let mut intents: Vec<&str> = Vec::new();
    for row in rows {
        if !intents.contains(&row.intent.as_str()) {
            intents.push(&row.intent);
        }
    }
    let mut rng = SplitMix64(seed);
    let mut held_out = vec![false; rows.len()];
    for intent in intents {
        let mut members: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].intent == intent)
            .collect();
        shuffle(&mut members, &mut rng);
        let take = (members.len() as f64 * fraction).round() as usize;
        for &i in &members[..take.min(members.len())] {
            held_out[i] = true;
        }
    }
    let mut train = Vec::new();
    let mut heldout = Vec::new();
    for (row, is_held_out) in rows.iter().zip(held_out) {
        if is_held_out {
            heldout.push(row.clone())
        } else {
            train.push(row.clone())
        }
    }
    (train, heldout)
}

/// Deals rows into `folds` stratified folds for cross-validation: each intent's rows are shuffled (seeded) and
/// dealt in turn, so every fold holds about `1/folds` of every intent. Returns each row's fold.
pub fn stratified_folds(rows: &[Example], folds: usize, seed: u64) -> Vec<usize> {
    let folds = folds.max(1);
    let mut fold_of = vec![0; rows.len()];
    let mut intents: Vec<&str> = Vec::new();
    for row in rows {
        if !intents.contains(&row.intent.as_str()) {
            intents.push(&row.intent);
        }
    }
    let mut rng = SplitMix64(seed);
    // Each intent starts dealing where the previous one stopped, so small folds are not always the last ones.
    let mut next = 0;
    for intent in intents {
        let mut members: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].intent == intent)
            .collect();
        shuffle(&mut members, &mut rng);
        for i in members {
            fold_of[i] = next % folds;
            next += 1;
        }
    }
    fold_of
}
