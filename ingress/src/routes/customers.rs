//! Customers for supervisors: search, and a profile with their conversations and tickets.
//!
//! A verified customer is one the bank's page vouched for (a signed `external_ref`) and is one row
//! across all their chats; an anonymous visitor is one customer per conversation.

use crate::extract::{Path, Query};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Supervisor;
use crate::routes::conversations::{CONVERSATION, Conversation, conversation};
use crate::routes::page::{Page, decode_cursor, like_pattern, limit, micros, page};
use crate::routes::tickets::{DESK_TICKET, Ticket, ticket};

const CUSTOMER: &str = "SELECT cu.id, cu.external_ref, cu.display_name, cu.verified, cu.created_at,
        (SELECT count(*) FROM conversations c WHERE c.customer_id = cu.id),
        (SELECT max(c.created_at) FROM conversations c WHERE c.customer_id = cu.id)
   FROM customers cu";

#[derive(Debug, Clone, Serialize)]
pub struct Customer {
    pub id: Uuid,
    /// The bank's own reference; only for verified customers.
    pub external_ref: Option<String>,
    pub display_name: Option<String>,
    pub verified: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub conversation_count: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_conversation_at: Option<OffsetDateTime>,
}

fn customer(row: &tokio_postgres::Row) -> Customer {
    Customer {
        id: row.get(0),
        external_ref: row.get(1),
        display_name: row.get(2),
        verified: row.get(3),
        created_at: row.get(4),
        conversation_count: row.get(5),
        last_conversation_at: row.get(6),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerFilter {
    /// Text in the display name or the bank's reference (case-insensitive).
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub verified: Option<bool>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/customers` — supervisors and admins. Newest first.
pub async fn list(
    State(state): State<AppState>,
    _: Supervisor,
    Query(f): Query<CustomerFilter>,
) -> ApiResult<Json<Page<Customer>>> {
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
                "{CUSTOMER}
                 WHERE ($1::text IS NULL OR cu.display_name ILIKE $1 OR cu.external_ref ILIKE $1)
                   AND ($2::bool IS NULL OR cu.verified = $2)
                   AND ($3::bigint IS NULL OR ((extract(epoch FROM cu.created_at) * 1000000)::bigint, cu.id) < ($3, $4))
                 ORDER BY cu.created_at DESC, cu.id DESC LIMIT {}",
                limit + 1
            ),
            &[&pattern, &f.verified, &after_key, &after_id],
        )
        .await?;
    let items: Vec<Customer> = rows.iter().map(customer).collect();
    Ok(Json(page(items, limit, |c| (micros(c.created_at), c.id))))
}

#[derive(Serialize)]
pub struct CustomerProfile {
    #[serde(flatten)]
    pub customer: Customer,
    /// Newest first, at most [`PROFILE_ITEMS`].
    pub conversations: Vec<Conversation>,
    /// Newest first, at most [`PROFILE_ITEMS`].
    pub tickets: Vec<Ticket>,
}

/// How many conversations and tickets a profile shows; older ones are reached through
/// `GET /conversations?customer_id=`.
pub const PROFILE_ITEMS: i64 = 100;

/// `GET /api/v1/customers/{id}` — supervisors and admins.
pub async fn get(
    State(state): State<AppState>,
    _: Supervisor,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<CustomerProfile>> {
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt(&format!("{CUSTOMER} WHERE cu.id = $1"), &[&id])
        .await?
        .ok_or(ApiError::NotFound("customer"))?;
    let conversations = client
        .query(&format!("{CONVERSATION} WHERE c.customer_id = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT {PROFILE_ITEMS}"), &[&id])
        .await?
        .iter()
        .map(conversation)
        .collect::<ApiResult<Vec<_>>>()?;
    let tickets = client
        .query(
            &format!("{DESK_TICKET} WHERE coalesce(t.customer_id, c.customer_id) = $1 ORDER BY t.created_at DESC, t.id DESC LIMIT {PROFILE_ITEMS}"),
            &[&id],
        )
        .await?
        .iter()
        .map(ticket)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(CustomerProfile {
        customer: customer(&row),
        conversations,
        tickets,
    }))
}
