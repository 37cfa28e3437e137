//! Every message survives serialisation unchanged and decodes back into the right variant.

use joxai_schemas::commands::*;
use joxai_schemas::events::*;
use joxai_schemas::types::*;
use joxai_schemas::{Command, DecodeError, Envelope, Event, Message, RawEnvelope};
use time::OffsetDateTime;
use uuid::Uuid;

fn customer() -> CustomerRef {
    CustomerRef {
        external_ref: Some("CUST-1".into()),
        display_name: Some("Ana".into()),
        verified: true,
    }
}

fn message_view() -> MessageView {
    MessageView {
        id: Uuid::now_v7(),
        conversation_id: Uuid::now_v7(),
        sender: Sender::Customer,
        text: "¿Cuál es mi saldo? 💶".into(),
        client_message_id: Some("c-1".into()),
        in_reply_to: None,
        intent: Some("account_balance".into()),
        confidence: Some(0.93),
        author_id: None,
        created_at: OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("valid"),
    }
}

fn ticket_view() -> TicketView {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("valid");
    TicketView {
        id: Uuid::now_v7(),
        number: "TKT-000001".into(),
        conversation_id: Some(Uuid::now_v7()),
        subject: "Lost card".into(),
        status: TicketStatus::Open,
        priority: Priority::Urgent,
        reason: EscalationReason::UrgentIntent,
        assignee_id: None,
        created_at: now,
        updated_at: now,
    }
}

/// Serialise, parse as a raw envelope, decode as `T`, and compare.
fn round_trip<T: Message + PartialEq + std::fmt::Debug + Clone>(payload: T) -> RawEnvelope {
    let mut envelope = Envelope::new(payload);
    envelope.occurred_at = envelope.occurred_at.replace_nanosecond(0).expect("valid");
    let raw = RawEnvelope::parse(&envelope.to_json()).expect("parses");
    assert_eq!(raw.kind, T::TYPE);
    assert_eq!(raw.version, T::VERSION);
    let decoded: Envelope<T> = raw.decode().expect("decodes");
    assert_eq!(decoded, envelope);
    raw
}

#[test]
fn every_command_round_trips_and_decodes_to_its_variant() {
    let c = Uuid::now_v7();
    let raw = round_trip(StartConversation {
        conversation_id: c,
        customer: customer(),
        locale: "es".into(),
        channel: "widget".into(),
        follows_conversation_id: None,
    });
    assert!(matches!(
        Command::decode(&raw),
        Ok(Command::StartConversation(_))
    ));
    let raw = round_trip(PostCustomerMessage {
        conversation_id: c,
        message_id: Uuid::now_v7(),
        client_message_id: "c-1".into(),
        text: "hola".into(),
        customer: CustomerRef::default(),
        card_data_masked: false,
        after_message_id: None,
    });
    assert!(matches!(
        Command::decode(&raw),
        Ok(Command::PostCustomerMessage(_))
    ));
    let raw = round_trip(StoreBotReply {
        conversation_id: c,
        message_id: Uuid::now_v7(),
        in_reply_to: Uuid::now_v7(),
        text: "Your balance is…".into(),
        intent: Some("account_balance".into()),
        confidence: Some(0.5),
        question_at: OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("valid"),
        handoff: Some(Handoff {
            reason: EscalationReason::UrgentIntent,
            priority: Priority::Urgent,
        }),
    });
    assert!(matches!(
        Command::decode(&raw),
        Ok(Command::StoreBotReply(_))
    ));
    let raw = round_trip(EscalateConversation {
        conversation_id: c,
        reason: EscalationReason::Frustration,
        priority: Priority::High,
        requested_by: "classifier".into(),
        trigger_message_id: Some(Uuid::now_v7()),
        summary: None,
    });
    assert!(matches!(
        Command::decode(&raw),
        Ok(Command::EscalateConversation(_))
    ));
    let raw = round_trip(PostAgentReply {
        ticket_id: Uuid::now_v7(),
        message_id: Uuid::now_v7(),
        agent_id: Uuid::now_v7(),
        text: "Hi".into(),
    });
    assert!(matches!(
        Command::decode(&raw),
        Ok(Command::PostAgentReply(_))
    ));
}

