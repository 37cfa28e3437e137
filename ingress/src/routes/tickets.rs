//! Tickets for the agent desk. Reads come from Postgres; every change is a command applied by the
//! ticket worker (see [`crate::dispatch`]).
//!
//! Scope: supervisors and admins see every ticket; an agent sees the unassigned queue and their own
//! tickets, and another agent's ticket answers 404 exactly like a missing one.

use crate::extract::{Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use joxai_platform::rows::parse;
use joxai_schemas::Envelope;
use joxai_schemas::commands::{
    AddInternalNote, AssignTicket, ChangeTicketStatus, CreateTicket, PostAgentReply, UpdateTicket,
};
use joxai_schemas::events::Typing;
use joxai_schemas::types::{
    EscalationReason, NamedMessage, NoteView, Priority, Sender, TicketStatus,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::AppState;
use crate::dispatch::{Dispatched, dispatch};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{Staff, ValidJson, Validate, mask_all, mask_optional, mask_text};
use crate::routes::chat::{Accepted, MAX_MESSAGE_CHARS, transcript};
use crate::routes::page::{Page, decode_cursor, like_pattern, limit, page};

pub const DESK_TICKET: &str = "SELECT t.id, t.number, t.conversation_id, coalesce(t.customer_id, c.customer_id), t.subject,
        t.status, t.priority, t.reason, t.category, t.tags, t.assignee_id, u.display_name, t.created_at, t.updated_at,
        t.first_response_at, t.resolved_at, t.closed_at, t.first_response_due_at, t.resolution_due_at
   FROM tickets t LEFT JOIN conversations c ON c.id = t.conversation_id LEFT JOIN users u ON u.id = t.assignee_id";

#[derive(Debug, Clone, Serialize)]
pub struct Sla {
    #[serde(with = "time::serde::rfc3339")]
    pub first_response_due_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub resolution_due_at: OffsetDateTime,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    pub breached: bool,
}

/// A ticket as the desk shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub id: Uuid,
    pub number: String,
    pub conversation_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub reason: EscalationReason,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub first_response_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    pub sla: Sla,
}

/// SLA due times are the ticket's own, set by the ticket worker from the bank's targets for its
/// priority (settings) when it was opened or its priority changed; a ticket without them (none since
/// migration 8) falls back to the built-in targets. A target is breached when it was met late, or is
/// still unmet after its due time.
fn sla(
    priority: Priority,
    created_at: OffsetDateTime,
    first: Option<OffsetDateTime>,
    resolved: Option<OffsetDateTime>,
    due: (Option<OffsetDateTime>, Option<OffsetDateTime>),
) -> Sla {
    let (first_secs, resolution_secs) = priority.sla_seconds();
    let first_due = due
        .0
        .unwrap_or(created_at + time::Duration::seconds(first_secs));
    let resolution_due = due
        .1
        .unwrap_or(created_at + time::Duration::seconds(resolution_secs));
    let now = OffsetDateTime::now_utc();
    let first_response_breached = first.unwrap_or(now) > first_due;
    let resolution_breached = resolved.unwrap_or(now) > resolution_due;
    Sla {
        first_response_due_at: first_due,
        resolution_due_at: resolution_due,
        first_response_breached,
        resolution_breached,
        breached: first_response_breached || resolution_breached,
    }
}

pub fn ticket(row: &tokio_postgres::Row) -> ApiResult<Ticket> {
    let priority: Priority = parse(row.get(6))?;
    let created_at: OffsetDateTime = row.get(12);
    let first_response_at = row.get(14);
    let resolved_at = row.get(15);
    Ok(Ticket {
        id: row.get(0),
        number: row.get(1),
        conversation_id: row.get(2),
        customer_id: row.get(3),
        subject: row.get(4),
        status: parse(row.get(5))?,
        priority,
        reason: parse(row.get(7))?,
        category: row.get(8),
        tags: row.get(9),
        assignee_id: row.get(10),
        assignee_name: row.get(11),
        created_at,
        updated_at: row.get(13),
        first_response_at,
        resolved_at,
        closed_at: row.get(16),
        sla: sla(
            priority,
            created_at,
            first_response_at,
            resolved_at,
            (row.get(17), row.get(18)),
        ),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketFilter {
    /// Comma-separated statuses.
    #[serde(default)]
    pub status: Option<String>,
    /// Comma-separated priorities.
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    #[serde(default)]
    pub unassigned: Option<bool>,
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
}

fn names<T: std::str::FromStr>(
    field: &str,
    list: &Option<String>,
) -> ApiResult<Option<Vec<String>>> {
    let Some(list) = list else { return Ok(None) };
    let mut out = vec![];
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        name.parse::<T>()
            .map_err(|_| ApiError::field(field, &format!("unknown value {name:?}")))?;
        out.push(name.to_owned());
    }
    Ok(Some(out))
}

/// The ticket list: the common page shape, plus `tickets`, the same items under the name the first
/// panel build and tests read. Deprecated: remove once nothing reads it.
#[derive(Serialize)]
pub struct TicketList {
    #[serde(flatten)]
    pub page: Page<Ticket>,
    pub tickets: Vec<Ticket>,
}

/// `GET /api/v1/tickets` — staff. Filters, sorting and keyset pagination; an agent's list is limited
/// to the queue and their own tickets whatever the filters say.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(f): Query<TicketFilter>,
) -> ApiResult<Json<TicketList>> {
    let limit = limit(f.limit)?;
    let (key, descending) = match f.sort.as_deref().unwrap_or("-created_at") {
        "created_at" => (
            "(extract(epoch FROM t.created_at) * 1000000)::bigint",
            false,
        ),
        "-created_at" => ("(extract(epoch FROM t.created_at) * 1000000)::bigint", true),
        "updated_at" => (
            "(extract(epoch FROM t.updated_at) * 1000000)::bigint",
            false,
        ),
        "-updated_at" => ("(extract(epoch FROM t.updated_at) * 1000000)::bigint", true),
        "priority" => (
            "array_position(ARRAY['low', 'normal', 'high', 'urgent'], t.priority)::bigint",
            false,
        ),
        "-priority" => (
            "array_position(ARRAY['low', 'normal', 'high', 'urgent'], t.priority)::bigint",
            true,
        ),
        _ => {
            return Err(ApiError::field(
                "sort",
                "created_at, updated_at or priority, optionally prefixed with '-'",
            ));
        }
    };
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = vec![];
    let mut wheres: Vec<String> = vec![];
    let add = |params: &mut Vec<Box<dyn ToSql + Sync + Send>>,
               value: Box<dyn ToSql + Sync + Send>| {
        params.push(value);
        format!("${}", params.len())
    };
    if let Some(statuses) = names::<TicketStatus>("status", &f.status)? {
        let p = add(&mut params, Box::new(statuses));
        wheres.push(format!("t.status = ANY({p})"));
    }
    if let Some(priorities) = names::<Priority>("priority", &f.priority)? {
        let p = add(&mut params, Box::new(priorities));
        wheres.push(format!("t.priority = ANY({p})"));
    }
    if let Some(assignee) = f.assignee_id {
        let p = add(&mut params, Box::new(assignee));
        wheres.push(format!("t.assignee_id = {p}"));
    }
    if f.unassigned == Some(true) {
        wheres.push("t.assignee_id IS NULL".into());
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 200 {
            return Err(ApiError::field("q", "at most 200 characters"));
        }
        let p = add(&mut params, Box::new(like_pattern(q)));
        wheres.push(format!(
            "(t.subject ILIKE {p} OR t.number ILIKE {p} OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = t.conversation_id AND m.text ILIKE {p}))"
        ));
    }
    if !staff.sees_everything() {
        let p = add(&mut params, Box::new(staff.user_id));
        wheres.push(format!("(t.assignee_id IS NULL OR t.assignee_id = {p})"));
    }
    if let Some(cursor) = &f.cursor {
        let (k, id) = decode_cursor(cursor)?;
        let pk = add(&mut params, Box::new(k));
        let pid = add(&mut params, Box::new(id));
        let op = if descending { "<" } else { ">" };
        wheres.push(format!("({key}, t.id) {op} ({pk}, {pid})"));
    }
    let dir = if descending { "DESC" } else { "ASC" };
    let where_sql = if wheres.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", wheres.join(" AND "))
    };
    let sql = format!(
        "{DESK_TICKET} {where_sql} ORDER BY {key} {dir}, t.id {dir} LIMIT {}",
        limit + 1
    );
    let sql = sql.replacen(
        "SELECT t.id,",
        &format!("SELECT {key} AS sort_key, t.id,"),
        1,
    );
    let client = state.platform.db.client().await?;
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = client.query(&sql, &refs).await?;
    // Column 0 is the sort key; the ticket columns follow.
    let items: Vec<(i64, Ticket)> = rows
        .iter()
        .map(|r| Ok((r.get::<_, i64>(0), ticket_shifted(r)?)))
        .collect::<ApiResult<_>>()?;
    let page = page(items, limit, |(k, t)| (*k, t.id));
    let items: Vec<Ticket> = page.items.into_iter().map(|(_, t)| t).collect();
    Ok(Json(TicketList {
        tickets: items.clone(),
        page: Page {
            items,
            next_cursor: page.next_cursor,
        },
    }))
}

/// [`ticket`] for a row whose first column is a sort key.
fn ticket_shifted(row: &tokio_postgres::Row) -> ApiResult<Ticket> {
    let g = |i: usize| i + 1;
    let priority: Priority = parse(row.get(g(6)))?;
    let created_at: OffsetDateTime = row.get(g(12));
    let first_response_at = row.get(g(14));
    let resolved_at = row.get(g(15));
    Ok(Ticket {
        id: row.get(g(0)),
        number: row.get(g(1)),
        conversation_id: row.get(g(2)),
        customer_id: row.get(g(3)),
        subject: row.get(g(4)),
        status: parse(row.get(g(5)))?,
        priority,
        reason: parse(row.get(g(7)))?,
        category: row.get(g(8)),
        tags: row.get(g(9)),
        assignee_id: row.get(g(10)),
        assignee_name: row.get(g(11)),
        created_at,
        updated_at: row.get(g(13)),
        first_response_at,
        resolved_at,
        closed_at: row.get(g(16)),
        sla: sla(
            priority,
            created_at,
            first_response_at,
            resolved_at,
            (row.get(g(17)), row.get(g(18))),
        ),
    })
}

/// Load a ticket the caller may see; another agent's ticket looks like it does not exist.
pub async fn visible_ticket(state: &AppState, staff: &Staff, id: Uuid) -> ApiResult<Ticket> {
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt(&format!("{DESK_TICKET} WHERE t.id = $1"), &[&id])
        .await?
        .ok_or(ApiError::NotFound("ticket"))?;
    let ticket = ticket(&row)?;
    let visible = staff.sees_everything() || ticket.assignee_id.is_none_or(|a| a == staff.user_id);
    if visible {
        Ok(ticket)
    } else {
        Err(ApiError::NotFound("ticket"))
    }
}

/// A ticket the caller may change: supervisors any, agents their own. A queue ticket must be taken
/// first (403); another agent's answers 404.
async fn owned_ticket(state: &AppState, staff: &Staff, id: Uuid) -> ApiResult<Ticket> {
    let ticket = visible_ticket(state, staff, id).await?;
    if staff.sees_everything() || ticket.assignee_id == Some(staff.user_id) {
        Ok(ticket)
    } else {
        Err(ApiError::Forbidden)
    }
}

#[derive(Serialize)]
pub struct TicketDetail {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub messages: Vec<NamedMessage>,
    /// `open` or `closed` (the customer's chat has ended: a reply would be refused with 409, so the
    /// panel says so before the agent writes one); absent for a ticket without a conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_status: Option<String>,
}

/// `GET /api/v1/tickets/{id}` — staff who may see the ticket: the ticket and its conversation's transcript.
pub async fn get(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<TicketDetail>> {
    let ticket = visible_ticket(&state, &staff, id).await?;
    let (messages, conversation_status) = match ticket.conversation_id {
        Some(conversation_id) => {
            let status = state
                .platform
                .db
                .client()
                .await?
                .query_opt(
                    "SELECT status FROM conversations WHERE id = $1",
                    &[&conversation_id],
                )
                .await?
                .map(|row| row.get::<_, String>(0))
                // Not stored yet (the worker is behind the API): open, as `refuse_if_closed` reads it.
                .unwrap_or_else(|| "open".to_owned());
            (transcript(&state, conversation_id).await?, Some(status))
        }
        None => (vec![], None),
    };
    Ok(Json(TicketDetail {
        ticket,
        messages,
        conversation_status,
    }))
}

/// Answer a ticket write: the ticket as it is now, or 202 if the worker has not applied it yet.
async fn answer(
    state: &AppState,
    id: Uuid,
    outcome: Dispatched,
    status: StatusCode,
) -> ApiResult<Response> {
    outcome
        .respond(|| async move {
            // Read with supervisor eyes: an agent who just released a ticket may still see the result.
            let client = state.platform.db.client().await?;
            let row = client
                .query_opt(&format!("{DESK_TICKET} WHERE t.id = $1"), &[&id])
                .await?
                .ok_or(ApiError::NotFound("ticket"))?;
            Ok((status, Json(ticket(&row)?)).into_response())
        })
        .await
}

pub fn tags_errors(tags: &[String]) -> Vec<FieldError> {
    if tags.len() > 20
        || tags
            .iter()
            .any(|t| t.trim().is_empty() || t.chars().count() > 40)
    {
        vec![FieldError {
            field: "tags".into(),
            message: "at most 20 tags of 1 to 40 characters".into(),
        }]
    } else {
        vec![]
    }
}

fn subject_errors(subject: &str) -> Vec<FieldError> {
    let n = subject.trim().chars().count();
    if n == 0 || n > 200 {
        vec![FieldError {
            field: "subject".into(),
            message: "1 to 200 characters".into(),
        }]
    } else {
        vec![]
    }
}

fn category_errors(category: &Option<String>) -> Vec<FieldError> {
    if category.as_ref().is_some_and(|c| c.chars().count() > 60) {
        vec![FieldError {
            field: "category".into(),
            message: "at most 60 characters".into(),
        }]
    } else {
        vec![]
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTicketRequest {
    pub subject: String,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub conversation_id: Option<Uuid>,
    #[serde(default)]
    pub customer_id: Option<Uuid>,
}

impl Validate for CreateTicketRequest {
    fn mask_card_data(&mut self) {
        mask_text(&mut self.subject);
        mask_optional(&mut self.category);
        mask_all(&mut self.tags);
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = subject_errors(&self.subject);
        errors.extend(tags_errors(&self.tags));
        errors.extend(category_errors(&self.category));
        if self.conversation_id.is_some() && self.customer_id.is_some() {
            errors.push(FieldError {
                field: "customer_id".into(),
                message: "give a conversation or a customer, not both".into(),
            });
        }
        errors
    }
}

/// `POST /api/v1/tickets` — staff. A ticket opened by an agent is assigned to that agent; others go
/// through automatic assignment.
pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    ValidJson(req): ValidJson<CreateTicketRequest>,
) -> ApiResult<Response> {
    if let Some(conversation_id) = req.conversation_id
        && !staff.sees_everything()
    {
        // An agent may only open a ticket for a conversation they can already see (their own).
        let client = state.platform.db.client().await?;
        let own = client
            .query_opt(
                "SELECT 1 FROM tickets WHERE conversation_id = $1 AND assignee_id = $2",
                &[&conversation_id, &staff.user_id],
            )
            .await?;
        if own.is_none() {
            return Err(ApiError::NotFound("conversation"));
        }
    }
    let ticket_id = Uuid::now_v7();
    let command = CreateTicket {
        ticket_id,
        conversation_id: req.conversation_id,
        customer_id: req.customer_id,
        subject: req.subject.trim().to_owned(),
        priority: req.priority.unwrap_or(Priority::Normal),
        category: req
            .category
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty()),
        tags: req.tags.iter().map(|t| t.trim().to_owned()).collect(),
        assign_to: (!staff.sees_everything()).then_some(staff.user_id),
        actor: staff.actor(),
    };
    let outcome = dispatch(&state, Envelope::new(command), "conversation").await?;
    answer(&state, ticket_id, outcome, StatusCode::CREATED).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicketRequest {
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expected_updated_at: Option<OffsetDateTime>,
}

impl Validate for UpdateTicketRequest {
    fn mask_card_data(&mut self) {
        mask_optional(&mut self.subject);
        mask_optional(&mut self.category);
        if let Some(tags) = &mut self.tags {
            mask_all(tags);
        }
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = self
            .subject
            .as_deref()
            .map(subject_errors)
            .unwrap_or_default();
        errors.extend(self.tags.as_deref().map(tags_errors).unwrap_or_default());
        errors.extend(category_errors(&self.category));
        errors
    }
}

/// `PATCH /api/v1/tickets/{id}` — supervisors, or the agent who owns the ticket.
pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
    ValidJson(req): ValidJson<UpdateTicketRequest>,
) -> ApiResult<Response> {
    owned_ticket(&state, &staff, id).await?;
    let command = UpdateTicket {
        ticket_id: id,
        subject: req.subject.map(|s| s.trim().to_owned()),
        category: req.category,
        tags: req
            .tags
            .map(|t| t.iter().map(|t| t.trim().to_owned()).collect()),
        priority: req.priority,
        expected_updated_at: req.expected_updated_at,
        actor: staff.actor(),
    };
    let outcome = dispatch(&state, Envelope::new(command), "ticket").await?;
    answer(&state, id, outcome, StatusCode::OK).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub assignee_id: Option<Uuid>,
}

impl Validate for AssignRequest {
    /// Nothing here is free text.
    fn mask_card_data(&mut self) {}

    fn validate(&self) -> Vec<FieldError> {
        vec![]
    }
}

/// `POST /api/v1/tickets/{id}/assign` — supervisors assign anyone active; an agent may only take a
/// queue ticket (`assignee_id` = themselves) or release their own (`null`).
pub async fn assign(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
    ValidJson(req): ValidJson<AssignRequest>,
) -> ApiResult<Response> {
    visible_ticket(&state, &staff, id).await?;
    if !staff.sees_everything() && req.assignee_id.is_some_and(|a| a != staff.user_id) {
        return Err(ApiError::Forbidden);
    }
    let command = AssignTicket {
        ticket_id: id,
        assignee_id: req.assignee_id,
        actor: staff.actor(),
    };
    let outcome = dispatch(&state, Envelope::new(command), "ticket").await?;
    answer(&state, id, outcome, StatusCode::OK).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub status: TicketStatus,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expected_updated_at: Option<OffsetDateTime>,
}

impl Validate for StatusRequest {
    /// Nothing here is free text.
    fn mask_card_data(&mut self) {}

    fn validate(&self) -> Vec<FieldError> {
        vec![]
    }
}

/// `POST /api/v1/tickets/{id}/status` — supervisors, or the agent who owns the ticket. Invalid
/// transitions and stale `expected_updated_at` answer 409.
pub async fn set_status(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
    ValidJson(req): ValidJson<StatusRequest>,
) -> ApiResult<Response> {
    owned_ticket(&state, &staff, id).await?;
    let command = ChangeTicketStatus {
        ticket_id: id,
        status: req.status,
        expected_updated_at: req.expected_updated_at,
        actor: staff.actor(),
    };
    let outcome = dispatch(&state, Envelope::new(command), "ticket").await?;
    answer(&state, id, outcome, StatusCode::OK).await
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
    fn mask_card_data(&mut self) {
        mask_text(&mut self.text);
    }

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
            errors.push(FieldError {
                field: "client_message_id".into(),
                message: "1 to 64 characters".into(),
            });
        }
        errors
    }
}

