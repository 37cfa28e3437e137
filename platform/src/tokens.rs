//! The JWTs staff and customers carry, issued by the ingress and checked by the ingress and the
//! notifier alike.
//!
//! Validation pins the algorithm (HS256: `alg: none` or an RSA/HMAC confusion is refused), requires
//! `exp`, `iss` and `aud`, and checks the token type, so a customer token or a refresh token is never
//! accepted where a staff access token is required.

use std::sync::Arc;

use joxai_schemas::types::{CustomerRef, StaffRole};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A staff member's short-lived access token.
    Access,
    /// A customer's token, scoped to exactly one conversation.
    Customer,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub typ: TokenKind,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<StaffRole>,
    /// The staff session (refresh-token family) this access token belongs to; logging out revokes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerRef>,
}

/// Who is calling, once the token checked out.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    Staff {
        user_id: Uuid,
        role: StaffRole,
        session_id: Option<Uuid>,
    },
    Customer {
        conversation_id: Uuid,
        customer: CustomerRef,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("the token is missing, malformed, expired or not signed by us")]
    Invalid,
    #[error("this kind of token is not accepted here")]
    WrongKind,
}

#[derive(Clone)]
pub struct TokenKeys {
    inner: Arc<Keys>,
}

struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    access_ttl: i64,
    customer_ttl: i64,
}

impl TokenKeys {
    pub fn new(config: &Config) -> Self {
        let secret = config.jwt_secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            inner: Arc::new(Keys {
                encoding: EncodingKey::from_secret(secret),
                decoding: DecodingKey::from_secret(secret),
                validation,
                issuer: config.jwt_issuer.clone(),
                audience: config.jwt_audience.clone(),
                access_ttl: config.access_token_ttl_secs as i64,
                customer_ttl: config.customer_token_ttl_secs as i64,
            }),
        }
    }

    fn issue(
        &self,
        sub: String,
        typ: TokenKind,
        ttl: i64,
        fill: impl FnOnce(&mut Claims),
    ) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut claims = Claims {
            sub,
            typ,
            iss: self.inner.issuer.clone(),
            aud: self.inner.audience.clone(),
            iat: now,
            exp: now + ttl,
            jti: Uuid::now_v7(),
            role: None,
            sid: None,
            customer: None,
        };
        fill(&mut claims);
        // HS256 signing of a serialisable struct cannot fail.
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.inner.encoding,
        )
        .unwrap_or_default()
    }

    pub fn issue_staff(&self, user_id: Uuid, role: StaffRole, session_id: Uuid) -> (String, i64) {
        let token = self.issue(
            user_id.to_string(),
            TokenKind::Access,
            self.inner.access_ttl,
            |c| {
                c.role = Some(role);
                c.sid = Some(session_id);
            },
        );
        (token, self.inner.access_ttl)
    }

    pub fn issue_customer(&self, conversation_id: Uuid, customer: CustomerRef) -> (String, i64) {
        let token = self.issue(
            conversation_id.to_string(),
            TokenKind::Customer,
            self.inner.customer_ttl,
            |c| {
                c.customer = Some(customer);
            },
        );
        (token, self.inner.customer_ttl)
    }

    pub fn decode(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.inner.decoding, &self.inner.validation)
            .map(|data| data.claims)
            .map_err(|_| TokenError::Invalid)
    }

    /// Check a token and say who it belongs to. Only access and customer tokens name a principal.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let claims = self.decode(token)?;
        let sub: Uuid = claims.sub.parse().map_err(|_| TokenError::Invalid)?;
        match claims.typ {
            TokenKind::Access => Ok(Principal::Staff {
                user_id: sub,
                role: claims.role.ok_or(TokenError::Invalid)?,
                session_id: claims.sid,
            }),
            TokenKind::Customer => Ok(Principal::Customer {
                conversation_id: sub,
                customer: claims.customer.unwrap_or_default(),
            }),
        }
    }
}
