//! The notifier: pushes events from the bus to WebSocket clients.
//!
//! Each notifier process reads every event from the events stream with its own ordered consumer
//! (so any number of notifiers can run, and a customer connected to one and an agent connected to
//! another both see everything) and fans them out to its sockets in memory ([`hub`]). Every push
//! carries the event's stream sequence number; a client that reconnects sends
//! `{"type":"resume","after":N}` and gets what it missed, read back from the stream ([`socket`]).
//!
//! It owns no state of its own beyond open sockets: the stream is the source of every push. It records
//! which customer sockets are open in Postgres (`customer_presence`), so the email worker can tell whether a
//! customer saw an agent's reply in the chat.

pub mod hub;
pub mod socket;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use joxai_platform::Platform;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use hub::Hub;

/// The WebSocket route, `GET /api/v1/ws`, with rate limits from the environment ([`socket::WsLimits`]).
pub fn router(hub: Arc<Hub>) -> Router {
    let limits = socket::WsLimits::from_env(hub.platform.config.rate_limit_exempt_loopback);
    router_with_limits(hub, limits)
}

/// [`router`] with explicit rate limits (tests use small ones).
pub fn router_with_limits(hub: Arc<Hub>, limits: socket::WsLimits) -> Router {
    Router::new()
        .route("/api/v1/ws", get(socket::upgrade))
        .layer(axum::Extension(Arc::new(socket::WsLimiter::new(limits))))
        .with_state(hub)
}

/// Run the notifier alone on `listener` until `shutdown`.
pub async fn run(
    platform: Platform,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let hub = Hub::start(platform.clone(), shutdown.clone());
    let router = router(hub)
        .merge(joxai_platform::http::health_router(platform))
        .layer(axum::middleware::from_fn(|req, next| {
            joxai_platform::http::track_metrics("notifier", req, next)
        }));
    joxai_platform::http::serve(listener, router, shutdown).await?;
    Ok(())
}
