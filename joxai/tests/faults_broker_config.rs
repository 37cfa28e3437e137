//! What the live broker holds, not what the code meant to ask for.
//!
//! The invariants read back from nats-server itself: every stream is on disk with explicit limits and
//! a duplicate window; every worker consumer acknowledges explicitly with an `ack_wait` that outlasts
//! its handler, and a bounded `max_deliver`; a command published twice is stored once, whether the
//! broker or the consumer catches the duplicate.

mod support;

use std::time::Duration;

use async_nats::jetstream::{consumer, stream};
use bytes::Bytes;
use joxai_schemas::Envelope;
use joxai_schemas::commands::PostCustomerMessage;
use joxai_schemas::streams::WorkerKind;
use support::{spawn_app, spawn_app_with, wait_until};

/// Every stream is file-backed (survives a broker restart), bounded in age, bytes, count and message
/// size (a runaway producer cannot fill the disk), de-duplicates by `Nats-Msg-Id` for two minutes,
/// and the streams of unprocessed work refuse new messages when full rather than evict old ones.
#[tokio::test]
async fn every_stream_is_file_backed_bounded_and_deduplicating_on_the_live_broker() {
    let app = spawn_app().await;
    let topology = app.platform.bus.topology().clone();
    for (name, min_age) in [
        (topology.commands_stream(), Duration::from_secs(24 * 3600)),
        (topology.events_stream(), Duration::from_secs(24 * 3600)),
        (
            topology.dead_letter_stream(),
            Duration::from_secs(7 * 24 * 3600),
        ),
    ] {
        let mut s = app
            .platform
            .bus
            .jetstream()
            .get_stream(&name)
            .await
            .expect("stream exists");
        let config = s.info().await.expect("stream info").config.clone();
        assert_eq!(
            config.storage,
            stream::StorageType::File,
            "{name}: file storage"
        );
        assert_eq!(
            config.retention,
            stream::RetentionPolicy::Limits,
            "{name}: limits retention"
        );
        // Commands and events hold work not done yet: a full stream refuses, it never evicts.
        let discard = if name == topology.dead_letter_stream() {
            stream::DiscardPolicy::Old
        } else {
            stream::DiscardPolicy::New
        };
        assert_eq!(config.discard, discard, "{name}: what a full stream does");
        assert_eq!(
            config.max_bytes,
            16 << 20,
            "{name}: max_bytes from configuration"
        );
        assert!(config.max_messages > 0, "{name}: a message count limit");
        assert!(
            config.max_age >= min_age,
            "{name}: kept at least {min_age:?}, is {:?}",
            config.max_age
        );
        assert!(
            config.max_message_size > 0 && config.max_message_size <= 1 << 20,
            "{name}: message size capped"
        );
        assert_eq!(
            config.duplicate_window,
            Duration::from_secs(120),
            "{name}: two-minute duplicate window"
        );
        assert_eq!(
            config.num_replicas, 1,
            "{name}: replicas from configuration"
        );
    }
    app.stop().await;
}

