//! The agent desk's commands: assignment, status, fields, notes, manual tickets, take-over, hand-back,
//! close, rating and availability.
//!
//! Each command runs in one transaction that also records its outcome in `command_results` (keyed
//! by the command id) together with the events it caused. A redelivered command finds that row and
//! only republishes the recorded events (same ids: JetStream drops them inside its duplicate window,
//! consumers recognise them after it). A command that breaks a rule (stale, out of scope, invalid
//! transition) is *rejected*: that is a normal outcome, recorded for the ingress to answer with
//! 404/409/422, not a failure to retry.

use deadpool_postgres::Transaction;
use joxai_platform::db::DbError;
use joxai_platform::rows::{TICKET_COLUMNS, parse, ticket_view};
use joxai_platform::settings::SystemSettings;
use joxai_schemas::commands::{
    AddInternalNote, AssignTicket, AssignWaitingTickets, ChangeTicketStatus, CloseConversation,
    CreateTicket, DeleteCannedResponse, DeleteKnowledgeArticle, EndChat, HandBackConversation,
    RateConversation, SaveCannedResponse, SaveKnowledgeArticle, SetAvailability,
    TakeOverConversation, UpdateTicket,
};
use joxai_schemas::events::{
    CannedResponseChanged, ConversationAssigned, ConversationClosed, ConversationEscalated,
    ConversationHandedBack, ConversationRated, KnowledgeArticleChanged, MessageCreated,
    StaffAvailabilityChanged, TicketCreated, TicketNoteAdded, TicketUpdated,
};
use joxai_schemas::subjects::Subjects;
use joxai_schemas::types::{
    Actor, ConversationOwner, EscalationReason, NoteView, TicketStatus, TicketView,
};
use joxai_schemas::{Envelope, Message, derive_id};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

use super::lifecycle::{
    ConversationEvent, ConversationState, Effects, Notice, Refusal, conversation_transition,
    notice_text, ticket_transition,
};

/// Serialises assignment decisions (one transaction at a time picks agents), so two escalations
/// arriving together can never both take an agent's last free slot. Arbitrary but fixed.
const ASSIGNMENT_LOCK_KEY: i64 = 0x6a6f_7861_6901;

/// Most waiting tickets one command hands out, so one transaction stays short.
const MAX_ASSIGNMENTS_PER_COMMAND: usize = 50;

/// An event to publish once the transaction has committed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub subject: String,
    pub id: String,
    pub body: String,
}

