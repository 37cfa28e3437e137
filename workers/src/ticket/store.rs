//! The ticket worker's SQL. Every statement is keyed so that running it twice changes nothing.

use deadpool_postgres::Transaction;
use joxai_platform::db::DbError;
use joxai_platform::rows::{MESSAGE_COLUMNS, TICKET_COLUMNS, message_view, ticket_view};
use joxai_schemas::commands::EscalateConversation;
use joxai_schemas::derive_id;
use joxai_schemas::events::ConversationHistory;
use joxai_schemas::types::{
    ConversationOwner, CustomerRef, EscalationReason, MessageView, Sender, TicketView,
};
use tokio_postgres::Row;
use uuid::Uuid;

pub struct ConversationState {
    pub owner: ConversationOwner,
    /// The conversation has ended (`status = 'closed'`).
    pub closed: bool,
    pub locale: String,
    pub customer: CustomerRef,
}

#[derive(Clone)]
pub struct NewMessage<'a> {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub sender: Sender,
    pub author_id: Option<Uuid>,
    pub text: &'a str,
    pub client_message_id: Option<&'a str>,
    pub in_reply_to: Option<Uuid>,
    pub intent: Option<&'a str>,
    pub confidence: Option<f32>,
}

impl NewMessage<'_> {
    /// The nine insert parameters ($1–$9), in the order every message insert here uses
    /// (`sender` is `self.sender.as_str()`, kept alive by the caller).
    fn params<'s>(
        &'s self,
        sender: &'s &'static str,
    ) -> [&'s (dyn tokio_postgres::types::ToSql + Sync); 9] {
        [
            &self.id,
            &self.conversation_id,
            sender,
            &self.author_id,
            &self.text,
            &self.client_message_id,
            &self.in_reply_to,
            &self.intent,
            &self.confidence,
        ]
    }
}

pub struct StoredMessage {
    pub view: MessageView,
    /// False when the message was already there (a redelivered command).
    pub inserted: bool,
}

pub struct TicketOutcome {
    pub ticket: TicketView,
    pub created: bool,
    pub source_command_id: Uuid,
    pub system_message: Option<MessageView>,
}

use joxai_platform::rows::parse;

/// A conversation's state, read with its customer (`c`, `cu`); the caller adds the WHERE clause.
macro_rules! conversation_state_from {
    () => {
        "SELECT c.owner, c.locale, cu.external_ref, cu.display_name, cu.verified, c.status = 'closed'
     FROM conversations c JOIN customers cu ON cu.id = c.customer_id"
    };
}
const CONVERSATION_STATE_FROM: &str = conversation_state_from!();
const CONVERSATION_STATE: &str = concat!(conversation_state_from!(), " WHERE c.id = $1");

/// Every message insert here: the columns, filled by `$1`–`$9` in [`NewMessage::params`] order.
const INSERT_MESSAGE: &str = "INSERT INTO messages (id, conversation_id, sender, author_id, text, client_message_id, in_reply_to, intent, confidence)";

/// The CTE that follows an `ins` CTE: touch the conversation (`$2`) when a message was inserted.
const TOUCH_AFTER_INSERT: &str = "touch AS (
    UPDATE conversations SET last_message_at = now(), updated_at = now()
     WHERE id = $2 AND EXISTS (SELECT 1 FROM ins))";

/// True when a customer message of conversation `conversation`, stored before message `question`
/// and less than `window` seconds ago, has no bot answer yet (the arguments are SQL placeholders).
fn earlier_unanswered_sql(conversation: &str, question: &str, window: &str) -> String {
    format!(
        "EXISTS (
           SELECT 1 FROM messages q, messages me
            WHERE me.id = {question} AND q.conversation_id = {conversation} AND q.sender = 'customer'
              AND (q.created_at, q.id) < (me.created_at, me.id)
              AND q.created_at > now() - make_interval(secs => {window})
              AND NOT EXISTS (SELECT 1 FROM messages b WHERE b.in_reply_to = q.id AND b.sender = 'bot')
              AND NOT EXISTS (SELECT 1 FROM messages o
                               WHERE o.conversation_id = q.conversation_id AND o.sender IN ('agent', 'system')
                                 AND (o.created_at, o.id) > (q.created_at, q.id)))"
    )
}

