//! Logging and tracing.
//!
//! Logs are structured JSON lines on stdout, filtered by `RUST_LOG` (default `info`). Spans are
//! OpenTelemetry spans: W3C trace context travels in NATS message headers (`traceparent`), so one
//! trace covers a customer message from the ingress through every worker to the notifier. Spans are
//! exported over OTLP/HTTP only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise nothing leaves
//! the process, but trace ids still link log lines (`trace_id` on worker spans).

use async_nats::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry::{Context, global};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,tokio_postgres=warn,async_nats=warn,hyper=warn,opentelemetry=warn")
    })
}

/// Install the global logger and tracer. Safe to call more than once (tests): later calls do nothing.
pub fn init() {
    let builder = SdkTracerProvider::builder().with_resource(
        opentelemetry_sdk::Resource::builder()
            .with_service_name("joxai")
            .build(),
    );
    let builder = if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
        {
            Ok(exporter) => builder.with_batch_exporter(exporter),
            Err(e) => {
                eprintln!("OpenTelemetry export disabled: {e}");
                builder
            }
        }
    } else {
        builder
    };
    install(builder.build());
}

/// Install the global logger with spans going to `exporter` (tests use an in-memory exporter).
pub fn init_with_exporter<E: SpanExporter + 'static>(exporter: E) {
    install(
        SdkTracerProvider::builder()
            .with_simple_exporter(exporter)
            .build(),
    );
}

fn install(provider: SdkTracerProvider) {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let tracer = provider.tracer("joxai");
    // Each layer has its own filter: `RUST_LOG=warn` quiets the logs but must not switch traces off.
    let traces = tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO);
    let installed = tracing_subscriber::registry()
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(traces),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .with_filter(filter()),
        )
        .try_init()
        .is_ok();
    if installed {
        global::set_tracer_provider(provider);
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.as_str())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_ref()).collect()
    }
}

/// Write the current span's trace context into outgoing NATS headers.
pub fn inject_trace_context(headers: &mut HeaderMap) {
    let context = tracing::Span::current().context();
    global::get_text_map_propagator(|p| p.inject_context(&context, &mut HeaderInjector(headers)));
}

/// Make `span` a child of the trace context carried by incoming NATS headers (if any), and return
/// the trace id for log lines.
pub fn continue_trace(span: &tracing::Span, headers: Option<&HeaderMap>) -> String {
    if let Some(headers) = headers {
        let parent: Context =
            global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
        if parent.span().span_context().is_valid() {
            let _ = span.set_parent(parent);
        }
    }
    span.context().span().span_context().trace_id().to_string()
}