/// The outcome of a desk command.
pub enum Verdict {
    Applied,
    /// `code` is `not_found`, `conflict`, `forbidden` or `validation`; the ingress maps it to HTTP.
    Rejected(&'static str, String),
}

fn reject(code: &'static str, message: impl Into<String>) -> Result<Verdict, DbError> {
    Ok(Verdict::Rejected(code, message.into()))
}

/// What one command is doing: its ids and the events it has caused so far.
pub struct Ctx {
    pub cmd_id: Uuid,
    pub correlation_id: Uuid,
    pub subjects: Subjects,
    pub events: Vec<Pending>,
    /// The bank's settings as this process had them when the command arrived (auto-assignment,
    /// capacity, SLA targets): a change saved in the panel applies from the next command on.
    pub settings: Arc<SystemSettings>,
}

impl Ctx {
    /// Queue an event whose id derives from the command, the event type and `key`, so a retry of the
    /// same command names the same event.
    pub fn emit<T: Message>(&mut self, conversation_id: Option<Uuid>, key: &str, payload: T) {
        let id = derive_id(self.cmd_id, &format!("{}:{key}", T::TYPE));
        let envelope = Envelope::with_id(id, self.correlation_id, Some(self.cmd_id), payload);
        self.events.push(Pending {
            // Tickets without a conversation travel under the nil conversation id.
            subject: self
                .subjects
                .event::<T>(conversation_id.unwrap_or(Uuid::nil())),
            id: id.to_string(),
            body: String::from_utf8(envelope.to_json()).unwrap_or_default(),
        });
    }
}

struct LockedTicket {
    view: TicketView,
}

async fn lock_ticket(tx: &Transaction<'_>, id: Uuid) -> Result<Option<LockedTicket>, DbError> {
    let row = tx
        .query_opt(
            &format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1 FOR UPDATE"),
            &[&id],
        )
        .await?;
    row.map(|r| ticket_view(&r).map(|view| LockedTicket { view }))
        .transpose()
}

pub(crate) async fn read_ticket(tx: &Transaction<'_>, id: Uuid) -> Result<TicketView, DbError> {
    let row = tx
        .query_one(
            &format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1"),
            &[&id],
        )
        .await?;
    ticket_view(&row)
}

async fn user_name(tx: &Transaction<'_>, id: Uuid) -> Result<Option<String>, DbError> {
    Ok(tx
        .query_opt("SELECT display_name FROM users WHERE id = $1", &[&id])
        .await?
        .map(|r| r.get(0)))
}

async fn audit(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    ticket_id: Uuid,
    kind: &str,
    actor: &str,
    data: serde_json::Value,
) -> Result<(), DbError> {
    // `(command_id, kind)` is unique; one command may record the same kind for several tickets
    // (automatic assignment), so the key then derives from the ticket as well.
    let command_id = derive_id(ctx.cmd_id, &format!("{kind}:{ticket_id}"));
    tx.execute(
        "INSERT INTO ticket_events (ticket_id, command_id, kind, actor, data) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (command_id, kind) DO NOTHING",
        &[&ticket_id, &command_id, &kind, &actor, &data],
    )
    .await?;
    Ok(())
}

/// An agent may act on a ticket assigned to them; supervisors and admins on any.
fn owns(actor: &Actor, ticket: &TicketView) -> bool {
    actor.sees_everything() || ticket.assignee_id == Some(actor.user_id)
}

/// An agent sees queue tickets and their own; anything else must look like it does not exist.
fn sees(actor: &Actor, ticket: &TicketView) -> bool {
    actor.sees_everything() || ticket.assignee_id.is_none_or(|a| a == actor.user_id)
}

fn stale(expected: Option<OffsetDateTime>, ticket: &TicketView) -> bool {
    // Postgres keeps microseconds; compare at that precision.
    expected.is_some_and(|e| (e - ticket.updated_at).whole_microseconds().abs() >= 1)
}

/// Queue the "ticket changed" event for `ticket_id` as it is now.
/// Lock a ticket that `actor` is about to change: it must exist and be visible to them (else "not
/// found", so nobody learns it exists), be theirs (else `forbidden`, ending with `doing`), and —
/// when the caller sent the `updated_at` it last saw — not have changed since. `Err` is the refusal to return.
async fn lock_owned(
    tx: &Transaction<'_>,
    id: Uuid,
    actor: &Actor,
    expected: Option<OffsetDateTime>,
    doing: &str,
) -> Result<Result<TicketView, Verdict>, DbError> {
    let refuse = |code, message: String| Ok(Err(Verdict::Rejected(code, message)));
    let Some(LockedTicket { view: ticket }) = lock_ticket(tx, id).await? else {
        return refuse("not_found", "ticket not found".into());
    };
    if !sees(actor, &ticket) {
        return refuse("not_found", "ticket not found".into());
    }
    if !owns(actor, &ticket) {
        return refuse("forbidden", format!("take the ticket before {doing}"));
    }
    if let Some(expected) = expected
        && stale(Some(expected), &ticket)
    {
        // Only someone else's change is a conflict: the agent's own replies and edits since they loaded
        // the ticket move `updated_at` too, and must never make their next click fail.
        let changes = changes_by_others(tx, id, expected, actor.user_id).await?;
        if !changes.is_empty() {
            return refuse(
                "conflict",
                format!(
                    "the ticket changed since you loaded it ({}); your change was not saved",
                    changes.join("; ")
                ),
            );
        }
    }
    Ok(Ok(ticket))
}

/// What people other than `me` (or the system) changed on the ticket after `since`, in words, oldest
/// first. Internal notes change nothing another person is deciding on, so they are left out.
async fn changes_by_others(
    tx: &Transaction<'_>,
    ticket_id: Uuid,
    since: OffsetDateTime,
    me: Uuid,
) -> Result<Vec<String>, DbError> {
    let rows = tx
        .query(
            "SELECT e.kind, e.data, CASE e.actor WHEN 'auto' THEN 'automatic assignment' WHEN 'customer' THEN 'the customer'
                                   ELSE coalesce(u.display_name, 'someone') END
               FROM ticket_events e LEFT JOIN users u ON u.id::text = e.actor
              WHERE e.ticket_id = $1 AND e.created_at > $2 AND e.actor <> $3 AND e.kind <> 'note_added'
              ORDER BY e.created_at, e.id",
            &[&ticket_id, &since, &me.to_string()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let (kind, data, who): (String, serde_json::Value, String) =
                (row.get(0), row.get(1), row.get(2));
            let what = match kind.as_str() {
                "status_changed" => format!(
                    "set the status to {}",
                    data["to"]
                        .as_str()
                        .unwrap_or("another status")
                        .replace('_', " ")
                ),
                "assigned" => "assigned it".to_owned(),
                "unassigned" => "put it back in the queue".to_owned(),
                "updated" => {
                    let fields: Vec<&str> = ["subject", "category", "tags", "priority"]
                        .into_iter()
                        .filter(|f| !data[*f].is_null())
                        .collect();
                    if fields.is_empty() {
                        "edited it".to_owned()
                    } else {
                        format!("changed the {}", fields.join(", "))
                    }
                }
                "agent_replied" => "replied to the customer".to_owned(),
                other => other.replace('_', " "),
            };
            format!("{who} {what}")
        })
        .collect())
}

pub(crate) async fn ticket_updated(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    ticket_id: Uuid,
    change: &str,
    previous_assignee_id: Option<Uuid>,
) -> Result<TicketView, DbError> {
    let ticket = read_ticket(tx, ticket_id).await?;
    let assignee_name = match ticket.assignee_id {
        Some(id) => user_name(tx, id).await?,
        None => None,
    };
    let conversation_id = ticket.conversation_id;
    ctx.emit(
        conversation_id,
        &format!("{change}:{ticket_id}"),
        TicketUpdated {
            ticket: ticket.clone(),
            change: change.to_owned(),
            assignee_name,
            previous_assignee_id,
        },
    );
    Ok(ticket)
}

