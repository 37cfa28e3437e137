//! Every Prometheus metric family JoxAI exports, defined in one place so names and labels stay
//! consistent across services (and match `infra/prometheus/exported-metrics.txt`).
//!
//! Label values are always bounded sets (routes as templates, worker kinds, outcomes, intents):
//! never ids, which would make the time-series count grow with traffic.

use std::sync::LazyLock;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder, exponential_buckets,
};

pub struct Metrics {
    pub registry: Registry,
    /// Every family this process can export, registered or not yet observed.
    families: Vec<String>,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub ws_connections: IntGaugeVec,
    pub ws_pushes: IntCounterVec,
    pub ws_slow_client_drops: IntCounterVec,
    pub ws_resumes: IntCounterVec,
    pub worker_messages: IntCounterVec,
    pub worker_duration: HistogramVec,
    pub worker_redeliveries: IntCounterVec,
    pub worker_in_flight: IntGaugeVec,
    pub consumer_pending: IntGaugeVec,
    pub consumer_ack_pending: IntGaugeVec,
    pub stream_used_percent: IntGaugeVec,
    pub dead_letters: IntCounterVec,
    pub chat_turns: IntCounter,
    pub chat_turn_duration: Histogram,
    pub nlu_duration: Histogram,
    pub nlu_intents: IntCounterVec,
    pub escalations: IntCounterVec,
    pub llm_duration: HistogramVec,
    pub llm_errors: IntCounterVec,
    pub llm_fallbacks: IntCounterVec,
    pub llm_tokens: IntCounterVec,
    pub tickets_created: IntCounterVec,
    pub tickets_sla_breached: IntGauge,
    pub db_pool_connections: IntGaugeVec,
    pub db_pool_waiting: IntGauge,
    pub db_query_duration: HistogramVec,
    pub db_batch_size: prometheus::Histogram,
    pub db_batch_fallbacks: prometheus::IntCounter,
}

/// Latency buckets from 0.5 ms to ~16 s: chat turns are milliseconds, LLM calls are seconds.
fn latency_buckets() -> Vec<f64> {
    exponential_buckets(0.0005, 2.0, 16).unwrap_or_default()
}

