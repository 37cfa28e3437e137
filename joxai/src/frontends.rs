//! Serving the built frontends: the embeddable widget under `/widget/`, the admin panel under
//! `/panel/` (a single-page app: unknown paths fall back to its index), and the demo bank page at `/`.

use std::path::Path;

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

pub fn router(dir: &Path) -> Router {
    let panel = dir.join("panel/dist");
    Router::new()
        .nest_service("/widget", ServeDir::new(dir.join("widget/dist")))
        .nest_service("/panel", ServeDir::new(&panel).fallback(ServeFile::new(panel.join("index.html"))))
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
