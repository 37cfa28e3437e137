//! The two lifecycles of the desk, written once: a ticket's status and a conversation's state.
//! Every handler that changes either asks [`ticket_transition`] or [`conversation_transition`] first
//! and carries out the effects it returns; no handler decides a status on its own.
//!
//! # Tickets
//!
//! A ticket's status moves as staff set it (`POST /tickets/{id}/status`). Each allowed move may end
//! the ticket's conversation (the second column is what the conversation is then told):
//!
//! | from        | to          | conversation event |
//! |-------------|-------------|--------------------|
//! | open        | in_progress | —                  |
//! | open        | resolved    | ticket_resolved    |
//! | open        | closed      | ticket_closed      |
//! | in_progress | open        | —                  |
//! | in_progress | resolved    | ticket_resolved    |
//! | in_progress | closed      | ticket_closed      |
//! | resolved    | in_progress | —                  |
//! | resolved    | closed      | ticket_closed      |
//! | closed      | in_progress | —                  |
//!
//! Moving to `resolved` or `closed` also emails the customer the resolution, once per ticket, when they left
//! an address in the widget (the email worker reacts to the `ticket.updated` event; see `crate::email`).
//!
//! Any other pair (including a status to itself) is refused with `conflict`. Reopening a ticket does
//! not reopen its conversation: the customer was told it ended; if they write again, they do so in
//! a new conversation that the bot answers and that links back to this ticket.
//!
//! # Conversations
//!
//! A conversation is `with_bot` (the assistant answers), `with_staff` (a person answers; it has an
//! active ticket or had one) or `closed`. Every event in every state:
//!
//! | state      | event            | next       | effects                                                   |
//! |------------|------------------|------------|-----------------------------------------------------------|
//! | with_bot   | escalate         | with_staff | tell the customer a person will join                      |
//! | with_bot   | take_over        | with_staff | (the "joined" notice comes with the assignment)           |
//! | with_bot   | hand_back        | —          | refused: the assistant already answers                    |
//! | with_bot   | ticket_resolved  | closed     | tell the customer the case is resolved, ask for a rating  |
//! | with_bot   | ticket_closed    | closed     | tell the customer the case is closed, ask for a rating    |
//! | with_bot   | staff_close      | closed     | end the active ticket, tell the customer, ask for rating  |
//! | with_bot   | customer_ends    | closed     | end the active ticket, ask for a rating                   |
//! | with_bot   | customer_message | with_bot   | —                                                         |
//! | with_bot   | staff_reply      | with_bot   | —                                                         |
//! | with_staff | escalate         | with_staff | — (the open ticket is kept)                               |
//! | with_staff | take_over        | with_staff | —                                                         |
//! | with_staff | hand_back        | with_bot   | resolve the active ticket, tell the customer the bot is back |
//! | with_staff | ticket_resolved  | closed     | tell the customer the case is resolved, ask for a rating  |
//! | with_staff | ticket_closed    | closed     | tell the customer the case is closed, ask for a rating    |
//! | with_staff | staff_close      | closed     | end the active ticket, tell the customer, ask for rating  |
//! | with_staff | customer_ends    | closed     | end the active ticket, ask for a rating                   |
//! | with_staff | customer_message | with_staff | —                                                         |
//! | with_staff | staff_reply      | with_staff | —                                                         |
//! | closed     | escalate         | —          | refused: the conversation has ended                       |
//! | closed     | take_over        | —          | refused                                                   |
//! | closed     | hand_back        | —          | refused                                                   |
//! | closed     | ticket_resolved  | closed     | — (a ticket of a finished conversation moves on quietly) |
//! | closed     | ticket_closed    | closed     | —                                                         |
//! | closed     | staff_close      | —          | refused: already closed                                   |
//! | closed     | customer_ends    | —          | refused: already closed                                   |
//! | closed     | customer_message | with_bot   | the assistant answers it (see below)                      |
//! | closed     | staff_reply      | —          | refused: the customer would never see it                  |
//!
//! Ending a conversation also frees the agent's slot, so waiting tickets are handed out again.
//!
//! A customer who writes to an ended conversation is refused by the ingress with 409, and the widget
//! carries the message into a follow-up conversation. A message can still reach the ticket worker for a
//! closed conversation: it was accepted a moment before the conversation ended, or while the ingress
//! could not read Postgres. It is stored and the conversation goes back to the assistant, which answers
//! it (and can hand it to a person again): nothing a customer sent is left unanswered.