fn conversation_state(row: &Row) -> Result<ConversationState, DbError> {
    conversation_state_at(row, 0)
}

/// The conversation's state from six columns of `row` starting at `first`, in
/// [`CONVERSATION_STATE_FROM`] order.
fn conversation_state_at(row: &Row, first: usize) -> Result<ConversationState, DbError> {
    Ok(ConversationState {
        closed: row.get(first + 5),
        owner: parse(row.get(first))?,
        locale: row.get(first + 1),
        customer: CustomerRef {
            external_ref: row.get(first + 2),
            display_name: row.get(first + 3),
            verified: row.get(first + 4),
        },
    })
}

/// Create the customer and conversation rows if they are not there yet; return the conversation's state.
///
/// Both the start command and the first message may arrive first (several workers run at once), so
/// either creates what is missing.
pub async fn ensure_conversation(
    tx: &Transaction<'_>,
    conversation_id: Uuid,
    customer: &CustomerRef,
    locale: &str,
    channel: &str,
) -> Result<ConversationState, DbError> {
    // Hot path (every message): statements are prepared once per connection, not per call.
    let state = tx.prepare_cached(CONVERSATION_STATE).await?;
    if let Some(row) = tx.query_opt(&state, &[&conversation_id]).await? {
        return conversation_state(&row);
    }
    let customer_id: Uuid = match (&customer.external_ref, customer.verified) {
        (Some(external_ref), true) => {
            let row = tx
                .query_one(
                    "INSERT INTO customers (id, external_ref, display_name, verified) VALUES ($1, $2, $3, true)
                     ON CONFLICT (external_ref) DO UPDATE
                        SET display_name = coalesce(excluded.display_name, customers.display_name)
                     RETURNING id",
                    &[&Uuid::now_v7(), external_ref, &customer.display_name],
                )
                .await?;
            row.get(0)
        }
        _ => {
            // An anonymous visitor is one customer per conversation.
            let id = derive_id(conversation_id, "customer");
            tx.execute(
                "INSERT INTO customers (id, display_name, verified) VALUES ($1, $2, false) ON CONFLICT (id) DO NOTHING",
                &[&id, &customer.display_name],
            )
            .await?;
            id
        }
    };
    tx.execute(
        "INSERT INTO conversations (id, customer_id, locale, channel) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO NOTHING",
        &[&conversation_id, &customer_id, &locale, &channel],
    )
    .await?;
    let row = tx.query_one(&state, &[&conversation_id]).await?;
    conversation_state(&row)
}

/// What only the start command knows: the conversation's language, and the ended conversation it
/// follows (with that conversation's latest ticket). Runs after [`ensure_conversation`], whichever
/// of the start command and the first message created the row.
pub async fn set_conversation_start(
    tx: &Transaction<'_>,
    conversation_id: Uuid,
    locale: &str,
    follows: Option<Uuid>,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE conversations c SET locale = $2,
                follows_conversation_id = coalesce(c.follows_conversation_id, p.id),
                follows_ticket_id = coalesce(c.follows_ticket_id,
                    (SELECT t.id FROM tickets t WHERE t.conversation_id = p.id ORDER BY t.created_at DESC, t.id DESC LIMIT 1))
           FROM (SELECT $3::uuid AS id) f LEFT JOIN conversations p ON p.id = f.id
          WHERE c.id = $1 AND (c.locale <> $2 OR (p.id IS NOT NULL AND c.follows_conversation_id IS NULL))",
        &[&conversation_id, &locale, &follows],
    )
    .await?;
    Ok(())
}