/// Give `ticket` to `agent_id`: the row, the conversation, the audit, and the events (the customer
/// learns the agent's name).
pub(crate) async fn set_assignee(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    ticket: &TicketView,
    assignee: Option<Uuid>,
    actor: &str,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE tickets SET assignee_id = $2, updated_at = now() WHERE id = $1",
        &[&ticket.id, &assignee],
    )
    .await?;
    if let Some(conversation_id) = ticket.conversation_id {
        tx.execute(
            "UPDATE conversations SET assigned_agent_id = $2, updated_at = now() WHERE id = $1",
            &[&conversation_id, &assignee],
        )
        .await?;
    }
    let kind = if assignee.is_some() {
        "assigned"
    } else {
        "unassigned"
    };
    audit(
        tx,
        ctx,
        ticket.id,
        kind,
        actor,
        serde_json::json!({ "assignee_id": assignee, "previous_assignee_id": ticket.assignee_id }),
    )
    .await?;
    ticket_updated(tx, ctx, ticket.id, kind, ticket.assignee_id).await?;
    if let Some(agent_id) = assignee {
        tx.execute(
            "UPDATE users SET last_assigned_at = clock_timestamp() WHERE id = $1",
            &[&agent_id],
        )
        .await?;
        if let Some(conversation_id) = ticket.conversation_id {
            let agent_name = user_name(tx, agent_id).await?.unwrap_or_default();
            let key = format!("{agent_id}:{}", ticket.id);
            ctx.emit(
                Some(conversation_id),
                &key,
                ConversationAssigned {
                    conversation_id,
                    ticket_id: ticket.id,
                    agent_id,
                    agent_name: agent_name.clone(),
                },
            );
            // "X joined the conversation" is a stored system message, in the conversation's language:
            // both transcripts (the widget's and the panel's) show it, after a reload too, and it takes
            // its place by `created_at` (`clock_timestamp()`), so a caller that stores the agent's
            // reply after this call (a reply that takes the ticket) always shows it after the notice.
            if ticket.assignee_id != Some(agent_id)
                && let Some(conversation) =
                    super::store::conversation_in(tx, conversation_id).await?
                && !conversation.closed
            {
                let text = joined_text(&conversation.locale, &agent_name);
                let stored = super::store::insert_message(
                    tx,
                    super::store::NewMessage {
                        id: derive_id(ctx.cmd_id, &format!("joined:{key}")),
                        conversation_id,
                        sender: joxai_schemas::types::Sender::System,
                        author_id: None,
                        text: &text,
                        client_message_id: None,
                        in_reply_to: None,
                        intent: None,
                        confidence: None,
                    },
                )
                .await?;
                ctx.emit(
                    Some(conversation_id),
                    &format!("joined:{key}"),
                    MessageCreated {
                        message: stored.view,
                        owner: ConversationOwner::Agent,
                        customer: conversation.customer,
                        locale: conversation.locale,
                        history: None,
                    },
                );
            }
        }
    }
    Ok(())
}

/// What the customer reads when a person joins, in the conversation's language. A staff member
/// without a display name is "Our team".
pub(crate) fn joined_text(locale: &str, agent_name: &str) -> String {
    let spanish = locale.starts_with("es");
    match (agent_name.trim(), spanish) {
        ("", false) => "Someone from our team joined the conversation".into(),
        ("", true) => "Una persona de nuestro equipo se ha unido a la conversación".into(),
        (name, false) => format!("{name} joined the conversation"),
        (name, true) => format!("{name} se ha unido a la conversación"),
    }
}

/// Set the ticket's SLA due times from the bank's targets for its current priority, counted from
/// its creation. Called when a ticket is opened and when its priority changes; a later change of the
/// targets leaves the due times of existing tickets as they were promised.
pub(crate) async fn set_sla_due(
    tx: &Transaction<'_>,
    settings: &SystemSettings,
    ticket_id: Uuid,
) -> Result<(), DbError> {
    let targets = serde_json::to_value(&settings.sla).unwrap_or_default();
    tx.execute(
        "UPDATE tickets SET
                first_response_due_at = created_at + make_interval(mins => ($2::jsonb -> priority ->> 'first_response_minutes')::int),
                resolution_due_at = created_at + make_interval(mins => ($2::jsonb -> priority ->> 'resolution_minutes')::int)
          WHERE id = $1",
        &[&ticket_id, &targets],
    )
    .await?;
    Ok(())
}

/// The online, active agent with spare capacity and the fewest active tickets; ties go to the one
/// assigned least recently (round-robin). An agent's capacity is their own when set, else the bank's
/// default. The caller holds the assignment lock.
async fn pick_agent(tx: &Transaction<'_>, default_capacity: i32) -> Result<Option<Uuid>, DbError> {
    let row = tx
        .query_opt(
            "WITH load AS (
                SELECT u.id, coalesce(u.capacity, $1) AS capacity, u.last_assigned_at,
                       (SELECT count(*) FROM tickets t
                         WHERE t.assignee_id = u.id AND t.status IN ('open', 'in_progress')) AS active
                  FROM users u
                 WHERE u.active AND u.role = 'agent' AND u.availability = 'online')
             SELECT id FROM load WHERE active < capacity
             ORDER BY active, last_assigned_at NULLS FIRST, id
             LIMIT 1",
            &[&default_capacity],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Assign one new ticket automatically if an agent is free; otherwise it waits in the queue. With
/// automatic assignment off in the settings every ticket waits for an agent to take it.
pub async fn auto_assign(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    ticket_id: Uuid,
) -> Result<Option<Uuid>, DbError> {
    if !ctx.settings.assignment.auto_assign {
        return Ok(None);
    }
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ASSIGNMENT_LOCK_KEY])
        .await?;
    let ticket = read_ticket(tx, ticket_id).await?;
    if ticket.assignee_id.is_some() || ticket.status != TicketStatus::Open {
        return Ok(ticket.assignee_id);
    }
    let Some(agent) = pick_agent(tx, ctx.settings.assignment.default_capacity).await? else {
        return Ok(None);
    };
    set_assignee(tx, ctx, &ticket, Some(agent), "auto").await?;
    Ok(Some(agent))
}

