//! Staff authentication.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ClientIp, Staff, ValidJson, Validate};
use crate::passwords;
use crate::routes::users::{USER_COLUMN_COUNT, USER_COLUMNS, UserView, user_view};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

impl Validate for LoginRequest {
    /// The email and password are credentials, compared and never stored as typed.
    fn mask_card_data(&mut self) {}

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = vec![];
        if self.email.trim().is_empty() || self.email.len() > 254 {
            errors.push(FieldError {
                field: "email".into(),
                message: "enter your email address".into(),
            });
        }
        if self.password.is_empty() || self.password.len() > 1024 {
            errors.push(FieldError {
                field: "password".into(),
                message: "enter your password".into(),
            });
        }
        errors
    }
}

#[derive(Serialize)]
pub struct LoginResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    /// Single use: each refresh returns a new one. Presenting a spent one ends the session.
    pub refresh_token: String,
    pub refresh_expires_in: i64,
    pub user: UserView,
}

/// How long a session can be kept alive by refreshing, without signing in again.
const SESSION_TTL_SECS: i64 = 14 * 24 * 3600;
/// Failed sign-ins counted over this window.
const THROTTLE_WINDOW_SECS: f64 = 15.0 * 60.0;
/// Failed sign-ins for one account from one client address after which that pair is refused for
/// the rest of the window (even with the right password): guessing from one place is capped at 5
/// per 15 minutes. The same account from another address is not affected, so an attacker who knows
/// a staff member's email cannot lock them out.
pub const MAX_FAILURES_PER_ACCOUNT_AND_IP: i64 = 5;
/// Failed sign-ins for one account from anywhere after which every attempt on it is slowed (never
/// refused): a guesser spread over many addresses gets [`SLOW_DOWN`] per try, the real user a short
/// wait.
pub const SLOW_ACCOUNT_AFTER: i64 = 20;
/// Failed sign-ins from one address (many accounts: password spraying) after which its attempts are
/// slowed, and, far beyond what an office behind one NAT produces, refused.
pub const SLOW_IP_AFTER: i64 = 50;
pub const MAX_FAILURES_PER_IP: i64 = 500;
const SLOW_DOWN: std::time::Duration = std::time::Duration::from_secs(2);

pub const MIN_PASSWORD_CHARS: usize = 12;

/// The lowest zxcvbn score a staff password may have: 3 means "safely unguessable" for an online
/// attack and a slow hash (about 10^10 guesses). A long password can still be weak (`passwordpassword`,
/// the bank's name and the year), which a length rule alone lets through.
pub const MIN_PASSWORD_SCORE: u8 = 3;

/// Why `password` may not be a staff password, in plain words, or nothing when it may. `about_the_user`
/// holds what an attacker would try first (the email, the name): a password built from them counts
/// as weak.
pub fn password_errors(field: &str, password: &str, about_the_user: &[&str]) -> Vec<FieldError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS || password.len() > 1024 {
        return vec![FieldError {
            field: field.into(),
            message: format!("the password must be {MIN_PASSWORD_CHARS} to 1024 characters long"),
        }];
    }
    // zxcvbn matches a user input only as a whole word, so each input goes in whole and in its parts
    // (`robin.hood@bank.example` → `robin`, `hood`, `robin.hood`, `bank`, ...).
    let mut guessable: Vec<&str> = Vec::new();
    for input in about_the_user {
        guessable.push(input);
        guessable.extend(input.split('@'));
        guessable.extend(
            input
                .split(|c: char| !c.is_alphanumeric())
                .filter(|part| part.len() >= 3),
        );
    }
    // zxcvbn looks at the first 100 characters only, so this stays fast whatever is sent.
    let strength = zxcvbn::zxcvbn(password, &guessable);
    if u8::from(strength.score()) >= MIN_PASSWORD_SCORE {
        return vec![];
    }
    let mut message = String::from("the password is too easy to guess");
    if let Some(feedback) = strength.feedback() {
        if let Some(warning) = feedback.warning() {
            message.push_str(&format!(
                ": {}",
                warning.to_string().trim_end_matches('.').to_lowercase()
            ));
        }
        let advice: Vec<String> = feedback
            .suggestions()
            .iter()
            .map(ToString::to_string)
            .collect();
        if !advice.is_empty() {
            message.push_str(&format!(". {}", advice.join(" ")));
        }
    }
    if !message.ends_with('.') {
        message.push('.');
    }
    message.push_str(
        " A few unrelated words together make a strong password that is easy to remember.",
    );
    vec![FieldError {
        field: field.into(),
        message,
    }]
}