/// Every worker's durable consumer acknowledges explicitly, has the configured `ack_wait` and
/// `max_deliver`, and its `ack_wait` exceeds the worker's handler timeout (for the AI responder, the
/// LLM deadline too): the broker never redelivers work still in progress.
#[tokio::test]
async fn every_worker_consumer_acks_explicitly_and_waits_longer_than_its_handler_on_the_live_broker()
 {
    let app = spawn_app_with(|f| {
        f.merge(("workers.ticket.ack_wait_ms", 7_000))
            .merge(("workers.ticket.handler_timeout_ms", 5_000))
            .merge(("workers.ticket.max_deliver", 4))
    })
    .await;
    let platform = &app.platform;
    for kind in WorkerKind::ALL {
        let worker = platform.config.worker(kind).clone();
        let spec = platform.bus.topology().consumer(kind, worker.timing());
        let stream = platform
            .bus
            .jetstream()
            .get_stream_no_info(&spec.stream)
            .await
            .expect("stream");
        // Workers create their consumer when they start; wait for it rather than race it.
        wait_until(
            &format!("consumer {} exists", spec.durable_name),
            || async { stream.consumer_info(&spec.durable_name).await.is_ok() },
        )
        .await;
        let info = stream
            .consumer_info(&spec.durable_name)
            .await
            .expect("consumer info");
        let c = &info.config;
        let name = kind.as_str();
        assert_eq!(
            c.durable_name.as_deref(),
            Some(spec.durable_name.as_str()),
            "{name}: durable"
        );
        assert_eq!(
            c.ack_policy,
            consumer::AckPolicy::Explicit,
            "{name}: explicit acks"
        );
        assert_eq!(
            c.ack_wait,
            Duration::from_millis(worker.ack_wait_ms),
            "{name}: ack_wait from configuration"
        );
        assert_eq!(
            c.max_deliver, worker.max_deliver,
            "{name}: max_deliver from configuration"
        );
        assert!(c.max_deliver >= 2, "{name}: at least one retry");
        assert!(
            c.max_ack_pending > 0,
            "{name}: bounded ack-pending (back-pressure)"
        );
        // Retries are scheduled by NAK delays from the runtime (`retry_min_ms`..`retry_max_ms`); a
        // broker BackOff would override both ack_wait and those delays, so there must be none.
        assert!(
            c.backoff.is_empty(),
            "{name}: no broker BackOff overriding ack_wait, got {:?}",
            c.backoff
        );
        assert!(
            c.ack_wait > worker.handler_timeout(),
            "{name}: ack_wait {:?} must exceed the handler timeout {:?}",
            c.ack_wait,
            worker.handler_timeout()
        );
        if kind == WorkerKind::Ai {
            assert!(
                c.ack_wait > Duration::from_millis(platform.config.ai_timeout_ms),
                "ai: ack_wait must exceed the LLM deadline"
            );
        }
    }
    assert_eq!(
        platform.config.workers.ticket.max_deliver, 4,
        "the test's override reached the broker"
    );
    app.stop().await;
}

/// Settings that cannot work are refused at start-up with a message that names the setting, instead of
/// quietly running without the LLM or with a guessable widget secret.
#[test]
fn an_unknown_llm_provider_a_provider_without_its_key_and_a_short_widget_secret_are_refused() {
    use joxai_platform::config::Config;
    let refused = |figment: figment::Figment| match Config::from_figment(figment) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    };
    let message = refused(Config::figment().merge(("llm.provider", "antropic")));
    assert!(
        message.contains("JOXAI_LLM__PROVIDER") && message.contains("antropic"),
        "{message}"
    );
    let message = refused(Config::figment().merge(("llm.provider", "openai")));
    assert!(message.contains("OPENAI_API_KEY"), "{message}");
    let message = refused(Config::figment().merge(("widget_secret", "short")));
    assert!(message.contains("JOXAI_WIDGET_SECRET"), "{message}");
    for fine in ["offline", "openai"] {
        let config = Config::from_figment(
            Config::figment()
                .merge(("llm.provider", fine))
                .merge(("llm.openai_api_key", "k")),
        );
        assert!(config.is_ok(), "{fine}: {:?}", config.err());
    }
}

/// Configurations in which the broker would redeliver work still in progress are refused at start-up.
#[test]
fn a_configuration_whose_ack_wait_does_not_outlast_the_handler_is_refused() {
    use joxai_platform::config::Config;
    for (ack_wait, handler) in [(1_000, 1_000), (1_000, 950), (500, 2_000)] {
        let result = Config::from_figment(
            Config::figment()
                .merge(("workers.ticket.ack_wait_ms", ack_wait))
                .merge(("workers.ticket.handler_timeout_ms", handler)),
        );
        assert!(
            result.is_err(),
            "ack_wait {ack_wait} ms with a {handler} ms handler must be refused"
        );
    }
}

