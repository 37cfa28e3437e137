//! Both LLM providers against a local fake HTTP server: a normal answer, a timeout, 429 with
//! Retry-After, malformed output, redaction of what leaves the process, and sanitising of what comes back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use joxai_platform::config::Config;
use joxai_schemas::types::{EscalationReason, Priority};
use joxai_workers::responder::llm::{Llm, LlmError, Turn};
use serde_json::{Value, json};

/// How the fake provider behaves for each call, in order (the last one repeats).
#[derive(Clone)]
enum Behaviour {
    Answer(Value),
    Slow(Duration),
    RateLimited { retry_after_secs: u64 },
}

#[derive(Clone, Default)]
struct Fake {
    script: Arc<Mutex<Vec<Behaviour>>>,
    requests: Arc<Mutex<Vec<Value>>>,
}

async fn respond(State(fake): State<Fake>, Json(body): Json<Value>) -> Response {
    fake.requests.lock().expect("lock").push(body);
    let behaviour = {
        let mut script = fake.script.lock().expect("lock");
        if script.len() > 1 {
            script.remove(0)
        } else {
            script[0].clone()
        }
    };
    match behaviour {
        Behaviour::Answer(v) => Json(v).into_response(),
        Behaviour::Slow(d) => {
            tokio::time::sleep(d).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Behaviour::RateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after_secs.to_string())],
            "slow down",
        )
            .into_response(),
    }
}

async fn fake_provider(script: Vec<Behaviour>) -> (String, Fake) {
    let fake = Fake {
        script: Arc::new(Mutex::new(script)),
        requests: Arc::default(),
    };
    let app = Router::new()
        .route("/v1/messages", post(respond))
        .route("/v1/chat/completions", post(respond))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), fake)
}

fn llm(provider: &str, base_url: &str, timeout_ms: u64) -> Llm {
    let key = if provider == "anthropic" {
        "llm.anthropic_api_key"
    } else {
        "llm.openai_api_key"
    };
    let config = Config::from_figment(
        Config::figment()
            .merge(("llm.provider", provider))
            .merge(("llm.base_url", base_url))
            .merge((key, "test-key"))
            .merge(("ai_timeout_ms", timeout_ms)),
    )
    .expect("config");
    Llm::from_config(&config).expect("an LLM is configured")
}

fn anthropic_answer(input: Value) -> Value {
    json!({ "content": [{ "type": "tool_use", "name": "respond", "input": input }], "usage": { "input_tokens": 12, "output_tokens": 7 } })
}

fn openai_answer(content: &str) -> Value {
    json!({ "choices": [{ "message": { "content": content } }], "usage": { "prompt_tokens": 12, "completion_tokens": 7 } })
}

fn question(text: &str) -> Vec<Turn> {
    vec![Turn {
        role: "user",
        text: text.into(),
    }]
}

#[tokio::test]
async fn anthropic_answers_through_a_forced_tool_call_with_a_structured_handoff() {
    let (url, fake) = fake_provider(vec![Behaviour::Answer(anthropic_answer(
        json!({ "reply": "Your card is blocked.", "handoff": { "reason": "urgent_intent", "priority": "urgent" } }),
    ))])
    .await;
    let reply = llm("anthropic", &url, 2000)
        .answer("rules", &question("I lost my card"))
        .await
        .expect("answer");
    assert_eq!(reply.reply, "Your card is blocked.");
    let handoff = reply.handoff.expect("structured handoff");
    assert_eq!(
        (handoff.reason, handoff.priority),
        (EscalationReason::UrgentIntent, Priority::Urgent)
    );
    let sent = fake.requests.lock().expect("lock")[0].clone();
    assert_eq!(sent["tool_choice"]["name"], "respond");
    assert_eq!(sent["system"], "rules");
}

