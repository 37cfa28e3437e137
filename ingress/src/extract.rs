//! Request extractors: JSON bodies with stable errors and field validation, and the caller's identity.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use joxai_platform::tokens::Principal;
use joxai_schemas::types::{Actor, CustomerRef, StaffRole};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, FieldError};

/// A request body type that checks its own fields.
pub trait Validate {
    fn validate(&self) -> Vec<FieldError>;

    /// Masks card numbers, IBANs and security codes in every field a person types, customer or staff
    /// ([`joxai_nlu::redact`]). [`ValidJson`] calls it before anything else sees the body, so a masked field is
    /// stored, published, logged and shown masked. Secrets (passwords, tokens) and identifiers are not free text
    /// and stay as sent. Required, so a new request type has to say what it masks.
    fn mask_card_data(&mut self);
}

/// Masks card data in an optional or listed field (see [`Validate::mask_card_data`]); returns whether anything
/// was masked. Direction overrides, embeddings and isolates (U+202A–U+202E, U+2066–U+2069) are removed first:
/// no one needs them to chat, and they make text show other than it is stored ("\u{202E}1111…4" shows as a
/// card number the detector reads backwards).
pub fn mask_text(text: &mut String) -> bool {
    if text.chars().any(is_direction_control) {
        text.retain(|c| !is_direction_control(c));
    }
    joxai_nlu::redact::redact_in_place(text)
}

fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether the text shows nothing: only whitespace and invisible characters (zero-width spaces and
/// joiners, direction marks, the byte-order mark, soft hyphens, word joiners, variation selectors).
/// Such a message would be stored and answered as if the customer had said something.
pub fn shows_nothing(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_whitespace()
            || matches!(
                c,
                '\u{00AD}'
                    | '\u{034F}'
                    | '\u{061C}'
                    | '\u{115F}'
                    | '\u{1160}'
                    | '\u{180E}'
                    | '\u{200B}'..='\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2060}'..='\u{2064}'
                    | '\u{2066}'..='\u{206F}'
                    | '\u{3164}'
                    | '\u{FE00}'..='\u{FE0F}'
                    | '\u{FEFF}'
                    | '\u{FFA0}'
            )
    })
}

pub fn mask_optional(text: &mut Option<String>) -> bool {
    text.as_mut().is_some_and(mask_text)
}

pub fn mask_all(texts: &mut [String]) -> bool {
    // Every text is masked: no short-circuit after the first one that changed.
    texts
        .iter_mut()
        .map(mask_text)
        .filter(|&masked| masked)
        .count()
        > 0
}

/// Whether a JSON text contains the escape `\u0000` (a NUL character once decoded). A backslash
/// that is itself escaped (`\\u0000`, the six characters typed by a person) does not count.
pub fn has_escaped_nul(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            if json[i + 1..].starts_with(b"u0000") {
                return true;
            }
            // Skip the escaped character, so `\\` never starts a new escape.
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// A JSON body, deserialised and validated. Malformed JSON → 400, wrong content type → 415, a body
/// of the wrong shape or invalid fields → 422 listing the fields.
pub struct ValidJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Validate> FromRequest<S> for ValidJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !json_type {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".into(),
            ));
        }
        let bytes = bytes::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("the body is too large".into())
            } else {
                ApiError::BadRequest(e.body_text())
            }
        })?;
        if has_escaped_nul(&bytes) {
            // Postgres text cannot hold a NUL character: refuse it here, where the sender can be
            // told, rather than accept a message that could never be stored.
            return Err(ApiError::field(
                "body",
                "text must not contain the NUL character (\\u0000)",
            ));
        }
        let axum::Json(value) =
            axum::Json::<T>::from_bytes(&bytes).map_err(|rejection| match rejection {
                JsonRejection::JsonDataError(e) => ApiError::Validation(vec![FieldError {
                    field: "body".into(),
                    message: e.body_text().replace(
                        "Failed to deserialize the JSON body into the target type: ",
                        "",
                    ),
                }]),
                JsonRejection::JsonSyntaxError(_) => {
                    ApiError::BadRequest("the body is not valid JSON".into())
                }
                JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                    "send the body as JSON with Content-Type: application/json".into(),
                ),
                JsonRejection::BytesRejection(e)
                    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
                {
                    ApiError::PayloadTooLarge("the body is too large".into())
                }
                other => ApiError::BadRequest(other.body_text()),
            })?;
        let mut value = value;
        value.mask_card_data();
        let errors = value.validate();
        if errors.is_empty() {
            Ok(ValidJson(value))
        } else {
            Err(ApiError::Validation(errors))
        }
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

