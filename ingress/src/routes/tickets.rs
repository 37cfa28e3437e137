//! Tickets for the agent desk.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use joxai_platform::rows::{TICKET_COLUMNS, ticket_view};
use joxai_schemas::Envelope;
use joxai_schemas::commands::PostAgentReply;
use joxai_schemas::types::{MessageView, TicketStatus, TicketView};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{Staff, Validate, ValidJson};
use crate::routes::chat::{Accepted, MAX_MESSAGE_CHARS, transcript};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketFilter {
    #[serde(default)]
    pub status: Option<TicketStatus>,
}

#[derive(Serialize)]
pub struct TicketList {
    pub tickets: Vec<TicketView>,
}

/// `GET /api/v1/tickets` — staff. Supervisors and admins see every ticket; an agent sees the
/// unassigned queue and their own tickets.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(filter): Query<TicketFilter>,
) -> ApiResult<Json<TicketList>> {
    let client = state.platform.db.client().await?;
    let status = filter.status.map(|s| s.as_str());
    let all = staff.sees_everything();
    let rows = client
        .query(
            &format!(
                "SELECT {TICKET_COLUMNS} FROM tickets
                 WHERE ($1::text IS NULL OR status = $1)
                   AND ($2 OR assignee_id IS NULL OR assignee_id = $3)
                 ORDER BY created_at DESC LIMIT 200"
            ),
            &[&status, &all, &staff.user_id],
        )
        .await?;
    let tickets = rows.iter().map(|r| ticket_view(r).map_err(ApiError::from)).collect::<ApiResult<_>>()?;
    Ok(Json(TicketList { tickets }))
}

/// Load a ticket the caller may see; another agent's ticket looks like it does not exist.
pub async fn visible_ticket(state: &AppState, staff: &Staff, id: Uuid) -> ApiResult<TicketView> {
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt(&format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"), &[&id])
        .await?
        .ok_or(ApiError::NotFound("ticket"))?;
    let ticket = ticket_view(&row)?;
    let visible = staff.sees_everything() || ticket.assignee_id.is_none_or(|a| a == staff.user_id);
    if visible { Ok(ticket) } else { Err(ApiError::NotFound("ticket")) }
}

#[derive(Serialize)]
pub struct TicketDetail {
    #[serde(flatten)]
    pub ticket: TicketView,
    pub messages: Vec<MessageView>,
}

/// `GET /api/v1/tickets/{id}` — staff who may see the ticket: the ticket and its conversation's transcript.
pub async fn get(State(state): State<AppState>, staff: Staff, Path(id): Path<Uuid>) -> ApiResult<Json<TicketDetail>> {
    let ticket = visible_ticket(&state, &staff, id).await?;
    let messages = match ticket.conversation_id {
        Some(conversation_id) => transcript(&state, conversation_id).await?,
        None => vec![],
    };
    Ok(Json(TicketDetail { ticket, messages }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    pub text: String,
    /// Optional idempotency key: the same key never posts a second reply.
    #[serde(default)]
    pub client_message_id: Option<String>,
}

impl Validate for ReplyRequest {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = vec![];
        let chars = self.text.trim().chars().count();
        if chars == 0 || self.text.chars().count() > MAX_MESSAGE_CHARS {
            errors.push(FieldError {
                field: "text".into(),
                message: format!("1 to {MAX_MESSAGE_CHARS} characters"),
            });
        }
        if let Some(id) = &self.client_message_id
            && (id.is_empty() || id.len() > 64)
        {
            errors.push(FieldError { field: "client_message_id".into(), message: "1 to 64 characters".into() });
        }
        errors
    }
}

/// `POST /api/v1/tickets/{id}/messages` — staff who may see the ticket: reply to its customer.
pub async fn reply(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
    ValidJson(req): ValidJson<ReplyRequest>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    let ticket = visible_ticket(&state, &staff, id).await?;
    if ticket.conversation_id.is_none() {
        return Err(ApiError::Conflict("this ticket has no customer conversation to reply to".into()));
    }
    let message_id = match &req.client_message_id {
        Some(key) => Uuid::new_v5(&ticket.id, format!("{}:{key}", staff.user_id).as_bytes()),
        None => Uuid::now_v7(),
    };
    let command = PostAgentReply {
        ticket_id: ticket.id,
        message_id,
        agent_id: staff.user_id,
        text: joxai_nlu::redact::redact(req.text.trim()).into_owned(),
    };
    let envelope = Envelope::with_id(message_id, message_id, None, command);
    state.platform.bus.publish(state.platform.bus.subjects().command::<PostAgentReply>(), &envelope).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { message_id })))
}
