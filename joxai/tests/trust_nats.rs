//! The bus trusts no one by default: every connection is TLS, every client is one of the product's
//! roles, each role may publish and subscribe only where its work lies, and an acknowledged publish
//! is on disk. Checked against a real nats-server running the configuration the dev scripts give
//! every server (`infra/scripts/nats-security.sh`), the refusals coming from the server itself.

mod fault_support;
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fault_support::PrivateNats;
use joxai_platform::Platform;
use joxai_schemas::commands::PostCustomerMessage;
use joxai_schemas::events::MessageCreated;
use joxai_schemas::streams::WorkerKind;
use serde_json::{Value, json};
use support::{test_config, wait_until};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A raw client of `nats` as `role` (None: anonymous), recording the errors the server sends.
async fn raw_client(
    nats: &PrivateNats,
    role: Option<&str>,
) -> Result<(async_nats::Client, Arc<Mutex<Vec<String>>>), async_nats::ConnectError> {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let seen = errors.clone();
    let mut options = async_nats::ConnectOptions::new()
        .require_tls(true)
        .add_root_certificates(nats.security.join("ca.pem"))
        .connection_timeout(Duration::from_secs(3))
        .event_callback(move |event| {
            let seen = seen.clone();
            async move {
                seen.lock().expect("lock").push(event.to_string());
            }
        });
    if let Some(role) = role {
        let password = std::fs::read_to_string(nats.security.join("credentials").join(role))
            .expect("password");
        options = options
            .user_and_password(role.into(), password.trim().into())
            .custom_inbox_prefix(format!("_INBOX_{role}"));
    }
    let client = options.connect(nats.url()).await?;
    Ok((client, errors))
}

/// The platform of one role on `nats`, sharing the database and prefix of `base`.
async fn platform_as(nats: &PrivateNats, base: &figment::Figment, role: &str) -> Platform {
    let config = joxai_platform::config::Config::from_figment(nats.connect_as(role, base.clone()))
        .expect("config");
    Platform::connect(config)
        .await
        .unwrap_or_else(|e| panic!("{role} connects: {e:#}"))
}

/// A figment with a fresh database and prefix, and the operator's identity on `nats`.
async fn base_figment(nats: &PrivateNats) -> figment::Figment {
    let config = test_config(|f| nats.connect_as("operator", f)).await;
    use secrecy::ExposeSecret as _;
    joxai_platform::config::Config::figment()
        .merge((
            "database_url",
            config.database_url.expose_secret().to_owned(),
        ))
        .merge(("nats_prefix", config.nats_prefix.clone()))
        .merge(("nats_stream_max_bytes", 16 << 20))
        .merge(("db_pool_size", 4))
        .merge(("drain_seconds", 2))
        .merge(("jwt_secret", "x".repeat(40)))
        .merge(("widget_secret", "y".repeat(40)))
}

async fn stream_messages(platform: &Platform, stream: &str) -> u64 {
    let mut stream = platform
        .bus
        .jetstream()
        .get_stream(stream)
        .await
        .expect("stream");
    stream.info().await.expect("info").state.messages
}

fn violations(errors: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    errors
        .lock()
        .expect("lock")
        .iter()
        .filter(|e| e.to_lowercase().contains("permissions violation"))
        .cloned()
        .collect()
}

#[tokio::test]
async fn an_anonymous_client_and_a_plain_text_client_are_refused_by_the_bus() {
    let nats = PrivateNats::start();
    let anonymous = raw_client(&nats, None).await;
    assert!(
        anonymous.is_err(),
        "an anonymous client over TLS was let in"
    );
    let wrong_password = async_nats::ConnectOptions::with_user_and_password(
        "ingress".into(),
        "not-the-password".into(),
    )
    .require_tls(true)
    .add_root_certificates(nats.security.join("ca.pem"))
    .connection_timeout(Duration::from_secs(3))
    .connect(nats.url())
    .await;
    assert!(wrong_password.is_err(), "a wrong password was let in");
    // The server announces that it requires TLS and authentication before anything else.
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", nats.port))
        .await
        .expect("tcp");
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut info = vec![0u8; 4096];
    let n = socket.read(&mut info).await.expect("server INFO");
    let info = String::from_utf8_lossy(&info[..n]).to_string();
    assert!(
        info.contains("\"tls_required\":true"),
        "the server offers plain text: {info}"
    );
    assert!(
        info.contains("\"auth_required\":true"),
        "the server does not require authentication: {info}"
    );
    // A client that ignores `tls_required` and talks plain text is cut off.
    socket
        .write_all(b"CONNECT {\"verbose\":false}\r\nPUB joxai.cmd.x 2\r\nhi\r\nPING\r\n")
        .await
        .expect("write");
    let mut reply = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut reply))
        .await
        .expect("server answers")
        .unwrap_or(0);
    let reply = String::from_utf8_lossy(&reply[..n]).to_string();
    assert!(
        !reply.contains("PONG"),
        "a plain-text client was served: {reply}"
    );
}

