//! The fan-out: one ordered consumer on the events stream per process, broadcast to every socket.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use futures::StreamExt as _;
use joxai_platform::Platform;
use joxai_schemas::RawEnvelope;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Events buffered per socket before it counts as too slow and is told to resync.
const SOCKET_BUFFER: usize = 1024;

/// Most events one resume replays; a client further behind is told to refetch instead.
pub const MAX_REPLAY: usize = 2000;

/// How often the fan-out checks that its consumer still delivers while the stream grows.
const STALL_CHECK: Duration = Duration::from_secs(5);

/// Longest wait for the next event of a replay the broker said is there. A stream whose leader is
/// being elected again (a node of the cluster stopped) answers within a few seconds.
const REPLAY_PATIENCE: Duration = Duration::from_secs(10);

/// One event ready to push.
#[derive(Debug)]
pub struct Push {
    /// The event's sequence number in the events stream: what clients resume from.
    pub seq: u64,
    pub conversation_id: Option<Uuid>,
    /// The event type (`message.created`, ...).
    pub kind: String,
    /// The frame sent to clients, serialised once for all of them.
    pub frame: String,
}

impl Push {
    /// Build a push from a stream message; `None` for anything that is not a valid envelope.
    pub fn from_message(subject: &str, seq: u64, payload: &[u8]) -> Option<Push> {
        let envelope = RawEnvelope::parse(payload).ok()?;
        // `{prefix}.evt.conv.{conversation_id}.{type}`
        let conversation_id = subject.split('.').nth(3).and_then(|id| id.parse().ok());
        let event = std::str::from_utf8(payload).ok()?;
        let frame = format!(r#"{{"type":"event","seq":{seq},"event":{event}}}"#);
        Some(Push {
            seq,
            conversation_id,
            kind: envelope.kind,
            frame,
        })
    }
}

pub struct Hub {
    pub platform: Platform,
    pub shutdown: CancellationToken,
    /// Every event, for staff sockets.
    sender: broadcast::Sender<Arc<Push>>,
    /// Per conversation, the events its customer may see. A customer socket only wakes for its own
    /// conversation: with thousands of sockets, waking every one for every event would cost far
    /// more than the push itself.
    conversations: Mutex<HashMap<Uuid, broadcast::Sender<Arc<Push>>>>,
    last_seq: AtomicU64,
}

/// Events buffered per customer socket (a conversation has few events at a time).
const CONVERSATION_BUFFER: usize = 256;

impl Hub {
    /// Start reading the events stream (from now on) and return the hub sockets subscribe to.
    pub fn start(platform: Platform, shutdown: CancellationToken) -> Arc<Hub> {
        let (sender, _) = broadcast::channel(SOCKET_BUFFER);
        let hub = Arc::new(Hub {
            platform,
            shutdown,
            sender,
            conversations: Mutex::new(HashMap::new()),
            last_seq: AtomicU64::new(0),
        });
        tokio::spawn(hub.clone().fan_out());
        hub
    }

    /// Every event (staff sockets filter by role themselves).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Push>> {
        self.sender.subscribe()
    }

    /// The customer-visible events of one conversation.
    pub fn subscribe_conversation(&self, conversation_id: Uuid) -> broadcast::Receiver<Arc<Push>> {
        let mut conversations = self.conversations.lock().unwrap_or_else(|p| p.into_inner());
        conversations
            .entry(conversation_id)
            .or_insert_with(|| broadcast::channel(CONVERSATION_BUFFER).0)
            .subscribe()
    }

    /// A customer socket closed: forget the conversation's channel once nobody listens to it.
    pub fn release_conversation(&self, conversation_id: Uuid) {
        let mut conversations = self.conversations.lock().unwrap_or_else(|p| p.into_inner());
        if conversations
            .get(&conversation_id)
            .is_some_and(|s| s.receiver_count() == 0)
        {
            conversations.remove(&conversation_id);
        }
    }

    fn route(&self, push: Push) {
        let push = Arc::new(push);
        if let Some(id) = push.conversation_id
            && joxai_schemas::Event::visible_to_customer(&push.kind)
        {
            let conversations = self.conversations.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(sender) = conversations.get(&id) {
                let _ = sender.send(push.clone());
            }
        }
        // No receivers is fine: nobody is connected.
        let _ = self.sender.send(push);
    }

