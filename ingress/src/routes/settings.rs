//! Settings: the bank's (admins edit them; the widget reads the public part) and each staff member's
//! own preferences. These are configuration, not chat or ticket state, so the ingress writes them
//! directly; a change is audited and announced so every process applies it without a restart
//! ([`joxai_platform::settings`]).

use axum::Json;
use axum::extract::State;
use joxai_platform::settings::{
    self, Invalid, PublicSettings, SaveError, StaffPreferences, Stored, SystemSettings,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{Admin, Staff, ValidJson, Validate, mask_text};

fn field_errors(errors: Vec<Invalid>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| FieldError {
            field: e.field,
            message: e.message,
        })
        .collect()
}

/// `GET /api/v1/settings` — admins. The whole document with its version.
pub async fn get(State(state): State<AppState>, _: Admin) -> ApiResult<Json<Stored>> {
    Ok(Json(settings::load(&state.platform.db).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutSettingsRequest {
    /// The version the admin loaded; a save over someone else's newer one is refused with 409.
    #[serde(default)]
    pub version: Option<i64>,
    pub settings: SystemSettings,
}

impl Validate for PutSettingsRequest {
    /// Greetings and other wording are typed by staff and shown to customers: masked like any text.
    fn mask_card_data(&mut self) {
        for texts in self.settings.profile.texts.values_mut() {
            mask_text(&mut texts.greeting);
            mask_text(&mut texts.out_of_scope);
            mask_text(&mut texts.after_hours);
        }
        mask_text(&mut self.settings.profile.name);
    }

    fn validate(&self) -> Vec<FieldError> {
        field_errors(self.settings.validate())
    }
}

/// `PUT /api/v1/settings` — admins. Validated (422 names every invalid field), stored, audited and
/// applied live by every process.
pub async fn put(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ValidJson(req): ValidJson<PutSettingsRequest>,
) -> ApiResult<Json<Stored>> {
    let platform = &state.platform;
    match settings::save(
        &platform.db,
        &platform.bus,
        admin.user_id,
        &req.settings,
        req.version,
    )
    .await
    {
        Ok(stored) => {
            tracing::info!(user_id = %admin.user_id, version = stored.version, "settings changed");
            Ok(Json(stored))
        }
        Err(SaveError::Invalid(errors)) => Err(ApiError::Validation(field_errors(errors))),
        Err(SaveError::Stale(current)) => Err(ApiError::Conflict(format!(
            "another administrator saved the settings meanwhile (now version {current}); reload them and try again"
        ))),
        Err(SaveError::Db(e)) => Err(e.into()),
    }
}

#[derive(Serialize)]
pub struct AuditEntry {
    pub version: i64,
    pub actor_id: Uuid,
    pub actor_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub before: Option<serde_json::Value>,
    pub after: serde_json::Value,
}

/// `GET /api/v1/settings/audit` — admins. The last 100 changes, newest first.
pub async fn audit(State(state): State<AppState>, _: Admin) -> ApiResult<Json<Vec<AuditEntry>>> {
    let client = state.platform.db.client().await?;
    let rows = client
        .query(
            "SELECT a.version, a.actor_id, u.display_name, a.at, a.before, a.after
             FROM settings_audit a JOIN users u ON u.id = a.actor_id ORDER BY a.id DESC LIMIT 100",
            &[],
        )
        .await?;
    Ok(Json(
        rows.iter()
            .map(|r| AuditEntry {
                version: r.get(0),
                actor_id: r.get(1),
                actor_name: r.get(2),
                at: r.get(3),
                before: r.get(4),
                after: r.get(5),
            })
            .collect(),
    ))
}

/// `GET /api/v1/settings/public` — anyone. The bank's name, colours, logo and wording, and whether
/// it is open now: what the widget themes itself with when it loads. Read from Postgres on each
/// call, so a change shows on the next page load wherever the widget is served from.
pub async fn public(State(state): State<AppState>) -> ApiResult<Json<PublicSettings>> {
    let stored = settings::load(&state.platform.db).await?;
    Ok(Json(stored.settings.public(OffsetDateTime::now_utc())))
}

/// `GET /api/v1/me/preferences` — staff. Their own preferences (the defaults until they save).
pub async fn my_preferences(
    State(state): State<AppState>,
    staff: Staff,
) -> ApiResult<Json<StaffPreferences>> {
    Ok(Json(
        settings::load_preferences(&state.platform.db, staff.user_id).await?,
    ))
}

#[derive(Deserialize)]
#[serde(transparent)]
pub struct PutPreferencesRequest(pub StaffPreferences);

impl Validate for PutPreferencesRequest {
    /// Switches and a language code: no free text.
    fn mask_card_data(&mut self) {}

    fn validate(&self) -> Vec<FieldError> {
        field_errors(self.0.validate())
    }
}

/// `PUT /api/v1/me/preferences` — staff. The email worker reads them before every staff email.
pub async fn set_my_preferences(
    State(state): State<AppState>,
    staff: Staff,
    ValidJson(PutPreferencesRequest(preferences)): ValidJson<PutPreferencesRequest>,
) -> ApiResult<Json<StaffPreferences>> {
    settings::save_preferences(&state.platform.db, staff.user_id, &preferences).await?;
    Ok(Json(preferences))
}
