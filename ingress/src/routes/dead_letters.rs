//! Dead letters (admins): messages a worker gave up on. Inspect, then replay or discard.
//!
//! These are operational records, not chat or ticket state, so the ingress updates them directly. A
//! replay republishes the stored payload to its original subject with a new `Nats-Msg-Id`
//! (`replay-{id}-{n}`): the broker must not drop it as a duplicate of the original, and every
//! consumer is idempotent by the envelope id inside, so a replay of something already applied
//! changes nothing.

use crate::extract::{Path, Query};
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Admin;
use crate::routes::page::{Page, StatusFilter, decode_cursor, limit, micros, page};

const COLUMNS: &str = "id, worker, subject, message_id, stream_sequence, error, deliveries, status, replays, created_at, resolved_at, payload, headers";

#[derive(Serialize)]
pub struct DeadLetter {
    pub id: Uuid,
    pub worker: String,
    pub subject: String,
    pub message_id: Option<String>,
    pub stream_sequence: i64,
    pub error: String,
    pub deliveries: i64,
    pub status: String,
    pub replays: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<serde_json::Value>,
}

fn dead_letter(row: &tokio_postgres::Row, full: bool) -> DeadLetter {
    DeadLetter {
        id: row.get(0),
        worker: row.get(1),
        subject: row.get(2),
        message_id: row.get(3),
        stream_sequence: row.get(4),
        error: row.get(5),
        deliveries: row.get(6),
        status: row.get(7),
        replays: row.get(8),
        created_at: row.get(9),
        resolved_at: row.get(10),
        payload: full.then(|| row.get(11)),
        headers: full.then(|| row.get(12)),
    }
}

/// `GET /api/v1/dead-letters` — admins. Newest first; payloads only in the detail.
pub async fn list(
    State(state): State<AppState>,
    _: Admin,
    Query(f): Query<StatusFilter>,
) -> ApiResult<Json<Page<DeadLetter>>> {
    let limit = limit(f.limit)?;
    if f.status
        .as_deref()
        .is_some_and(|s| !matches!(s, "pending" | "replayed" | "discarded"))
    {
        return Err(ApiError::field("status", "pending, replayed or discarded"));
    }
    let (k, id) = match &f.cursor {
        Some(c) => decode_cursor(c).map(|(k, id)| (Some(k), Some(id)))?,
        None => (None, None),
    };
    let client = state.platform.db.client().await?;
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM dead_letters
                  WHERE ($1::text IS NULL OR status = $1)
                    AND ($2::bigint IS NULL OR ((extract(epoch FROM created_at) * 1000000)::bigint, id) < ($2, $3))
                  ORDER BY created_at DESC, id DESC LIMIT {}",
                limit + 1
            ),
            &[&f.status, &k, &id],
        )
        .await?;
    let items = rows.iter().map(|r| dead_letter(r, false)).collect();
    Ok(Json(page(items, limit, |d: &DeadLetter| {
        (micros(d.created_at), d.id)
    })))
}

async fn load(state: &AppState, id: Uuid) -> ApiResult<DeadLetter> {
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM dead_letters WHERE id = $1"),
            &[&id],
        )
        .await?
        .ok_or(ApiError::NotFound("dead letter"))?;
    Ok(dead_letter(&row, true))
}

/// `GET /api/v1/dead-letters/{id}` — admins: with the payload and headers.
pub async fn get(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<DeadLetter>> {
    Ok(Json(load(&state, id).await?))
}

/// `POST /api/v1/dead-letters/{id}/replay` — admins. A discarded letter cannot be replayed (409).
pub async fn replay(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<DeadLetter>> {
    let client = state.platform.db.client().await?;
    // Count the replay first, so two admins pressing at once publish two distinct ids, not one lost.
    let row = client
        .query_opt(
            "UPDATE dead_letters SET replays = replays + 1 WHERE id = $1 AND status <> 'discarded'
             RETURNING replays, subject, payload",
            &[&id],
        )
        .await?;
    let Some(row) = row else {
        load(&state, id).await?;
        return Err(ApiError::Conflict("this dead letter was discarded".into()));
    };
    let (n, subject, payload): (i32, String, String) = (row.get(0), row.get(1), row.get(2));
    let message_id = format!("replay-{id}-{n}");
    state
        .platform
        .bus
        .publish_raw(
            subject,
            &message_id,
            async_nats::HeaderMap::new(),
            payload.into_bytes().into(),
        )
        .await?;
    client
        .execute(
            "UPDATE dead_letters SET status = 'replayed', resolved_at = now() WHERE id = $1",
            &[&id],
        )
        .await?;
    tracing::info!(dead_letter_id = %id, admin_id = %admin.user_id, %message_id, "dead letter replayed");
    Ok(Json(load(&state, id).await?))
}

/// `POST /api/v1/dead-letters/{id}/discard` — admins. A replayed letter cannot be discarded (409).
pub async fn discard(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<DeadLetter>> {
    let client = state.platform.db.client().await?;
    let updated = client
        .execute(
            "UPDATE dead_letters SET status = 'discarded', resolved_at = now() WHERE id = $1 AND status = 'pending'",
            &[&id],
        )
        .await?;
    let letter = load(&state, id).await?;
    if updated == 0 && letter.status != "discarded" {
        return Err(ApiError::Conflict(format!(
            "this dead letter is already {}",
            letter.status
        )));
    }
    tracing::info!(dead_letter_id = %id, admin_id = %admin.user_id, "dead letter discarded");
    Ok(Json(letter))
}