/// The refresh token is 256 random bits, so SHA-256 is enough to store it: nothing to brute-force.
fn refresh_hash(token: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

fn new_refresh_token() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether a sign-in for `account` from `ip` may be checked: refused for a guessed-at pair or a
/// spraying address, slowed when the account or the address is under attack from elsewhere.
async fn throttled(state: &AppState, account: &str, ip: &str) -> ApiResult<bool> {
    // Its own connection, returned before any slowing down: a flood of slowed attempts must not
    // hold the pool.
    let client = state.platform.db.client().await?;
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE account = $1 AND client_ip = $2),
                    count(*) FILTER (WHERE account = $1),
                    count(*) FILTER (WHERE client_ip = $2)
               FROM login_failures
              WHERE (account = $1 OR client_ip = $2) AND at > now() - make_interval(secs => $3)",
            &[&account, &ip, &THROTTLE_WINDOW_SECS],
        )
        .await?;
    drop(client);
    let (pair, per_account, per_ip): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    if pair >= MAX_FAILURES_PER_ACCOUNT_AND_IP || per_ip >= MAX_FAILURES_PER_IP {
        return Ok(true);
    }
    if per_account >= SLOW_ACCOUNT_AFTER || per_ip >= SLOW_IP_AFTER {
        tracing::warn!(client_ip = %ip, per_account, per_ip, "sign-in slowed: many failures for this account or address");
        tokio::time::sleep(SLOW_DOWN).await;
    }
    Ok(false)
}

async fn record_failure(
    client: &deadpool_postgres::Client,
    account: &str,
    ip: &str,
) -> ApiResult<()> {
    client
        .execute(
            "INSERT INTO login_failures (account, client_ip) VALUES ($1, $2)",
            &[&account, &ip],
        )
        .await?;
    Ok(())
}

fn too_many() -> ApiError {
    ApiError::TooManyRequests(
        "too many failed sign-ins; try again later".into(),
        THROTTLE_WINDOW_SECS as u64,
    )
}

/// Open a session for `user_id`: its row, its first refresh token and an access token.
async fn open_session(
    state: &AppState,
    client: &deadpool_postgres::Client,
    user: UserView,
) -> ApiResult<LoginResponse> {
    let session_id = Uuid::now_v7();
    let refresh_token = new_refresh_token();
    client
        .execute(
            "INSERT INTO staff_sessions (id, user_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))",
            &[&session_id, &user.id, &(SESSION_TTL_SECS as f64)],
        )
        .await?;
    client
        .execute(
            "INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)",
            &[&refresh_hash(&refresh_token), &session_id],
        )
        .await?;
    let (access_token, expires_in) = state
        .platform
        .tokens
        .issue_staff(user.id, user.role, session_id);
    Ok(LoginResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token,
        refresh_expires_in: SESSION_TTL_SECS,
        user,
    })
}

/// `POST /api/v1/auth/login` — anyone. An unknown email and a wrong password get the same answer
/// after the same work, so the response reveals nothing about which accounts exist. Throttled per
/// (account, client address), slowed per account and per address, before the password is even
/// checked ([`throttled`]).
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ValidJson(req): ValidJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let account = req.email.trim().to_lowercase();
    if throttled(&state, &account, &ip).await? {
        tracing::warn!(client_ip = %ip, "sign-in throttled");
        return Err(too_many());
    }
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt(
            &format!(
                "SELECT {USER_COLUMNS}, password_hash FROM users WHERE lower(email) = $1 AND active"
            ),
            &[&account],
        )
        .await?;
    let stored = row.as_ref().map(|r| r.get::<_, String>(USER_COLUMN_COUNT));
    if !passwords::verify(req.password, stored).await {
        record_failure(&client, &account, &ip).await?;
        return Err(ApiError::WrongCredentials);
    }
    let row = row.ok_or(ApiError::WrongCredentials)?;
    let user = user_view(&row, state.default_capacity())?;
    // Only this address's failures are forgiven: the real user signing in must not reset the count of
    // an attacker guessing from elsewhere.
    client
        .execute(
            "DELETE FROM login_failures WHERE account = $1 AND client_ip = $2",
            &[&account, &ip],
        )
        .await?;
    tracing::info!(user_id = %user.id, "staff signed in");
    Ok(Json(open_session(&state, &client, user).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

impl Validate for RefreshRequest {
    /// Nothing here is free text.
    fn mask_card_data(&mut self) {}

    fn validate(&self) -> Vec<FieldError> {
        if self.refresh_token.is_empty() || self.refresh_token.len() > 256 {
            vec![FieldError {
                field: "refresh_token".into(),
                message: "required".into(),
            }]
        } else {
            vec![]
        }
    }
}

/// `POST /api/v1/auth/refresh` — anyone holding a refresh token. Rotates it: the presented token is
/// spent and a new one returned. A spent token presented again means it was copied: the whole
/// session (every token of the family, and its access tokens) is revoked.
pub async fn refresh(
    State(state): State<AppState>,
    ValidJson(req): ValidJson<RefreshRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let mut client = state.platform.db.client().await?;
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            "SELECT r.session_id, r.used_at IS NOT NULL, s.revoked_at IS NULL AND s.expires_at > now() AND u.active, s.user_id
               FROM refresh_tokens r JOIN staff_sessions s ON s.id = r.session_id JOIN users u ON u.id = s.user_id
              WHERE r.token_hash = $1 FOR UPDATE OF r, s",
            &[&refresh_hash(&req.refresh_token)],
        )
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let (session_id, spent, live, user_id): (Uuid, bool, bool, Uuid) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if spent {
        tx.execute(
            "UPDATE staff_sessions SET revoked_at = coalesce(revoked_at, now()), revoked_reason = coalesce(revoked_reason, 'refresh_token_reuse') WHERE id = $1",
            &[&session_id],
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(%session_id, %user_id, "a spent refresh token was presented again: session revoked");
        return Err(ApiError::Unauthorized);
    }
    if !live {
        return Err(ApiError::Unauthorized);
    }
    let refresh_token = new_refresh_token();
    tx.execute(
        "UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1",
        &[&refresh_hash(&req.refresh_token)],
    )
    .await?;
    tx.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)",
        &[&refresh_hash(&refresh_token), &session_id],
    )
    .await?;
    let user_row = tx
        .query_one(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
            &[&user_id],
        )
        .await?;
    let remaining: f64 = tx
        .query_one("SELECT extract(epoch FROM expires_at - now())::float8 FROM staff_sessions WHERE id = $1", &[&session_id])
        .await?
        .get(0);
    tx.commit().await?;
    let user = user_view(&user_row, state.default_capacity())?;
    let (access_token, expires_in) = state
        .platform
        .tokens
        .issue_staff(user.id, user.role, session_id);
    Ok(Json(LoginResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token,
        refresh_expires_in: remaining as i64,
        user,
    }))
}