#[tokio::test]
async fn openai_answers_in_json_mode() {
    let (url, fake) = fake_provider(vec![Behaviour::Answer(openai_answer(
        r#"{"reply":"Transfers take one day.","handoff":null}"#,
    ))])
    .await;
    let reply = llm("openai", &url, 2000)
        .answer("rules", &question("how long do transfers take?"))
        .await
        .expect("answer");
    assert_eq!(reply.reply, "Transfers take one day.");
    assert!(reply.handoff.is_none());
    assert_eq!(
        fake.requests.lock().expect("lock")[0]["response_format"]["type"],
        "json_object"
    );
}

#[tokio::test]
async fn a_provider_slower_than_the_deadline_times_out_so_the_caller_can_fall_back() {
    let (url, _) = fake_provider(vec![Behaviour::Slow(Duration::from_secs(5))]).await;
    for provider in ["anthropic", "openai"] {
        let result = llm(provider, &url, 300)
            .answer("rules", &question("hi"))
            .await;
        assert!(
            matches!(result, Err(LlmError::Timeout)),
            "{provider}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_and_then_succeeds() {
    let (url, fake) = fake_provider(vec![
        Behaviour::RateLimited {
            retry_after_secs: 1,
        },
        Behaviour::Answer(openai_answer(r#"{"reply":"Hello!"}"#)),
    ])
    .await;
    let started = std::time::Instant::now();
    let reply = llm("openai", &url, 5000)
        .answer("rules", &question("hi"))
        .await
        .expect("answer after retry");
    assert_eq!(reply.reply, "Hello!");
    assert_eq!(fake.requests.lock().expect("lock").len(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited for Retry-After"
    );
}

#[tokio::test]
async fn malformed_output_is_reported_as_malformed_so_the_conversation_is_escalated() {
    for (provider, body) in [
        ("openai", openai_answer("Sure! Your balance is fine.")),
        (
            "anthropic",
            json!({ "content": [{ "type": "text", "text": "no tool call" }] }),
        ),
        (
            "openai",
            openai_answer(r#"{"reply":"x","handoff":{"reason":"because","priority":"now"}}"#),
        ),
    ] {
        let (url, _) = fake_provider(vec![Behaviour::Answer(body)]).await;
        let result = llm(provider, &url, 2000)
            .answer("rules", &question("hi"))
            .await;
        assert!(
            matches!(result, Err(LlmError::Malformed(_))),
            "{provider}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_card_number_and_cvv_are_redacted_before_the_request_leaves_the_process() {
    for provider in ["anthropic", "openai"] {
        let answer = if provider == "anthropic" {
            anthropic_answer(json!({ "reply": "ok" }))
        } else {
            openai_answer(r#"{"reply":"ok"}"#)
        };
        let (url, fake) = fake_provider(vec![Behaviour::Answer(answer)]).await;
        llm(provider, &url, 2000)
            .answer(
                "Facts: card 5500 0000 0000 0004",
                &question("my card is 4111 1111 1111 1111 and cvv 737"),
            )
            .await
            .expect("answer");
        let sent = fake.requests.lock().expect("lock")[0].to_string();
        for secret in [
            "4111 1111 1111 1111",
            "4111111111111111",
            "5500 0000 0000 0004",
            "737",
        ] {
            assert!(
                !sent.contains(secret),
                "{provider} request leaked {secret}: {sent}"
            );
        }
        assert!(sent.contains("411111******1111"));
    }
}

#[tokio::test]
async fn hostile_model_output_is_sanitised() {
    let (url, _) = fake_provider(vec![Behaviour::Answer(openai_answer(
        r#"{"reply":"Click <a href=\"javascript:alert(1)\">here</a><script>steal()</script> now"}"#,
    ))])
    .await;
    let reply = llm("openai", &url, 2000)
        .answer("rules", &question("hi"))
        .await
        .expect("answer");
    assert!(
        !reply.reply.contains('<') && !reply.reply.to_lowercase().contains("javascript:"),
        "{}",
        reply.reply
    );
    assert!(reply.reply.starts_with("Click here"));
}
