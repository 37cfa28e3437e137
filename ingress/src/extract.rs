//! Request extractors: JSON bodies with stable errors and field validation, and the caller's identity.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use joxai_platform::tokens::Principal;
use joxai_schemas::types::{CustomerRef, StaffRole};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, FieldError};

/// A request body type that checks its own fields.
pub trait Validate {
    fn validate(&self) -> Vec<FieldError>;
}

/// A JSON body, deserialised and validated. Malformed JSON → 400, wrong content type → 415, a body
/// of the wrong shape or invalid fields → 422 listing the fields.
pub struct ValidJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Validate> FromRequest<S> for ValidJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await.map_err(|rejection| match rejection {
            JsonRejection::JsonDataError(e) => ApiError::Validation(vec![FieldError {
                field: "body".into(),
                message: e.body_text().replace("Failed to deserialize the JSON body into the target type: ", ""),
            }]),
            JsonRejection::JsonSyntaxError(_) => ApiError::BadRequest("the body is not valid JSON".into()),
            JsonRejection::MissingJsonContentType(_) => {
                ApiError::UnsupportedMediaType("send the body as JSON with Content-Type: application/json".into())
            }
            JsonRejection::BytesRejection(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge("the body is too large".into())
            }
            other => ApiError::BadRequest(other.body_text()),
        })?;
        let errors = value.validate();
        if errors.is_empty() { Ok(ValidJson(value)) } else { Err(ApiError::Validation(errors)) }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// A signed-in staff member (admin, supervisor or agent). Customer tokens are refused.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user_id: Uuid,
    pub role: StaffRole,
    pub session_id: Option<Uuid>,
}

impl Staff {
    /// Supervisors and admins see every ticket; agents see the queue and their own.
    pub fn sees_everything(&self) -> bool {
        matches!(self.role, StaffRole::Admin | StaffRole::Supervisor)
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        match state.platform.tokens.verify(token).map_err(|_| ApiError::Unauthorized)? {
            Principal::Staff { user_id, role, session_id } => Ok(Staff { user_id, role, session_id }),
            Principal::Customer { .. } => Err(ApiError::Unauthorized),
        }
    }
}

/// A customer, holding the token of exactly one conversation. Staff tokens are refused.
#[derive(Debug, Clone)]
pub struct Customer {
    pub conversation_id: Uuid,
    pub customer: CustomerRef,
}

impl Customer {
    /// The conversation in the path must be the token's own; anything else looks like it does not exist.
    pub fn owns(&self, conversation_id: Uuid) -> Result<(), ApiError> {
        if self.conversation_id == conversation_id { Ok(()) } else { Err(ApiError::NotFound("conversation")) }
    }
}

impl FromRequestParts<AppState> for Customer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        match state.platform.tokens.verify(token).map_err(|_| ApiError::Unauthorized)? {
            Principal::Customer { conversation_id, customer } => Ok(Customer { conversation_id, customer }),
            Principal::Staff { .. } => Err(ApiError::Unauthorized),
        }
    }
}
