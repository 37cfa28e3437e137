//! Staff authentication.

use axum::Json;
use axum::extract::State;
use joxai_schemas::types::StaffRole;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{Staff, Validate, ValidJson};
use crate::passwords;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

impl Validate for LoginRequest {
    fn validate(&self) -> Vec<FieldError> {
        let mut errors = vec![];
        if self.email.trim().is_empty() || self.email.len() > 254 {
            errors.push(FieldError { field: "email".into(), message: "enter your email address".into() });
        }
        if self.password.is_empty() || self.password.len() > 1024 {
            errors.push(FieldError { field: "password".into(), message: "enter your password".into() });
        }
        errors
    }
}

#[derive(Serialize)]
pub struct StaffUser {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: StaffRole,
}

#[derive(Serialize)]
pub struct LoginResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub user: StaffUser,
}

/// `POST /api/v1/auth/login` — anyone. An unknown email and a wrong password get the same answer
/// after the same work, so the response reveals nothing about which accounts exist.
pub async fn login(State(state): State<AppState>, ValidJson(req): ValidJson<LoginRequest>) -> ApiResult<Json<LoginResponse>> {
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt(
            "SELECT id, email, display_name, role, password_hash FROM users WHERE lower(email) = lower($1) AND active",
            &[&req.email.trim()],
        )
        .await?;
    let stored = row.as_ref().map(|r| r.get::<_, String>(4));
    if !passwords::verify(req.password, stored).await {
        return Err(ApiError::Unauthorized);
    }
    let row = row.ok_or(ApiError::Unauthorized)?;
    let role: StaffRole = row.get::<_, &str>(3).parse().map_err(|_| ApiError::Internal("bad role".into()))?;
    let user = StaffUser { id: row.get(0), email: row.get(1), display_name: row.get(2), role };
    let (access_token, expires_in) = state.platform.tokens.issue_staff(user.id, role, Uuid::now_v7());
    tracing::info!(user_id = %user.id, "staff signed in");
    Ok(Json(LoginResponse { access_token, token_type: "Bearer", expires_in, user }))
}

/// `GET /api/v1/auth/me` — any signed-in staff member: who am I.
pub async fn me(State(state): State<AppState>, staff: Staff) -> ApiResult<Json<StaffUser>> {
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt("SELECT id, email, display_name, role FROM users WHERE id = $1 AND active", &[&staff.user_id])
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Json(StaffUser { id: row.get(0), email: row.get(1), display_name: row.get(2), role: staff.role }))
}
