//! Emails JoxAI sent or tried to send (admins), with a resend for the failed ones; and the public
//! unsubscribe link every customer email carries.
//!
//! Like dead letters, these are operational records: the ingress reads and updates them directly.
//! A resend puts the row back to `pending` and publishes `email.resend_requested`, which the email
//! worker consumes; its id (the `Nats-Msg-Id`) is derived from the email and its resend count, so a
//! retried request is dropped by the broker and the email goes out once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use joxai_schemas::events::EmailResendRequested;
use joxai_schemas::{Envelope, derive_id};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, Path, Query};
use crate::routes::page::{Page, StatusFilter, decode_cursor, limit, micros, page};

const COLUMNS: &str = "id, kind, recipient, locale, subject, status, attempts, last_error, created_at, resends, skip_reason";

/// An email as admins see it: the recipient masked (`j***@example.com`).
#[derive(Serialize)]
pub struct EmailItem {
    pub id: Uuid,
    pub kind: String,
    pub recipient: String,
    pub locale: String,
    pub subject: String,
    /// `pending`, `sent`, `failed` or `skipped`.
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub resends: i32,
    /// Why a `skipped` email was not sent (`unsubscribed`).
    pub skip_reason: Option<String>,
}

fn item(row: &tokio_postgres::Row) -> EmailItem {
    EmailItem {
        id: row.get(0),
        kind: row.get(1),
        recipient: joxai_platform::email::mask(row.get(2)),
        locale: row.get(3),
        subject: row.get(4),
        status: row.get(5),
        attempts: row.get(6),
        last_error: row.get(7),
        created_at: row.get(8),
        resends: row.get(9),
        skip_reason: row.get(10),
    }
}

/// `GET /api/v1/emails` — admins. Newest first; `status` filters (`pending`, `sent`, `failed`,
/// `skipped`; empty means all).
pub async fn list(
    State(state): State<AppState>,
    _: Admin,
    Query(f): Query<StatusFilter>,
) -> ApiResult<Json<Page<EmailItem>>> {
    let limit = limit(f.limit)?;
    let status = f.status.filter(|s| !s.is_empty());
    if status
        .as_deref()
        .is_some_and(|s| !matches!(s, "pending" | "sent" | "failed" | "skipped"))
    {
        return Err(ApiError::field(
            "status",
            "pending, sent, failed or skipped",
        ));
    }
    let (k, id) = match &f.cursor {
        Some(c) => decode_cursor(c).map(|(k, id)| (Some(k), Some(id)))?,
        None => (None, None),
    };
    let client = state.platform.db.client().await?;
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM emails
                  WHERE ($1::text IS NULL OR status = $1)
                    AND ($2::bigint IS NULL OR ((extract(epoch FROM created_at) * 1000000)::bigint, id) < ($2, $3))
                  ORDER BY created_at DESC, id DESC LIMIT {}",
                limit + 1
            ),
            &[&status, &k, &id],
        )
        .await?;
    let items = rows.iter().map(item).collect();
    Ok(Json(page(items, limit, |e: &EmailItem| {
        (micros(e.created_at), e.id)
    })))
}

/// `POST /api/v1/emails/{id}/resend` — admins: a `failed` email goes back to `pending` and is sent
/// again by the email worker (202 with the email). Any other status is a 409: a sent email is not
/// sent twice, a pending one is already on its way, a skipped one was unsubscribed.
pub async fn resend(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<EmailItem>)> {
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt(
            &format!(
                "UPDATE emails SET status = 'pending', resends = resends + 1, last_error = NULL
                  WHERE id = $1 AND status = 'failed' RETURNING {COLUMNS}"
            ),
            &[&id],
        )
        .await?;
    let Some(row) = row else {
        let row = client
            .query_opt("SELECT status FROM emails WHERE id = $1", &[&id])
            .await?
            .ok_or(ApiError::NotFound("email"))?;
        let status: String = row.get(0);
        return Err(ApiError::Conflict(match status.as_str() {
            "sent" => "this email was sent already".into(),
            "pending" => "this email is already waiting to be sent".into(),
            "skipped" => "this email was not sent on purpose (the address unsubscribed)".into(),
            other => format!("this email is {other}"),
        }));
    };
    let email = item(&row);
    let request_id = derive_id(id, &format!("email.resend:{}", email.resends));
    let envelope = Envelope::with_id(
        request_id,
        request_id,
        None,
        EmailResendRequested {
            email_id: id,
            requested_by: admin.user_id,
        },
    );
    let bus = &state.platform.bus;
    bus.publish(bus.subjects().email_resend_requested(), &envelope)
        .await?;
    tracing::info!(email_id = %id, admin_id = %admin.user_id, %request_id, "email resend requested");
    Ok((StatusCode::ACCEPTED, Json(email)))
}

#[derive(Deserialize)]
pub struct UnsubscribeQuery {
    #[serde(default)]
    pub token: String,
    /// `es` for the page in Spanish; English otherwise.
    #[serde(default)]
    pub lang: Option<String>,
}

/// `GET /api/v1/unsubscribe?token=…` — public: the link in every customer email. Records that the
/// address wants no more emails (once; the link works again and again) and says so on a small page.
/// A token not signed by this deployment is a 400 with the same page's words.
pub async fn unsubscribe(
    State(state): State<AppState>,
    Query(q): Query<UnsubscribeQuery>,
) -> ApiResult<Response> {
    let es = q.lang.as_deref() == Some("es");
    let secret = state.platform.config.jwt_secret.expose_secret().as_bytes();
    let Some(address) = joxai_platform::email::verify_unsubscribe(secret, &q.token) else {
        let (title, words) = if es {
            (
                "Enlace no válido",
                "Este enlace para darse de baja no es válido. Copie el enlace completo del correo, o escríbanos por el chat.",
            )
        } else {
            (
                "This link does not work",
                "This unsubscribe link is not valid. Copy the whole link from the email, or write to us in the chat.",
            )
        };
        return Ok((
            StatusCode::BAD_REQUEST,
            Html(unsubscribe_page(es, title, words)),
        )
            .into_response());
    };
    let client = state.platform.db.client().await?;
    client
        .execute(
            "INSERT INTO email_unsubscribes (email) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&address],
        )
        .await?;
    tracing::info!(recipient = %joxai_platform::email::mask(&address), "email address unsubscribed");
    let (title, words) = if es {
        (
            "Se ha dado de baja",
            "No le enviaremos más correos a esta dirección. Puede seguir hablando con nosotros en el chat de nuestra web.",
        )
    } else {
        (
            "You are unsubscribed",
            "We will not send any more emails to this address. You can still talk to us in the chat on our website.",
        )
    };
    Ok(Html(unsubscribe_page(es, title, words)).into_response())
}

fn unsubscribe_page(es: bool, title: &str, words: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:36em;margin:3em auto;padding:0 1em\"><h1>{title}</h1><p>{words}</p></body></html>",
        if es { "es" } else { "en" }
    )
}