use joxai_platform::settings::SystemSettings;
use joxai_schemas::types::{ConversationOwner, TicketStatus};
use time::OffsetDateTime;

/// Where a conversation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationState {
    WithBot,
    WithStaff,
    Closed,
}

impl ConversationState {
    pub const ALL: [ConversationState; 3] = [Self::WithBot, Self::WithStaff, Self::Closed];

    /// From the conversation row's `status` and `owner` columns.
    pub fn from_row(status: &str, owner: ConversationOwner) -> Self {
        match (status, owner) {
            ("closed", _) => Self::Closed,
            (_, ConversationOwner::Agent) => Self::WithStaff,
            _ => Self::WithBot,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::WithBot => "with_bot",
            Self::WithStaff => "with_staff",
            Self::Closed => "closed",
        }
    }
}

/// Something that happens to a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationEvent {
    Escalate,
    TakeOver,
    HandBack,
    TicketResolved,
    TicketClosed,
    StaffClose,
    CustomerEnds,
    CustomerMessage,
    StaffReply,
}

impl ConversationEvent {
    pub const ALL: [ConversationEvent; 9] = [
        Self::Escalate,
        Self::TakeOver,
        Self::HandBack,
        Self::TicketResolved,
        Self::TicketClosed,
        Self::StaffClose,
        Self::CustomerEnds,
        Self::CustomerMessage,
        Self::StaffReply,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Escalate => "escalate",
            Self::TakeOver => "take_over",
            Self::HandBack => "hand_back",
            Self::TicketResolved => "ticket_resolved",
            Self::TicketClosed => "ticket_closed",
            Self::StaffClose => "staff_close",
            Self::CustomerEnds => "customer_ends",
            Self::CustomerMessage => "customer_message",
            Self::StaffReply => "staff_reply",
        }
    }
}

/// What the customer is told when their conversation changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// "A person will join shortly."
    Waiting,
    /// "Your case is resolved; please rate us; write again any time."
    Resolved,
    /// "This conversation was closed by our team; please rate us; write again any time."
    Closed,
    /// "The virtual assistant answers you again." Stored like the others, so a reloaded widget still
    /// shows that the person left.
    HandedBack,
}

/// The consequences of a conversation transition, in the order the handler carries them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effects {
    /// The active ticket ends with this status (`resolved` on hand-back, `closed` on close).
    pub end_active_ticket: Option<TicketStatus>,
    /// A message from the bot, in the conversation's language.
    pub tell_customer: Option<Notice>,
    /// The widget shows the satisfaction survey (it does on `conversation.closed`).
    pub ask_rating: bool,
    /// A staff slot may have freed up: hand out waiting tickets.
    pub assign_waiting: bool,
}

/// Why a transition is refused; the ingress answers 409 with this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub &'static str);