/// Revoke sessions of `user_id` (all, or all but `keep`). Their access tokens stop working at once.
pub async fn revoke_sessions(
    state: &AppState,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
) -> ApiResult<()> {
    let client = state.platform.db.client().await?;
    client
        .execute(
            "UPDATE staff_sessions SET revoked_at = now(), revoked_reason = $3
              WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)",
            &[&user_id, &keep, &reason],
        )
        .await?;
    Ok(())
}

/// `POST /api/v1/auth/logout` — staff. Ends the caller's session: the refresh token and the access
/// token stop working, and the staff WebSocket closes. The body (`{}` or `{refresh_token}`) is ignored.
pub async fn logout(State(state): State<AppState>, staff: Staff) -> ApiResult<StatusCode> {
    let client = state.platform.db.client().await?;
    client
        .execute(
            "UPDATE staff_sessions SET revoked_at = now(), revoked_reason = 'logout' WHERE id = $1 AND revoked_at IS NULL",
            &[&staff.session_id],
        )
        .await?;
    tracing::info!(user_id = %staff.user_id, session_id = %staff.session_id, "staff signed out");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

impl Validate for ChangePasswordRequest {
    /// Passwords are secrets: hashed, never stored or shown.
    fn mask_card_data(&mut self) {}

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = password_errors("new_password", &self.new_password, &[]);
        if self.current_password.is_empty() || self.current_password.len() > 1024 {
            errors.push(FieldError {
                field: "current_password".into(),
                message: "enter your current password".into(),
            });
        }
        errors
    }
}

/// `POST /api/v1/auth/password` — staff: change one's own password. Needs the current one (counted
/// like a failed sign-in when wrong); every other session of the user is revoked.
pub async fn change_password(
    State(state): State<AppState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    ValidJson(req): ValidJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let client = state.platform.db.client().await?;
    let row = client
        .query_one(
            "SELECT lower(email), password_hash FROM users WHERE id = $1",
            &[&staff.user_id],
        )
        .await?;
    let account: String = row.get(0);
    if throttled(&state, &account, &ip).await? {
        return Err(too_many());
    }
    if !passwords::verify(req.current_password, Some(row.get(1))).await {
        record_failure(&client, &account, &ip).await?;
        return Err(ApiError::field(
            "current_password",
            "the current password is wrong",
        ));
    }
    // Judged again knowing who is asking: a password made of one's own email or name is weak.
    let weak = password_errors(
        "new_password",
        &req.new_password,
        &[&account, &staff.display_name],
    );
    if !weak.is_empty() {
        return Err(ApiError::Validation(weak));
    }
    let hash = passwords::hash_async(req.new_password)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    client
        .execute(
            "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
            &[&staff.user_id, &hash],
        )
        .await?;
    revoke_sessions(
        &state,
        staff.user_id,
        Some(staff.session_id),
        "password_changed",
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/me` — any signed-in staff member: who am I.
pub async fn me(State(state): State<AppState>, staff: Staff) -> ApiResult<Json<UserView>> {
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
            &[&staff.user_id],
        )
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Json(user_view(&row, state.default_capacity())?))
}
