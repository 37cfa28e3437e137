//! JoxAI's workers: stateless JetStream consumers that can run as many replicas as the load needs.
//!
//! - [`ticket`]: the ticket worker, sole writer of conversations, messages and tickets;
//! - [`escalation`]: the escalation classifier, which decides bot or human with a reason and priority;
//! - [`responder`]: the AI responder, which answers bot-owned conversations;
//! - [`email`]: the email worker, which sends the emails events call for (staff and customers).
//!
//! All four run on one consumer loop ([`runtime`]) with bounded concurrency, explicit
//! acknowledgements, retries with backoff and dead letters. This crate owns no HTTP routes and no
//! sockets: the ingress accepts requests, the notifier pushes results.

pub mod banking;
pub mod email;
pub mod escalation;
pub mod knowledge;
pub mod responder;
pub mod runtime;
pub mod ticket;

use std::sync::Arc;

use joxai_platform::Platform;
use joxai_schemas::streams::WorkerKind;
use tokio_util::sync::CancellationToken;

/// Run the given worker kinds until `shutdown` is cancelled and their in-flight work has drained.
pub async fn run(
    platform: Platform,
    kinds: &[WorkerKind],
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for &kind in kinds {
        let (platform, shutdown) = (platform.clone(), shutdown.clone());
        match kind {
            WorkerKind::Ticket => {
                let handler = Arc::new(ticket::TicketWorker::new(platform.clone()));
                tasks.spawn(runtime::run(platform, kind, handler, shutdown));
            }
            WorkerKind::Escalation => {
                let model = intent_model().await?;
                let handler = Arc::new(escalation::EscalationClassifier::new(
                    platform.clone(),
                    model,
                ));
                tasks.spawn(runtime::run(platform, kind, handler, shutdown));
            }
            WorkerKind::Ai => {
                let handler = Arc::new(responder::AiResponder::new(platform.clone()));
                tasks.spawn(runtime::run(platform, kind, handler, shutdown));
            }
            WorkerKind::Email => {
                let handler = Arc::new(email::EmailWorker::new(platform.clone())?);
                tasks.spawn(runtime::run(platform, kind, handler, shutdown));
            }
        }
    }
    while let Some(result) = tasks.join_next().await {
        result?;
    }
    Ok(())
}

/// Train the intent model once per process (deterministic), off the async threads: TF-IDF (about a second) blended
/// with the sentence encoder's head when the encoder is installed (`infra/scripts/fetch-encoder.sh`; a few more
/// seconds with its embedding cache warm). Logs once whether the encoder is on.
pub async fn intent_model() -> anyhow::Result<Arc<joxai_nlu::IntentModel>> {
    static MODEL: tokio::sync::OnceCell<Arc<joxai_nlu::IntentModel>> =
        tokio::sync::OnceCell::const_new();
    let model = MODEL
        .get_or_try_init(|| async {
            let started = std::time::Instant::now();
            let model =
                tokio::task::spawn_blocking(joxai_nlu::IntentModel::train_default_blended).await?;
            tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                encoder = model.encoder_enabled(),
                status = model.encoder_status(),
                "intent model trained"
            );
            Ok::<_, anyhow::Error>(Arc::new(model))
        })
        .await?;
    Ok(model.clone())
}