/// Hand waiting tickets (most urgent, then oldest first) to free agents until either runs out;
/// nothing when automatic assignment is off in the settings.
pub async fn assign_waiting(tx: &Transaction<'_>, ctx: &mut Ctx) -> Result<(), DbError> {
    if !ctx.settings.assignment.auto_assign {
        return Ok(());
    }
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ASSIGNMENT_LOCK_KEY])
        .await?;
    let mut skipped: Vec<Uuid> = vec![];
    for _ in 0..MAX_ASSIGNMENTS_PER_COMMAND {
        let Some(agent) = pick_agent(tx, ctx.settings.assignment.default_capacity).await? else {
            return Ok(());
        };
        // SKIP LOCKED: a ticket another transaction is working on right now is left for later
        // rather than waited for (waiting while holding the assignment lock could deadlock).
        let row = tx
            .query_opt(
                &format!(
                    "SELECT {TICKET_COLUMNS} FROM tickets
                      WHERE assignee_id IS NULL AND status = 'open' AND NOT (id = ANY($1))
                      ORDER BY array_position(ARRAY['urgent', 'high', 'normal', 'low'], priority), created_at, id
                      LIMIT 1 FOR UPDATE SKIP LOCKED"
                ),
                &[&skipped],
            )
            .await?;
        let Some(row) = row else { return Ok(()) };
        let ticket = ticket_view(&row)?;
        if let Some(conversation_id) = ticket.conversation_id {
            let free = tx
                .query_opt(
                    "SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE SKIP LOCKED",
                    &[&conversation_id],
                )
                .await?;
            if free.is_none() {
                skipped.push(ticket.id);
                continue;
            }
        }
        set_assignee(tx, ctx, &ticket, Some(agent), "auto").await?;
    }
    Ok(())
}

pub async fn assign(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &AssignTicket,
) -> Result<Verdict, DbError> {
    let Some(LockedTicket { view: ticket }) = lock_ticket(tx, p.ticket_id).await? else {
        return reject("not_found", "ticket not found");
    };
    let actor = &p.actor;
    if !sees(actor, &ticket) {
        return reject("not_found", "ticket not found");
    }
    if !actor.sees_everything() {
        // An agent may take a queue ticket or give back their own, nothing else.
        let take = p.assignee_id == Some(actor.user_id) && ticket.assignee_id.is_none();
        let release = p.assignee_id.is_none() && ticket.assignee_id == Some(actor.user_id);
        let keep =
            p.assignee_id == Some(actor.user_id) && ticket.assignee_id == Some(actor.user_id);
        if !(take || release || keep) {
            return reject(
                "forbidden",
                "agents may only take queue tickets or release their own",
            );
        }
    }
    if !ticket.status.is_active() && p.assignee_id.is_some() {
        return reject(
            "conflict",
            format!("the ticket is {}: reopen it first", ticket.status),
        );
    }
    if let Some(assignee) = p.assignee_id {
        let ok = tx
            .query_opt("SELECT 1 FROM users WHERE id = $1 AND active", &[&assignee])
            .await?;
        if ok.is_none() {
            return reject(
                "validation",
                "assignee_id: no active staff member has this id",
            );
        }
    }
    if ticket.assignee_id == p.assignee_id {
        return Ok(Verdict::Applied);
    }
    set_assignee(tx, ctx, &ticket, p.assignee_id, &actor.user_id.to_string()).await?;
    Ok(Verdict::Applied)
}

