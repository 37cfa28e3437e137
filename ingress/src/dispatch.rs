//! Sending a desk command and waiting for its outcome.
//!
//! The ticket worker applies commands asynchronously and records each outcome in
//! `command_results`. The ingress publishes the command, then polls that row for a few seconds so
//! the HTTP caller gets a synchronous answer (the updated resource, or 404/409/422). If the worker is
//! slow the caller gets 202 with the command id; the change still happens and is pushed live.

use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use joxai_schemas::{Envelope, Message};
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, FieldError};

/// How long a write request waits for the worker before answering 202.
const WAIT_FOR_OUTCOME: Duration = Duration::from_secs(5);
const POLL_EVERY: Duration = Duration::from_millis(15);

pub enum Dispatched {
    Applied,
    /// Not applied within [`WAIT_FOR_OUTCOME`]; it will be.
    Pending(Uuid),
}

#[derive(Serialize)]
pub struct PendingBody {
    pub command_id: Uuid,
}

impl Dispatched {
    /// 202 for a command still in flight.
    pub fn pending_response(id: Uuid) -> Response {
        (StatusCode::ACCEPTED, Json(PendingBody { command_id: id })).into_response()
    }

    /// The HTTP answer to a dispatched command: `applied` builds it once the worker has applied the
    /// command; one still in flight is a 202 with its id.
    pub async fn respond<F: Future<Output = ApiResult<Response>>>(
        self,
        applied: impl FnOnce() -> F,
    ) -> ApiResult<Response> {
        match self {
            Dispatched::Applied => applied().await,
            Dispatched::Pending(id) => Ok(Self::pending_response(id)),
        }
    }
}

/// Publish `envelope` and wait for the worker's verdict. `what` names the object for a 404.
pub async fn dispatch<T: Message>(
    state: &AppState,
    envelope: Envelope<T>,
    what: &'static str,
) -> ApiResult<Dispatched> {
    let bus = &state.platform.bus;
    bus.publish(bus.subjects().command::<T>(), &envelope)
        .await?;
    let deadline = tokio::time::Instant::now() + WAIT_FOR_OUTCOME;
    let client = state.platform.db.client().await?;
    loop {
        let row = client
            .query_opt(
                "SELECT ok, error_code, error_message FROM command_results WHERE id = $1",
                &[&envelope.id],
            )
            .await?;
        if let Some(row) = row {
            if row.get::<_, bool>(0) {
                return Ok(Dispatched::Applied);
            }
            let code: Option<String> = row.get(1);
            let message: String = row.get::<_, Option<String>>(2).unwrap_or_default();
            return Err(match code.as_deref() {
                Some("not_found") => ApiError::NotFound(what),
                Some("forbidden") => ApiError::Forbidden,
                Some("validation") => {
                    let (field, message) = message.split_once(": ").unwrap_or(("body", &message));
                    ApiError::Validation(vec![FieldError {
                        field: field.into(),
                        message: message.into(),
                    }])
                }
                _ => ApiError::Conflict(message),
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Dispatched::Pending(envelope.id));
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}
