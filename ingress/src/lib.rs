#![recursion_limit = "512"]
//! The ingress: JoxAI's REST gateway.
//!
//! It authenticates callers (staff JWTs from argon2id-checked passwords; customer JWTs scoped to one
//! conversation), validates input, publishes commands to NATS JetStream and serves reads from
//! Postgres. It never writes conversations, messages or tickets itself: the ticket worker does, so
//! every write is idempotent, audited and pushed live.

pub mod dispatch;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod passwords;
pub mod rate_limit;
pub mod routes;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use joxai_platform::Platform;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Largest request body: comfortably above the longest chat message, far below anything abusive.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub platform: Platform,
    /// Public chat rate limits, in memory per process (see [`rate_limit`]).
    pub limiter: std::sync::Arc<rate_limit::RateLimiter>,
}

impl AppState {
    /// The bank's default agent capacity as last loaded (settings, `assignment.default_capacity`).
    pub fn default_capacity(&self) -> i32 {
        self.platform
            .settings
            .current()
            .settings
            .assignment
            .default_capacity
    }
}

/// Builds the router while recording every (method, path) it serves, so a test can compare the
/// served routes with the OpenAPI document.
struct Routes {
    router: Router<AppState>,
    served: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        handler: MethodRouter<AppState>,
    ) -> Self {
        self.served.push((method, path));
        self.router = self.router.route(path, handler);
        self
    }
}

fn routes() -> Routes {
    use routes::{
        analytics, auth, canned, chat, conversations, customers, dead_letters, emails, knowledge,
        settings, tickets, users,
    };
    Routes {
        router: Router::new(),
        served: vec![],
    }
    .add("POST", "/api/v1/auth/login", post(auth::login))
    .add("POST", "/api/v1/auth/refresh", post(auth::refresh))
    .add("POST", "/api/v1/auth/logout", post(auth::logout))
    .add("POST", "/api/v1/auth/password", post(auth::change_password))
    .add("GET", "/api/v1/auth/me", get(auth::me))
    .add(
        "PUT",
        "/api/v1/me/availability",
        put(users::set_my_availability),
    )
    .add(
        "GET",
        "/api/v1/me/preferences",
        get(settings::my_preferences),
    )
    .add(
        "PUT",
        "/api/v1/me/preferences",
        put(settings::set_my_preferences),
    )
    .add("GET", "/api/v1/settings", get(settings::get))
    .add("PUT", "/api/v1/settings", put(settings::put))
    .add("GET", "/api/v1/settings/audit", get(settings::audit))
    .add("GET", "/api/v1/settings/public", get(settings::public))
    .add("POST", "/api/v1/chat/sessions", post(chat::start_session))
    .add(
        "POST",
        "/api/v1/chat/conversations/{id}/messages",
        post(chat::post_message),
    )
    .add(
        "GET",
        "/api/v1/chat/conversations/{id}/messages",
        get(chat::get_messages),
    )
    .add(
        "POST",
        "/api/v1/chat/conversations/{id}/escalate",
        post(chat::escalate),
    )
    .add(
        "POST",
        "/api/v1/chat/conversations/{id}/rating",
        post(chat::rate),
    )
    .add(
        "POST",
        "/api/v1/chat/conversations/{id}/typing",
        post(chat::typing),
    )
    .add(
        "POST",
        "/api/v1/chat/conversations/{id}/close",
        post(chat::close),
    )
    .add(
        "POST",
        "/api/v1/chat/conversations/{id}/follow-up",
        post(chat::follow_up),
    )
    .add(
        "PUT",
        "/api/v1/chat/conversations/{id}/contact",
        put(chat::set_contact),
    )
    .add(
        "POST",
        "/api/v1/chat/conversations/{id}/transcript-email",
        post(chat::email_transcript),
    )
    .add("GET", "/api/v1/tickets", get(tickets::list))
    .add("POST", "/api/v1/tickets", post(tickets::create))
    .add("GET", "/api/v1/tickets/{id}", get(tickets::get))
    .add("PATCH", "/api/v1/tickets/{id}", patch(tickets::update))
    .add("POST", "/api/v1/tickets/{id}/assign", post(tickets::assign))
    .add(
        "POST",
        "/api/v1/tickets/{id}/status",
        post(tickets::set_status),
    )
    .add(
        "POST",
        "/api/v1/tickets/{id}/messages",
        post(tickets::reply),
    )
    .add("GET", "/api/v1/tickets/{id}/notes", get(tickets::notes))
    .add(
        "POST",
        "/api/v1/tickets/{id}/notes",
        post(tickets::add_note),
    )
    .add("GET", "/api/v1/tickets/{id}/history", get(tickets::history))
    .add("POST", "/api/v1/tickets/{id}/typing", post(tickets::typing))
    .add("GET", "/api/v1/conversations", get(conversations::list))
    .add("GET", "/api/v1/conversations/{id}", get(conversations::get))
    .add(
        "POST",
        "/api/v1/conversations/{id}/take-over",
        post(conversations::take_over),
    )
    .add(
        "POST",
        "/api/v1/conversations/{id}/hand-back",
        post(conversations::hand_back),
    )
    .add(
        "POST",
        "/api/v1/conversations/{id}/close",
        post(conversations::close),
    )
    .add("GET", "/api/v1/users", get(users::list))
    .add("POST", "/api/v1/users", post(users::create))
    .add("GET", "/api/v1/users/{id}", get(users::get))
    .add("PATCH", "/api/v1/users/{id}", patch(users::update))
    .add(
        "POST",
        "/api/v1/users/{id}/password",
        post(users::reset_password),
    )
    .add("GET", "/api/v1/customers", get(customers::list))
    .add("GET", "/api/v1/customers/{id}", get(customers::get))
    .add("GET", "/api/v1/canned-responses", get(canned::list))
    .add("POST", "/api/v1/canned-responses", post(canned::create))
    .add("GET", "/api/v1/canned-responses/{id}", get(canned::get))
    .add("PUT", "/api/v1/canned-responses/{id}", put(canned::update))
    .add(
        "DELETE",
        "/api/v1/canned-responses/{id}",
        delete(canned::delete),
    )
    .add(
        "POST",
        "/api/v1/canned-responses/{id}/render",
        post(canned::render_for_ticket),
    )
    .add("GET", "/api/v1/knowledge/articles", get(knowledge::list))
    .add(
        "POST",
        "/api/v1/knowledge/articles",
        post(knowledge::create),
    )
    .add(
        "GET",
        "/api/v1/knowledge/articles/{id}",
        get(knowledge::get),
    )
    .add(
        "PUT",
        "/api/v1/knowledge/articles/{id}",
        put(knowledge::update),
    )
    .add(
        "DELETE",
        "/api/v1/knowledge/articles/{id}",
        delete(knowledge::delete),
    )
    .add("GET", "/api/v1/analytics/summary", get(analytics::summary))
    .add("GET", "/api/v1/dead-letters", get(dead_letters::list))
    .add("GET", "/api/v1/dead-letters/{id}", get(dead_letters::get))
    .add(
        "POST",
        "/api/v1/dead-letters/{id}/replay",
        post(dead_letters::replay),
    )
    .add(
        "POST",
        "/api/v1/dead-letters/{id}/discard",
        post(dead_letters::discard),
    )
    .add("GET", "/api/v1/emails", get(emails::list))
    .add("POST", "/api/v1/emails/{id}/resend", post(emails::resend))
    .add("GET", "/api/v1/unsubscribe", get(emails::unsubscribe))
    .add("GET", "/api/v1/openapi.json", get(openapi::openapi_json))
    .add("GET", "/api/v1/docs", get(openapi::docs_page))
}