pub async fn change_status(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &ChangeTicketStatus,
) -> Result<Verdict, DbError> {
    // The conversation first, then the ticket: the order every conversation command locks them in.
    let conversation_id: Option<Uuid> = tx
        .query_opt(
            "SELECT conversation_id FROM tickets WHERE id = $1",
            &[&p.ticket_id],
        )
        .await?
        .and_then(|r| r.get(0));
    if let Some(id) = conversation_id {
        tx.execute(
            "SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?;
    }
    let ticket = match lock_owned(
        tx,
        p.ticket_id,
        &p.actor,
        p.expected_updated_at,
        "changing its status",
    )
    .await?
    {
        Ok(ticket) => ticket,
        Err(refusal) => return Ok(refusal),
    };
    let conversation_event = match ticket_transition(ticket.status, p.status) {
        Ok(event) => event,
        Err(_) => {
            return reject(
                "conflict",
                format!("a ticket cannot go from {} to {}", ticket.status, p.status),
            );
        }
    };
    if p.status.is_active()
        && let Some(conversation_id) = ticket.conversation_id
    {
        let other = tx
            .query_opt(
                "SELECT number FROM tickets WHERE conversation_id = $1 AND id <> $2 AND status IN ('open', 'in_progress')",
                &[&conversation_id, &ticket.id],
            )
            .await?;
        if let Some(other) = other {
            let number: String = other.get(0);
            return reject(
                "conflict",
                format!("the conversation already has an active ticket, {number}"),
            );
        }
    }
    tx.execute(
        "UPDATE tickets SET status = $2, updated_at = now(),
                resolved_at = CASE WHEN $2 = 'resolved' THEN now() WHEN $2 = 'closed' THEN coalesce(resolved_at, now()) ELSE NULL END,
                closed_at = CASE WHEN $2 = 'closed' THEN now() ELSE NULL END
          WHERE id = $1",
        &[&ticket.id, &p.status.as_str()],
    )
    .await?;
    audit(
        tx,
        ctx,
        ticket.id,
        "status_changed",
        &p.actor.user_id.to_string(),
        serde_json::json!({ "from": ticket.status, "to": p.status }),
    )
    .await?;
    ticket_updated(tx, ctx, ticket.id, "status_changed", ticket.assignee_id).await?;
    if let (Some(event), Some(conversation_id)) = (conversation_event, ticket.conversation_id)
        && let Some(conversation) = lock_conversation(tx, conversation_id).await?
    {
        let actor = p.actor.user_id.to_string();
        if let Err(refusal) = apply_conversation_event(
            tx,
            ctx,
            conversation_id,
            &conversation,
            event,
            &actor,
            Some(&ticket.number),
        )
        .await?
        {
            return Ok(refusal);
        }
    }
    if !p.status.is_active() {
        // A slot freed up: a waiting ticket may go to this agent now.
        assign_waiting(tx, ctx).await?;
    }
    Ok(Verdict::Applied)
}

pub async fn update(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &UpdateTicket,
) -> Result<Verdict, DbError> {
    let ticket = match lock_owned(
        tx,
        p.ticket_id,
        &p.actor,
        p.expected_updated_at,
        "editing it",
    )
    .await?
    {
        Ok(ticket) => ticket,
        Err(refusal) => return Ok(refusal),
    };
    let category = p.category.as_ref().map(|c| c.trim().to_owned());
    tx.execute(
        "UPDATE tickets SET subject = coalesce($2, subject),
                category = CASE WHEN $3::text IS NULL THEN category WHEN $3 = '' THEN NULL ELSE $3 END,
                tags = coalesce($4, tags), priority = coalesce($5, priority), updated_at = now()
          WHERE id = $1",
        &[&ticket.id, &p.subject, &category, &p.tags, &p.priority.map(|x| x.as_str())],
    )
    .await?;
    if p.priority
        .is_some_and(|priority| priority != ticket.priority)
    {
        set_sla_due(tx, &ctx.settings, ticket.id).await?;
    }
    audit(
        tx,
        ctx,
        ticket.id,
        "updated",
        &p.actor.user_id.to_string(),
        serde_json::json!({ "subject": p.subject, "category": category, "tags": p.tags, "priority": p.priority }),
    )
    .await?;
    ticket_updated(tx, ctx, ticket.id, "updated", ticket.assignee_id).await?;
    Ok(Verdict::Applied)
}

pub async fn add_note(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &AddInternalNote,
) -> Result<Verdict, DbError> {
    let ticket = match lock_owned(tx, p.ticket_id, &p.actor, None, "adding notes").await? {
        Ok(ticket) => ticket,
        Err(refusal) => return Ok(refusal),
    };
    let row = tx
        .query_one(
            "INSERT INTO ticket_notes (id, ticket_id, author_id, text) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET id = excluded.id
             RETURNING created_at",
            &[&p.note_id, &ticket.id, &p.actor.user_id, &p.text],
        )
        .await?;
    audit(
        tx,
        ctx,
        ticket.id,
        "note_added",
        &p.actor.user_id.to_string(),
        serde_json::json!({ "note_id": p.note_id }),
    )
    .await?;
    let note = NoteView {
        id: p.note_id,
        ticket_id: ticket.id,
        author_id: p.actor.user_id,
        author_name: user_name(tx, p.actor.user_id).await?.unwrap_or_default(),
        text: p.text.clone(),
        created_at: row.get(0),
    };
    ctx.emit(
        ticket.conversation_id,
        "note",
        TicketNoteAdded {
            ticket_id: ticket.id,
            assignee_id: ticket.assignee_id,
            note,
        },
    );
    Ok(Verdict::Applied)
}

pub async fn create_ticket(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &CreateTicket,
) -> Result<Verdict, DbError> {
    if tx
        .query_opt("SELECT 1 FROM tickets WHERE id = $1", &[&p.ticket_id])
        .await?
        .is_some()
    {
        return Ok(Verdict::Applied);
    }
    let mut customer_id = p.customer_id;
    if let Some(conversation_id) = p.conversation_id {
        let Some(row) = tx
            .query_opt(
                "SELECT customer_id FROM conversations WHERE id = $1 FOR UPDATE",
                &[&conversation_id],
            )
            .await?
        else {
            return reject("not_found", "conversation not found");
        };
        customer_id = Some(row.get(0));
        let active = tx
            .query_opt(
                "SELECT number FROM tickets WHERE conversation_id = $1 AND status IN ('open', 'in_progress')",
                &[&conversation_id],
            )
            .await?;
        if let Some(active) = active {
            let number: String = active.get(0);
            return reject(
                "conflict",
                format!("the conversation already has an active ticket, {number}"),
            );
        }
    } else if let Some(id) = customer_id
        && tx
            .query_opt("SELECT 1 FROM customers WHERE id = $1", &[&id])
            .await?
            .is_none()
    {
        return reject("not_found", "customer not found");
    }
    tx.execute(
        "INSERT INTO tickets (id, number, conversation_id, customer_id, subject, priority, reason, source_command_id, category, tags)
         VALUES ($1, 'TKT-' || lpad(nextval('ticket_number_seq')::text, 6, '0'), $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &p.ticket_id,
            &p.conversation_id,
            &customer_id,
            &p.subject,
            &p.priority.as_str(),
            &EscalationReason::Manual.as_str(),
            &ctx.cmd_id,
            &p.category,
            &p.tags,
        ],
    )
    .await?;
    set_sla_due(tx, &ctx.settings, p.ticket_id).await?;
    if let Some(conversation_id) = p.conversation_id {
        // A person handles the conversation from now on: the bot stops answering.
        tx.execute(
            "UPDATE conversations SET owner = 'agent', updated_at = now() WHERE id = $1",
            &[&conversation_id],
        )
        .await?;
    }
    audit(
        tx,
        ctx,
        p.ticket_id,
        "created",
        &p.actor.user_id.to_string(),
        serde_json::json!({ "reason": "manual", "priority": p.priority }),
    )
    .await?;
    let ticket = read_ticket(tx, p.ticket_id).await?;
    if let Some(conversation_id) = p.conversation_id {
        ctx.emit(
            Some(conversation_id),
            "escalated",
            ConversationEscalated {
                conversation_id,
                ticket_id: ticket.id,
                ticket_number: ticket.number.clone(),
                priority: ticket.priority,
                reason: ticket.reason,
            },
        );
    }
    ctx.emit(
        p.conversation_id,
        "created",
        TicketCreated {
            ticket: ticket.clone(),
        },
    );
    match p.assign_to {
        Some(agent) => {
            set_assignee(tx, ctx, &ticket, Some(agent), &p.actor.user_id.to_string()).await?
        }
        None => {
            auto_assign(tx, ctx, ticket.id).await?;
        }
    }
    Ok(Verdict::Applied)
}

struct ConversationRow {
    state: ConversationState,
    owner: ConversationOwner,
    locale: String,
    customer: joxai_schemas::types::CustomerRef,
    active_ticket: Option<TicketView>,
}

async fn lock_conversation(
    tx: &Transaction<'_>,
    id: Uuid,
) -> Result<Option<ConversationRow>, DbError> {
    let Some(locked) = super::store::lock_conversation(tx, id).await? else {
        return Ok(None);
    };
    let status: String = tx
        .query_one("SELECT status FROM conversations WHERE id = $1", &[&id])
        .await?
        .get(0);
    let active_ticket = tx
        .query_opt(
            &format!(
                "SELECT {TICKET_COLUMNS} FROM tickets WHERE conversation_id = $1 AND status IN ('open', 'in_progress') FOR UPDATE"
            ),
            &[&id],
        )
        .await?
        .map(|r| ticket_view(&r))
        .transpose()?;
    Ok(Some(ConversationRow {
        state: ConversationState::from_row(&status, locked.owner),
        owner: locked.owner,
        locale: locked.locale,
        customer: locked.customer,
        active_ticket,
    }))
}

/// Carry out `event` on a locked conversation through the one transition function: the new state is
/// written, the active ticket ended, the customer told (a bot message in the conversation's language),
/// and `conversation.closed` / `conversation.handed_back` queued. Waiting tickets are not handed out
/// here: the caller does that once, when the returned effects say a slot freed up.
async fn apply_conversation_event(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    conversation_id: Uuid,
    conversation: &ConversationRow,
    event: ConversationEvent,
    actor: &str,
    ticket_number: Option<&str>,
) -> Result<Result<Effects, Verdict>, DbError> {
    let (next, effects) = match conversation_transition(conversation.state, event) {
        Ok(done) => done,
        Err(Refusal(why)) => return Ok(Err(Verdict::Rejected("conflict", why.to_owned()))),
    };
    if next != conversation.state {
        let (status, owner) = match next {
            ConversationState::Closed => ("closed", conversation.owner),
            ConversationState::WithStaff => ("open", ConversationOwner::Agent),
            ConversationState::WithBot => ("open", ConversationOwner::Bot),
        };
        let release = next == ConversationState::WithBot;
        tx.execute(
            "UPDATE conversations SET status = $2, owner = $3, updated_at = now(),
                    assigned_agent_id = CASE WHEN $4 THEN NULL ELSE assigned_agent_id END
              WHERE id = $1",
            &[&conversation_id, &status, &owner.as_str(), &release],
        )
        .await?;
    }
    if let (Some(status), Some(ticket)) = (effects.end_active_ticket, &conversation.active_ticket) {
        // The audit's `via` names the desk action, as the history has always shown it.
        let via = match event {
            ConversationEvent::HandBack => "hand_back",
            ConversationEvent::StaffClose => "close",
            ConversationEvent::CustomerEnds => "end_chat",
            other => other.as_str(),
        };
        end_active_ticket(tx, ctx, ticket, status, actor, via).await?;
    }
    if let Some(notice) = effects.tell_customer {
        let number = ticket_number.or(conversation
            .active_ticket
            .as_ref()
            .map(|t| t.number.as_str()));
        let text = notice_text(notice, &conversation.locale, number);
        let stored = super::store::insert_message(
            tx,
            super::store::NewMessage {
                id: derive_id(ctx.cmd_id, &format!("notice:{}", event.as_str())),
                conversation_id,
                // The assistant asks for the rating; that a person left is the system's to say.
                sender: if notice == Notice::HandedBack {
                    joxai_schemas::types::Sender::System
                } else {
                    joxai_schemas::types::Sender::Bot
                },
                author_id: None,
                text: &text,
                client_message_id: None,
                in_reply_to: None,
                intent: None,
                confidence: None,
            },
        )
        .await?;
        ctx.emit(
            Some(conversation_id),
            "notice",
            MessageCreated {
                message: stored.view,
                owner: conversation.owner,
                customer: conversation.customer.clone(),
                locale: conversation.locale.clone(),
                history: None,
            },
        );
    }
    if next == ConversationState::Closed && conversation.state != ConversationState::Closed {
        ctx.emit(
            Some(conversation_id),
            "closed",
            ConversationClosed { conversation_id },
        );
    }
    if next == ConversationState::WithBot && conversation.state == ConversationState::WithStaff {
        ctx.emit(
            Some(conversation_id),
            "handed_back",
            ConversationHandedBack { conversation_id },
        );
    }
    Ok(Ok(effects))
}

pub async fn take_over(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &TakeOverConversation,
) -> Result<Verdict, DbError> {
    let Some(conversation) = lock_conversation(tx, p.conversation_id).await? else {
        return reject("not_found", "conversation not found");
    };
    if let Err(Refusal(why)) =
        conversation_transition(conversation.state, ConversationEvent::TakeOver)
    {
        return reject("conflict", why);
    }
    let actor = p.actor.user_id;
    let ticket = match conversation.active_ticket {
        Some(ticket) => ticket,
        None => {
            let ticket_id = derive_id(ctx.cmd_id, "ticket");
            tx.execute(
                "INSERT INTO tickets (id, number, conversation_id, customer_id, subject, priority, reason, source_command_id)
                 SELECT $1, 'TKT-' || lpad(nextval('ticket_number_seq')::text, 6, '0'), c.id, c.customer_id,
                        'Taken over from the assistant', 'normal', 'manual', $3
                   FROM conversations c WHERE c.id = $2",
                &[&ticket_id, &p.conversation_id, &ctx.cmd_id],
            )
            .await?;
            set_sla_due(tx, &ctx.settings, ticket_id).await?;
            audit(
                tx,
                ctx,
                ticket_id,
                "created",
                &actor.to_string(),
                serde_json::json!({ "reason": "take_over" }),
            )
            .await?;
            let ticket = read_ticket(tx, ticket_id).await?;
            ctx.emit(
                Some(p.conversation_id),
                "created",
                TicketCreated {
                    ticket: ticket.clone(),
                },
            );
            ticket
        }
    };
    if conversation.owner != ConversationOwner::Agent {
        tx.execute(
            "UPDATE conversations SET owner = 'agent', updated_at = now() WHERE id = $1",
            &[&p.conversation_id],
        )
        .await?;
    }
    if ticket.assignee_id != Some(actor) {
        set_assignee(tx, ctx, &ticket, Some(actor), &actor.to_string()).await?;
    }
    Ok(Verdict::Applied)
}

/// End the active ticket of a conversation as part of a hand-back (`resolved`) or close (`closed`).
async fn end_active_ticket(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    ticket: &TicketView,
    status: TicketStatus,
    actor: &str,
    via: &str,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE tickets SET status = $2, updated_at = now(), resolved_at = coalesce(resolved_at, now()),
                closed_at = CASE WHEN $2 = 'closed' THEN now() ELSE closed_at END
          WHERE id = $1",
        &[&ticket.id, &status.as_str()],
    )
    .await?;
    audit(
        tx,
        ctx,
        ticket.id,
        "status_changed",
        actor,
        serde_json::json!({ "from": ticket.status, "to": status, "via": via }),
    )
    .await?;
    ticket_updated(tx, ctx, ticket.id, "status_changed", ticket.assignee_id).await?;
    Ok(())
}

