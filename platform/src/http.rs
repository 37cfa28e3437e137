//! HTTP plumbing every service shares: `/healthz`, `/readyz`, `/metrics`, request metrics, and
//! serving with graceful shutdown.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Platform;
use crate::metrics::metrics;

/// `/healthz` (the process is alive), `/readyz` (Postgres and NATS answer) and `/metrics`.
pub fn health_router(platform: Platform) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(|| async { metrics().render() }))
        .with_state(platform)
}

async fn readyz(State(platform): State<Platform>) -> Response {
    let (db, bus) = tokio::join!(platform.db.ping(), platform.bus.ping());
    let status = |r: &Result<(), String>| if r.is_ok() { "ok" } else { "unavailable" };
    let db = db.map_err(|e| e.to_string());
    let bus = bus.map_err(|e| e.to_string());
    let body = json!({ "postgres": status(&db), "nats": status(&bus) });
    if db.is_ok() && bus.is_ok() {
        (StatusCode::OK, Json(body)).into_response()
    } else {
        tracing::warn!(postgres = ?db.err(), nats = ?bus.err(), "not ready");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "5")],
            Json(body),
        )
            .into_response()
    }
}

/// Middleware recording `joxai_http_requests_total` and `joxai_http_request_duration_seconds`, labelled
/// by the route template (`/api/v1/tickets/{id}`), never the concrete path.
pub async fn track_metrics(service: &'static str, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    // The request's span: commands published while handling it carry its trace context.
    let span =
        tracing::info_span!("http request", service, http.method = %method, http.route = %route);
    let response = tracing::Instrument::instrument(next.run(request), span).await;
    let m = metrics();
    m.http_requests
        .with_label_values(&[service, &route, &method, response.status().as_str()])
        .inc();
    m.http_duration
        .with_label_values(&[service, &route, &method])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Serve `router` until `shutdown` is cancelled, then finish in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await
}