/// [`insert_customer_message_fast`]'s statement: insert the message if its conversation exists,
/// touch the conversation, return both, and the conversation's history for the classifier. (The
/// history's reads cannot see the row this statement inserts — a statement's parts share one
/// snapshot — so "the latest customer message" is the one before it.)
static CUSTOMER_MESSAGE_FAST: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH conv AS ({CONVERSATION_STATE_FROM} WHERE c.id = $2
                         AND ($10::uuid IS NULL OR EXISTS (SELECT 1 FROM messages p WHERE p.id = $10))),
         ins AS (
            {INSERT_MESSAGE} SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 FROM conv
            ON CONFLICT DO NOTHING
            RETURNING {MESSAGE_COLUMNS}
         ), {TOUCH_AFTER_INSERT}
         SELECT ins.*, conv.*, {history} FROM conv JOIN ins ON true",
        history = crate::escalation::history_columns("$2", None)
    )
});

/// [`insert_bot_reply_fast`]'s statement: lock the conversation, check owner and order, insert,
/// touch, return the reply (if stored) with the conversation's state.
static BOT_REPLY_FAST: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH conv AS ({CONVERSATION_STATE_FROM} WHERE c.id = $2 FOR UPDATE OF c),
         waiting AS (SELECT {waiting} AS w),
         ins AS (
            {INSERT_MESSAGE} SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 FROM conv, waiting
             WHERE conv.owner = 'bot' AND NOT waiting.w
            ON CONFLICT DO NOTHING
            RETURNING {MESSAGE_COLUMNS}
         ), {TOUCH_AFTER_INSERT}
         SELECT ins.*, conv.* FROM conv LEFT JOIN ins ON true",
        waiting = earlier_unanswered_sql("$2", "$7", "$10")
    )
});

/// Which of the conversation's earlier answers a bot reply publishes again, ahead of its own (see
/// [`recent_bot_replies`]): an earlier answer may be stored and not yet published, because its
/// worker is between its commit and its publish, or its publish failed while a broker node was
/// down and the command waits for redelivery, or its worker died there and the command waits for
/// its ack wait. Up to [`REPUBLISH_MAX`] answers, the newest, stored less than this long ago:
/// under the events stream's duplicate window (120 s), so a copy already published is dropped by
/// the broker, and longer than any of those waits.
pub const REPUBLISH_WINDOW: std::time::Duration = std::time::Duration::from_secs(100);
/// How many earlier answers a bot reply publishes again at most (see [`REPUBLISH_WINDOW`]). Each
/// answer republishes the ones before it, so the answer just before is the one that matters; a few
/// more cover answers stored close together.
pub const REPUBLISH_MAX: i64 = 3;

/// Whether a message is stored (a customer's previous message, before the next is stored).
pub async fn message_exists(
    client: &impl deadpool_postgres::GenericClient,
    id: Uuid,
) -> Result<bool, DbError> {
    let query = client
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM messages WHERE id = $1)")
        .await?;
    Ok(client.query_one(&query, &[&id]).await?.get(0))
}

/// [`recent_bot_replies`]'s statement.
static RECENT_BOT_REPLIES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
          WHERE conversation_id = $1 AND sender = 'bot' AND created_at > now() - make_interval(secs => $2)
          ORDER BY created_at DESC, id DESC LIMIT $3"
    )
});

/// Prepare the hot statements on this connection (a no-op once they are in its cache), so a
/// pipeline of them never waits for a prepare round trip (see `batch::run_together`).
pub async fn prepare_hot_statements(client: &deadpool_postgres::Client) -> Result<(), DbError> {
    for sql in [
        &*CUSTOMER_MESSAGE_FAST,
        &*BOT_REPLY_FAST,
        &*RECENT_BOT_REPLIES,
    ] {
        client.prepare_cached(sql).await?;
    }
    Ok(())
}