/// The one conversation transition function (see the table in the module documentation).
pub fn conversation_transition(
    state: ConversationState,
    event: ConversationEvent,
) -> Result<(ConversationState, Effects), Refusal> {
    use ConversationEvent as E;
    use ConversationState as S;
    let none = Effects::default();
    let ended = |notice: Option<Notice>, end: Option<TicketStatus>| Effects {
        end_active_ticket: end,
        tell_customer: notice,
        ask_rating: true,
        assign_waiting: true,
    };
    Ok(match (state, event) {
        (S::WithBot, E::Escalate) => (
            S::WithStaff,
            Effects {
                tell_customer: Some(Notice::Waiting),
                ..none
            },
        ),
        (S::WithBot, E::TakeOver) | (S::WithStaff, E::Escalate | E::TakeOver) => {
            (S::WithStaff, none)
        }
        (S::WithBot, E::HandBack) => {
            return Err(Refusal("the assistant already answers this conversation"));
        }
        (S::WithStaff, E::HandBack) => (
            S::WithBot,
            Effects {
                end_active_ticket: Some(TicketStatus::Resolved),
                assign_waiting: true,
                tell_customer: Some(Notice::HandedBack),
                ..none
            },
        ),
        (S::WithBot | S::WithStaff, E::TicketResolved) => {
            (S::Closed, ended(Some(Notice::Resolved), None))
        }
        (S::WithBot | S::WithStaff, E::TicketClosed) => {
            (S::Closed, ended(Some(Notice::Closed), None))
        }
        (S::WithBot | S::WithStaff, E::StaffClose) => (
            S::Closed,
            ended(Some(Notice::Closed), Some(TicketStatus::Closed)),
        ),
        (S::WithBot | S::WithStaff, E::CustomerEnds) => {
            (S::Closed, ended(None, Some(TicketStatus::Closed)))
        }
        (s @ (S::WithBot | S::WithStaff), E::CustomerMessage | E::StaffReply) => (s, none),
        (S::Closed, E::TicketResolved | E::TicketClosed) => (S::Closed, none),
        (S::Closed, E::StaffClose | E::CustomerEnds) => {
            return Err(Refusal("the conversation is already closed"));
        }
        (S::Closed, E::StaffReply) => {
            return Err(Refusal(
                "the customer's conversation has ended, so they would not see this reply; \
                 if they write again, their new conversation reaches the desk",
            ));
        }
        (S::Closed, E::CustomerMessage) => (S::WithBot, none),
        (S::Closed, E::Escalate | E::TakeOver | E::HandBack) => {
            return Err(Refusal("the conversation is closed"));
        }
    })
}

/// The one ticket transition function (see the table in the module documentation): whether `from`
/// may become `to`, and what that means for the ticket's conversation.
pub fn ticket_transition(
    from: TicketStatus,
    to: TicketStatus,
) -> Result<Option<ConversationEvent>, Refusal> {
    use TicketStatus::*;
    match (from, to) {
        (Open, InProgress) | (InProgress, Open) | (Resolved, InProgress) | (Closed, InProgress) => {
            Ok(None)
        }
        (Open | InProgress, Resolved) => Ok(Some(ConversationEvent::TicketResolved)),
        (Open | InProgress | Resolved, Closed) => Ok(Some(ConversationEvent::TicketClosed)),
        _ => Err(Refusal("a ticket cannot make this status change")),
    }
}

/// The bot's words for a notice, in the conversation's language (`es…` is Spanish, anything else English).
/// What a customer whose conversation was just handed to a person is told, in their language:
/// - the bank is closed (its hours, holidays and time zone in the settings): the bank's own after-hours
///   words and when it opens next ("… A person will answer from Monday 09:00 (Europe/Madrid).");
/// - it is open but no agent is online: the ticket waits, and the first agent to come online gets it;
/// - otherwise the usual [`Notice::Waiting`].
///
/// In every case the ticket waits in the queue; an agent online at that moment may still be given it.
pub fn waiting_text(
    settings: &SystemSettings,
    locale: &str,
    now: OffsetDateTime,
    anyone_online: bool,
) -> String {
    let spanish = locale.starts_with("es");
    if !settings.is_open_at(now) {
        let language = if spanish { "es" } else { "en" };
        let away = settings
            .profile
            .texts
            .get(language)
            .map(|t| t.after_hours.trim().to_owned())
            .unwrap_or_default();
        let when = settings.next_opening(now).map(|opening| {
            if spanish {
                format!(
                    "Una persona le responderá a partir del {}.",
                    opening.describe("es")
                )
            } else {
                format!("A person will answer from {}.", opening.describe("en"))
            }
        });
        return [away, when.unwrap_or_default()]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
    }
    if !anyone_online {
        return if spanish {
            "Ahora mismo no hay nadie de nuestro equipo conectado. Su mensaje está en la cola y le responderá \
             la primera persona que se conecte."
                .into()
        } else {
            "Nobody from our team is online right now. Your message is in the queue, and the first person to come \
             online will answer you."
                .into()
        };
    }
    notice_text(Notice::Waiting, locale, None)
}

