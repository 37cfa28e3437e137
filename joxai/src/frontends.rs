//! Serving the built frontends: the embeddable widget under `/widget/`, the admin panel under
//! `/panel/` (a single-page app: unknown paths fall back to its index), and the demo bank page at `/`.

use std::path::Path;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::routing::get;
use axum::{Json, Router};
use joxai_platform::Platform;
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::json;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// Demo mode only: a signed identity for a demo customer, as a bank's page would produce it with its
/// widget secret, so the demo page can show a verified customer's own balance.
pub fn demo_identity_router(platform: Platform) -> Router {
    Router::new()
        .route(
            "/demo/identity",
            get(|State(platform): State<Platform>, Query(q): Query<IdentityQuery>| async move {
                let Some((customer_ref, name)) = crate::seed::DEMO_CUSTOMERS.iter().find(|(r, _)| *r == q.customer) else {
                    return Err(StatusCode::NOT_FOUND);
                };
                let issued_at = time::OffsetDateTime::now_utc().unix_timestamp();
                let secret = platform.config.widget_secret.expose_secret().as_bytes();
                let signature = joxai_ingress::routes::chat::sign_identity(secret, customer_ref, Some(name), issued_at);
                Ok(Json(json!({
                    "customer_ref": customer_ref, "display_name": name, "issued_at": issued_at, "signature": signature,
                })))
            }),
        )
        .with_state(platform)
}

#[derive(Deserialize)]
pub struct IdentityQuery {
    customer: String,
}

pub fn router(dir: &Path) -> Router {
    let panel = dir.join("panel/dist");
    Router::new()
        .nest_service("/widget", ServeDir::new(dir.join("widget/dist")))
        .nest_service(
            "/panel",
            ServeDir::new(&panel).fallback(ServeFile::new(panel.join("index.html"))),
        )
        .route_service("/", ServeFile::new(dir.join("demo/index.html")))
        .nest_service("/demo", ServeDir::new(dir.join("demo")))
        // Pages may not be framed by other sites (clickjacking); the widget frame sets its own policy.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
}