    /// The sequence of the newest event this process has seen.
    pub fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::Acquire)
    }

    async fn fan_out(self: Arc<Self>) {
        let stream_name = self.platform.bus.topology().events_stream();
        let filter = self.platform.bus.subjects().all_events();
        let mut connections = self.platform.bus.connections();
        // Whether this process has found its starting point in the stream yet.
        let mut started = false;
        while !self.shutdown.is_cancelled() {
            connections.mark_unchanged();
            let messages = async {
                // A process that just started begins at the stream's newest event, not at 0: the `ready`
                // frame then names a real sequence, and a client's `resume` after a restart reads back
                // exactly what was published while no notifier was running (see `replay`). Only once:
                // after a broker outage it goes on from the last event it saw (from the start of the
                // stream if it saw none), so the events published during the outage are all pushed.
                if !started {
                    let mut stream = self
                        .platform
                        .bus
                        .jetstream()
                        .get_stream(&stream_name)
                        .await
                        .ok()?;
                    let last = stream.info().await.ok()?.state.last_sequence;
                    self.last_seq.fetch_max(last, Ordering::AcqRel);
                    started = true;
                }
                // Start after the last event seen, also after a broker restart, so no event is skipped.
                let deliver_policy = match self.last_seq() {
                    0 => DeliverPolicy::All,
                    seq => DeliverPolicy::ByStartSequence {
                        start_sequence: seq + 1,
                    },
                };
                let stream = self
                    .platform
                    .bus
                    .jetstream()
                    .get_stream_no_info(&stream_name)
                    .await
                    .ok()?;
                let consumer = stream
                    .create_consumer(OrderedConfig {
                        filter_subject: filter.clone(),
                        deliver_policy,
                        ..Default::default()
                    })
                    .await
                    .ok()?;
                consumer.messages().await.ok()
            }
            .await;
            let Some(mut messages) = messages else {
                tokio::select! {
                    _ = self.shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => continue,
                }
            };
            tracing::info!(stream = %stream_name, "notifier reading events");
            let mut stall_check = tokio::time::interval(STALL_CHECK);
            stall_check.tick().await;
            let mut seen_at_last_check = self.last_seq();
            loop {
                let next = tokio::select! {
                    _ = self.shutdown.cancelled() => return,
                    // The ordered consumer can stop delivering without an error: seen on a 3-node
                    // cluster when the node holding it was restarted while our own connection
                    // (to another node) stayed up — after a first missed heartbeat the client
                    // library waits without anything left to wake it. Every socket of this process
                    // then silently missed every event. So: when nothing arrived since the last
                    // check while the stream has moved on, start again after the last event pushed.
                    _ = stall_check.tick() => {
                        let seen = self.last_seq();
                        if seen != seen_at_last_check {
                            seen_at_last_check = seen;
                            continue;
                        }
                        let newest = async {
                            let mut stream = self.platform.bus.jetstream().get_stream(&stream_name).await.ok()?;
                            Some(stream.info().await.ok()?.state.last_sequence)
                        }
                        .await;
                        match newest {
                            Some(newest) if newest > seen => {
                                tracing::warn!(last_pushed = seen, newest, "no events for a while although the stream has new ones: reading again from the last one pushed");
                                break;
                            }
                            _ => continue,
                        }
                    }
                    // Reconnected: a restarted broker has forgotten our consumer. Start a new one
                    // after the last event we pushed, now, rather than after missed heartbeats.
                    Ok(()) = connections.changed() => {
                        tracing::info!("reconnected to the broker: reading events again from the last one pushed");
                        break;
                    }
                    next = messages.next() => next,
                };
                match next {
                    Some(Ok(message)) => {
                        let Ok(info) = message.info() else { continue };
                        let seq = info.stream_sequence;
                        let span = tracing::info_span!("push event", seq);
                        joxai_platform::telemetry::continue_trace(&span, message.headers.as_ref());
                        let _entered = span.enter();
                        if let Some(push) =
                            Push::from_message(message.subject.as_str(), seq, &message.payload)
                        {
                            self.last_seq.fetch_max(seq, Ordering::AcqRel);
                            self.route(push);
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "event stream interrupted, reconnecting");
                        break;
                    }
                    None => break,
                }
            }
        }
    }

    /// The events after `after` on `filter_subject`, read back from the stream (for a resume).
    /// `None` when there are more than [`MAX_REPLAY`], or when the stream could not be read to the
    /// end in time: the client should refetch instead.
    ///
    /// Complete or nothing. The broker counts the matching events when the replay's consumer is
    /// made, and every delivered event says how many are still to come, so the replay knows when
    /// it is done. It does not stop at a quiet moment: on a busy cluster (a node restarting, a
    /// stream leader moving) the first event can take longer than any fixed pause, and a replay
    /// that stopped there would have marked everything up to the newest event as sent — events the
    /// client then never got.
    pub async fn replay(&self, filter_subject: String, after: u64) -> Option<Vec<Push>> {
        let stream_name = self.platform.bus.topology().events_stream();
        let until = match self.last_seq() {
            // Just started and not reading yet: the stream itself says how far there is to read.
            0 => {
                self.platform
                    .bus
                    .jetstream()
                    .get_stream(&stream_name)
                    .await
                    .ok()?
                    .info()
                    .await
                    .ok()?
                    .state
                    .last_sequence
            }
            seq => seq,
        };
        if after >= until {
            return Some(vec![]);
        }
        let stream = self
            .platform
            .bus
            .jetstream()
            .get_stream_no_info(&stream_name)
            .await
            .ok()?;
        let consumer = stream
            .create_consumer(OrderedConfig {
                filter_subject,
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: after + 1,
                },
                ..Default::default()
            })
            .await
            .ok()?;
        // Events on this subject after `after`, as the broker counted them just now.
        if consumer.cached_info().num_pending == 0 {
            return Some(vec![]);
        }
        let mut messages = consumer.messages().await.ok()?;
        let mut out = Vec::new();
        loop {
            let message = match tokio::time::timeout(REPLAY_PATIENCE, messages.next()).await {
                Ok(Some(Ok(message))) => message,
                // Timed out, or the stream broke off: what was read is not all there is.
                _ => {
                    tracing::warn!(
                        after,
                        read = out.len(),
                        "resume could not read the stream to the end: asking the client to refetch"
                    );
                    return None;
                }
            };
            let Ok(info) = message.info() else {
                return None;
            };
            let seq = info.stream_sequence;
            if let Some(push) = Push::from_message(message.subject.as_str(), seq, &message.payload)
            {
                out.push(push);
            }
            if out.len() > MAX_REPLAY {
                return None;
            }
            // Up to the newest event this hub has pushed live (newer ones reach the socket live),
            // or the last one on the subject.
            if seq >= until || info.pending == 0 {
                break;
            }
        }
        Some(out)
    }
}
