//! How much a message's encoding costs alone and in batches (`Encoder::head_features_batch`, what the encoder
//! thread runs when messages queue up). Prints milliseconds of one thread per message for each batch size, over
//! the load generator's 16 questions and some BANKING77 rows.
//!
//! `cargo run --release -p joxai-nlu --example encoder_batching` (needs `infra/scripts/fetch-encoder.sh`).

use std::time::Instant;

use joxai_nlu::encoder::{Encoder, default_model_dir};

fn main() -> anyhow::Result<()> {
    let encoder = Encoder::load(&default_model_dir())?;
    let examples = joxai_nlu::banking77_examples();
    let texts: Vec<&str> = examples
        .iter()
        .step_by(31)
        .take(256)
        .map(|e| e.text.as_str())
        .collect();
    // Warm up the allocator and the caches.
    encoder.head_features_batch(&texts[..8]);
    for batch in [1usize, 2, 4, 8, 16, 32] {
        let started = Instant::now();
        for chunk in texts.chunks(batch) {
            std::hint::black_box(encoder.head_features_batch(chunk));
        }
        let per_message = started.elapsed().as_secs_f64() * 1e3 / texts.len() as f64;
        println!(
            "batch {batch:>2}: {per_message:.2} ms per message ({} messages)",
            texts.len()
        );
    }
    Ok(())
}