/// Item 1: the same command published twice inside the duplicate window is kept once by the broker;
/// published again with another `Nats-Msg-Id` (as after the window) it is stored once by the ticket
/// worker's idempotency, and produces one `message.created` event.
#[tokio::test]
async fn the_same_command_published_twice_is_stored_once_inside_and_after_the_dedup_window() {
    let app = spawn_app().await;
    let (conversation, _token) = app.start_session().await;
    let bus = &app.platform.bus;
    let message_id = uuid::Uuid::new_v5(&conversation, b"dup-1");
    let command = Envelope::with_id(
        message_id,
        message_id,
        None,
        PostCustomerMessage {
            conversation_id: conversation,
            message_id,
            client_message_id: "dup-1".into(),
            text: "hello twice".into(),
            customer: Default::default(),
            card_data_masked: false,
            after_message_id: None,
        },
    );
    let subject = bus.subjects().command::<PostCustomerMessage>();
    let first = bus
        .publish(subject.clone(), &command)
        .await
        .expect("publish");
    let second = bus
        .publish(subject.clone(), &command)
        .await
        .expect("publish again");
    assert!(
        !first.duplicate && second.duplicate,
        "the broker drops the copy inside the window"
    );
    assert_eq!(first.sequence, second.sequence);
    // A copy the broker cannot recognise (the window has passed, or a replay): another Nats-Msg-Id.
    let late = bus
        .publish_raw(
            subject,
            &format!("{message_id}-after-window"),
            async_nats::HeaderMap::new(),
            Bytes::from(command.to_json()),
        )
        .await
        .expect("publish late copy");
    assert!(!late.duplicate, "the broker stores the late copy");

    wait_until("the message is stored", || async {
        app.count(
            "SELECT count(*) FROM messages WHERE id = $1",
            &[&message_id],
        )
        .await
            == 1
    })
    .await;
    // Let the ticket worker take the late copy too before counting.
    let commands = bus.topology().commands_stream();
    let stream = bus
        .jetstream()
        .get_stream_no_info(&commands)
        .await
        .expect("stream");
    wait_until("the ticket worker has acked both copies", || async {
        stream
            .consumer_info(WorkerKind::Ticket.durable_name())
            .await
            .is_ok_and(|i| i.ack_floor.stream_sequence >= late.sequence && i.num_ack_pending == 0)
    })
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM messages WHERE id = $1",
            &[&message_id]
        )
        .await,
        1
    );
    let created = fault_events(&app, "message.created", message_id).await;
    assert_eq!(created, 1, "one message.created event for the message");
    app.stop().await;
}

/// How many events of `kind` on the events stream carry the message `id`.
async fn fault_events(app: &support::TestApp, kind: &str, id: uuid::Uuid) -> usize {
    let platform = &app.platform;
    let mut stream = platform
        .bus
        .jetstream()
        .get_stream(platform.bus.topology().events_stream())
        .await
        .expect("stream");
    let state = stream.info().await.expect("info").state.clone();
    let mut n = 0;
    for seq in state.first_sequence..=state.last_sequence {
        if let Ok(m) = stream.get_raw_message(seq).await {
            let Ok(event) = serde_json::from_slice::<serde_json::Value>(&m.payload) else {
                continue;
            };
            if event["type"] == kind && event["payload"]["message"]["id"] == id.to_string() {
                n += 1;
            }
        }
    }
    n
}

/// Processes of one deployment share `JOXAI_JWT_SECRET` (or `jwt_secret` in the `JOXAI_CONFIG` file):
/// a token the ingress issues must verify in the notifier. Both sources land in figment's default
/// profile, exactly as a TOML string does here.
#[test]
fn a_jwt_secret_from_the_environment_or_file_is_the_one_every_process_uses() {
    use figment::providers::{Format as _, Toml};
    use joxai_platform::config::Config;
    use joxai_platform::tokens::TokenKeys;
    use secrecy::ExposeSecret as _;
    let shared = "a-shared-secret-of-at-least-thirty-two-characters";
    let process = || {
        Config::from_figment(Config::figment().merge(Toml::string(&format!(
            "jwt_secret = \"{shared}\"\nwidget_secret = \"{shared}\""
        ))))
        .expect("config")
    };
    let (ingress, notifier) = (process(), process());
    assert_eq!(
        ingress.jwt_secret.expose_secret(),
        shared,
        "the configured secret is used"
    );
    assert_eq!(
        ingress.widget_secret.expose_secret(),
        shared,
        "the configured widget secret is used"
    );
    let (token, _) =
        TokenKeys::new(&ingress).issue_customer(uuid::Uuid::now_v7(), Default::default());
    assert!(
        TokenKeys::new(&notifier).verify(&token).is_ok(),
        "the notifier accepts the ingress's customer token"
    );
}