/// The common case of a customer message in one statement (one round trip, its own implicit
/// transaction): the conversation exists, the message is new, and the customer's previous message
/// (`after`, when the client named it) is already stored. It inserts the message, touches the
/// conversation and returns both the stored message and the conversation's state. `None` means "not
/// the common case" (no conversation yet, the message is already stored, or the previous one is
/// not): the caller then takes the general path, [`ensure_conversation`] and [`insert_message`] in a
/// transaction.
///
/// Why: this runs for every customer message, and Postgres round trips, not the writes themselves,
/// were most of its cost (BEGIN, read, insert, update, COMMIT).
pub async fn insert_customer_message_fast(
    client: &deadpool_postgres::Client,
    m: &NewMessage<'_>,
    after: Option<Uuid>,
) -> Result<Option<(StoredMessage, ConversationState, ConversationHistory)>, DbError> {
    let statement = client.prepare_cached(&CUSTOMER_MESSAGE_FAST).await?;
    let sender = m.sender.as_str();
    let row = client
        .query_opt(&statement, &[&m.params(&sender)[..], &[&after]].concat())
        .await?;
    let Some(row) = row else { return Ok(None) };
    // The message's ten columns, then the conversation's six, then the history's two.
    let state = conversation_state_at(&row, 10)?;
    let history = ConversationHistory {
        previous_customer_text: row.get(16),
        previous_bot_confidence: row.get(17),
    };
    Ok(Some((
        StoredMessage {
            view: message_view(&row)?,
            inserted: true,
        },
        state,
        history,
    )))
}

/// What [`insert_bot_reply_fast`] did. (Returned once per call and matched at once, so the size
/// difference between the variants costs nothing.)
#[allow(clippy::large_enum_variant)]
pub enum FastBotReply {
    /// Stored (new), with the conversation's state.
    Stored(StoredMessage, ConversationState),
    /// A person owns the conversation: nothing stored.
    AgentOwns,
    /// Not the common case (no conversation, already stored, or an earlier question still waits
    /// for its answer): the caller takes the general path.
    NotHandled,
}

/// The common case of a bot reply in one statement (one round trip, its own implicit transaction):
/// lock the conversation, check that the bot still owns it and that no earlier question of the
/// conversation (asked within `window`) is still unanswered, insert the reply and touch the
/// conversation. The checks after the lock read the statement's snapshot; when the lock had to wait
/// for another answer to commit, that snapshot may not show it, which can only make the ordering
/// check say "wait" — the general path then looks again with fresh snapshots.
pub async fn insert_bot_reply_fast(
    client: &deadpool_postgres::Client,
    m: &NewMessage<'_>,
    window: std::time::Duration,
) -> Result<FastBotReply, DbError> {
    let statement = client.prepare_cached(&BOT_REPLY_FAST).await?;
    let (sender, window) = (m.sender.as_str(), window.as_secs_f64());
    let row = client
        .query_opt(&statement, &[&m.params(&sender)[..], &[&window]].concat())
        .await?;
    let Some(row) = row else {
        return Ok(FastBotReply::NotHandled);
    };
    let state = conversation_state_at(&row, 10)?;
    if state.owner != ConversationOwner::Bot {
        return Ok(FastBotReply::AgentOwns);
    }
    if row.get::<_, Option<Uuid>>(0).is_none() {
        return Ok(FastBotReply::NotHandled);
    }
    Ok(FastBotReply::Stored(
        StoredMessage {
            view: message_view(&row)?,
            inserted: true,
        },
        state,
    ))
}

/// Lock the conversation row for the rest of the transaction and read its state.
pub async fn lock_conversation(
    tx: &Transaction<'_>,
    id: Uuid,
) -> Result<Option<ConversationState>, DbError> {
    // Lock and read in one statement; only the conversation's row is locked, not its customer's.
    let lock = tx
        .prepare_cached(&format!("{CONVERSATION_STATE} FOR UPDATE OF c"))
        .await?;
    tx.query_opt(&lock, &[&id])
        .await?
        .as_ref()
        .map(conversation_state)
        .transpose()
}

