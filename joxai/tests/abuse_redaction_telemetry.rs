//! The places card data could leak to besides the stores and the wire: logs and trace attributes.
//!
//! Invariant: a card number (however typed, or split over two messages), an IBAN or a security code a
//! customer types never appears in the process's log output (at `debug`, more than production's `info`)
//! or in any span's name, attributes, events or status, beyond the card's first six and last four
//! digits. (`abuse_card_data_everywhere.rs` covers Postgres, the store files, the bus, the API, the
//! sockets and the LLM request.)

mod card_data_support;
mod fault_support;
mod support;

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use card_data_support::{ARABIC_INDIC, FULLWIDTH, Secrets, grouped, iban, in_script};
use fault_support::{free_port, random_pan, wait_long};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use serde_json::{Value, json};
use support::{fresh_database, is_message_from, nats_url, spawn_app, wait_until};
use uuid::Uuid;

/// Customer messages carrying card data in several families (spaces, dots, zero-width characters, fullwidth and
/// Arabic-Indic digits, a number split over two messages, an IBAN), and what must never be seen anywhere.
fn card_messages() -> (Vec<String>, Secrets) {
    let (a, b, c, d, e, f, split) = (
        random_pan(16),
        random_pan(15),
        random_pan(19),
        random_pan(16),
        random_pan(16),
        random_pan(16),
        random_pan(16),
    );
    let cvv = "8264";
    let account = iban("ES", &format!("2100{}", &random_pan(16)));
    let texts = vec![
        format!("my card {} was charged twice, cvv {cvv}", grouped(&a, " ")),
        format!("I lost the card {b} yesterday"),
        format!("card number: {c} security code is {cvv}"),
        format!("mi tarjeta {} no funciona", grouped(&d, ".")),
        format!("card {} please", d_hidden(&e)),
        format!(
            "tarjeta {} y {}",
            grouped(&in_script(&f, FULLWIDTH), "\u{A0}"),
            grouped(&in_script(&a, ARABIC_INDIC), " ")
        ),
        format!("refund to {}", grouped(&account, " ")),
        format!("my new card is {} {}", &split[..4], &split[4..8]),
        format!("{} {}", &split[8..12], &split[12..]),
    ];
    let mut secrets = Secrets {
        digits: vec![],
        phrases: vec![format!("cvv {cvv}"), format!("code is {cvv}")],
    };
    for pan in [&a, &b, &c, &d, &e, &f, &split] {
        secrets.forbid_pan(pan);
    }
    secrets.digits.push(account[4..].to_owned());
    (texts, secrets)
}

/// The digits joined by zero-width joiners.
fn d_hidden(digits: &str) -> String {
    digits
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join("\u{200D}")
}

#[tokio::test]
async fn card_data_never_reaches_a_span_name_attribute_event_or_status() {
    let exporter = InMemorySpanExporter::default();
    // Installed before the app, so the app's own `telemetry::init` leaves it in place.
    joxai_platform::telemetry::init_with_exporter(exporter.clone());
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;
    let (texts, secrets) = card_messages();
    for (i, text) in texts.iter().enumerate() {
        assert_eq!(
            app.post_message(conversation, &token, &format!("span-{i}"), text)
                .await
                .status(),
            202
        );
    }
    wait_until("every message is stored", || async {
        app.count(
            "SELECT count(*) FROM messages WHERE conversation_id = $1 AND sender = 'customer'",
            &[&conversation],
        )
        .await
            == texts.len() as i64
    })
    .await;
    ws.wait_event("a reply or hand-over", |f| {
        is_message_from(f, "bot") || is_message_from(f, "system")
    })
    .await;
    ws.drain_for(Duration::from_secs(1)).await;
    app.stop().await;

    let spans = exporter.get_finished_spans().expect("spans");
    assert!(
        spans.len() > 10,
        "the turn was traced ({} spans)",
        spans.len()
    );
    for span in &spans {
        let mut seen = format!("{} {:?}", span.name, span.status);
        for kv in &span.attributes {
            seen.push_str(&format!(" {}={}", kv.key, kv.value));
        }
        for event in span.events.iter() {
            seen.push_str(&format!(" event {}", event.name));
            for kv in &event.attributes {
                seen.push_str(&format!(" {}={}", kv.key, kv.value));
            }
        }
        secrets.assert_absent(&format!("span {:?}", span.name), &seen);
    }
}

#[tokio::test]
async fn card_data_never_reaches_the_log_output_even_at_debug_level() {
    let port = free_port();
    let database_url = fresh_database().await;
    let log_path = std::env::temp_dir().join(format!("joxai-log-{}.txt", Uuid::new_v4()));
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_joxai"))
        .arg("all")
        .arg("--seed-demo")
        .env("JOXAI_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("JOXAI_DATABASE_URL", &database_url)
        .env("JOXAI_NATS_URL", nats_url())
        .envs(support::nats_env())
        .env("JOXAI_RATE_LIMIT_EXEMPT_LOOPBACK", "true")
        .env(
            "JOXAI_NATS_PREFIX",
            format!("t{}", &Uuid::new_v4().simple().to_string()[..12]),
        )
        .env("JOXAI_NATS_STREAM_MAX_BYTES", (16 << 20).to_string())
        .env("JOXAI_DB_POOL_SIZE", "8")
        .env("RUST_LOG", "debug")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(log.try_clone().expect("clone log"))
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("start joxai all");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_long(
        "the process answers /healthz",
        Duration::from_secs(60),
        || async {
            http.get(format!("{base}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        },
    )
    .await;

    let session: Value = http
        .post(format!("{base}/api/v1/chat/sessions"))
        .json(&json!({}))
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("session body");
    let (conversation, token) = (
        session["conversation_id"].as_str().expect("id").to_owned(),
        session["token"].as_str().expect("token").to_owned(),
    );
    let (texts, secrets) = card_messages();
    for (i, text) in texts.iter().enumerate() {
        let response = http
            .post(format!(
                "{base}/api/v1/chat/conversations/{conversation}/messages"
            ))
            .bearer_auth(&token)
            .json(&json!({ "client_message_id": format!("log-{i}"), "text": text }))
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), 202);
    }
    // Also a refused one: the error path logs too.
    let refused = http
        .post(format!(
            "{base}/api/v1/chat/conversations/{conversation}/messages"
        ))
        .bearer_auth(&token)
        .json(&json!({ "client_message_id": "", "text": texts[0] }))
        .send()
        .await
        .expect("post");
    assert!(refused.status().is_client_error());
    wait_long(
        "every message is answered or handed over",
        Duration::from_secs(30),
        || async {
            let transcript: Value = http
                .get(format!(
                    "{base}/api/v1/chat/conversations/{conversation}/messages"
                ))
                .bearer_auth(&token)
                .send()
                .await
                .expect("transcript")
                .json()
                .await
                .unwrap_or_default();
            let messages = transcript["messages"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let customer = messages
                .iter()
                .filter(|m| m["sender"] == "customer")
                .count();
            let answered = messages
                .iter()
                .any(|m| m["sender"] == "bot" || m["sender"] == "system");
            customer == texts.len() && answered
        },
    )
    .await;
    // Let the last events be pushed and logged.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = child.kill();
    let _ = child.wait();

    let mut output = String::new();
    std::fs::File::open(&log_path)
        .expect("open log")
        .read_to_string(&mut output)
        .expect("read log");
    let _ = std::fs::remove_file(&log_path);
    assert!(
        output.lines().count() > 20,
        "the process logged at debug level:\n{output}"
    );
    assert!(output.contains("DEBUG"), "debug lines were written");
    secrets.assert_absent("the log output", &output);
}