fn conversation_scope(actor: &Actor, conversation: &ConversationRow) -> bool {
    actor.sees_everything()
        || conversation
            .active_ticket
            .as_ref()
            .is_some_and(|t| t.assignee_id == Some(actor.user_id))
}

pub async fn hand_back(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &HandBackConversation,
) -> Result<Verdict, DbError> {
    let Some(conversation) = lock_conversation(tx, p.conversation_id).await? else {
        return reject("not_found", "conversation not found");
    };
    if !conversation_scope(&p.actor, &conversation) {
        return reject("not_found", "conversation not found");
    }
    let actor = p.actor.user_id.to_string();
    let effects = match apply_conversation_event(
        tx,
        ctx,
        p.conversation_id,
        &conversation,
        ConversationEvent::HandBack,
        &actor,
        None,
    )
    .await?
    {
        Ok(effects) => effects,
        Err(refusal) => return Ok(refusal),
    };
    if effects.assign_waiting {
        assign_waiting(tx, ctx).await?;
    }
    Ok(Verdict::Applied)
}

pub async fn close(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &CloseConversation,
) -> Result<Verdict, DbError> {
    let Some(conversation) = lock_conversation(tx, p.conversation_id).await? else {
        return reject("not_found", "conversation not found");
    };
    if !conversation_scope(&p.actor, &conversation) {
        return reject("not_found", "conversation not found");
    }
    let actor = p.actor.user_id.to_string();
    let effects = match apply_conversation_event(
        tx,
        ctx,
        p.conversation_id,
        &conversation,
        ConversationEvent::StaffClose,
        &actor,
        None,
    )
    .await?
    {
        Ok(effects) => effects,
        Err(refusal) => return Ok(refusal),
    };
    if effects.assign_waiting {
        assign_waiting(tx, ctx).await?;
    }
    Ok(Verdict::Applied)
}

