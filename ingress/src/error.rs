//! One error type for the HTTP API, one body shape for every error:
//! `{"code": "...", "message": "..."}`, plus `"fields"` on 422.
//!
//! Internal details (SQL errors, broker messages) are logged, never returned. An unavailable
//! dependency is a 503 with `Retry-After`, so clients (and the widget) know to try again.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use joxai_platform::bus::BusError;
use joxai_platform::db::DbError;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("some fields are invalid")]
    Validation(Vec<FieldError>),
    #[error("authentication required: send a valid bearer token")]
    Unauthorized,
    /// A sign-in with an unknown email address or a wrong password (the same answer for both, so
    /// it does not tell which accounts exist). Same status and code as [`ApiError::Unauthorized`].
    #[error("the email address or the password is not right")]
    WrongCredentials,
    /// A customer token of a chat that has ended, used for something only a live chat may do.
    #[error(
        "this chat has ended: its token may now only read the transcript, rate the chat or start a new one"
    )]
    ChatEnded,
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The address exists but does not take this method (`GET` where only `POST` is served, …).
    #[error("this address does not accept that method: see /api/v1/docs")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String, u64),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the service is temporarily unavailable, please retry shortly")]
    Unavailable(String),
    #[error("something went wrong on our side")]
    Internal(String),
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a [FieldError]>,
}

impl ApiError {
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::Unauthorized | ApiError::WrongCredentials => {
                (StatusCode::UNAUTHORIZED, "unauthorized")
            }
            ApiError::ChatEnded => (StatusCode::UNAUTHORIZED, "chat_ended"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooManyRequests(..) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    pub fn field(field: &str, message: &str) -> Self {
        ApiError::Validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            ApiError::Unavailable(detail) => tracing::warn!(detail, "dependency unavailable"),
            ApiError::Internal(detail) => tracing::error!(detail, "internal error"),
            _ => {}
        }
        let fields = match &self {
            ApiError::Validation(f) => Some(f.as_slice()),
            _ => None,
        };
        let mut response = (
            status,
            Json(Body {
                code,
                message: self.to_string(),
                fields,
            }),
        )
            .into_response();
        let retry_after = match &self {
            ApiError::Unavailable(_) => Some(5),
            ApiError::TooManyRequests(_, secs) => Some(*secs),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        response
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => ApiError::NotFound("resource"),
            DbError::Conflict(m) => ApiError::Conflict(m),
            e if e.is_unique_violation() => ApiError::Conflict("this already exists".into()),
            e if e.is_transient() => ApiError::Unavailable(e.to_string()),
            e => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError::from(e).into()
    }
}

impl From<BusError> for ApiError {
    fn from(e: BusError) -> Self {
        match e {
            BusError::Unavailable(m) => ApiError::Unavailable(m),
            BusError::Rejected(m) => ApiError::Internal(m),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
