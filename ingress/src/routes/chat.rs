//! The customer chat API used by the widget.

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use joxai_platform::rows::{MESSAGE_COLUMNS, message_view};
use joxai_schemas::Envelope;
use joxai_schemas::commands::{
    EndChat, EscalateConversation, PostCustomerMessage, RateConversation, StartConversation,
};
use joxai_schemas::events::Typing;
use joxai_schemas::types::{
    ConversationOwner, CustomerRef, EscalationReason, NamedMessage, Priority,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ClientIp, Customer, ValidJson, Validate, mask_optional, mask_text};

/// Longest customer message, in characters. Long enough for any real question; short enough that
/// nobody pastes a document into the bank's chat.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// A verified identity signed by the bank's page: `signature` is the hex HMAC-SHA256, keyed with the
/// widget secret, of [`identity_signing_input`]: each field as its length in bytes, a colon and the
/// field itself (`7:CUST-42` `10:John Smith` `10:1764806400`, concatenated). Because every field says
/// how long it is, no character inside a field (a `|`, a digit, a colon) can move text from one field
/// into another, so one signature can never be read as a different identity.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedIdentity {
    pub customer_ref: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub issued_at: i64,
    pub signature: String,
}

/// How long a signed identity may be used after it was signed.
const IDENTITY_MAX_AGE_SECS: i64 = 600;

/// How far in the future a signature's `issued_at` may be: the bank's clock and ours may differ a
/// little. More than that is refused, since a future timestamp would stretch the identity's life.
const IDENTITY_CLOCK_SKEW_SECS: i64 = 60;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StartSessionRequest {
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub identity: Option<SignedIdentity>,
    /// Where the customer wants the agent's replies when they are no longer in the chat. Optional;
    /// stored for this conversation only and never logged.
    #[serde(default)]
    pub email: Option<String>,
}

/// A plausible address: one `@`, something before it, a dotted domain after it, no spaces or angle
/// brackets (it goes into a mail header), at most 254 characters (RFC 5321). Whether it exists is for
/// the mail server to say.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && email.chars().all(|c| {
            c.is_ascii_graphic()
                && !matches!(
                    c,
                    '<' | '>' | '(' | ')' | ',' | ';' | ':' | '"' | '[' | ']' | '\\'
                )
        })
}

/// Why an address the customer typed is refused, if it is: not an address, or it holds a card number
/// (an address is stored as typed, so it must never carry card data; nothing is masked in it).
pub fn email_error(email: &str) -> Option<FieldError> {
    let message = if joxai_nlu::redact::contains_pan(email) {
        "an email address must not contain a card number"
    } else if !valid_email(email) {
        "an email address like name@example.com"
    } else {
        return None;
    };
    Some(FieldError {
        field: "email".into(),
        message: message.into(),
    })
}

impl Validate for StartSessionRequest {
    /// The identity's fields are signed by the bank and checked as sent; its display name is masked once the
    /// signature is verified ([`verify_identity`]).
    fn mask_card_data(&mut self) {}

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = vec![];
        if let Some(locale) = &self.locale
            && !matches!(locale.as_str(), "en" | "es")
        {
            errors.push(FieldError {
                field: "locale".into(),
                message: "must be \"en\" or \"es\"".into(),
            });
        }
        if let Some(error) = self.email.as_deref().and_then(email_error) {
            errors.push(error);
        }
        if let Some(identity) = &self.identity {
            if identity.customer_ref.is_empty() || identity.customer_ref.len() > 128 {
                errors.push(FieldError {
                    field: "identity.customer_ref".into(),
                    message: "1 to 128 characters".into(),
                });
            }
            if identity
                .display_name
                .as_ref()
                .is_some_and(|n| n.chars().count() > 100)
            {
                errors.push(FieldError {
                    field: "identity.display_name".into(),
                    message: "at most 100 characters".into(),
                });
            }
        }
        errors
    }
}

#[derive(Serialize)]
pub struct StartSessionResponse {
    pub conversation_id: Uuid,
    pub token: String,
    pub expires_in: i64,
    pub verified: bool,
}

