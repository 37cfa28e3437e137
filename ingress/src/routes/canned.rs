//! Canned responses: ready-made replies agents insert, with placeholders filled per ticket.
//!
//! Supervisors and admins write them (through the ticket worker, like every desk change); every
//! staff member reads them. Placeholders: `{{customer_name}}` (falls back to "there"),
//! `{{ticket_number}}`, `{{agent_name}}` (the caller).

use crate::extract::{Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use joxai_schemas::Envelope;
use joxai_schemas::commands::{DeleteCannedResponse, SaveCannedResponse};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::dispatch::dispatch;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{Staff, Supervisor, ValidJson, Validate, mask_text};
use crate::routes::chat::MAX_MESSAGE_CHARS;
use crate::routes::page::{Page, decode_cursor, like_pattern, limit, micros, page};
use crate::routes::tickets::visible_ticket;

const CANNED: &str =
    "SELECT id, title, body, created_by, created_at, updated_at FROM canned_responses";

#[derive(Debug, Clone, Serialize)]
pub struct CannedResponse {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn canned(row: &tokio_postgres::Row) -> CannedResponse {
    CannedResponse {
        id: row.get(0),
        title: row.get(1),
        body: row.get(2),
        created_by: row.get(3),
        created_at: row.get(4),
        updated_at: row.get(5),
    }
}

async fn load(state: &AppState, id: Uuid) -> ApiResult<CannedResponse> {
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt(&format!("{CANNED} WHERE id = $1"), &[&id])
        .await?
        .ok_or(ApiError::NotFound("canned response"))?;
    Ok(canned(&row))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CannedFilter {
    /// Text in the title or body.
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/canned-responses` — staff. Most recently changed first.
pub async fn list(
    State(state): State<AppState>,
    _: Staff,
    Query(f): Query<CannedFilter>,
) -> ApiResult<Json<Page<CannedResponse>>> {
    let limit = limit(f.limit)?;
    let q = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::field("q", "at most 200 characters"));
    }
    let pattern = q.map(like_pattern);
    let (after_key, after_id) = match &f.cursor {
        Some(c) => {
            let (k, id) = decode_cursor(c)?;
            (Some(k), Some(id))
        }
        None => (None, None),
    };
    let client = state.platform.db.client().await?;
    let rows = client
        .query(
            &format!(
                "{CANNED} WHERE ($1::text IS NULL OR title ILIKE $1 OR body ILIKE $1)
                   AND ($2::bigint IS NULL OR ((extract(epoch FROM updated_at) * 1000000)::bigint, id) < ($2, $3))
                 ORDER BY updated_at DESC, id DESC LIMIT {}",
                limit + 1
            ),
            &[&pattern, &after_key, &after_id],
        )
        .await?;
    let items: Vec<CannedResponse> = rows.iter().map(canned).collect();
    Ok(Json(page(items, limit, |c| (micros(c.updated_at), c.id))))
}

/// `GET /api/v1/canned-responses/{id}` — staff.
pub async fn get(
    State(state): State<AppState>,
    _: Staff,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<CannedResponse>> {
    Ok(Json(load(&state, id).await?))
}

pub const MAX_TITLE_CHARS: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CannedRequest {
    pub title: String,
    pub body: String,
}

impl Validate for CannedRequest {
    fn mask_card_data(&mut self) {
        mask_text(&mut self.title);
        mask_text(&mut self.body);
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = vec![];
        let n = self.title.trim().chars().count();
        if n == 0 || n > MAX_TITLE_CHARS {
            errors.push(FieldError {
                field: "title".into(),
                message: format!("1 to {MAX_TITLE_CHARS} characters"),
            });
        }
        let n = self.body.trim().chars().count();
        if n == 0 || n > MAX_MESSAGE_CHARS {
            errors.push(FieldError {
                field: "body".into(),
                message: format!("1 to {MAX_MESSAGE_CHARS} characters"),
            });
        }
        errors
    }
}

async fn save(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    create: bool,
    req: CannedRequest,
) -> ApiResult<Response> {
    let command = SaveCannedResponse {
        id,
        create,
        title: req.title.trim().to_owned(),
        // Masked like replies: the text is sent to customers and must never hold a card number.
        body: req.body.trim().to_owned(),
        actor: staff.actor(),
    };
    let status = if create {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    dispatch(state, Envelope::new(command), "canned response")
        .await?
        .respond(|| async move { Ok((status, Json(load(state, id).await?)).into_response()) })
        .await
}

/// `POST /api/v1/canned-responses` — supervisors and admins.
pub async fn create(
    State(state): State<AppState>,
    Supervisor(staff): Supervisor,
    ValidJson(req): ValidJson<CannedRequest>,
) -> ApiResult<Response> {
    save(&state, &staff, Uuid::now_v7(), true, req).await
}

/// `PUT /api/v1/canned-responses/{id}` — supervisors and admins: replace title and body.
pub async fn update(
    State(state): State<AppState>,
    Supervisor(staff): Supervisor,
    Path(id): Path<Uuid>,
    ValidJson(req): ValidJson<CannedRequest>,
) -> ApiResult<Response> {
    save(&state, &staff, id, false, req).await
}

/// `DELETE /api/v1/canned-responses/{id}` — supervisors and admins.
pub async fn delete(
    State(state): State<AppState>,
    Supervisor(staff): Supervisor,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    dispatch(
        &state,
        Envelope::new(DeleteCannedResponse {
            id,
            actor: staff.actor(),
        }),
        "canned response",
    )
    .await?
    .respond(|| async { Ok(StatusCode::NO_CONTENT.into_response()) })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderRequest {
    pub ticket_id: Uuid,
}

impl Validate for RenderRequest {
    /// Nothing here is free text.
    fn mask_card_data(&mut self) {}

    fn validate(&self) -> Vec<FieldError> {
        vec![]
    }
}

#[derive(Serialize)]
pub struct Rendered {
    pub canned_response_id: Uuid,
    pub ticket_id: Uuid,
    pub text: String,
}

/// Fill the placeholders of `body`. Values are inserted once, left to right, so a customer name that
/// itself looks like `{{agent_name}}` is not expanded again.
pub fn render(
    body: &str,
    customer_name: Option<&str>,
    ticket_number: &str,
    agent_name: &str,
) -> String {
    let customer_name = customer_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("there");
    let mut out = String::with_capacity(body.len() + 32);
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        match after[..end].trim() {
            "customer_name" => out.push_str(customer_name),
            "ticket_number" => out.push_str(ticket_number),
            "agent_name" => out.push_str(agent_name),
            // Unknown placeholders stay as written, so a typo is visible to the agent.
            _ => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// `POST /api/v1/canned-responses/{id}/render` — staff; agents only for tickets they may see (queue
/// or own; anything else answers 404 like a missing ticket).
pub async fn render_for_ticket(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
    ValidJson(req): ValidJson<RenderRequest>,
) -> ApiResult<Json<Rendered>> {
    let ticket = visible_ticket(&state, &staff, req.ticket_id).await?;
    let template = load(&state, id).await?;
    let client = state.platform.db.client().await?;
    let customer_name: Option<String> = match ticket.customer_id {
        Some(customer_id) => client
            .query_opt(
                "SELECT display_name FROM customers WHERE id = $1",
                &[&customer_id],
            )
            .await?
            .and_then(|r| r.get(0)),
        None => None,
    };
    let text = render(
        &template.body,
        customer_name.as_deref(),
        &ticket.number,
        &staff.display_name,
    );
    Ok(Json(Rendered {
        canned_response_id: id,
        ticket_id: ticket.id,
        text,
    }))
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn placeholders_are_filled_once_and_unknown_ones_are_kept() {
        assert_eq!(
            render(
                "Hi {{customer_name}}, {{ agent_name }} here about {{ticket_number}}. {{oops}} {{",
                Some("{{agent_name}}"),
                "TKT-000007",
                "Alex"
            ),
            "Hi {{agent_name}}, Alex here about TKT-000007. {{oops}} {{"
        );
        assert_eq!(
            render("Hello {{customer_name}}!", None, "T", "A"),
            "Hello there!"
        );
    }
}