pub async fn rate(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &RateConversation,
) -> Result<Verdict, DbError> {
    let Some(row) = tx
        .query_opt(
            "SELECT rating FROM conversations WHERE id = $1 FOR UPDATE",
            &[&p.conversation_id],
        )
        .await?
    else {
        return reject("not_found", "conversation not found");
    };
    if row.get::<_, Option<i16>>(0).is_some() {
        return reject("conflict", "this conversation has already been rated");
    }
    tx.execute(
        "UPDATE conversations SET rating = $2, rating_comment = $3, rated_at = now(), updated_at = now() WHERE id = $1",
        &[&p.conversation_id, &p.rating, &p.comment],
    )
    .await?;
    ctx.emit(
        Some(p.conversation_id),
        "rated",
        ConversationRated {
            conversation_id: p.conversation_id,
            rating: p.rating,
            comment: p.comment.clone(),
        },
    );
    Ok(Verdict::Applied)
}

pub async fn set_availability(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &SetAvailability,
) -> Result<Verdict, DbError> {
    let updated = tx
        .execute(
            "UPDATE users SET availability = coalesce($2, availability), capacity = coalesce($3, capacity), updated_at = now()
              WHERE id = $1",
            &[&p.user_id, &p.availability.map(|a| a.as_str()), &p.capacity],
        )
        .await?;
    if updated == 0 {
        return reject("not_found", "user not found");
    }
    let row = tx
        .query_one(
            "SELECT display_name, role, availability, coalesce(capacity, $2) FROM users WHERE id = $1",
            &[&p.user_id, &ctx.settings.assignment.default_capacity],
        )
        .await?;
    // Presence travels under the nil conversation id: supervisors see it, agents' sockets do not.
    ctx.emit(
        None,
        &p.user_id.to_string(),
        StaffAvailabilityChanged {
            user_id: p.user_id,
            display_name: row.get(0),
            role: parse(row.get(1))?,
            availability: parse(row.get(2))?,
            capacity: row.get(3),
        },
    );
    assign_waiting(tx, ctx).await?;
    Ok(Verdict::Applied)
}