/// The exact bytes the bank signs: customer reference, display name (empty when none) and
/// `issued_at` in decimal, each written as `<length in bytes>:<field>`.
pub fn identity_signing_input(
    customer_ref: &str,
    display_name: Option<&str>,
    issued_at: i64,
) -> String {
    let mut out = String::new();
    for field in [
        customer_ref,
        display_name.unwrap_or(""),
        &issued_at.to_string(),
    ] {
        out.push_str(&format!("{}:{field}", field.len()));
    }
    out
}

/// Whether an identity signed at `issued_at` may still be used at `now`: not older than
/// [`IDENTITY_MAX_AGE_SECS`], not further ahead than [`IDENTITY_CLOCK_SKEW_SECS`]. The subtraction
/// is checked, so an absurd `issued_at` (near `i64::MIN` or `i64::MAX`) is refused, never wrapped.
pub fn identity_fresh(issued_at: i64, now: i64) -> bool {
    match now.checked_sub(issued_at) {
        Some(age) => (-IDENTITY_CLOCK_SKEW_SECS..=IDENTITY_MAX_AGE_SECS).contains(&age),
        None => false,
    }
}

/// Check a signed identity; `None` when the signature is wrong, too old or from the future.
pub fn verify_identity(secret: &[u8], identity: &SignedIdentity, now: i64) -> Option<CustomerRef> {
    if !identity_fresh(identity.issued_at, now) {
        return None;
    }
    let signed = identity_signing_input(
        &identity.customer_ref,
        identity.display_name.as_deref(),
        identity.issued_at,
    );
    let signature = hex::decode(&identity.signature).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(signed.as_bytes());
    // verify_slice compares in constant time.
    mac.verify_slice(&signature).ok()?;
    Some(CustomerRef {
        external_ref: Some(identity.customer_ref.clone()),
        // Signed by the bank, yet typed by a person at some point: masked like any name staff type.
        display_name: identity
            .display_name
            .as_deref()
            .map(|name| joxai_nlu::redact::redact(name).into_owned()),
        verified: true,
    })
}

