//! Chat turns at a fixed rate (`rate`) or at rising rates (`ramp`).
//!
//! Open loop: sends follow a fixed timeline (send `i` is due at `start + i / rate`) and never wait for
//! replies, so a slow server shows up as latency rather than as a politely lowered load. Each turn is
//! timed from when its send was due to when the bot's reply (`message.created` with
//! `in_reply_to` = the message id) arrives on that customer's socket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use uuid::Uuid;

use crate::FleetArgs;
use crate::fleet::{Customer, Fleet, Waiting};
use crate::metrics::Scrape;
use crate::questions::question;
use crate::report::{Latency, Machine, lock, new_histogram};

/// Counters and the latency histogram of one step (one rate).
pub struct StepStats {
    window_start: Instant,
    window_end: Instant,
    reply_timeout: Duration,
    hist: Mutex<Histogram<u64>>,
    /// How late the generator itself was in sending, against the schedule (its own health).
    send_lag: Mutex<Histogram<u64>>,
    pub sent: AtomicU64,
    /// Replies to measured messages.
    pub replied: AtomicU64,
    /// Replies to any message of the step, warm-up included (the server's metrics count those too).
    pub replied_all: AtomicU64,
    /// Replies (to any message) that arrived inside the measured window: the achieved throughput.
    pub replied_in_window: AtomicU64,
    pub late: AtomicU64,
    pub http_errors: AtomicU64,
    pub http_timeouts: AtomicU64,
    /// Sends not made because `max_in_flight` POSTs were already outstanding.
    pub shed: AtomicU64,
    pub missing: AtomicU64,
    pub escalations: AtomicU64,
    pub resyncs: AtomicU64,
    pub sockets_lost: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl StepStats {
    fn new(window_start: Instant, window_end: Instant, reply_timeout: Duration) -> StepStats {
        StepStats {
            window_start,
            window_end,
            reply_timeout,
            hist: Mutex::new(new_histogram()),
            send_lag: Mutex::new(new_histogram()),
            sent: AtomicU64::new(0),
            replied: AtomicU64::new(0),
            replied_all: AtomicU64::new(0),
            replied_in_window: AtomicU64::new(0),
            late: AtomicU64::new(0),
            http_errors: AtomicU64::new(0),
            http_timeouts: AtomicU64::new(0),
            shed: AtomicU64::new(0),
            missing: AtomicU64::new(0),
            escalations: AtomicU64::new(0),
            resyncs: AtomicU64::new(0),
            sockets_lost: AtomicU64::new(0),
            first_error: Mutex::new(None),
        }
    }

    pub fn on_reply(&self, now: Instant, latency: Duration, measured: bool) {
        self.replied_all.fetch_add(1, Ordering::Relaxed);
        if now >= self.window_start && now < self.window_end {
            self.replied_in_window.fetch_add(1, Ordering::Relaxed);
        }
        if !measured {
            return;
        }
        self.replied.fetch_add(1, Ordering::Relaxed);
        if latency > self.reply_timeout {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
        lock(&self.hist).saturating_record(latency.as_micros() as u64);
    }

    fn error(&self, what: String) {
        let mut first = lock(&self.first_error);
        if first.is_none() {
            *first = Some(what);
        }
    }
}

/// What one step measured.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub offered_per_s: f64,
    pub achieved_per_s: f64,
    pub measured_secs: f64,
    pub sent: u64,
    pub replied: u64,
    /// Replies received for the whole step, warm-up included.
    pub replied_all: u64,
    pub latency: Latency,
    pub errors: Errors,
    pub generator_send_lag_p99_ms: f64,
    pub first_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Errors {
    pub http_errors: u64,
    pub http_timeouts: u64,
    pub shed_by_generator: u64,
    pub missing_replies: u64,
    pub late_replies: u64,
    pub escalations: u64,
    pub resyncs: u64,
    pub sockets_lost: u64,
}

impl Errors {
    pub fn total(&self) -> u64 {
        self.http_errors
            + self.http_timeouts
            + self.shed_by_generator
            + self.missing_replies
            + self.late_replies
    }
}

impl StepResult {
    pub fn print(&self) {
        println!(
            "  offered {:.0}/s  achieved {:.0}/s  ({} sent, {} replied in {:.1} s)",
            self.offered_per_s, self.achieved_per_s, self.sent, self.replied, self.measured_secs
        );
        println!("  turn latency: {}", self.latency.line());
        let e = &self.errors;
        println!(
            "  errors: http {} timeouts {} shed {} missing {} late(>timeout) {} escalations {} resyncs {} sockets lost {}",
            e.http_errors,
            e.http_timeouts,
            e.shed_by_generator,
            e.missing_replies,
            e.late_replies,
            e.escalations,
            e.resyncs,
            e.sockets_lost
        );
        println!(
            "  generator send lag p99 {:.2} ms",
            self.generator_send_lag_p99_ms
        );
        if let Some(first) = &self.first_error {
            println!("  first error: {first}");
        }
    }
}

fn http_client(max_in_flight: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(max_in_flight.min(1024))
        .timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .build()?)
}

/// Run one step at `rate` turns/s: `warmup` seconds unmeasured, then `duration` measured seconds,
/// then wait (bounded) for outstanding replies.
#[allow(clippy::too_many_arguments)]
pub async fn run_step(
    fleet: &Fleet,
    http: &reqwest::Client,
    url: &str,
    run_id: &str,
    rate: f64,
    duration: f64,
    warmup: f64,
    args: &FleetArgs,
) -> StepResult {
    let start = Instant::now() + Duration::from_millis(50);
    let window_start = start + Duration::from_secs_f64(warmup);
    let window_end = window_start + Duration::from_secs_f64(duration);
    let stats = Arc::new(StepStats::new(
        window_start,
        window_end,
        Duration::from_secs_f64(args.reply_timeout_secs),
    ));
    *lock(&fleet.current) = Some(stats.clone());
    let total = (rate * (warmup + duration)).round() as u64;
    let gate = Arc::new(Semaphore::new(args.max_in_flight));
    let n = fleet.customers.len();
    let mut measured_sends = 0u64;

    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due).await;
        lock(&stats.send_lag)
            .saturating_record(Instant::now().saturating_duration_since(due).as_micros() as u64);
        let measured = due >= window_start;
        measured_sends += u64::from(measured);
        let customer = fleet.customers[(i as usize) % n].clone();
        let Ok(permit) = gate.clone().try_acquire_owned() else {
            if measured {
                stats.shed.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        };
        let seq = customer.sent.fetch_add(1, Ordering::Relaxed);
        let client_message_id = format!("lg-{run_id}-{}-{seq}", customer.index);
        // The server derives the message id from the conversation and the client's id, so the reply
        // can be matched before the POST has even answered.
        let message_id = Uuid::new_v5(
            &customer.session.conversation_id,
            client_message_id.as_bytes(),
        );
        lock(&fleet.waiting).insert(
            message_id,
            Waiting {
                due,
                measured,
                step: stats.clone(),
            },
        );
        let (http, url, stats, waiting) = (
            http.clone(),
            url.to_owned(),
            stats.clone(),
            fleet.waiting.clone(),
        );
        tokio::spawn(async move {
            let result = post(
                &http,
                &url,
                &customer,
                &client_message_id,
                question(customer.index, seq),
            )
            .await;
            drop(permit);
            if let Err((timeout, what)) = result {
                lock(&waiting).remove(&message_id);
                if measured {
                    let counter = if timeout {
                        &stats.http_timeouts
                    } else {
                        &stats.http_errors
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    stats.error(what);
                }
            }
        });
    }
    stats.sent.store(measured_sends, Ordering::Relaxed);

    // Wait for outstanding replies of this step, bounded by the drain time.
    let drain_until = Instant::now().max(window_end) + Duration::from_secs_f64(args.drain_secs);
    loop {
        let outstanding = lock(&fleet.waiting)
            .values()
            .filter(|w| Arc::ptr_eq(&w.step, &stats))
            .count();
        if outstanding == 0 || Instant::now() >= drain_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut missing = 0;
    lock(&fleet.waiting).retain(|_, w| {
        let mine = Arc::ptr_eq(&w.step, &stats);
        missing += u64::from(mine && w.measured);
        !mine
    });
    stats.missing.store(missing, Ordering::Relaxed);
    *lock(&fleet.current) = None;

    let hist = lock(&stats.hist).clone();
    let lag = lock(&stats.send_lag).clone();
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    StepResult {
        offered_per_s: rate,
        achieved_per_s: load(&stats.replied_in_window) as f64 / duration,
        measured_secs: duration,
        sent: measured_sends,
        replied: load(&stats.replied),
        replied_all: load(&stats.replied_all),
        latency: Latency::of(&hist),
        errors: Errors {
            http_errors: load(&stats.http_errors),
            http_timeouts: load(&stats.http_timeouts),
            shed_by_generator: load(&stats.shed),
            missing_replies: missing,
            late_replies: load(&stats.late),
            escalations: load(&stats.escalations),
            resyncs: load(&stats.resyncs),
            sockets_lost: load(&stats.sockets_lost),
        },
        generator_send_lag_p99_ms: lag.value_at_quantile(0.99) as f64 / 1000.0,
        first_error: lock(&stats.first_error).clone(),
    }
}

/// `POST /chat/conversations/{id}/messages`; the error says whether it was a timeout.
async fn post(
    http: &reqwest::Client,
    url: &str,
    customer: &Customer,
    client_message_id: &str,
    text: &str,
) -> Result<(), (bool, String)> {
    let conversation_id = customer.session.conversation_id;
    let response = http
        .post(format!(
            "{url}/api/v1/chat/conversations/{conversation_id}/messages"
        ))
        .bearer_auth(&customer.session.token)
        .json(&json!({ "client_message_id": client_message_id, "text": text }))
        .send()
        .await
        .map_err(|e| (e.is_timeout(), format!("POST message: {e}")))?;
    let status = response.status();
    if status != reqwest::StatusCode::ACCEPTED {
        let body = response.text().await.unwrap_or_default();
        return Err((
            false,
            format!(
                "POST message answered {status}: {}",
                body.chars().take(200).collect::<String>()
            ),
        ));
    }
    Ok(())
}

fn run_id() -> String {
    Uuid::new_v4().simple().to_string()[..8].to_owned()
}

async fn open_fleet(url: &str, args: &FleetArgs) -> anyhow::Result<(reqwest::Client, Fleet)> {
    let http = http_client(args.max_in_flight)?;
    let started = std::time::Instant::now();
    let fleet = Fleet::open(&http, url, args.customers.max(1)).await?;
    println!(
        "{} customers connected (session + WebSocket) in {:.1} s",
        fleet.customers.len(),
        started.elapsed().as_secs_f64()
    );
    // Each new session is a command the server stores: let that backlog clear before anything is measured.
    crate::metrics::wait_quiet(&http, url, Duration::from_secs(30)).await;
    Ok((http, fleet))
}

pub async fn rate(
    url: &str,
    rate: f64,
    duration: f64,
    warmup: f64,
    profile: bool,
    args: &FleetArgs,
) -> anyhow::Result<Value> {
    anyhow::ensure!(
        rate > 0.0 && rate <= 50_000.0,
        "--rate must be in (0, 50000]"
    );
    anyhow::ensure!(
        duration > 0.0 && duration <= 3600.0,
        "--duration must be in (0, 3600]"
    );
    let machine = Machine::describe();
    println!("machine: {}", machine.line());
    let (http, fleet) = open_fleet(url, args).await?;
    let before = if profile {
        Scrape::take(&http, url).await.ok()
    } else {
        None
    };
    println!(
        "rate {rate}/s for {duration} s after {warmup} s warm-up, {} customers",
        fleet.customers.len()
    );
    let result = run_step(&fleet, &http, url, &run_id(), rate, duration, warmup, args).await;
    result.print();
    let profile_json = match before {
        Some(before) => Scrape::take(&http, url)
            .await
            .ok()
            .map(|after| after.since(&before).print(result.replied_all)),
        None => None,
    };
    fleet.close().await;
    Ok(
        json!({ "mode": "rate", "machine": machine, "customers": args.customers, "result": result, "server_profile": profile_json }),
    )
}

pub async fn ramp(
    url: &str,
    rates: &[f64],
    step_secs: f64,
    warmup: f64,
    p99_target_ms: f64,
    profile: bool,
    args: &FleetArgs,
) -> anyhow::Result<Value> {
    anyhow::ensure!(
        !rates.is_empty() && rates.len() <= 32,
        "--rates takes 1 to 32 rates"
    );
    anyhow::ensure!(
        rates.iter().all(|r| *r > 0.0 && *r <= 50_000.0),
        "every rate must be in (0, 50000]"
    );
    let machine = Machine::describe();
    println!("machine: {}", machine.line());
    let (http, fleet) = open_fleet(url, args).await?;
    let id = run_id();
    let mut steps: Vec<StepResult> = vec![];
    let mut profiles: Vec<Option<Value>> = vec![];
    let mut knee: Option<usize> = None;
    let mut sustained: Option<usize> = None;
    let mut below_knee = true;
    for &rate in rates {
        println!("step {rate}/s ({warmup} s warm-up + {step_secs} s)");
        let before = if profile {
            Scrape::take(&http, url).await.ok()
        } else {
            None
        };
        let result = run_step(&fleet, &http, url, &id, rate, step_secs, warmup, args).await;
        result.print();
        let prof = match before {
            Some(before) => Scrape::take(&http, url)
                .await
                .ok()
                .map(|after| after.since(&before).quiet(result.replied_all)),
            None => None,
        };
        let errors = result.errors.total();
        // Two bars: "sustained" (the server keeps up: achieved >= 90 % of offered, errors <= 0.1 %)
        // and the knee (sustained and p99 within the target). The ramp goes on past the knee while
        // the server keeps up, so the highest sustained rate (the figure compared with the
        // ceiling) is measured too.
        let keeps_up = result.achieved_per_s >= 0.9 * result.offered_per_s
            && (errors as f64) <= 0.001 * result.sent as f64;
        let healthy = keeps_up && result.latency.p99_ms <= p99_target_ms;
        steps.push(result);
        profiles.push(prof);
        if !keeps_up {
            break;
        }
        sustained = Some(steps.len() - 1);
        // The knee is the last step of the unbroken healthy run from the start.
        if healthy && below_knee {
            knee = Some(steps.len() - 1);
        } else {
            below_knee = false;
        }
        // Let queues empty before the next step so steps do not bleed into each other.
        crate::metrics::wait_quiet(&http, url, Duration::from_secs(10)).await;
    }
    fleet.close().await;

    println!();
    println!(
        "{:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "offered/s", "achieved/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors"
    );
    for (i, s) in steps.iter().enumerate() {
        let mark = match (Some(i) == knee, Some(i) == sustained) {
            (true, true) => "  <- knee, highest sustained",
            (true, false) => "  <- knee",
            (false, true) => "  <- highest sustained",
            _ => "",
        };
        println!(
            "{:>9.0} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>7}{mark}",
            s.offered_per_s,
            s.achieved_per_s,
            s.latency.p50_ms,
            s.latency.p90_ms,
            s.latency.p99_ms,
            s.latency.p999_ms,
            s.latency.max_ms,
            s.errors.total()
        );
    }
    match knee {
        Some(k) => println!(
            "knee: {:.0} turns/s offered, {:.0} achieved, p99 {:.2} ms (target {p99_target_ms} ms)",
            steps[k].offered_per_s, steps[k].achieved_per_s, steps[k].latency.p99_ms
        ),
        None => println!(
            "no step met the target (p99 <= {p99_target_ms} ms, achieved >= 90% of offered)"
        ),
    }
    if let Some(k) = sustained {
        println!(
            "highest sustained: {:.0} turns/s offered, {:.0} achieved, p99 {:.2} ms",
            steps[k].offered_per_s, steps[k].achieved_per_s, steps[k].latency.p99_ms
        );
    }
    if let Some(Some(p)) = knee.and_then(|k| profiles.get(k)) {
        println!("server time per turn at the knee (from /metrics):");
        crate::metrics::print_json(p);
    }
    Ok(json!({
        "mode": "ramp",
        "machine": machine,
        "customers": args.customers,
        "p99_target_ms": p99_target_ms,
        "steps": steps,
        "knee": knee.map(|k| &steps[k]),
        "highest_sustained": sustained.map(|k| &steps[k]),
        "highest_sustained_server_profile": sustained.and_then(|k| profiles.get(k).cloned().flatten()),
        "knee_server_profile": knee.and_then(|k| profiles.get(k).cloned().flatten()),
    }))
}