/// A customer message reached an ended conversation (accepted just before it ended, or while the ingress
/// could not read Postgres): the conversation goes back to the assistant so the message is answered
/// (see the conversation lifecycle).
pub async fn reopen_for_assistant(
    client: &deadpool_postgres::Object,
    id: Uuid,
) -> Result<(), DbError> {
    client
        .execute(
            "UPDATE conversations SET status = 'open', owner = 'bot', assigned_agent_id = NULL, updated_at = now()
              WHERE id = $1 AND status = 'closed'",
            &[&id],
        )
        .await?;
    Ok(())
}

/// Insert a message unless a message with its id (or, for bot replies, an answer to the same
/// question) is already stored.
pub async fn insert_message(
    tx: &Transaction<'_>,
    m: NewMessage<'_>,
) -> Result<StoredMessage, DbError> {
    // The insert and the conversation's touch in one statement: one round trip.
    let insert = tx
        .prepare_cached(&format!(
            "WITH ins AS (
                {INSERT_MESSAGE} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT DO NOTHING
                RETURNING {MESSAGE_COLUMNS}
             ), {TOUCH_AFTER_INSERT}
             SELECT * FROM ins"
        ))
        .await?;
    let sender = m.sender.as_str();
    let inserted = tx.query_opt(&insert, &m.params(&sender)).await?;
    if let Some(row) = inserted {
        return Ok(StoredMessage {
            view: message_view(&row)?,
            inserted: true,
        });
    }
    // Already stored: by id, or (a bot reply) another reply to the same question.
    let row = tx
        .query_one(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE id = $1 OR (sender = 'bot' AND $2::uuid IS NOT NULL AND in_reply_to = $2)
                 LIMIT 1"
            ),
            &[&m.id, &m.in_reply_to],
        )
        .await?;
    Ok(StoredMessage {
        view: message_view(&row)?,
        inserted: false,
    })
}

/// True when a customer message of this conversation, stored before `question` and less than
/// `window` ago, has no bot answer yet and nothing a person or the system said after it (a question
/// followed by an escalation, an agent's reply or a hand-back was not the bot's to answer). The
/// answer to `question` then waits for it, so that the customer reads the answers in the order they
/// asked, even when several AI responders work on one conversation at once, or the earlier answer is
/// late because a broker node or a responder died while it was in flight. The window bounds the
/// wait: a question that will never get a bot answer (its handling failed for good) holds the later
/// ones up for at most that long.
pub async fn earlier_question_unanswered(
    tx: &Transaction<'_>,
    conversation_id: Uuid,
    question: Uuid,
    window: std::time::Duration,
) -> Result<bool, DbError> {
    let query = tx
        .prepare_cached(&format!(
            "SELECT {}",
            earlier_unanswered_sql("$1", "$2", "$3")
        ))
        .await?;
    let row = tx
        .query_one(
            &query,
            &[&conversation_id, &question, &window.as_secs_f64()],
        )
        .await?;
    Ok(row.get(0))
}

/// The conversation's newest `limit` bot replies stored in the last `window`, oldest first. Their
/// `message.created` events are published again, under the same ids, ahead of a later event of the
/// same conversation (see `TicketWorker::publish_replies`).
pub async fn recent_bot_replies(
    client: &impl deadpool_postgres::GenericClient,
    conversation_id: Uuid,
    window: std::time::Duration,
    limit: i64,
) -> Result<Vec<MessageView>, DbError> {
    let query = client.prepare_cached(&RECENT_BOT_REPLIES).await?;
    let rows = client
        .query(&query, &[&conversation_id, &window.as_secs_f64(), &limit])
        .await?;
    rows.iter().rev().map(message_view).collect()
}

/// The conversation's state inside `tx`, without locking it: for a writer that holds the ticket's
/// lock and must not take the conversation's after it (escalation locks them the other way round).
pub async fn conversation_in(
    tx: &Transaction<'_>,
    id: Uuid,
) -> Result<Option<ConversationState>, DbError> {
    tx.query_opt(CONVERSATION_STATE, &[&id])
        .await?
        .as_ref()
        .map(conversation_state)
        .transpose()
}

