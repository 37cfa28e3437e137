//! NATS JetStream: the connection, the streams and consumers of [`Topology`], and publishing.
//!
//! Every publish sets `Nats-Msg-Id` to the message id and waits for the stream's acknowledgement, so
//! a message the caller was told is published is on disk in the stream, and a retry inside the
//! duplicate window is dropped by the broker.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use joxai_schemas::streams::{ConsumerSpec, Topology};
use joxai_schemas::subjects::Subjects;
use joxai_schemas::{Envelope, Message};

use crate::config::Config;

/// How long a publish may wait for the stream's acknowledgement before the caller is told the bus is
/// unavailable (the HTTP API turns that into 503 with `Retry-After`).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);
/// How often, and after how long a pause (growing: 20, 40, … ms), a publish refused because the same
/// id is still being replicated is tried again (see `publish_raw`); within [`PUBLISH_TIMEOUT`].
const IN_PROCESS_RETRIES: u32 = 10;
const IN_PROCESS_PAUSE: Duration = Duration::from_millis(20);

/// A failed publish, and whether it was refused only because the same id is still in process.
struct PublishFailure {
    in_process_duplicate: bool,
    error: BusError,
}

#[derive(Clone)]
pub struct Bus {
    client: async_nats::Client,
    js: jetstream::Context,
    topology: Topology,
    /// Counts (re)connections to the broker; see [`Bus::connections`].
    connections: tokio::sync::watch::Receiver<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("the message bus is unavailable: {0}")]
    Unavailable(String),
    #[error("the message bus refused the request: {0}")]
    Rejected(String),
}

/// What the stream said about a publish.
#[derive(Debug, Clone, Copy)]
pub struct Published {
    pub sequence: u64,
    /// The broker already had a message with this id (inside the duplicate window) and dropped this one.
    pub duplicate: bool,
}