/// A signed-in staff member (admin, supervisor or agent) whose session is still live. Customer and
/// refresh tokens are refused.
///
/// Every request checks the token's session (`sid`) in Postgres, so a logout, a password reset or a
/// deactivation stops the access token at once rather than when it expires; the role is read there
/// too, so a demotion takes effect on the next request.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user_id: Uuid,
    pub role: StaffRole,
    pub session_id: Uuid,
    pub display_name: String,
}

impl Staff {
    /// Supervisors and admins see every ticket; agents see the queue and their own.
    pub fn sees_everything(&self) -> bool {
        matches!(self.role, StaffRole::Admin | StaffRole::Supervisor)
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id,
            role: self.role,
        }
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(staff) = parts.extensions.get::<Staff>() {
            return Ok(staff.clone());
        }
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let Principal::Staff {
            user_id,
            session_id: Some(session_id),
            ..
        } = state
            .platform
            .tokens
            .verify(token)
            .map_err(|_| ApiError::Unauthorized)?
        else {
            return Err(ApiError::Unauthorized);
        };
        let client = state.platform.db.client().await?;
        let row = client
            .query_opt(
                "SELECT u.role, u.display_name FROM staff_sessions s JOIN users u ON u.id = s.user_id
                  WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.active",
                &[&session_id, &user_id],
            )
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let role = row
            .get::<_, &str>(0)
            .parse()
            .map_err(|_| ApiError::Internal("unknown role".into()))?;
        let staff = Staff {
            user_id,
            role,
            session_id,
            display_name: row.get(1),
        };
        parts.extensions.insert(staff.clone());
        Ok(staff)
    }
}

/// A supervisor or an admin. Agents get 403.
#[derive(Debug, Clone)]
pub struct Supervisor(pub Staff);

impl FromRequestParts<AppState> for Supervisor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let staff = Staff::from_request_parts(parts, state).await?;
        if staff.sees_everything() {
            Ok(Supervisor(staff))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// An admin. Everyone else gets 403.
#[derive(Debug, Clone)]
pub struct Admin(pub Staff);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let staff = Staff::from_request_parts(parts, state).await?;
        if staff.role == StaffRole::Admin {
            Ok(Admin(staff))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// The caller's address for throttling: the TCP peer, or the client named by `X-Forwarded-For` only
/// when the peer is inside one of `JOXAI_TRUSTED_PROXIES` (otherwise anyone could forge the header and
/// get a fresh allowance with every request).
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

pub use joxai_platform::client_addr::{check_proxy_settings, parse_trusted_proxies};

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(ClientIp(joxai_platform::client_addr::client_addr(parts)))
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
        if self.conversation_id == conversation_id {
            Ok(())
        } else {
            Err(ApiError::NotFound("conversation"))
        }
    }
}

impl FromRequestParts<AppState> for Customer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        match state
            .platform
            .tokens
            .verify(token)
            .map_err(|_| ApiError::Unauthorized)?
        {
            Principal::Customer {
                conversation_id,
                customer,
            } => Ok(Customer {
                conversation_id,
                customer,
            }),
            Principal::Staff { .. } => Err(ApiError::Unauthorized),
        }
    }
}

/// Path parameters (`/tickets/{id}`): a malformed one (not a UUID) is a 404 with the usual error
/// body — an id that cannot exist names nothing — instead of axum's plain-text rejection.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|_| ApiError::NotFound("resource"))
    }
}

/// Query-string parameters: a malformed one is a 422 naming the problem, with the usual error body.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| {
                ApiError::Validation(vec![FieldError {
                    field: "query".into(),
                    message: rejection
                        .body_text()
                        .replace("Failed to deserialize query string: ", ""),
                }])
            })
    }
}
