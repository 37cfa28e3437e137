//! One trace covers a customer message end to end: ingress → ticket worker → classifier → responder
//! → ticket worker → notifier, linked by W3C trace context in NATS headers.

mod support;

use opentelemetry_sdk::trace::InMemorySpanExporter;
use support::{is_message_from, spawn_app, wait_until};

fn attribute(span: &opentelemetry_sdk::trace::SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

#[tokio::test]
async fn one_trace_id_covers_every_hop_of_a_customer_message() {
    let exporter = InMemorySpanExporter::default();
    // Installed before the app, so the app's own `telemetry::init` leaves it in place.
    joxai_platform::telemetry::init_with_exporter(exporter.clone());
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let mut ws = app.ws(&token).await;
    app.post_message(conversation, &token, "m1", "how do I activate my card?")
        .await;
    ws.wait_event("the bot's reply", |f| is_message_from(f, "bot"))
        .await;

    let post_route = "/api/v1/chat/conversations/{id}/messages";
    let mut trace = None;
    wait_until("the spans of the turn are exported", || {
        let spans = exporter.get_finished_spans().unwrap_or_default();
        trace = spans
            .iter()
            .find(|s| {
                s.name == "http request"
                    && attribute(s, "http.route").as_deref() == Some(post_route)
                    && attribute(s, "http.method").as_deref() == Some("POST")
            })
            .map(|s| s.span_context.trace_id());
        let Some(trace) = trace else {
            return std::future::ready(false);
        };
        let in_trace: Vec<_> = spans
            .iter()
            .filter(|s| s.span_context.trace_id() == trace)
            .collect();
        let workers: Vec<String> = in_trace
            .iter()
            .filter_map(|s| attribute(s, "worker"))
            .collect();
        let done = ["ticket", "escalation", "ai"]
            .iter()
            .all(|w| workers.iter().any(|x| x == w))
            && workers.iter().filter(|w| *w == "ticket").count() >= 2
            && in_trace.iter().any(|s| s.name == "push event");
        std::future::ready(done)
    })
    .await;
    app.stop().await;
}