/// The conversation's state without locking it (`None` if there is no such conversation).
pub async fn conversation(
    client: &tokio_postgres::Client,
    id: Uuid,
) -> Result<Option<ConversationState>, DbError> {
    client
        .query_opt(CONVERSATION_STATE, &[&id])
        .await?
        .as_ref()
        .map(conversation_state)
        .transpose()
}

/// A subject that helps triage at a glance: what the conversation is about (the assistant's latest reading
/// of it, in plain words, or else why it was escalated) and the customer's first words, e.g.
/// `Lost or stolen card: "I lost my card in Madrid and…"`.
async fn triage_subject(
    tx: &Transaction<'_>,
    cmd: &EscalateConversation,
) -> Result<String, DbError> {
    let row = tx
        .query_one(
            "SELECT (SELECT text FROM messages WHERE conversation_id = $1 AND sender = 'customer' ORDER BY created_at, id LIMIT 1),
                    (SELECT intent FROM messages WHERE conversation_id = $1 AND intent IS NOT NULL
                      ORDER BY created_at DESC, id DESC LIMIT 1)",
            &[&cmd.conversation_id],
        )
        .await?;
    let (first, intent): (Option<String>, Option<String>) = (row.get(0), row.get(1));
    let reason = match cmd.reason {
        EscalationReason::CustomerAsked => "Customer asked for a person",
        EscalationReason::UrgentIntent => "Urgent",
        EscalationReason::Frustration => "Customer seems frustrated",
        EscalationReason::LowConfidence => "The assistant did not understand",
        EscalationReason::AiFailure => "The assistant could not answer",
        EscalationReason::NeedsHumanAction => "Needs action by a person",
        EscalationReason::Manual => "Opened by staff",
    };
    // An intent the assistant was unsure of is still the best short label there is; "greeting" and the
    // like say nothing about the case, so the reason stands instead.
    let about = intent
        .filter(|i| {
            !matches!(
                i.as_str(),
                "greeting" | "goodbye" | "thanks" | "human_agent" | "out_of_scope"
            )
        })
        .map(|i| {
            let words = i.replace('_', " ");
            let mut chars = words.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
                .unwrap_or_default()
        });
    let label = match (cmd.reason, about) {
        (EscalationReason::UrgentIntent, Some(about)) => format!("Urgent: {about}"),
        (_, Some(about)) => about,
        (_, None) => reason.to_owned(),
    };
    Ok(match first {
        Some(text) => {
            const QUOTE_CHARS: usize = 60;
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let quote: String = text.chars().take(QUOTE_CHARS).collect();
            let cut = if text.chars().count() > QUOTE_CHARS {
                "…"
            } else {
                ""
            };
            format!("{label}: \"{quote}{cut}\"")
        }
        None => label,
    })
}