#[test]
fn every_event_round_trips_and_decodes_to_its_variant() {
    let c = Uuid::now_v7();
    let raw = round_trip(ConversationStarted {
        conversation_id: c,
        customer: customer(),
        locale: "en".into(),
    });
    assert!(matches!(
        Event::decode(&raw),
        Ok(Event::ConversationStarted(_))
    ));
    let raw = round_trip(MessageCreated {
        message: message_view(),
        owner: ConversationOwner::Bot,
        customer: customer(),
        locale: "es".into(),
        history: Some(joxai_schemas::events::ConversationHistory {
            previous_customer_text: Some("hola".into()),
            previous_bot_confidence: Some(0.4),
        }),
    });
    assert!(matches!(Event::decode(&raw), Ok(Event::MessageCreated(_))));
    let raw = round_trip(MessageClassified {
        conversation_id: c,
        message_id: Uuid::now_v7(),
        text: "lost my card".into(),
        intent: "lost_or_stolen_card".into(),
        confidence: 0.97,
        language: "en".into(),
        decision: Decision::Escalate,
        priority: Some(Priority::Urgent),
        reason: Some(EscalationReason::UrgentIntent),
        customer: customer(),
        question_at: OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("valid"),
    });
    assert!(matches!(
        Event::decode(&raw),
        Ok(Event::MessageClassified(_))
    ));
    let raw = round_trip(ConversationEscalated {
        conversation_id: c,
        ticket_id: Uuid::now_v7(),
        ticket_number: "TKT-000001".into(),
        priority: Priority::Normal,
        reason: EscalationReason::CustomerAsked,
    });
    assert!(matches!(
        Event::decode(&raw),
        Ok(Event::ConversationEscalated(_))
    ));
    let raw = round_trip(TicketCreated {
        ticket: ticket_view(),
    });
    assert!(matches!(Event::decode(&raw), Ok(Event::TicketCreated(_))));
}

#[test]
fn an_unknown_type_or_version_is_refused_not_guessed() {
    let mut envelope = Envelope::new(TicketCreated {
        ticket: ticket_view(),
    });
    envelope.version = 99;
    let raw = RawEnvelope::parse(&envelope.to_json()).expect("parses");
    assert!(matches!(
        Event::decode(&raw),
        Err(DecodeError::Version { found: 99, .. })
    ));
    envelope.kind = "ticket.exploded".into();
    let raw = RawEnvelope::parse(&envelope.to_json()).expect("parses");
    assert!(matches!(
        Event::decode(&raw),
        Err(DecodeError::UnknownType(_))
    ));
    assert!(matches!(
        RawEnvelope::parse(b"[1,2,3]"),
        Err(DecodeError::Envelope(_))
    ));
}

#[test]
fn a_derived_message_id_is_stable_so_redeliveries_deduplicate() {
    let cause = Envelope::new(StartConversation {
        conversation_id: Uuid::now_v7(),
        customer: CustomerRef::default(),
        locale: "en".into(),
        channel: "widget".into(),
        follows_conversation_id: None,
    });
    let payload = ConversationStarted {
        conversation_id: cause.payload.conversation_id,
        customer: CustomerRef::default(),
        locale: "en".into(),
    };
    let a = Envelope::derived(&cause, payload.clone());
    let b = Envelope::derived(&cause, payload);
    assert_eq!(a.id, b.id);
    assert_eq!(a.correlation_id, cause.correlation_id);
    assert_eq!(a.causation_id, Some(cause.id));
}

#[test]
fn the_subject_prefix_rejects_anything_that_is_not_a_nats_token() {
    use joxai_schemas::subjects::Subjects;
    assert!(Subjects::new("joxai").is_ok());
    assert!(Subjects::new("tenant-a_1").is_ok());
    for bad in ["", "a.b", "a b", "a>", "*", &"x".repeat(33)] {
        assert!(Subjects::new(bad).is_err(), "{bad:?}");
    }
}
