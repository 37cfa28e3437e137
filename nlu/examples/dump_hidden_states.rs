//! For experiments with other poolings and heads (not part of the product): writes, for every default training
//! message, the mean over tokens of each hidden state (embedding output and the 6 layers), the last layer's
//! `[CLS]` row and its per-dimension max, plus every token's layer-5 output (the last layer's input), to
//! `$OUT` (default `~/.cache/joxai/embeddings-experiment`): `texts.tsv`, `pooled.f32` (rows × 9 × 384),
//! `layer5.f32` and `layer5-offsets.u32` (token offsets, rows + 1).

use std::io::Write;

use joxai_nlu::encoder::{DIMENSION, Encoder, cache_dir, default_model_dir};

fn main() -> anyhow::Result<()> {
    let out = std::env::var_os("OUT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("embeddings-experiment"));
    std::fs::create_dir_all(&out)?;
    let encoder = Encoder::load(&default_model_dir())?;
    let examples = joxai_nlu::default_examples();
    let mut texts = std::fs::File::create(out.join("texts.tsv"))?;
    for e in &examples {
        writeln!(texts, "{}\t{}", e.intent, e.text.replace(['\t', '\n'], " "))?;
    }
    let threads = 2;
    let chunk = examples.len().div_ceil(threads);
    let results: Vec<(Vec<f32>, Vec<f32>, Vec<u32>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = examples
            .chunks(chunk)
            .map(|part| {
                let encoder = &encoder;
                scope.spawn(move || {
                    let mut pooled = Vec::new();
                    let mut layer5 = Vec::new();
                    let mut lengths = Vec::new();
                    for e in part {
                        let states = encoder.hidden_states(&e.text);
                        let t = states[0].len() / DIMENSION;
                        for state in &states {
                            let mut mean = vec![0.0f32; DIMENSION];
                            for row in state.chunks_exact(DIMENSION) {
                                for (m, v) in mean.iter_mut().zip(row) {
                                    *m += v / t as f32;
                                }
                            }
                            pooled.extend(mean);
                        }
                        let last = &states[6];
                        pooled.extend_from_slice(&last[..DIMENSION]);
                        let mut max = vec![f32::NEG_INFINITY; DIMENSION];
                        for row in last.chunks_exact(DIMENSION) {
                            for (m, v) in max.iter_mut().zip(row) {
                                *m = m.max(*v);
                            }
                        }
                        pooled.extend(max);
                        layer5.extend_from_slice(&states[5]);
                        lengths.push(t as u32);
                    }
                    (pooled, layer5, lengths)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a dump thread does not panic"))
            .collect()
    });
    let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let mut pooled = std::fs::File::create(out.join("pooled.f32"))?;
    let mut layer5 = std::fs::File::create(out.join("layer5.f32"))?;
    let mut offsets = vec![0u32];
    for (p, l, lengths) in &results {
        pooled.write_all(&bytes(p))?;
        layer5.write_all(&bytes(l))?;
        for t in lengths {
            offsets.push(offsets.last().expect("starts with 0") + t);
        }
    }
    std::fs::write(
        out.join("layer5-offsets.u32"),
        offsets
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect::<Vec<u8>>(),
    )?;
    println!("{} rows written to {}", examples.len(), out.display());
    Ok(())
}
