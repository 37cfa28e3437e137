//! Conversations for the desk: list, transcript, take over from the bot, hand back, close.

use crate::extract::{Path, Query};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use joxai_platform::rows::parse;
use joxai_schemas::Envelope;
use joxai_schemas::commands::{CloseConversation, HandBackConversation, TakeOverConversation};
use joxai_schemas::types::{ConversationOwner, NamedMessage};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::dispatch::{Dispatched, dispatch};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Staff, Supervisor};
use crate::routes::chat::transcript;
use crate::routes::page::{Page, decode_cursor, limit, micros, page};

pub const CONVERSATION: &str = "SELECT c.id, c.customer_id, cu.display_name, cu.verified, c.status, c.owner, c.assigned_agent_id,
        c.locale, c.channel, c.rating, c.rating_comment,
        (SELECT t.id FROM tickets t WHERE t.conversation_id = c.id ORDER BY t.created_at DESC LIMIT 1),
        c.created_at, c.updated_at, c.last_message_at,
        (SELECT left(m.text, 140) FROM messages m WHERE m.conversation_id = c.id AND m.sender = 'customer'
          ORDER BY m.created_at DESC, m.id DESC LIMIT 1)
   FROM conversations c JOIN customers cu ON cu.id = c.customer_id";

#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub customer_name: Option<String>,
    pub verified: bool,
    pub status: String,
    pub owner: ConversationOwner,
    pub assigned_agent_id: Option<Uuid>,
    pub locale: String,
    pub channel: String,
    pub rating: Option<i16>,
    pub rating_comment: Option<String>,
    /// The latest ticket of the conversation, if any.
    pub ticket_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_message_at: Option<OffsetDateTime>,
    /// The start of the customer's latest message (as stored: card data already masked), so a list of
    /// conversations says what each is about.
    pub last_customer_message: Option<String>,
}

pub fn conversation(row: &tokio_postgres::Row) -> ApiResult<Conversation> {
    Ok(Conversation {
        id: row.get(0),
        customer_id: row.get(1),
        customer_name: row.get(2),
        verified: row.get(3),
        status: row.get(4),
        owner: parse(row.get(5))?,
        assigned_agent_id: row.get(6),
        locale: row.get(7),
        channel: row.get(8),
        rating: row.get(9),
        rating_comment: row.get(10),
        ticket_id: row.get(11),
        created_at: row.get(12),
        updated_at: row.get(13),
        last_message_at: row.get(14),
        last_customer_message: row.get(15),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationFilter {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub owner: Option<ConversationOwner>,
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/conversations` — supervisors and admins. Newest first.
pub async fn list(
    State(state): State<AppState>,
    _: Supervisor,
    Query(f): Query<ConversationFilter>,
) -> ApiResult<Json<Page<Conversation>>> {
    let limit = limit(f.limit)?;
    if f.status
        .as_deref()
        .is_some_and(|s| s != "open" && s != "closed")
    {
        return Err(ApiError::field("status", "open or closed"));
    }
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
                "{CONVERSATION}
                 WHERE ($1::text IS NULL OR c.status = $1) AND ($2::text IS NULL OR c.owner = $2)
                   AND ($3::uuid IS NULL OR c.customer_id = $3)
                   AND ($4::timestamptz IS NULL OR c.created_at >= $4) AND ($5::timestamptz IS NULL OR c.created_at < $5)
                   AND ($6::bigint IS NULL OR ((extract(epoch FROM c.created_at) * 1000000)::bigint, c.id) < ($6, $7))
                 ORDER BY c.created_at DESC, c.id DESC LIMIT {}",
                limit + 1
            ),
            &[&f.status, &f.owner.map(|o| o.as_str()), &f.customer_id, &f.from, &f.to, &after_key, &after_id],
        )
        .await?;
    let items = rows
        .iter()
        .map(conversation)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(page(items, limit, |c| (micros(c.created_at), c.id))))
}

/// Whether an agent may see a conversation: it has an active ticket in the queue or assigned to them.
async fn visible_conversation(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
) -> ApiResult<Conversation> {
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt(&format!("{CONVERSATION} WHERE c.id = $1"), &[&id])
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    if !staff.sees_everything() {
        let ok = client
            .query_opt(
                "SELECT 1 FROM tickets WHERE conversation_id = $1 AND (assignee_id IS NULL OR assignee_id = $2)
                   AND status IN ('open', 'in_progress')",
                &[&id, &staff.user_id],
            )
            .await?;
        if ok.is_none() {
            return Err(ApiError::NotFound("conversation"));
        }
    }
    conversation(&row)
}

#[derive(Serialize)]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub messages: Vec<NamedMessage>,
}

/// `GET /api/v1/conversations/{id}` — supervisors; agents for conversations of queue or own tickets.
pub async fn get(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<ConversationDetail>> {
    let conversation = visible_conversation(&state, &staff, id).await?;
    let messages = transcript(&state, id).await?;
    Ok(Json(ConversationDetail {
        conversation,
        messages,
    }))
}

async fn answer(state: &AppState, id: Uuid, outcome: Dispatched) -> ApiResult<Response> {
    outcome
        .respond(|| async move {
            let client = state.platform.db.client().await?;
            let row = client
                .query_one(&format!("{CONVERSATION} WHERE c.id = $1"), &[&id])
                .await?;
            Ok(Json(conversation(&row)?).into_response())
        })
        .await
}

/// `POST /api/v1/conversations/{id}/take-over` — supervisors and admins: take a conversation from
/// the bot (or from another agent); its ticket is assigned to the caller.
pub async fn take_over(
    State(state): State<AppState>,
    Supervisor(staff): Supervisor,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    let command = TakeOverConversation {
        conversation_id: id,
        actor: staff.actor(),
    };
    let outcome = dispatch(&state, Envelope::new(command), "conversation").await?;
    answer(&state, id, outcome).await
}

/// `POST /api/v1/conversations/{id}/hand-back` — supervisors, or the agent who owns its ticket.
pub async fn hand_back(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    let command = HandBackConversation {
        conversation_id: id,
        actor: staff.actor(),
    };
    let outcome = dispatch(&state, Envelope::new(command), "conversation").await?;
    answer(&state, id, outcome).await
}

/// `POST /api/v1/conversations/{id}/close` — supervisors, or the agent who owns its ticket.
pub async fn close(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    let command = CloseConversation {
        conversation_id: id,
        actor: staff.actor(),
    };
    let outcome = dispatch(&state, Envelope::new(command), "conversation").await?;
    answer(&state, id, outcome).await
}