/// Open the conversation's ticket unless it already has an active one. The caller holds the
/// conversation's row lock, so two escalations cannot both see "no ticket".
pub async fn open_ticket(
    tx: &Transaction<'_>,
    command_id: Uuid,
    cmd: &EscalateConversation,
    locale: &str,
    settings: &joxai_platform::settings::SystemSettings,
) -> Result<TicketOutcome, DbError> {
    let existing = tx
        .query_opt(
            &format!(
                "SELECT {TICKET_COLUMNS} FROM tickets
                 WHERE conversation_id = $1 AND status IN ('open', 'in_progress')"
            ),
            &[&cmd.conversation_id],
        )
        .await?;
    if let Some(row) = existing {
        let source: Uuid = row.get(10);
        let system_message = tx
            .query_opt(
                &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1"),
                &[&derive_id(source, "system-message")],
            )
            .await?
            .map(|r| message_view(&r))
            .transpose()?;
        return Ok(TicketOutcome {
            ticket: ticket_view(&row)?,
            created: false,
            source_command_id: source,
            system_message,
        });
    }
    let ticket_id = derive_id(command_id, "ticket");
    let subject = match &cmd.summary {
        Some(summary) => summary.clone(),
        None => triage_subject(tx, cmd).await?,
    };
    let row = tx
        .query_one(
            &format!(
                "INSERT INTO tickets (id, number, conversation_id, subject, priority, reason, source_command_id)
                 VALUES ($1, 'TKT-' || lpad(nextval('ticket_number_seq')::text, 6, '0'), $2, $3, $4, $5, $6)
                 RETURNING {TICKET_COLUMNS}"
            ),
            &[
                &ticket_id,
                &cmd.conversation_id,
                &subject,
                &cmd.priority.as_str(),
                &cmd.reason.as_str(),
                &command_id,
            ],
        )
        .await?;
    let ticket = ticket_view(&row)?;
    super::desk::set_sla_due(tx, settings, ticket.id).await?;
    // What the customer is told depends on whether anyone is there: the bank's hours and its staff's
    // presence right now (see `waiting_text`).
    let anyone_online = tx
        .query_opt("SELECT 1 FROM users WHERE active AND role = 'agent' AND availability = 'online' LIMIT 1", &[])
        .await?
        .is_some();
    let waiting = super::lifecycle::waiting_text(
        settings,
        locale,
        time::OffsetDateTime::now_utc(),
        anyone_online,
    );
    tx.execute(
        "UPDATE conversations SET owner = 'agent', updated_at = now() WHERE id = $1",
        &[&cmd.conversation_id],
    )
    .await?;
    let system = insert_message(
        tx,
        NewMessage {
            id: derive_id(command_id, "system-message"),
            conversation_id: cmd.conversation_id,
            sender: Sender::System,
            author_id: None,
            text: &waiting,
            client_message_id: None,
            in_reply_to: cmd.trigger_message_id,
            intent: None,
            confidence: None,
        },
    )
    .await?;
    tx.execute(
        "INSERT INTO ticket_events (ticket_id, command_id, kind, actor, data) VALUES ($1, $2, 'created', $3, $4)
         ON CONFLICT (command_id, kind) DO NOTHING",
        &[
            &ticket.id,
            &command_id,
            &cmd.requested_by,
            &serde_json::json!({
                "reason": cmd.reason, "priority": cmd.priority, "trigger_message_id": cmd.trigger_message_id,
            }),
        ],
    )
    .await?;
    Ok(TicketOutcome {
        ticket,
        created: true,
        source_command_id: command_id,
        system_message: Some(system.view),
    })
}

/// Lock a ticket and its conversation; `None` when the ticket does not exist or has no conversation.
pub async fn lock_ticket_conversation(
    tx: &Transaction<'_>,
    ticket_id: Uuid,
) -> Result<Option<(Uuid, ConversationState)>, DbError> {
    let row = tx
        .query_opt(
            "SELECT conversation_id FROM tickets WHERE id = $1 FOR UPDATE",
            &[&ticket_id],
        )
        .await?;
    let Some(conversation_id) = row.and_then(|r| r.get::<_, Option<Uuid>>(0)) else {
        return Ok(None);
    };
    Ok(lock_conversation(tx, conversation_id)
        .await?
        .map(|state| (conversation_id, state)))
}

/// The agent replied: first response time, status `in_progress`, assignee if none, audit event.
pub async fn record_agent_reply(
    tx: &Transaction<'_>,
    ticket_id: Uuid,
    agent_id: Uuid,
    command_id: Uuid,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE tickets SET first_response_at = coalesce(first_response_at, now()),
                status = CASE WHEN status = 'open' THEN 'in_progress' ELSE status END,
                assignee_id = coalesce(assignee_id, $2),
                updated_at = now()
         WHERE id = $1",
        &[&ticket_id, &agent_id],
    )
    .await?;
    tx.execute(
        "INSERT INTO ticket_events (ticket_id, command_id, kind, actor, data) VALUES ($1, $2, 'agent_replied', $3, '{}')
         ON CONFLICT (command_id, kind) DO NOTHING",
        &[&ticket_id, &command_id, &agent_id.to_string()],
    )
    .await?;
    Ok(())
}

