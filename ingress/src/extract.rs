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
/// was masked.
pub fn mask_text(text: &mut String) -> bool {
    joxai_nlu::redact::redact_in_place(text)
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

/// `JOXAI_TRUSTED_PROXIES`: comma-separated CIDR ranges (`10.0.0.0/8, fd00::/8`) or single
/// addresses, the way a Kubernetes ingress controller's pods are known (by their pod network, not
/// one address each). Entries that do not parse are reported by [`check_proxy_settings`].
pub fn parse_trusted_proxies(value: &str) -> (Vec<ipnet::IpNet>, Vec<String>) {
    let mut ranges = Vec::new();
    let mut invalid = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        match entry.parse::<ipnet::IpNet>() {
            Ok(net) => ranges.push(net.trunc()),
            Err(_) => match entry.parse::<std::net::IpAddr>() {
                Ok(ip) => ranges.push(ipnet::IpNet::from(ip)),
                Err(_) => invalid.push(entry.to_owned()),
            },
        }
    }
    (ranges, invalid)
}

fn trusted_proxies() -> &'static [ipnet::IpNet] {
    static PROXIES: std::sync::LazyLock<Vec<ipnet::IpNet>> = std::sync::LazyLock::new(|| {
        parse_trusted_proxies(&std::env::var("JOXAI_TRUSTED_PROXIES").unwrap_or_default()).0
    });
    &PROXIES
}

fn is_trusted_proxy(ip: &std::net::IpAddr) -> bool {
    // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d; compare it as IPv4.
    let ip = match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map(std::net::IpAddr::V4).unwrap_or(*ip),
        v4 => *v4,
    };
    trusted_proxies().iter().any(|net| net.contains(&ip))
}

/// Say at start-up what the proxy settings mean for rate limits and login throttling: invalid
/// entries are named, and listening on a non-loopback address with no trusted proxy gets a loud
/// warning, because behind a load balancer every customer would then share the proxy's address
/// (and its allowance: a handful of new chats a minute for the whole bank).
pub fn check_proxy_settings(listening_on: std::net::SocketAddr) {
    let (ranges, invalid) =
        parse_trusted_proxies(&std::env::var("JOXAI_TRUSTED_PROXIES").unwrap_or_default());
    for entry in &invalid {
        tracing::error!(entry = %entry, "JOXAI_TRUSTED_PROXIES: not an address or CIDR range; ignored");
    }
    if ranges.is_empty() && !listening_on.ip().is_loopback() {
        tracing::warn!(
            addr = %listening_on,
            "NO TRUSTED PROXIES: listening on a non-loopback address without JOXAI_TRUSTED_PROXIES. Behind a \
             load balancer or ingress controller every customer will share the proxy's address, so rate limits \
             and login throttling will count all of them as one client. Set JOXAI_TRUSTED_PROXIES to the \
             proxies' CIDR ranges (docs/deployment.md)."
        );
    } else if !ranges.is_empty() {
        let list: Vec<String> = ranges.iter().map(ToString::to_string).collect();
        tracing::info!(trusted_proxies = %list.join(","), "X-Forwarded-For is read from these proxies only");
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let Some(peer) = peer else {
            return Ok(ClientIp("unknown".into()));
        };
        if is_trusted_proxy(&peer)
            && let Some(forwarded) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
        {
            // The right-most address not added by one of our proxies is the real client.
            let client = forwarded
                .split(',')
                .rev()
                .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
                .find(|ip| !is_trusted_proxy(ip));
            if let Some(client) = client {
                return Ok(ClientIp(client.to_string()));
            }
        }
        Ok(ClientIp(peer.to_string()))
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

#[cfg(test)]
mod proxy_tests {
    use super::*;

    #[test]
    fn trusted_proxies_are_cidr_ranges_or_single_addresses_and_nonsense_is_reported() {
        let (ranges, invalid) = parse_trusted_proxies(
            " 10.0.0.0/8, 192.168.1.7 ,fd00::/8, 10.1.2.3/40, proxy.example ",
        );
        let contains = |ip: &str| {
            ranges
                .iter()
                .any(|n| n.contains(&ip.parse::<std::net::IpAddr>().expect("ip")))
        };
        assert!(contains("10.244.3.9"));
        assert!(contains("192.168.1.7"));
        assert!(!contains("192.168.1.8"));
        assert!(contains("fd12::1"));
        assert!(!contains("11.0.0.1"));
        assert_eq!(
            invalid,
            vec!["10.1.2.3/40".to_owned(), "proxy.example".to_owned()]
        );
    }
}