pub async fn assign_waiting_command(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    _p: &AssignWaitingTickets,
) -> Result<Verdict, DbError> {
    assign_waiting(tx, ctx).await?;
    Ok(Verdict::Applied)
}

/// The customer ended the chat. Same effect as a staff close; the audit names the customer.
pub async fn end_chat(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &EndChat,
) -> Result<Verdict, DbError> {
    let Some(conversation) = lock_conversation(tx, p.conversation_id).await? else {
        return reject("not_found", "conversation not found");
    };
    let effects = match apply_conversation_event(
        tx,
        ctx,
        p.conversation_id,
        &conversation,
        ConversationEvent::CustomerEnds,
        "customer",
        None,
    )
    .await?
    {
        Ok(effects) => effects,
        Err(refusal) => return Ok(refusal),
    };
    if effects.assign_waiting {
        assign_waiting(tx, ctx).await?;
    }
    Ok(Verdict::Applied)
}

fn unique_violation(e: &DbError) -> bool {
    e.is_unique_violation()
}

pub async fn save_canned(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &SaveCannedResponse,
) -> Result<Verdict, DbError> {
    let written = if p.create {
        tx.execute(
            "INSERT INTO canned_responses (id, title, body, created_by) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
            &[&p.id, &p.title, &p.body, &p.actor.user_id],
        )
        .await?;
        1
    } else {
        tx.execute(
            "UPDATE canned_responses SET title = $2, body = $3, updated_at = now() WHERE id = $1",
            &[&p.id, &p.title, &p.body],
        )
        .await?
    };
    if written == 0 {
        return reject("not_found", "canned response not found");
    }
    ctx.emit(
        None,
        &p.id.to_string(),
        CannedResponseChanged {
            id: p.id,
            deleted: false,
        },
    );
    Ok(Verdict::Applied)
}

pub async fn delete_canned(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &DeleteCannedResponse,
) -> Result<Verdict, DbError> {
    if tx
        .execute("DELETE FROM canned_responses WHERE id = $1", &[&p.id])
        .await?
        == 0
    {
        return reject("not_found", "canned response not found");
    }
    ctx.emit(
        None,
        &p.id.to_string(),
        CannedResponseChanged {
            id: p.id,
            deleted: true,
        },
    );
    Ok(Verdict::Applied)
}

pub async fn save_article(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &SaveKnowledgeArticle,
) -> Result<Verdict, DbError> {
    if !p.create
        && tx
            .query_opt(
                "SELECT 1 FROM kb_articles WHERE id = $1 FOR UPDATE",
                &[&p.id],
            )
            .await?
            .is_none()
    {
        return reject("not_found", "article not found");
    }
    let taken = tx
        .query_opt(
            "SELECT 1 FROM kb_articles WHERE slug = $1 AND locale = $2 AND id <> $3",
            &[&p.slug, &p.locale, &p.id],
        )
        .await?;
    if taken.is_some() {
        return reject(
            "conflict",
            format!(
                "an article with slug {:?} already exists in locale {}",
                p.slug, p.locale
            ),
        );
    }
    let written = if p.create {
        tx.execute(
            "INSERT INTO kb_articles (id, slug, locale, title, body, intents, tags, active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (id) DO NOTHING",
            &[&p.id, &p.slug, &p.locale, &p.title, &p.body, &p.intents, &p.tags, &p.active],
        )
        .await
    } else {
        tx.execute(
            "UPDATE kb_articles SET slug = $2, locale = $3, title = $4, body = $5, intents = $6, tags = $7, active = $8,
                    updated_at = now() WHERE id = $1",
            &[&p.id, &p.slug, &p.locale, &p.title, &p.body, &p.intents, &p.tags, &p.active],
        )
        .await
    };
    let written = match written.map_err(DbError::from) {
        // Another command took the slug between the check and the write.
        Err(e) if unique_violation(&e) => {
            return reject(
                "conflict",
                "an article with this slug already exists in this locale",
            );
        }
        other => other?,
    };
    if written == 0 && !p.create {
        return reject("not_found", "article not found");
    }
    ctx.emit(
        None,
        &p.id.to_string(),
        KnowledgeArticleChanged {
            id: p.id,
            deleted: false,
        },
    );
    Ok(Verdict::Applied)
}

pub async fn delete_article(
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    p: &DeleteKnowledgeArticle,
) -> Result<Verdict, DbError> {
    if tx
        .execute("DELETE FROM kb_articles WHERE id = $1", &[&p.id])
        .await?
        == 0
    {
        return reject("not_found", "article not found");
    }
    ctx.emit(
        None,
        &p.id.to_string(),
        KnowledgeArticleChanged {
            id: p.id,
            deleted: true,
        },
    );
    Ok(Verdict::Applied)
}
