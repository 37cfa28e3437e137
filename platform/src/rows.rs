//! Row mappings shared by the writers (workers) and the readers (ingress): one place knows how a
//! message or ticket row becomes its wire type.

use joxai_schemas::types::{EscalationReason, MessageView, Priority, TicketStatus, TicketView};
use tokio_postgres::Row;

use crate::db::DbError;

/// Parse a text column holding one of our enum names.
pub fn parse<T: std::str::FromStr>(value: &str) -> Result<T, DbError> {
    value
        .parse()
        .map_err(|_| DbError::Conflict(format!("unexpected value {value:?} in the database")))
}

pub const MESSAGE_COLUMNS: &str = "id, conversation_id, sender, text, client_message_id, in_reply_to, intent, confidence, author_id, created_at";

pub fn message_view(row: &Row) -> Result<MessageView, DbError> {
    Ok(MessageView {
        id: row.get(0),
        conversation_id: row.get(1),
        sender: parse(row.get(2))?,
        text: row.get(3),
        client_message_id: row.get(4),
        in_reply_to: row.get(5),
        intent: row.get(6),
        confidence: row.get(7),
        author_id: row.get(8),
        created_at: row.get(9),
    })
}

pub const TICKET_COLUMNS: &str = "id, number, conversation_id, subject, status, priority, reason, assignee_id, created_at, updated_at, source_command_id";

pub fn ticket_view(row: &Row) -> Result<TicketView, DbError> {
    Ok(TicketView {
        id: row.get(0),
        number: row.get(1),
        conversation_id: row.get(2),
        subject: row.get(3),
        status: parse::<TicketStatus>(row.get(4))?,
        priority: parse::<Priority>(row.get(5))?,
        reason: parse::<EscalationReason>(row.get(6))?,
        assignee_id: row.get(7),
        created_at: row.get(8),
        updated_at: row.get(9),
    })
}
