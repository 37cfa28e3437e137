//! Staff accounts and availability.
//!
//! Accounts (create, role, name, active, password) are written here directly rather than through the
//! bus: they are authentication data, not chat or ticket state, and a password hash has no business
//! sitting in the command stream for a week. Availability and capacity decide automatic assignment,
//! so they go to the ticket worker as a command, which then hands out waiting tickets.

use crate::extract::{Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use joxai_platform::rows::parse;
use joxai_schemas::Envelope;
use joxai_schemas::commands::{AssignWaitingTickets, SetAvailability};
use joxai_schemas::types::{Availability, StaffRole};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::dispatch::{Dispatched, dispatch};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{Admin, Staff, Supervisor, ValidJson, Validate, mask_optional, mask_text};
use crate::passwords;
use crate::routes::auth::{password_errors, revoke_sessions};
use crate::routes::page::Page;

pub const USER_COLUMNS: &str = "id, email, display_name, role, active, availability, capacity, created_at,
    (SELECT count(*) FROM tickets t WHERE t.assignee_id = users.id AND t.status IN ('open', 'in_progress'))";
pub const USER_COLUMN_COUNT: usize = 9;

#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: StaffRole,
    pub active: bool,
    pub availability: Availability,
    /// Their own capacity; `null`: the bank's default (settings, `assignment.default_capacity`).
    pub capacity: Option<i32>,
    /// What automatic assignment holds them to: their own capacity, else the bank's default.
    pub effective_capacity: i32,
    /// Active (open or in progress) tickets assigned to the user: their load against `effective_capacity`.
    pub open_tickets: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A user row as the API shows it; `default_capacity` is the bank's current default (settings).
pub fn user_view(row: &tokio_postgres::Row, default_capacity: i32) -> ApiResult<UserView> {
    let capacity: Option<i32> = row.get(6);
    Ok(UserView {
        id: row.get(0),
        email: row.get(1),
        display_name: row.get(2),
        role: parse(row.get(3))?,
        active: row.get(4),
        availability: parse(row.get(5))?,
        capacity,
        effective_capacity: capacity.unwrap_or(default_capacity),
        created_at: row.get(7),
        open_tickets: row.get(8),
    })
}

async fn load(state: &AppState, id: Uuid) -> ApiResult<UserView> {
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
            &[&id],
        )
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    user_view(&row, state.default_capacity())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFilter {
    #[serde(default)]
    pub role: Option<StaffRole>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/users` — supervisors and admins (assignment needs the list). Sorted by name; the
/// cursor is the id of the last user of the page (names are not unique, so the key is (name, id)).
pub async fn list(
    State(state): State<AppState>,
    _: Supervisor,
    Query(f): Query<UserFilter>,
) -> ApiResult<Json<Page<UserView>>> {
    let limit = crate::routes::page::limit(f.limit)?;
    let after: Option<Uuid> = match &f.cursor {
        Some(c) => Some(
            c.parse()
                .map_err(|_| ApiError::field("cursor", "not a cursor returned by this API"))?,
        ),
        None => None,
    };
    let client = state.platform.db.client().await?;
    let rows = client
        .query(
            &format!(
                "SELECT {USER_COLUMNS} FROM users WHERE ($1::text IS NULL OR role = $1) AND ($2::bool IS NULL OR active = $2)
                   AND ($3::uuid IS NULL OR (display_name, id) > (SELECT display_name, id FROM users WHERE id = $3))
                 ORDER BY display_name, id LIMIT {}",
                limit + 1
            ),
            &[&f.role.map(|r| r.as_str()), &f.active, &after],
        )
        .await?;
    let mut items: Vec<UserView> = rows
        .iter()
        .map(|r| user_view(r, state.default_capacity()))
        .collect::<ApiResult<_>>()?;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_cursor = if more {
        items.last().map(|u| u.id.simple().to_string())
    } else {
        None
    };
    Ok(Json(Page { items, next_cursor }))
}

/// `GET /api/v1/users/{id}` — supervisors and admins.
pub async fn get(
    State(state): State<AppState>,
    _: Supervisor,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(load(&state, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub email: String,
    pub display_name: String,
    pub role: StaffRole,
    pub password: String,
    #[serde(default)]
    pub capacity: Option<i32>,
}

fn name_errors(name: &str) -> Vec<FieldError> {
    let n = name.trim().chars().count();
    if n == 0 || n > 100 {
        vec![FieldError {
            field: "display_name".into(),
            message: "1 to 100 characters".into(),
        }]
    } else {
        vec![]
    }
}

fn capacity_errors(capacity: Option<i32>) -> Vec<FieldError> {
    match capacity {
        Some(c) if !(0..=100).contains(&c) => vec![FieldError {
            field: "capacity".into(),
            message: "0 to 100".into(),
        }],
        _ => vec![],
    }
}

impl Validate for CreateUserRequest {
    /// The display name is shown to customers; the email is an identifier and the password a secret.
    fn mask_card_data(&mut self) {
        mask_text(&mut self.display_name);
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = password_errors(
            "password",
            &self.password,
            &[self.email.trim(), self.display_name.trim()],
        );
        let email = self.email.trim();
        if email.len() > 254
            || !email.contains('@')
            || email.starts_with('@')
            || email.ends_with('@')
        {
            errors.push(FieldError {
                field: "email".into(),
                message: "a valid email address".into(),
            });
        }
        errors.extend(name_errors(&self.display_name));
        errors.extend(capacity_errors(self.capacity));
        errors
    }
}

/// `POST /api/v1/users` — admins.
pub async fn create(
    State(state): State<AppState>,
    _: Admin,
    ValidJson(req): ValidJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let hash = passwords::hash_async(req.password)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let id = Uuid::now_v7();
    let client = state.platform.db.client().await?;
    client
        .execute(
            "INSERT INTO users (id, email, display_name, password_hash, role, capacity) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&id, &req.email.trim(), &req.display_name.trim(), &hash, &req.role.as_str(), &req.capacity],
        )
        .await
        .map_err(|e| match ApiError::from(e) {
            ApiError::Conflict(_) => ApiError::Conflict("a user with this email already exists".into()),
            other => other,
        })?;
    Ok((StatusCode::CREATED, Json(load(&state, id).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub role: Option<StaffRole>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub capacity: Option<i32>,
}

impl Validate for UpdateUserRequest {
    fn mask_card_data(&mut self) {
        mask_optional(&mut self.display_name);
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = self
            .display_name
            .as_deref()
            .map(name_errors)
            .unwrap_or_default();
        errors.extend(capacity_errors(self.capacity));
        errors
    }
}

/// `PATCH /api/v1/users/{id}` — admins. Deactivating a user ends their sessions at once. An admin
/// cannot demote or deactivate themselves (the last admin would lock everyone out).
pub async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<Uuid>,
    ValidJson(req): ValidJson<UpdateUserRequest>,
) -> ApiResult<Response> {
    if id == admin.user_id
        && (req.active == Some(false) || req.role.is_some_and(|r| r != StaffRole::Admin))
    {
        return Err(ApiError::Conflict(
            "you cannot demote or deactivate yourself".into(),
        ));
    }
    let client = state.platform.db.client().await?;
    let updated = client
        .execute(
            "UPDATE users SET display_name = coalesce($2, display_name), role = coalesce($3, role),
                    active = coalesce($4, active), updated_at = now() WHERE id = $1",
            &[
                &id,
                &req.display_name.as_deref().map(str::trim),
                &req.role.map(|r| r.as_str()),
                &req.active,
            ],
        )
        .await?;
    if updated == 0 {
        return Err(ApiError::NotFound("user"));
    }
    if req.active == Some(false) {
        revoke_sessions(&state, id, None, "deactivated").await?;
    }
    if let Some(capacity) = req.capacity {
        let command = SetAvailability {
            user_id: id,
            availability: None,
            capacity: Some(capacity),
            actor: admin.actor(),
        };
        if let Dispatched::Pending(c) = dispatch(&state, Envelope::new(command), "user").await? {
            return Ok(Dispatched::pending_response(c));
        }
    } else if req.active.is_some() || req.role.is_some() {
        // Who may take tickets changed: hand out waiting ones.
        dispatch(
            &state,
            Envelope::new(AssignWaitingTickets {
                actor: admin.actor(),
            }),
            "user",
        )
        .await?;
    }
    Ok(Json(load(&state, id).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    pub password: String,
}

impl Validate for ResetPasswordRequest {
    /// The password is a secret: hashed, never stored or shown.
    fn mask_card_data(&mut self) {}

    fn validate(&self) -> Vec<FieldError> {
        password_errors("password", &self.password, &[])
    }
}

/// `POST /api/v1/users/{id}/password` — admins: set a new password; the user's sessions end.
pub async fn reset_password(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<Uuid>,
    ValidJson(req): ValidJson<ResetPasswordRequest>,
) -> ApiResult<StatusCode> {
    let hash = passwords::hash_async(req.password)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let client = state.platform.db.client().await?;
    let updated = client
        .execute(
            "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
            &[&id, &hash],
        )
        .await?;
    if updated == 0 {
        return Err(ApiError::NotFound("user"));
    }
    revoke_sessions(&state, id, None, "password_reset").await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityRequest {
    pub availability: Availability,
}

impl Validate for AvailabilityRequest {
    /// Nothing here is free text.
    fn mask_card_data(&mut self) {}

    fn validate(&self) -> Vec<FieldError> {
        vec![]
    }
}

/// `PUT /api/v1/me/availability` — any staff member, for themselves only.
pub async fn set_my_availability(
    State(state): State<AppState>,
    staff: Staff,
    ValidJson(req): ValidJson<AvailabilityRequest>,
) -> ApiResult<Response> {
    let command = SetAvailability {
        user_id: staff.user_id,
        availability: Some(req.availability),
        capacity: None,
        actor: staff.actor(),
    };
    if let Dispatched::Pending(c) = dispatch(&state, Envelope::new(command), "user").await? {
        return Ok(Dispatched::pending_response(c));
    }
    Ok(Json(load(&state, staff.user_id).await?).into_response())
}