impl Bus {
    pub async fn connect(config: &Config) -> Result<Self, BusError> {
        let (connected, connections) = tokio::sync::watch::channel(0u64);
        let connected = std::sync::Arc::new(connected);
        let mut options = async_nats::ConnectOptions::new();
        if config.nats_tls() {
            options = options.require_tls(true);
        }
        if let Some(ca) = &config.nats_tls_ca {
            options = options.add_root_certificates(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&config.nats_tls_cert, &config.nats_tls_key) {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        if let (Some(user), Some(password)) = (&config.nats_user, &config.nats_password) {
            use secrecy::ExposeSecret as _;
            // The server lets each role subscribe to its own inbox prefix only, so no role can read
            // another's replies (which carry events and stream contents).
            options = options
                .user_and_password(user.clone(), password.expose_secret().to_owned())
                .custom_inbox_prefix(format!("_INBOX_{user}"));
        }
        if let Some(path) = &config.nats_creds_file {
            options = options
                .credentials_file(path)
                .await
                .map_err(|e| BusError::Unavailable(format!("reading {}: {e}", path.display())))?;
        }
        tracing::info!(url = %config.nats_url, tls = config.nats_tls(), identity = %config.nats_identity(), "connecting to NATS");
        let client = options
            .name("joxai")
            .connection_timeout(Duration::from_secs(5))
            // Keep reconnecting for ever: a broker restart must heal by itself.
            .max_reconnects(None)
            .event_callback(move |event| {
                let connected = connected.clone();
                async move {
                    tracing::info!(%event, "nats connection event");
                    if matches!(event, async_nats::Event::Connected) {
                        connected.send_modify(|n| *n += 1);
                    }
                }
            })
            // A comma-separated list names several servers of a cluster: the client starts on any
            // of them that answers, and learns the others from the cluster itself.
            .connect(config.nats_servers())
            .await
            .map_err(|e| {
                BusError::Unavailable(format!("connecting to {}: {e}", config.nats_url))
            })?;
        let js = jetstream::new(client.clone());
        let topology = Topology {
            subjects: config.subjects(),
            replicas: config.nats_replicas,
            max_bytes: config.nats_stream_max_bytes,
        };
        Ok(Self {
            client,
            js,
            topology,
            connections,
        })
    }

    /// Changes each time the connection to the broker is (re)established. Consumers whose
    /// server-side state may have gone with a restarted broker (the notifier's ordered consumer)
    /// watch it to start again at once, instead of waiting for missed heartbeats (up to 30 s).
    pub fn connections(&self) -> tokio::sync::watch::Receiver<u64> {
        self.connections.clone()
    }

    pub fn subjects(&self) -> &Subjects {
        &self.topology.subjects
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// Whether the connection to the broker is up right now.
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Create the streams, or bring their configuration up to date.
    pub async fn ensure_streams(&self) -> Result<(), BusError> {
        for spec in self.topology.streams() {
            let config = stream::Config {
                name: spec.name.clone(),
                subjects: spec.subjects.clone(),
                max_age: spec.max_age,
                max_bytes: spec.max_bytes,
                max_messages: spec.max_msgs,
                max_message_size: spec.max_msg_size,
                duplicate_window: spec.duplicate_window,
                num_replicas: spec.replicas,
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                discard: if spec.discard_new {
                    stream::DiscardPolicy::New
                } else {
                    stream::DiscardPolicy::Old
                },
                // Lets the notifier read single events by sequence cheaply.
                allow_direct: true,
                ..Default::default()
            };
            self.js
                .create_or_update_stream(config)
                .await
                .map_err(|e| BusError::Unavailable(format!("stream {}: {e}", spec.name)))?;
        }
        Ok(())
    }

    /// Create (or update) a durable pull consumer from its spec.
    pub async fn durable_consumer(
        &self,
        spec: &ConsumerSpec,
    ) -> Result<consumer::Consumer<consumer::pull::Config>, BusError> {
        let stream = self
            .js
            .get_stream_no_info(&spec.stream)
            .await
            .map_err(|e| BusError::Unavailable(format!("stream {}: {e}", spec.stream)))?;
        let config = consumer::pull::Config {
            durable_name: Some(spec.durable_name.clone()),
            filter_subjects: spec.filter_subjects.clone(),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: spec.timing.ack_wait,
            max_deliver: spec.timing.max_deliver,
            // No JetStream `BackOff`: it would override both `ack_wait` and our NAK delays (see
            // `ConsumerTiming::retry_min`); retries are scheduled by the worker runtime instead.
            backoff: vec![],
            max_ack_pending: spec.timing.max_ack_pending,
            deliver_policy: consumer::DeliverPolicy::All,
            ..Default::default()
        };
        stream
            .create_consumer(config)
            .await
            .map_err(|e| BusError::Unavailable(format!("consumer {}: {e}", spec.durable_name)))
    }

    /// Publish one envelope on `subject`, de-duplicated by its id.
    pub async fn publish<T: Message>(
        &self,
        subject: String,
        envelope: &Envelope<T>,
    ) -> Result<Published, BusError> {
        self.publish_raw(
            subject,
            &envelope.id.to_string(),
            HeaderMap::new(),
            Bytes::from(envelope.to_json()),
        )
        .await
    }

    /// Publish bytes with an explicit `Nats-Msg-Id` (used for replaying dead letters as they were).
    pub async fn publish_raw(
        &self,
        subject: String,
        message_id: &str,
        mut headers: HeaderMap,
        payload: Bytes,
    ) -> Result<Published, BusError> {
        headers.insert("Nats-Msg-Id", message_id);
        crate::telemetry::inject_trace_context(&mut headers);
        let publish = async {
            let mut attempt = 0;
            loop {
                match self
                    .publish_once(&subject, headers.clone(), payload.clone())
                    .await
                {
                    // On a cluster, a second publish of an id whose first is still being replicated
                    // is refused with "duplicate message id is in process" (10158). The first one
                    // settles within milliseconds; publish again then and get the ordinary
                    // duplicate acknowledgement, rather than failing a handler whose next publishes
                    // (the answer after the one republished) would then go out in another order.
                    Err(e) if e.in_process_duplicate && attempt < IN_PROCESS_RETRIES => {
                        attempt += 1;
                        tokio::time::sleep(IN_PROCESS_PAUSE * attempt).await;
                    }
                    Err(e) => return Err(e.error),
                    Ok(ack) => return Ok(ack),
                }
            }
        };
        match tokio::time::timeout(PUBLISH_TIMEOUT, publish).await {
            Ok(Ok(ack)) => Ok(Published {
                sequence: ack.sequence,
                duplicate: ack.duplicate,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(BusError::Unavailable(format!(
                "no acknowledgement within {PUBLISH_TIMEOUT:?}"
            ))),
        }
    }

    /// One publish and its acknowledgement.
    async fn publish_once(
        &self,
        subject: &str,
        headers: HeaderMap,
        payload: Bytes,
    ) -> Result<async_nats::jetstream::publish::PublishAck, PublishFailure> {
        let ack_future = self
            .js
            .publish_with_headers(subject.to_owned(), headers, payload)
            .await
            .map_err(|e| PublishFailure {
                in_process_duplicate: false,
                error: BusError::Unavailable(format!("publishing to {subject}: {e}")),
            })?;
        ack_future.await.map_err(|e| PublishFailure {
            in_process_duplicate: e.to_string().contains("10158"),
            error: {
                use async_nats::jetstream::context::PublishErrorKind as K;
                match e.kind() {
                    // "No responders": nobody took the message. On a cluster that is what a
                    // publish gets while the stream's leader is being elected again (its node was
                    // stopped): transient, so the caller retries (workers) or answers 503 (the
                    // API), and no message becomes a dead letter because a node restarted. Every
                    // process creates the streams at start-up, so a stream that is really missing
                    // shows as a growing backlog, not as lost messages.
                    K::StreamNotFound => BusError::Unavailable(format!(
                        "no stream answered for {subject} (a stream leader election, or the stream is missing)"
                    )),
                    K::MaxPayloadExceeded => {
                        BusError::Rejected(format!("message too large for {subject}"))
                    }
                    // A full stream with `discard: new` refuses the message: nothing already
                    // accepted is evicted, and the caller is told to come back later.
                    _ if e.to_string().contains("maximum") => {
                        BusError::Unavailable(format!("the stream for {subject} is full: {e}"))
                    }
                    _ => BusError::Unavailable(format!("acknowledgement for {subject}: {e}")),
                }
            },
        })
    }

    /// Readiness: the connection is up and JetStream answers.
    pub async fn ping(&self) -> Result<(), BusError> {
        if !self.is_connected() {
            return Err(BusError::Unavailable("not connected".into()));
        }
        tokio::time::timeout(Duration::from_secs(2), self.js.query_account())
            .await
            .map_err(|_| BusError::Unavailable("JetStream did not answer".into()))?
            .map_err(|e| BusError::Unavailable(e.to_string()))?;
        Ok(())
    }
}