/// `POST /api/v1/tickets/{id}/messages` — staff who may see the ticket: reply to its customer.
/// Replying to a queue ticket takes it.
pub async fn reply(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
    ValidJson(req): ValidJson<ReplyRequest>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    let ticket = visible_ticket(&state, &staff, id).await?;
    let Some(conversation_id) = ticket.conversation_id else {
        return Err(ApiError::Conflict(
            "this ticket has no customer conversation to reply to".into(),
        ));
    };
    crate::routes::chat::refuse_if_closed(
        &state,
        conversation_id,
        "the customer's conversation has ended, so they would not see this reply; if they write again, \
         their new conversation reaches the desk",
    )
    .await?;
    let message_id = match &req.client_message_id {
        Some(key) => Uuid::new_v5(&ticket.id, format!("{}:{key}", staff.user_id).as_bytes()),
        None => Uuid::now_v7(),
    };
    let command = PostAgentReply {
        ticket_id: ticket.id,
        message_id,
        agent_id: staff.user_id,
        text: req.text.trim().to_owned(),
    };
    let envelope = Envelope::with_id(message_id, message_id, None, command);
    state
        .platform
        .bus
        .publish(
            state.platform.bus.subjects().command::<PostAgentReply>(),
            &envelope,
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { message_id })))
}