#[tokio::test]
async fn a_role_cannot_publish_or_subscribe_outside_its_own_subjects() {
    let nats = PrivateNats::start();
    let base = base_figment(&nats).await;
    let operator = platform_as(&nats, &base, "operator").await;
    let topology = operator.bus.topology().clone();
    let subjects = operator.bus.subjects().clone();
    let conversation = Uuid::now_v7();
    // The body does not matter: the server refuses by subject, before any worker could read it.
    let forged = json!({ "conversation_id": conversation, "text": "forged by a role that may not", "actor": "admin" }).to_string();

    // Neither the notifier nor the escalation classifier may post a customer's message; the
    // server drops the publish, so the stream never holds it.
    for role in ["notifier", "escalation"] {
        let (client, errors) = raw_client(&nats, Some(role)).await.expect("role connects");
        let js = async_nats::jetstream::new(client.clone());
        let publish = js
            .publish(
                subjects.command::<PostCustomerMessage>(),
                forged.clone().into(),
            )
            .await;
        let acked = match publish {
            Ok(ack) => tokio::time::timeout(Duration::from_secs(3), ack)
                .await
                .is_ok_and(|a| a.is_ok()),
            Err(_) => false,
        };
        assert!(!acked, "{role} published a customer message");
        wait_until(
            &format!("the server reports {role}'s publish violation"),
            || {
                let errors = errors.clone();
                async move { !violations(&errors).is_empty() }
            },
        )
        .await;
        assert_eq!(
            stream_messages(&operator, &topology.commands_stream()).await,
            0,
            "{role}'s forged command is in the stream"
        );
    }

    // Only the ticket worker writes a conversation's events: the ingress may not forge one.
    let (ingress, ingress_errors) = raw_client(&nats, Some("ingress"))
        .await
        .expect("ingress connects");
    ingress
        .publish(subjects.event::<MessageCreated>(conversation), "{}".into())
        .await
        .expect("send");
    ingress.flush().await.expect("flush");
    wait_until("the server reports the ingress's event publish", || {
        let errors = ingress_errors.clone();
        async move { !violations(&errors).is_empty() }
    })
    .await;
    assert_eq!(
        stream_messages(&operator, &topology.events_stream()).await,
        0,
        "the ingress wrote an event"
    );

    // Subscribing: the notifier may not read commands, the ingress may not read events, and no
    // role may read another role's inbox (where JetStream delivers its messages).
    for (role, subject) in [
        ("notifier", subjects.all_commands()),
        ("ingress", subjects.all_events()),
        ("ai", "_INBOX_notifier.>".to_owned()),
        ("escalation", ">".to_owned()),
    ] {
        let (client, errors) = raw_client(&nats, Some(role)).await.expect("role connects");
        let mut subscription = client
            .subscribe(subject.clone())
            .await
            .expect("subscribe sent");
        client.flush().await.expect("flush");
        wait_until(
            &format!("the server refuses {role}'s subscription to {subject}"),
            || {
                let errors = errors.clone();
                async move {
                    violations(&errors)
                        .iter()
                        .any(|e| e.to_lowercase().contains("subscription"))
                }
            },
        )
        .await;
        // The operator publishes there: the refused subscriber receives nothing.
        operator
            .bus
            .client()
            .publish(subject.replace('>', "probe"), "secret".into())
            .await
            .expect("publish");
        operator.bus.client().flush().await.expect("flush");
        use futures::StreamExt as _;
        let got = tokio::time::timeout(Duration::from_millis(300), subscription.next()).await;
        assert!(
            !matches!(got, Ok(Some(_))),
            "{role} received a message on {subject}"
        );
    }

    // Control: the roles that may, can.
    let ingress_platform = platform_as(&nats, &base, "ingress").await;
    let before = stream_messages(&operator, &topology.commands_stream()).await;
    ingress_platform
        .bus
        .publish_raw(
            subjects.command::<PostCustomerMessage>(),
            "genuine",
            async_nats::HeaderMap::new(),
            forged.clone().into(),
        )
        .await
        .expect("the ingress publishes a command");
    assert_eq!(
        stream_messages(&operator, &topology.commands_stream()).await,
        before + 1
    );
}

