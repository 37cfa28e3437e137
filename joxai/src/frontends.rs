//! Serving the built frontends: the embeddable widget under `/widget/`, the admin panel under
//! `/panel/` (a single-page app: unknown paths fall back to its index), and the demo bank page at `/`.
//!
//! Browser hardening, page by page:
//! - the panel runs only its own scripts and styles (a Content-Security-Policy without inline code,
//!   so an injected `<script>` does not run) and may not be framed by anyone (`frame-ancestors 'none'`
//!   and `X-Frame-Options: DENY`), so no site can trick staff into clicking inside it;
//! - the widget's frame may be framed only by JoxAI's own pages and the bank's origins
//!   (`JOXAI_ALLOWED_ORIGINS`, the setting that also lets those sites open WebSockets);
//! - the demo page may not be framed either;
//! - source maps (`*.map`) are never served: the builds make none, and a stray one would hand out
//!   the original source.

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

/// What the panel may load: its own scripts, styles, fonts and API (WebSockets included), images
/// from itself, `data:` URLs (its icon) and https addresses (the bank's logo in the settings).
const PANEL_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; \
                         font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                         frame-ancestors 'none'";

/// The widget frame's policy: what its `<meta>` policy already allows (it renders text only and talks to
/// its own origin), plus the sites that may embed it, which only a header can say.
fn widget_frame_csp(frame_origins: &[String]) -> String {
    let mut ancestors = String::from("'self'");
    for origin in frame_origins {
        ancestors.push(' ');
        ancestors.push_str(origin);
    }
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    )
}

/// `frame_origins`: the bank's origins, which may embed the widget's frame (validated by the config:
/// scheme, host and port only, so nothing can be smuggled into the policy).
pub fn router(dir: &Path, frame_origins: &[String]) -> Router {
    let panel = dir.join("panel/dist");
    // Validated origins always make a valid header; were one ever not, the frame would still only be
    // embeddable by JoxAI's own pages (stricter, never looser).
    let frame_csp = HeaderValue::from_str(&widget_frame_csp(frame_origins))
        .unwrap_or_else(|_| HeaderValue::from_static("frame-ancestors 'self'"));
    let deny_framing = |router: Router| {
        router
            .layer(SetResponseHeaderLayer::if_not_present(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("DENY"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("frame-ancestors 'none'"),
            ))
    };
    let panel_router = Router::new()
        .nest_service(
            "/panel",
            ServeDir::new(&panel).fallback(ServeFile::new(panel.join("index.html"))),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PANEL_CSP),
        ));
    let widget_router = Router::new()
        .nest_service("/widget", ServeDir::new(dir.join("widget/dist")))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            frame_csp,
        ));
    let demo_router = Router::new()
        .route_service("/", ServeFile::new(dir.join("demo/index.html")))
        .nest_service("/demo", ServeDir::new(dir.join("demo")));
    Router::new()
        .merge(deny_framing(panel_router))
        .merge(widget_router)
        .merge(deny_framing(demo_router))
        .layer(axum::middleware::from_fn(refuse_source_maps))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
}

/// 404 for any `*.map` path, whatever is on disk: a source map left in a build by mistake would
/// publish the frontends' original source and comments. (The panel's fallback would otherwise answer
/// a missing one with its index page.)
async fn refuse_source_maps(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if request.uri().path().to_ascii_lowercase().ends_with(".map") {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}