/// Sign an identity the way the bank's page does (used by the demo page and tests).
pub fn sign_identity(
    secret: &[u8],
    customer_ref: &str,
    display_name: Option<&str>,
    issued_at: i64,
) -> String {
    let signed = identity_signing_input(customer_ref, display_name, issued_at);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(signed.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `POST /api/v1/chat/sessions` — public. Opens a conversation and returns a token scoped to it.
/// With a valid signed identity the customer is verified and can get account-specific answers;
/// a wrong signature is refused rather than silently downgraded. Rate limited per client address
/// ([`crate::rate_limit`]).
pub async fn start_session(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    request: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<StartSessionResponse>)> {
    state.limiter.session(&ip)?;
    // The body is optional: an anonymous visitor may send nothing at all.
    let empty = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .is_some_and(|v| v == "0")
        || !request
            .headers()
            .contains_key(axum::http::header::CONTENT_TYPE);
    let req = if empty {
        StartSessionRequest::default()
    } else {
        use axum::extract::FromRequest as _;
        let ValidJson(req) = ValidJson::<StartSessionRequest>::from_request(request, &()).await?;
        req
    };
    let customer = match &req.identity {
        None => CustomerRef::default(),
        Some(identity) => {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            verify_identity(
                state
                    .platform
                    .config
                    .widget_secret
                    .expose_secret()
                    .as_bytes(),
                identity,
                now,
            )
            .ok_or_else(|| {
                ApiError::field(
                    "identity.signature",
                    "the identity signature is invalid or expired",
                )
            })?
        }
    };
    open_conversation(
        &state,
        customer,
        req.locale.unwrap_or_else(|| "en".into()),
        None,
        req.email.as_deref(),
    )
    .await
}

/// Start a conversation for `customer` and issue its token.
async fn open_conversation(
    state: &AppState,
    customer: CustomerRef,
    locale: String,
    follows_conversation_id: Option<Uuid>,
    email: Option<&str>,
) -> ApiResult<(StatusCode, Json<StartSessionResponse>)> {
    let conversation_id = Uuid::now_v7();
    let command = StartConversation {
        conversation_id,
        customer: customer.clone(),
        locale,
        channel: "widget".into(),
        follows_conversation_id,
    };
    if let Some(email) = email {
        // Stored before the conversation starts, so the email worker finds it for the first reply.
        let client = state.platform.db.client().await?;
        client
            .execute(
                "INSERT INTO conversation_contacts (conversation_id, email) VALUES ($1, $2)",
                &[&conversation_id, &email],
            )
            .await?;
    }
    let envelope = Envelope::with_id(conversation_id, conversation_id, None, command);
    state
        .platform
        .bus
        .publish(
            state.platform.bus.subjects().command::<StartConversation>(),
            &envelope,
        )
        .await?;
    let verified = customer.verified;
    let (token, expires_in) = state
        .platform
        .tokens
        .issue_customer(conversation_id, customer);
    Ok((
        StatusCode::CREATED,
        Json(StartSessionResponse {
            conversation_id,
            token,
            expires_in,
            verified,
        }),
    ))
}

/// `POST /api/v1/chat/conversations/{id}/follow-up` — the customer of an ended conversation writes
/// again: a new conversation (the bot answers it) for the same customer, in the same language, linked
/// to the ended one and its ticket. 409 while the conversation is still open. Rate limited like a new
/// session.
pub async fn follow_up(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    customer: Customer,
    Path(conversation_id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<StartSessionResponse>)> {
    customer.owns(conversation_id)?;
    state.limiter.session(&ip)?;
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt(
            "SELECT c.status, c.locale, k.email FROM conversations c
             LEFT JOIN conversation_contacts k ON k.conversation_id = c.id WHERE c.id = $1",
            &[&conversation_id],
        )
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    drop(client);
    if row.get::<_, String>(0) != "closed" {
        return Err(ApiError::Conflict(
            "this conversation is still open: write in it".into(),
        ));
    }
    // The follow-up keeps the address the customer left, so the agent's answer still reaches them by email.
    let email: Option<String> = row.get(2);
    open_conversation(
        &state,
        customer.customer,
        row.get(1),
        Some(conversation_id),
        email.as_deref(),
    )
    .await
}

/// Whether the conversation has ended (closed by the customer, by staff, or with its ticket). A
/// conversation not stored yet is open. The one query behind the checks below.
async fn is_closed(state: &AppState, conversation_id: Uuid) -> ApiResult<bool> {
    let client = state.platform.db.client().await?;
    Ok(client
        .query_opt(
            "SELECT 1 FROM conversations WHERE id = $1 AND status = 'closed'",
            &[&conversation_id],
        )
        .await?
        .is_some())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    /// The address, or `null` to forget the one left before.
    pub email: Option<String>,
}

impl Validate for ContactRequest {
    /// Not masked: an address holding a card number is refused instead ([`email_error`]).
    fn mask_card_data(&mut self) {}

    fn validate(&self) -> Vec<FieldError> {
        self.email
            .as_deref()
            .map(str::trim)
            .and_then(email_error)
            .into_iter()
            .collect()
    }
}

#[derive(Serialize)]
pub struct ContactResponse {
    pub conversation_id: Uuid,
    /// The address as stored, masked (`a***@example.com`); `null` when none is.
    pub email: Option<String>,
}

/// `PUT /api/v1/chat/conversations/{id}/contact` — the customer of that conversation: leave (or,
/// with `null`, forget) the address where the agent's replies, the resolution and a transcript on
/// request are emailed. Allowed after the chat has ended too (to ask for the transcript). The answer
/// and the logs show the address masked. Rate limited per conversation.
pub async fn set_contact(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    customer: Customer,
    Path(conversation_id): Path<Uuid>,
    ValidJson(req): ValidJson<ContactRequest>,
) -> ApiResult<Json<ContactResponse>> {
    customer.owns(conversation_id)?;
    state.limiter.action(&ip, conversation_id)?;
    let client = state.platform.db.client().await?;
    let email = req.email.map(|e| e.trim().to_owned());
    match &email {
        Some(email) => {
            client
                .execute(
                    "INSERT INTO conversation_contacts (conversation_id, email) VALUES ($1, $2)
                     ON CONFLICT (conversation_id) DO UPDATE SET email = EXCLUDED.email",
                    &[&conversation_id, email],
                )
                .await?;
        }
        None => {
            client
                .execute(
                    "DELETE FROM conversation_contacts WHERE conversation_id = $1",
                    &[&conversation_id],
                )
                .await?;
        }
    }
    let masked = email.as_deref().map(joxai_platform::email::mask);
    tracing::info!(%conversation_id, email = masked.as_deref().unwrap_or("none"), "customer contact saved");
    Ok(Json(ContactResponse {
        conversation_id,
        email: masked,
    }))
}

/// `POST /api/v1/chat/conversations/{id}/transcript-email` — the customer of that conversation:
/// "Email me this conversation". 202 once the request is on the bus; the email worker sends the
/// transcript (card data masked) to the address left for the conversation. 409 when no address was
/// left. Asking again with no new message in between sends nothing more (the request's id is derived
/// from the conversation's latest message). Rate limited per conversation.
pub async fn email_transcript(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    customer: Customer,
    Path(conversation_id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<ContactResponse>)> {
    use joxai_schemas::events::TranscriptRequested;
    customer.owns(conversation_id)?;
    state.limiter.action(&ip, conversation_id)?;
    let client = state.platform.db.client().await?;
    let row = client
        .query_one(
            "SELECT (SELECT email FROM conversation_contacts WHERE conversation_id = $1),
                    (SELECT id FROM messages WHERE conversation_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1)",
            &[&conversation_id],
        )
        .await?;
    let email: Option<String> = row.get(0);
    let Some(email) = email else {
        return Err(ApiError::Conflict(
            "leave your email address first: there is nowhere to send the conversation".into(),
        ));
    };
    let last_message: Option<Uuid> = row.get(1);
    let id = joxai_schemas::derive_id(
        conversation_id,
        &format!(
            "conversation.transcript_requested:{}",
            last_message.unwrap_or_default()
        ),
    );
    let bus = &state.platform.bus;
    bus.publish(
        bus.subjects().event::<TranscriptRequested>(conversation_id),
        &Envelope::with_id(id, id, None, TranscriptRequested { conversation_id }),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ContactResponse {
            conversation_id,
            email: Some(joxai_platform::email::mask(&email)),
        }),
    ))
}

/// Whether the conversation has ended, or `None` when Postgres cannot tell us quickly. A customer's message
/// must be accepted while Postgres is down (the bus keeps it until the ticket worker can store it), so
/// this check never blocks a message: when it cannot answer, the message goes through, and the ticket
/// worker hands a late message of an ended conversation back to the assistant.
async fn has_ended(state: &AppState, conversation_id: Uuid) -> Option<bool> {
    tokio::time::timeout(ENDED_CHECK_DEADLINE, is_closed(state, conversation_id))
        .await
        .ok()?
        .ok()
}

/// How long [`has_ended`] may wait for Postgres before letting the message through.
const ENDED_CHECK_DEADLINE: std::time::Duration = std::time::Duration::from_millis(300);

/// Refuse a customer token whose chat has ended ([`ApiError::ChatEnded`], 401) for what only a live
/// chat may do: typing, asking for a person, ending it again. Closing a chat (by the customer, by
/// staff, or when its ticket is resolved) thus revokes its token for everything but what the widget
/// still needs afterwards: reading the transcript, the rating and the follow-up (and the WebSocket,
/// which only listens, and which the widget reconnects to show the ended chat after a reload).
///
/// A customer message is checked by [`has_ended`] instead: 409, so the widget carries it into a
/// follow-up conversation, and never a refusal while Postgres cannot answer.
pub async fn refuse_if_ended(state: &AppState, conversation_id: Uuid) -> ApiResult<()> {
    if is_closed(state, conversation_id).await? {
        return Err(ApiError::ChatEnded);
    }
    Ok(())
}

/// 409 when the conversation has ended: a message there would reach nobody (see the conversation
/// lifecycle in the ticket worker).
pub async fn refuse_if_closed(state: &AppState, conversation_id: Uuid, why: &str) -> ApiResult<()> {
    if is_closed(state, conversation_id).await? {
        return Err(ApiError::Conflict(why.to_owned()));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostMessageRequest {
    /// The client's own id for this message. Sending the same id again (a retry) never creates a
    /// second message.
    pub client_message_id: String,
    pub text: String,
    /// The client id of this customer's previous message in the conversation that was accepted
    /// (answered 202), if any. The message is then stored, and answered, after that one even if
    /// that one is delayed on its way: the customer reads the answers in the order they asked.
    #[serde(default)]
    pub after_client_message_id: Option<String>,
    /// Whether card data was masked in `text` ([`Validate::mask_card_data`]): the ticket worker then adds a
    /// note for the customer once per conversation.
    #[serde(skip)]
    pub card_data_masked: bool,
}

/// A client's message id: 1 to 64 ASCII letters, digits, '-' or '_'.
fn client_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Validate for PostMessageRequest {
    fn mask_card_data(&mut self) {
        self.card_data_masked = mask_text(&mut self.text);
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = vec![];
        if !client_id_ok(&self.client_message_id) {
            errors.push(FieldError {
                field: "client_message_id".into(),
                message: "1 to 64 letters, digits, '-' or '_'".into(),
            });
        }
        if let Some(after) = &self.after_client_message_id
            && !client_id_ok(after)
        {
            errors.push(FieldError {
                field: "after_client_message_id".into(),
                message: "1 to 64 letters, digits, '-' or '_'".into(),
            });
        }
        if crate::extract::shows_nothing(&self.text) {
            errors.push(FieldError {
                field: "text".into(),
                message: "the message is empty".into(),
            });
        } else if self.text.chars().count() > MAX_MESSAGE_CHARS {
            errors.push(FieldError {
                field: "text".into(),
                message: format!("the message is longer than {MAX_MESSAGE_CHARS} characters"),
            });
        }
        errors
    }
}

#[derive(Serialize)]
pub struct Accepted {
    pub message_id: Uuid,
}

/// The message id of a customer message: the same conversation and client id always give the same id.
pub fn customer_message_id(conversation_id: Uuid, client_message_id: &str) -> Uuid {
    Uuid::new_v5(&conversation_id, client_message_id.as_bytes())
}

/// `POST /api/v1/chat/conversations/{id}/messages` — the customer of that conversation only.
/// Answers 202 once the message is durably on the bus; the reply arrives over the WebSocket.
/// Rate limited per conversation and per client address ([`crate::rate_limit`]).
pub async fn post_message(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    customer: Customer,
    Path(conversation_id): Path<Uuid>,
    ValidJson(req): ValidJson<PostMessageRequest>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    customer.owns(conversation_id)?;
    state.limiter.message(&ip, conversation_id)?;
    if has_ended(&state, conversation_id).await == Some(true) {
        // The widget carries the message into a follow-up conversation on this answer.
        return Err(ApiError::Conflict(
            "this conversation has ended: start a follow-up conversation to write again".into(),
        ));
    }
    let message_id = customer_message_id(conversation_id, &req.client_message_id);
    // Card numbers, IBANs and security codes were masked by `ValidJson`, before the text reaches the bus,
    // the database, the logs or any model.
    let text = req.text.trim().to_owned();
    // The client's id could read as a card number too ("1795493154029-0" passes the Luhn check).
    // It is only a retry key, and the message id above is already derived from it, so such an id
    // travels and is stored as a stand-in made from the message id: retries still map to the one
    // message, and the digits never leave the ingress. (The 202 body carries the message id.)
    let client_message_id = if joxai_nlu::redact::contains_pan(&req.client_message_id) {
        format!("masked-{}", message_id.simple())
    } else {
        req.client_message_id
    };
    let command = PostCustomerMessage {
        conversation_id,
        message_id,
        client_message_id,
        text,
        customer: customer.customer,
        card_data_masked: req.card_data_masked,
        after_message_id: req
            .after_client_message_id
            .as_deref()
            .map(|after| customer_message_id(conversation_id, after)),
    };
    let envelope = Envelope::with_id(message_id, message_id, None, command);
    state
        .platform
        .bus
        .publish(
            state
                .platform
                .bus
                .subjects()
                .command::<PostCustomerMessage>(),
            &envelope,
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { message_id })))
}

/// What the widget needs to restore itself after a reload: the transcript and the conversation's
/// state (closed? a person answering? already rated?).
#[derive(Serialize)]
pub struct Transcript {
    pub conversation_id: Uuid,
    /// `open` or `closed`; `open` before the first message is stored.
    pub status: String,
    /// `bot` or `agent` (who answers now).
    pub owner: ConversationOwner,
    /// The agent handling the conversation, if any: `{id, name}`.
    pub agent: Option<AgentRef>,
    pub rating: Option<i16>,
    /// The conversation's latest ticket, if it was handed to people: the widget's waiting banner names it.
    pub ticket_number: Option<String>,
    pub messages: Vec<NamedMessage>,
}

#[derive(Serialize)]
pub struct AgentRef {
    pub id: Uuid,
    pub name: String,
}

/// The messages of a conversation, oldest first, with agents' display names.
pub async fn transcript(state: &AppState, conversation_id: Uuid) -> ApiResult<Vec<NamedMessage>> {
    let client = state.platform.db.client().await?;
    let rows = client
        .query(
            &format!(
                "SELECT {MESSAGE_COLUMNS}, (SELECT u.display_name FROM users u WHERE u.id = messages.author_id)
                   FROM messages WHERE conversation_id = $1 ORDER BY created_at, id"
            ),
            &[&conversation_id],
        )
        .await?;
    let author_column = MESSAGE_COLUMNS.split(',').count();
    rows.iter()
        .map(|r| {
            Ok(NamedMessage {
                message: message_view(r)?,
                author_name: r.get(author_column),
            })
        })
        .collect()
}

/// `GET /api/v1/chat/conversations/{id}/messages` — the customer of that conversation only.
pub async fn get_messages(
    State(state): State<AppState>,
    customer: Customer,
    Path(conversation_id): Path<Uuid>,
) -> ApiResult<Json<Transcript>> {
    customer.owns(conversation_id)?;
    let client = state.platform.db.client().await?;
    let row = client
        .query_opt(
            "SELECT c.status, c.owner, c.rating, c.assigned_agent_id, u.display_name,
                    (SELECT t.number FROM tickets t WHERE t.conversation_id = c.id ORDER BY t.created_at DESC, t.id DESC LIMIT 1)
               FROM conversations c LEFT JOIN users u ON u.id = c.assigned_agent_id WHERE c.id = $1",
            &[&conversation_id],
        )
        .await?;
    // The row appears when the worker stores the start command, a few ms after the session opens.
    let (status, owner, rating, agent, ticket_number) = match &row {
        Some(r) => {
            let agent = r.get::<_, Option<Uuid>>(3).map(|id| AgentRef {
                id,
                name: r.get::<_, Option<String>>(4).unwrap_or_default(),
            });
            (
                r.get::<_, String>(0),
                joxai_platform::rows::parse(r.get(1))?,
                r.get(2),
                agent,
                r.get(5),
            )
        }
        None => ("open".to_owned(), ConversationOwner::Bot, None, None, None),
    };
    let messages = transcript(&state, conversation_id).await?;
    Ok(Json(Transcript {
        conversation_id,
        status,
        owner,
        agent,
        rating,
        ticket_number,
        messages,
    }))
}

/// `POST /api/v1/chat/conversations/{id}/close` — the customer of that conversation: "end chat".
/// The conversation closes (and its active ticket), `conversation.closed` is pushed, and the widget
/// asks for the rating. Once closed, the token may no longer close it (401 `chat_ended`, see
/// [`refuse_if_ended`]). Rate limited per conversation.
pub async fn close(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    customer: Customer,
    Path(conversation_id): Path<Uuid>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse as _;
    customer.owns(conversation_id)?;
    state.limiter.action(&ip, conversation_id)?;
    refuse_if_ended(&state, conversation_id).await?;
    let command = EndChat { conversation_id };
    crate::dispatch::dispatch(&state, Envelope::new(command), "conversation")
        .await?
        .respond(|| async move {
            Ok(Json(ClosedResponse {
                conversation_id,
                status: "closed",
            })
            .into_response())
        })
        .await
}

#[derive(Serialize)]
pub struct ClosedResponse {
    pub conversation_id: Uuid,
    pub status: &'static str,
}

/// `POST /api/v1/chat/conversations/{id}/escalate` — the customer of that conversation only:
/// "talk to a person". Opens at most one ticket however often it is pressed. Rate limited per
/// conversation; refused once the chat has ended ([`refuse_if_ended`]).
pub async fn escalate(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    customer: Customer,
    Path(conversation_id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    customer.owns(conversation_id)?;
    state.limiter.action(&ip, conversation_id)?;
    refuse_if_ended(&state, conversation_id).await?;
    let command = EscalateConversation {
        conversation_id,
        reason: EscalationReason::CustomerAsked,
        priority: Priority::Normal,
        requested_by: "customer".into(),
        trigger_message_id: None,
        summary: None,
    };
    let envelope = Envelope::new(command);
    state
        .platform
        .bus
        .publish(
            state
                .platform
                .bus
                .subjects()
                .command::<EscalateConversation>(),
            &envelope,
        )
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    pub rating: i16,
    #[serde(default)]
    pub comment: Option<String>,
}

impl Validate for RatingRequest {
    fn mask_card_data(&mut self) {
        mask_optional(&mut self.comment);
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errors = vec![];
        if !(1..=5).contains(&self.rating) {
            errors.push(FieldError {
                field: "rating".into(),
                message: "1 to 5".into(),
            });
        }
        if self
            .comment
            .as_ref()
            .is_some_and(|c| c.chars().count() > 1000)
        {
            errors.push(FieldError {
                field: "comment".into(),
                message: "at most 1000 characters".into(),
            });
        }
        errors
    }
}

#[derive(Serialize)]
pub struct RatingResponse {
    pub conversation_id: Uuid,
    pub rating: i16,
    pub comment: Option<String>,
}

/// `POST /api/v1/chat/conversations/{id}/rating` — the customer of that conversation: CSAT 1–5 with
/// an optional comment, once (409 after that). Allowed after the chat has ended (that is when the
/// widget asks for it). Rate limited per conversation.
pub async fn rate(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    customer: Customer,
    Path(conversation_id): Path<Uuid>,
    ValidJson(req): ValidJson<RatingRequest>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse as _;
    customer.owns(conversation_id)?;
    state.limiter.action(&ip, conversation_id)?;
    let comment = req
        .comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    let command = RateConversation {
        conversation_id,
        rating: req.rating,
        comment: comment.clone(),
    };
    crate::dispatch::dispatch(&state, Envelope::new(command), "conversation")
        .await?
        .respond(|| async move {
            Ok(Json(RatingResponse {
                conversation_id,
                rating: req.rating,
                comment,
            })
            .into_response())
        })
        .await
}

/// `POST /api/v1/chat/conversations/{id}/typing` — the customer of that conversation: an ephemeral
/// `typing` event for staff. Not stored anywhere but the event stream. Rate limited per
/// conversation; refused once the chat has ended ([`refuse_if_ended`]).
pub async fn typing(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    customer: Customer,
    Path(conversation_id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    customer.owns(conversation_id)?;
    state.limiter.typing(&ip, conversation_id)?;
    refuse_if_ended(&state, conversation_id).await?;
    let event = Typing {
        conversation_id,
        sender: joxai_schemas::types::Sender::Customer,
        name: customer.customer.display_name,
    };
    let bus = &state.platform.bus;
    bus.publish(
        bus.subjects().event::<Typing>(conversation_id),
        &Envelope::new(event),
    )
    .await?;
    Ok(StatusCode::ACCEPTED)
}

#[cfg(test)]
mod identity_tests {
    use super::{identity_fresh, identity_signing_input};

    #[test]
    fn freshness_never_overflows_and_allows_ten_minutes_back_and_one_minute_ahead() {
        let edges = [
            i64::MIN,
            i64::MIN + 1,
            -601,
            -600,
            -61,
            -60,
            -1,
            0,
            1,
            60,
            61,
            600,
            601,
            i64::MAX - 1,
            i64::MAX,
        ];
        for &now in &edges {
            for &issued_at in &edges {
                // Exact arithmetic in i128, which cannot overflow here, is the reference.
                let age = i128::from(now) - i128::from(issued_at);
                assert_eq!(
                    identity_fresh(issued_at, now),
                    (-60..=600).contains(&age),
                    "now {now}, issued_at {issued_at}"
                );
            }
        }
    }

    #[test]
    fn moving_a_separator_between_fields_always_changes_what_is_signed() {
        let fields = [
            "",
            "a",
            "a|b",
            "|",
            "1:a",
            "3:abc",
            "ñ",
            "10:",
            "a|1700000000",
        ];
        let mut seen = std::collections::HashMap::new();
        for customer_ref in fields {
            for name in fields {
                for issued_at in [0, 1, 1_700_000_000, -5] {
                    let signed = identity_signing_input(customer_ref, Some(name), issued_at);
                    if let Some(other) =
                        seen.insert(signed.clone(), (customer_ref, name, issued_at))
                    {
                        panic!(
                            "{other:?} and {:?} sign the same bytes {signed:?}",
                            (customer_ref, name, issued_at)
                        );
                    }
                }
            }
        }
        // No name signs exactly like an empty one: the widget may send either.
        assert_eq!(
            identity_signing_input("c", None, 1),
            identity_signing_input("c", Some(""), 1)
        );
    }
}