fn histogram(name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(latency_buckets()),
        labels,
    )
    .unwrap_or_else(|e| panic!("metric {name}: {e}"))
}
fn plain_histogram(name: &str, help: &str) -> Histogram {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(latency_buckets()))
        .unwrap_or_else(|e| panic!("metric {name}: {e}"))
}
fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| panic!("metric {name}: {e}"))
}
fn gauge(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("metric {name}: {e}"))
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Self {
        let mut m = Metrics {
            registry: Registry::new(),
            families: Vec::new(),
            http_requests: counter(
                "joxai_http_requests_total",
                "HTTP requests by route template and status.",
                &["service", "route", "method", "status"],
            ),
            http_duration: histogram(
                "joxai_http_request_duration_seconds",
                "HTTP request latency.",
                &["service", "route", "method"],
            ),
            ws_connections: gauge("joxai_ws_connections", "Open WebSocket connections.", &["kind"]),
            ws_pushes: counter("joxai_ws_pushes_total", "Events pushed to WebSocket clients.", &["kind"]),
            ws_slow_client_drops: counter(
                "joxai_ws_slow_client_drops_total",
                "WebSocket clients that fell too far behind and were told to resync.",
                &["kind"],
            ),
            ws_resumes: counter("joxai_ws_resumes_total", "WebSocket resumes by sequence.", &["kind"]),
            worker_messages: counter(
                "joxai_worker_messages_total",
                "Messages handled by workers, by outcome (ack, retry, dead_letter).",
                &["worker", "outcome"],
            ),
            worker_duration: histogram(
                "joxai_worker_handle_duration_seconds",
                "Time a worker spends on one message.",
                &["worker"],
            ),
            worker_redeliveries: counter(
                "joxai_worker_redeliveries_total",
                "Messages that arrived more than once.",
                &["worker"],
            ),
            worker_in_flight: gauge("joxai_worker_in_flight", "Messages being handled right now.", &["worker"]),
            consumer_pending: gauge(
                "joxai_consumer_pending_messages",
                "Messages waiting in the worker's JetStream consumer (the backlog autoscaling watches).",
                &["worker"],
            ),
            consumer_ack_pending: gauge(
                "joxai_consumer_ack_pending_messages",
                "Messages handed to workers and not yet acknowledged.",
                &["worker"],
            ),
            stream_used_percent: gauge(
                "joxai_stream_used_percent",
                "How full a JetStream stream is, in percent of its byte or message limit (whichever is nearer). \
                 A full command stream refuses new customer messages (503), so alerts fire well before.",
                &["stream"],
            ),
            dead_letters: counter("joxai_dead_letters_total", "Messages given up and recorded as dead letters.", &[
                "worker",
            ]),
            chat_turns: IntCounter::new("joxai_chat_turns_total", "Bot replies stored.")
                .unwrap_or_else(|e| panic!("{e}")),
            chat_turn_duration: plain_histogram(
                "joxai_chat_turn_duration_seconds",
                "Customer message accepted to bot reply stored.",
            ),
            nlu_duration: plain_histogram("joxai_nlu_classification_duration_seconds", "Intent classification time."),
            nlu_intents: counter("joxai_nlu_intents_total", "Classified customer messages by intent.", &["intent"]),
            escalations: counter("joxai_escalations_total", "Escalations to a person by reason.", &["reason"]),
            llm_duration: histogram("joxai_llm_request_duration_seconds", "LLM provider call latency.", &[
                "provider",
            ]),
            llm_errors: counter("joxai_llm_errors_total", "LLM provider errors by kind.", &["provider", "kind"]),
            llm_fallbacks: counter(
                "joxai_llm_fallbacks_total",
                "Answers that fell back to the offline responder.",
                &["provider"],
            ),
            llm_tokens: counter("joxai_llm_tokens_total", "LLM tokens by direction (input, output).", &[
                "provider",
                "direction",
            ]),
            tickets_created: counter("joxai_tickets_created_total", "Tickets opened by priority.", &["priority"]),
            tickets_sla_breached: IntGauge::new(
                "joxai_tickets_sla_breached",
                "Open tickets past their SLA due time.",
            )
            .unwrap_or_else(|e| panic!("{e}")),
            db_pool_connections: gauge(
                "joxai_db_pool_connections",
                "Postgres pool connections (size, available).",
                &["state"],
            ),
            db_pool_waiting: IntGauge::new("joxai_db_pool_waiting", "Tasks waiting for a Postgres connection.")
                .unwrap_or_else(|e| panic!("{e}")),
            db_query_duration: histogram("joxai_db_query_duration_seconds", "Postgres transaction latency.", &[
                "operation",
            ]),
            db_batch_size: prometheus::Histogram::with_opts(
                prometheus::HistogramOpts::new(
                    "joxai_db_write_batch_size",
                    "Statements per commit in the ticket worker's write batches (1 when the batcher was idle).",
                )
                .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
            )
            .unwrap_or_else(|e| panic!("{e}")),
            db_batch_fallbacks: prometheus::IntCounter::new(
                "joxai_db_write_batch_fallbacks_total",
                "Write batches rolled back by one failing statement and run again one statement at a time.",
            )
            .unwrap_or_else(|e| panic!("{e}")),
        };
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(m.http_requests.clone()),
            Box::new(m.http_duration.clone()),
            Box::new(m.ws_connections.clone()),
            Box::new(m.ws_pushes.clone()),
            Box::new(m.ws_slow_client_drops.clone()),
            Box::new(m.ws_resumes.clone()),
            Box::new(m.worker_messages.clone()),
            Box::new(m.worker_duration.clone()),
            Box::new(m.worker_redeliveries.clone()),
            Box::new(m.worker_in_flight.clone()),
            Box::new(m.consumer_pending.clone()),
            Box::new(m.consumer_ack_pending.clone()),
            Box::new(m.stream_used_percent.clone()),
            Box::new(m.dead_letters.clone()),
            Box::new(m.chat_turns.clone()),
            Box::new(m.chat_turn_duration.clone()),
            Box::new(m.nlu_duration.clone()),
            Box::new(m.nlu_intents.clone()),
            Box::new(m.escalations.clone()),
            Box::new(m.llm_duration.clone()),
            Box::new(m.llm_errors.clone()),
            Box::new(m.llm_fallbacks.clone()),
            Box::new(m.llm_tokens.clone()),
            Box::new(m.tickets_created.clone()),
            Box::new(m.tickets_sla_breached.clone()),
            Box::new(m.db_pool_connections.clone()),
            Box::new(m.db_pool_waiting.clone()),
            Box::new(m.db_query_duration.clone()),
            Box::new(m.db_batch_size.clone()),
            Box::new(m.db_batch_fallbacks.clone()),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ];
        for c in collectors {
            m.families
                .extend(c.desc().iter().map(|d| d.fq_name.clone()));
            m.registry
                .register(c)
                .unwrap_or_else(|e| panic!("registering a metric: {e}"));
        }
        m
    }

    /// The names of the JoxAI metric families (the `joxai_` ones; process metrics aside).
    pub fn family_names(&self) -> Vec<&str> {
        self.families
            .iter()
            .map(String::as_str)
            .filter(|n| n.starts_with("joxai_"))
            .collect()
    }

    /// The text exposition format served at `/metrics`.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    /// Dashboards and alerts are checked against `infra/prometheus/exported-metrics.txt`
    /// (`infra/scripts/check_dashboards.py`); this keeps that list equal to what the code exports.
    #[test]
    fn the_exported_metrics_list_matches_the_families_the_services_register() {
        let listed: std::collections::BTreeSet<&str> =
            include_str!("../../infra/prometheus/exported-metrics.txt")
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("joxai_"))
                .collect();
        let registered: std::collections::BTreeSet<&str> =
            super::metrics().family_names().into_iter().collect();
        assert_eq!(
            listed, registered,
            "update infra/prometheus/exported-metrics.txt or the metrics"
        );
    }
}