/// Every (method, path) the API router serves.
pub fn served_routes() -> Vec<(&'static str, &'static str)> {
    routes().served
}

/// The API routes under `/api/v1`, without health endpoints (the caller adds those once per process).
/// Public rate limits come from the environment ([`rate_limit`]).
pub fn api_router(platform: Platform) -> Router {
    let mut limits = rate_limit::Limits::from_env();
    limits.limit_loopback = !platform.config.rate_limit_exempt_loopback;
    if platform.config.rate_limit_exempt_loopback {
        tracing::warn!(
            "loopback callers are exempt from rate limits (JOXAI_RATE_LIMIT_EXEMPT_LOOPBACK): for load tests only"
        );
    }
    api_router_with_limits(platform, limits)
}

/// [`api_router`] with explicit rate limits (tests use small ones).
pub fn api_router_with_limits(platform: Platform, limits: rate_limit::Limits) -> Router {
    routes()
        .router
        .fallback(|| async { error::ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { error::ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Every API answer may carry personal data (transcripts, customer records, tokens): no
        // browser or intermediary may keep a copy. A handler that sets its own policy keeps it.
        .layer(axum::middleware::map_response(
            |mut response: axum::response::Response| async move {
                response
                    .headers_mut()
                    .entry(axum::http::header::CACHE_CONTROL)
                    .or_insert(axum::http::HeaderValue::from_static("no-store"));
                response
            },
        ))
        .with_state(AppState {
            platform,
            limiter: std::sync::Arc::new(rate_limit::RateLimiter::new(limits)),
        })
}

/// Run the ingress alone on `listener` until `shutdown`.
pub async fn run(
    platform: Platform,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        extract::check_proxy_settings(addr);
    }
    platform.follow_settings(shutdown.clone());
    let router = api_router(platform.clone())
        .merge(joxai_platform::http::health_router(platform))
        .layer(axum::middleware::from_fn(|req, next| {
            joxai_platform::http::track_metrics("ingress", req, next)
        }));
    joxai_platform::http::serve(listener, router, shutdown).await?;
    Ok(())
}
