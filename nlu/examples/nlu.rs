//! The `joxai nlu ...` command line on its own, so the model can be evaluated without building the whole product:
//! `cargo run --release -p joxai-nlu --example nlu -- eval heldout.csv --holdout-of-training`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(error) = joxai_nlu::run_cli(&args) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