pub fn notice_text(notice: Notice, locale: &str, ticket_number: Option<&str>) -> String {
    let spanish = locale.starts_with("es");
    match (notice, spanish) {
        (Notice::Waiting, false) => {
            "We've passed you to our team. A person will join this conversation shortly.".into()
        }
        (Notice::Waiting, true) => {
            "Le hemos pasado con nuestro equipo. Una persona se unirá a la conversación en breve."
                .into()
        }
        (Notice::Resolved, false) => format!(
            "Your case{} has been resolved. How did we do? Please rate this conversation. \
             If you need anything else, just write to us again.",
            ticket_number.map(|n| format!(" {n}")).unwrap_or_default()
        ),
        (Notice::Resolved, true) => format!(
            "Su caso{} se ha resuelto. ¿Qué tal le hemos atendido? Valore esta conversación, por favor. \
             Si necesita algo más, escríbanos de nuevo.",
            ticket_number.map(|n| format!(" {n}")).unwrap_or_default()
        ),
        (Notice::Closed, false) => {
            "Our team has closed this conversation. How did we do? Please rate it. \
             If you need anything else, just write to us again."
                .into()
        }
        (Notice::Closed, true) => {
            "Nuestro equipo ha cerrado esta conversación. ¿Qué tal le hemos atendido? \
             Valórela, por favor. Si necesita algo más, escríbanos de nuevo."
                .into()
        }
        (Notice::HandedBack, false) => {
            "You are back with the virtual assistant. Write your question and it will answer you."
                .into()
        }
        (Notice::HandedBack, true) => {
            "Nuestro asistente virtual vuelve a atenderle. Escriba su pregunta y le responderá."
                .into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of the markdown table in this file's documentation whose header starts with `first`.
    fn documented_rows(first: &str) -> Vec<Vec<String>> {
        let source = include_str!("lifecycle.rs");
        let mut rows = vec![];
        let mut inside = false;
        for line in source.lines() {
            let Some(line) = line.strip_prefix("//! |") else {
                inside = false;
                continue;
            };
            let cells: Vec<String> = line.split('|').map(|c| c.trim().to_owned()).collect();
            if cells[0] == first {
                inside = true;
                continue;
            }
            if inside && !cells[0].starts_with('-') {
                rows.push(cells);
            }
        }
        rows
    }

    #[test]
    fn every_conversation_state_and_event_pair_does_what_the_documented_table_says() {
        let rows = documented_rows("state");
        assert_eq!(
            rows.len(),
            ConversationState::ALL.len() * ConversationEvent::ALL.len(),
            "one row per pair"
        );
        for state in ConversationState::ALL {
            for event in ConversationEvent::ALL {
                let row = rows
                    .iter()
                    .find(|r| r[0] == state.as_str() && r[1] == event.as_str())
                    .unwrap_or_else(|| {
                        panic!(
                            "no documented row for {} + {}",
                            state.as_str(),
                            event.as_str()
                        )
                    });
                let outcome = conversation_transition(state, event);
                match (row[2].as_str(), &outcome) {
                    ("—", Err(_)) => {}
                    (next, Ok((actual, effects))) => {
                        assert_eq!(
                            next,
                            actual.as_str(),
                            "{} + {}",
                            state.as_str(),
                            event.as_str()
                        );
                        // The effects column names what the effects do.
                        let said = &row[3];
                        assert_eq!(
                            effects.ask_rating,
                            said.contains("rating"),
                            "{} + {}: rating",
                            state.as_str(),
                            event.as_str()
                        );
                        assert_eq!(
                            effects.end_active_ticket.is_some(),
                            said.contains("ticket")
                                && (said.contains("end") || said.contains("resolve")),
                            "{} + {}: ticket",
                            state.as_str(),
                            event.as_str()
                        );
                        assert_eq!(
                            effects.tell_customer.is_some(),
                            said.contains("tell"),
                            "{} + {}: tell",
                            state.as_str(),
                            event.as_str()
                        );
                    }
                    (next, Err(refusal)) => {
                        panic!(
                            "{} + {} refused ({refusal:?}) but documented as {next}",
                            state.as_str(),
                            event.as_str()
                        )
                    }
                }
            }
        }
    }

    #[test]
    fn every_ticket_status_pair_does_what_the_documented_table_says() {
        use TicketStatus::*;
        let rows = documented_rows("from");
        let all = [Open, InProgress, Resolved, Closed];
        for from in all {
            for to in all {
                let row = rows
                    .iter()
                    .find(|r| r[0] == from.as_str() && r[1] == to.as_str());
                match (row, ticket_transition(from, to)) {
                    (None, Err(_)) => {}
                    (Some(row), Ok(event)) => {
                        assert_eq!(row[2], event.map_or("—", |e| e.as_str()), "{from} -> {to}");
                    }
                    (row, outcome) => {
                        panic!("{from} -> {to}: documented {row:?}, decided {outcome:?}")
                    }
                }
            }
        }
    }

    #[test]
    fn a_conversation_that_ends_always_asks_for_a_rating_and_frees_the_agent() {
        for state in ConversationState::ALL {
            for event in ConversationEvent::ALL {
                if let Ok((ConversationState::Closed, effects)) =
                    conversation_transition(state, event)
                    && state != ConversationState::Closed
                {
                    assert!(
                        effects.ask_rating && effects.assign_waiting,
                        "{} + {}",
                        state.as_str(),
                        event.as_str()
                    );
                }
            }
        }
    }

    #[test]
    fn the_customer_is_told_in_the_conversations_language() {
        for notice in [
            Notice::Waiting,
            Notice::Resolved,
            Notice::Closed,
            Notice::HandedBack,
        ] {
            let en = notice_text(notice, "en", Some("TKT-000001"));
            let es = notice_text(notice, "es", Some("TKT-000001"));
            assert_ne!(en, es);
            assert!(
                es.contains("Le ") || es.contains("Su ") || es.contains("Nuestro"),
                "{es}"
            );
        }
        assert!(notice_text(Notice::Resolved, "es-ES", Some("TKT-000042")).contains("TKT-000042"));
    }

    #[test]
    fn a_customer_escalated_after_hours_learns_when_the_bank_opens_in_their_language() {
        let mut settings = SystemSettings::default();
        settings.hours.time_zone = Some("Europe/Madrid".into());
        // Saturday 2026-12-05, 12:00 UTC: closed until Monday 09:00 in Madrid.
        let saturday = time::macros::datetime!(2026-12-05 12:00 UTC);
        let en = waiting_text(&settings, "en", saturday, true);
        assert!(en.starts_with("Our team is away right now."), "{en}");
        assert!(
            en.ends_with("A person will answer from Monday 09:00 (Europe/Madrid)."),
            "{en}"
        );
        let es = waiting_text(&settings, "es-ES", saturday, false);
        assert!(
            es.ends_with(
                "Una persona le responderá a partir del lunes a las 09:00 (Europe/Madrid)."
            ),
            "{es}"
        );
        // Open, nobody online; open with someone online.
        let friday = time::macros::datetime!(2026-12-04 10:00 UTC);
        assert!(
            waiting_text(&settings, "en", friday, false)
                .starts_with("Nobody from our team is online")
        );
        assert_eq!(
            waiting_text(&settings, "es", friday, true),
            notice_text(Notice::Waiting, "es", None)
        );
    }
}