/// Every role runs as its own process would, with its own identity: a customer's message goes in
/// through the ingress, is stored by the ticket worker, classified, answered by the AI responder and
/// pushed by the notifier, and the server reports no permission violation along the way.
#[tokio::test]
async fn the_product_works_with_each_role_holding_only_its_own_permissions() {
    let nats = PrivateNats::start();
    let base = base_figment(&nats).await;
    let operator = platform_as(&nats, &base, "operator").await;
    operator.db.migrate().await.expect("migrate");
    let shutdown = CancellationToken::new();
    let mut tasks = Vec::new();
    let listen = || async {
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind")
    };
    let ingress_listener = listen().await;
    let ingress_addr = ingress_listener.local_addr().expect("addr");
    tasks.push(tokio::spawn(joxai_ingress::run(
        platform_as(&nats, &base, "ingress").await,
        ingress_listener,
        shutdown.clone(),
    )));
    for (role, kind) in [
        ("ticket", WorkerKind::Ticket),
        ("escalation", WorkerKind::Escalation),
        ("ai", WorkerKind::Ai),
    ] {
        let platform = platform_as(&nats, &base, role).await;
        tasks.push(tokio::spawn(joxai::run_worker(
            platform,
            vec![kind],
            listen().await,
            shutdown.clone(),
        )));
    }
    let notifier_listener = listen().await;
    let notifier_addr = notifier_listener.local_addr().expect("addr");
    tasks.push(tokio::spawn(joxai_notifier::run(
        platform_as(&nats, &base, "notifier").await,
        notifier_listener,
        shutdown.clone(),
    )));

    let http = reqwest::Client::new();
    let base_url = format!("http://{ingress_addr}");
    wait_until("the ingress answers", || async {
        http.get(format!("{base_url}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    let session: Value = http
        .post(format!("{base_url}/api/v1/chat/sessions"))
        .json(&json!({}))
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("json");
    let conversation = session["conversation_id"].as_str().expect("id").to_owned();
    let token = session["token"].as_str().expect("token").to_owned();

    use futures::{SinkExt as _, StreamExt as _};
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{notifier_addr}/api/v1/ws"))
        .await
        .expect("ws");
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        json!({ "type": "auth", "token": token }).to_string().into(),
    ))
    .await
    .expect("auth");

    let posted = http
        .post(format!(
            "{base_url}/api/v1/chat/conversations/{conversation}/messages"
        ))
        .bearer_auth(&token)
        .json(&json!({ "client_message_id": "c1", "text": "What are your opening hours?" }))
        .send()
        .await
        .expect("post");
    assert_eq!(posted.status(), 202);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut bot_pushed = false;
    while !bot_pushed && tokio::time::Instant::now() < deadline {
        let Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) =
            tokio::time::timeout(Duration::from_secs(1), ws.next()).await
        else {
            continue;
        };
        let frame: Value = serde_json::from_str(&text).expect("json");
        // The bot's answer, or the hand-over message when the classifier passes the question to a person:
        // either way every role did its part and the notifier pushed the outcome.
        bot_pushed = frame["type"] == "event"
            && (support::is_message_from(&frame, "bot")
                || support::is_message_from(&frame, "system"));
    }
    if !bot_pushed {
        let log = std::fs::read_to_string(nats.store.join("nats.log")).unwrap_or_default();
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("[ERR]"))
            .take(20)
            .collect();
        panic!(
            "the notifier never pushed the bot's answer or the hand-over; the server said:\n{}",
            errors.join("\n")
        );
    }
    shutdown.cancel();
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
    let log = std::fs::read_to_string(nats.store.join("nats.log")).unwrap_or_default();
    let denied: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Permissions Violation"))
        .collect();
    assert!(
        denied.is_empty(),
        "the product needed permissions its roles lack:\n{}",
        denied.join("\n")
    );
}

/// An acknowledged publish is on disk: the live server fsyncs before every acknowledgement. Read
/// from the server's own monitoring endpoint, for the configuration every dev script starts, and
/// for the shared test server when `make test` names it.
#[tokio::test]
async fn the_live_broker_fsyncs_every_publish_before_acknowledging_it() {
    let nats = PrivateNats::start();
    let mut endpoints = vec![format!("http://127.0.0.1:{}/varz", nats.monitor_port)];
    if let Ok(url) = std::env::var("JOXAI_TEST_NATS_MONITOR_URL") {
        endpoints.push(format!("{}/varz", url.trim_end_matches('/')));
    }
    for endpoint in endpoints {
        let varz: Value = reqwest::get(&endpoint)
            .await
            .expect("varz")
            .json()
            .await
            .expect("json");
        assert_eq!(
            varz["jetstream"]["config"]["sync_always"], true,
            "{endpoint}: JetStream acknowledges before fsync: {}",
            varz["jetstream"]["config"]
        );
        assert_eq!(
            varz["tls_required"], true,
            "{endpoint}: TLS is not required"
        );
        assert_eq!(
            varz["auth_required"], true,
            "{endpoint}: authentication is not required"
        );
    }
}
