//! Offline banking language understanding for JoxAI: which intent a customer message expresses (an intent model
//! trained at start-up, in pure Rust, on PolyAI's BANKING77 training split plus our own English and Spanish
//! examples, all embedded in the binary), which language it is in, which entities it mentions (money, dates,
//! periods, card last four, account kind), and how to redact card numbers and security codes before anything is
//! stored or logged. It owns the training data and the `joxai nlu ...` command line; it does not decide what the
//! bot answers, talk to any LLM, or touch the network.

mod blend;
mod cli;
mod data;
pub mod encoder;
pub mod entities;
pub mod eval;
mod features;
mod language;
mod model;
pub mod redact;
mod tune;

pub use blend::BlendSettings;
pub use cli::run_cli;
pub use data::{
    banking77_examples, banking77_intents, default_examples, load_csv, stratified_folds,
    stratified_split, write_csv,
};
pub use features::FeatureSettings;
pub use language::{Language, detect_language};
pub use model::{IntentModel, Prediction, Solver, TrainingSettings};

/// One labelled training or evaluation row: a customer message and the intent it expresses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Example {
    pub text: String,
    pub intent: String,
}

impl Example {
    pub fn new(text: impl Into<String>, intent: impl Into<String>) -> Example {
        Example {
            text: text.into(),
            intent: intent.into(),
        }
    }
}