const NOTE_COLUMNS: &str = "n.id, n.ticket_id, n.author_id, u.display_name, n.text, n.created_at";

fn note_view(row: &tokio_postgres::Row) -> NoteView {
    NoteView {
        id: row.get(0),
        ticket_id: row.get(1),
        author_id: row.get(2),
        author_name: row.get(3),
        text: row.get(4),
        created_at: row.get(5),
    }
}

/// `GET /api/v1/tickets/{id}/notes` — staff who may see the ticket.
pub async fn notes(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Page<NoteView>>> {
    visible_ticket(&state, &staff, id).await?;
    let client = state.platform.db.client().await?;
    let rows = client
        .query(
            &format!("SELECT {NOTE_COLUMNS} FROM ticket_notes n JOIN users u ON u.id = n.author_id WHERE n.ticket_id = $1 ORDER BY n.created_at, n.id"),
            &[&id],
        )
        .await?;
    Ok(Json(Page {
        items: rows.iter().map(note_view).collect(),
        next_cursor: None,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    pub text: String,
}

impl Validate for NoteRequest {
    fn mask_card_data(&mut self) {
        mask_text(&mut self.text);
    }

    fn validate(&self) -> Vec<FieldError> {
        let n = self.text.trim().chars().count();
        if n == 0 || self.text.chars().count() > MAX_MESSAGE_CHARS {
            vec![FieldError {
                field: "text".into(),
                message: format!("1 to {MAX_MESSAGE_CHARS} characters"),
            }]
        } else {
            vec![]
        }
    }
}

/// `POST /api/v1/tickets/{id}/notes` — supervisors, or the agent who owns the ticket. Notes are
/// stored apart from messages and pushed to staff only.
pub async fn add_note(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
    ValidJson(req): ValidJson<NoteRequest>,
) -> ApiResult<Response> {
    owned_ticket(&state, &staff, id).await?;
    let note_id = Uuid::now_v7();
    let command = AddInternalNote {
        ticket_id: id,
        note_id,
        // Notes are masked like replies: a card number pasted into a note must not be stored either.
        text: req.text.trim().to_owned(),
        actor: staff.actor(),
    };
    dispatch(&state, Envelope::with_id(note_id, note_id, None, command), "ticket")
        .await?
        .respond(|| async {
            let client = state.platform.db.client().await?;
            let row = client
                .query_one(&format!("SELECT {NOTE_COLUMNS} FROM ticket_notes n JOIN users u ON u.id = n.author_id WHERE n.id = $1"), &[&note_id])
                .await?;
            Ok((StatusCode::CREATED, Json(note_view(&row))).into_response())
        })
        .await
}

#[derive(Serialize)]
pub struct TicketEvent {
    pub id: i64,
    pub kind: String,
    pub actor: String,
    pub data: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /api/v1/tickets/{id}/history` — staff who may see the ticket: the append-only audit.
pub async fn history(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Page<TicketEvent>>> {
    visible_ticket(&state, &staff, id).await?;
    let client = state.platform.db.client().await?;
    let rows = client
        .query("SELECT id, kind, actor, data, created_at FROM ticket_events WHERE ticket_id = $1 ORDER BY id", &[&id])
        .await?;
    let items = rows
        .iter()
        .map(|r| TicketEvent {
            id: r.get(0),
            kind: r.get(1),
            actor: r.get(2),
            data: r.get(3),
            created_at: r.get(4),
        })
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// `POST /api/v1/tickets/{id}/typing` — supervisors, or the agent who owns the ticket: an ephemeral
/// `typing` event for the customer. Not stored anywhere but the event stream.
pub async fn typing(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let ticket = owned_ticket(&state, &staff, id).await?;
    let Some(conversation_id) = ticket.conversation_id else {
        return Err(ApiError::Conflict(
            "this ticket has no customer conversation".into(),
        ));
    };
    let event = Typing {
        conversation_id,
        sender: Sender::Agent,
        name: Some(staff.display_name.clone()),
    };
    let bus = &state.platform.bus;
    bus.publish(
        bus.subjects().event::<Typing>(conversation_id),
        &Envelope::new(event),
    )
    .await?;
    Ok(StatusCode::ACCEPTED)
}