/// How far back, and how many, earlier customer messages are read to find a card number split over messages.
/// A person typing a number in pieces sends them within a minute or two; four pieces cover groups of four.
const SPLIT_NUMBER_WINDOW: &str = "5 minutes";
const SPLIT_NUMBER_PARTS: i64 = 4;

/// The customer's latest messages of the conversation before `before` (at most [`SPLIT_NUMBER_PARTS`], sent in
/// the last [`SPLIT_NUMBER_WINDOW`]), oldest first, as stored (already redacted one by one).
pub async fn recent_customer_texts(
    tx: &Transaction<'_>,
    conversation_id: Uuid,
    before: Uuid,
) -> Result<Vec<(Uuid, String)>, DbError> {
    let rows = tx
        .query(
            &format!(
                "SELECT id, text FROM (
                    SELECT id, text, created_at FROM messages
                    WHERE conversation_id = $1 AND sender = 'customer' AND id <> $2
                      AND created_at > clock_timestamp() - interval '{SPLIT_NUMBER_WINDOW}'
                    ORDER BY created_at DESC, id DESC LIMIT $3
                 ) recent ORDER BY created_at, id"
            ),
            &[&conversation_id, &before, &SPLIT_NUMBER_PARTS],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// Replace a stored message's text with a more masked one (see [`joxai_nlu::redact::mask_across_messages`]).
pub async fn replace_message_text(
    tx: &Transaction<'_>,
    id: Uuid,
    text: &str,
) -> Result<(), DbError> {
    tx.execute("UPDATE messages SET text = $2 WHERE id = $1", &[&id, &text])
        .await?;
    Ok(())
}

/// Mask the digits of a card number split between a ticket's subject (which quotes the customer's words when the
/// ticket was opened) and the customer's latest message.
pub async fn mask_split_number_in_subjects(
    tx: &Transaction<'_>,
    conversation_id: Uuid,
    latest: &str,
) -> Result<(), DbError> {
    let tickets = tx
        .query(
            "SELECT id, subject FROM tickets WHERE conversation_id = $1",
            &[&conversation_id],
        )
        .await?;
    for ticket in tickets {
        let (id, subject): (Uuid, String) = (ticket.get(0), ticket.get(1));
        if let Some(masked) = joxai_nlu::redact::mask_split_number(&[&subject], latest)
            .and_then(|split| split.earlier[0].clone())
        {
            tx.execute(
                "UPDATE tickets SET subject = $2 WHERE id = $1",
                &[&id, &masked],
            )
            .await?;
        }
    }
    Ok(())
}

/// What the bot tells a customer the first time card data is masked in their conversation.
fn card_data_notice(locale: &str) -> &'static str {
    if locale.starts_with("es") {
        "Por tu seguridad he ocultado los datos de tarjeta o de cuenta que escribiste: nunca los necesitamos en el chat."
    } else {
        "For your safety I hid the card or account details you typed — we never need them in chat."
    }
}

/// Store the bot's note about masked card data, once per conversation (its id is derived from the
/// conversation's). Returns the note when this call stored it.
pub async fn insert_card_data_notice(
    tx: &Transaction<'_>,
    conversation_id: Uuid,
    locale: &str,
) -> Result<Option<StoredMessage>, DbError> {
    let note = NewMessage {
        id: derive_id(conversation_id, "card_data_notice"),
        conversation_id,
        sender: Sender::Bot,
        author_id: None,
        text: card_data_notice(locale),
        client_message_id: None,
        in_reply_to: None,
        intent: None,
        confidence: None,
    };
    let stored = insert_message(tx, note).await?;
    Ok(stored.inserted.then_some(stored))
}
