//! The ingress: JoxAI's REST gateway.
//!
//! It authenticates callers (staff JWTs from argon2id-checked passwords; customer JWTs scoped to one
//! conversation), validates input, publishes commands to NATS JetStream and serves reads from
//! Postgres. It never writes conversations, messages or tickets itself: the ticket worker does, so
//! every write is idempotent, audited and pushed live.

pub mod error;
pub mod extract;
pub mod passwords;
pub mod routes;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use joxai_platform::Platform;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Largest request body: comfortably above the longest chat message, far below anything abusive.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub platform: Platform,
}

/// The API routes under `/api/v1`, without health endpoints (the caller adds those once per process).
pub fn api_router(platform: Platform) -> Router {
    use routes::{auth, chat, tickets};
    Router::new()
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/me", get(auth::me))
        .route("/api/v1/chat/sessions", post(chat::start_session))
        .route("/api/v1/chat/conversations/{id}/messages", post(chat::post_message).get(chat::get_messages))
        .route("/api/v1/chat/conversations/{id}/escalate", post(chat::escalate))
        .route("/api/v1/tickets", get(tickets::list))
        .route("/api/v1/tickets/{id}", get(tickets::get))
        .route("/api/v1/tickets/{id}/messages", post(tickets::reply))
        .fallback(|| async { error::ApiError::NotFound("route") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(AppState { platform })
}

/// Run the ingress alone on `listener` until `shutdown`.
pub async fn run(platform: Platform, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
    let router = api_router(platform.clone())
        .merge(joxai_platform::http::health_router(platform))
        .layer(axum::middleware::from_fn(|req, next| joxai_platform::http::track_metrics("ingress", req, next)));
    joxai_platform::http::serve(listener, router, shutdown).await?;
    Ok(())
}
