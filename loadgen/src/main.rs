//! `joxai-loadgen`: measures JoxAI the way a bank would, and the box's own ceiling beside it.
//!
//! Modes (see `docs/performance.md`):
//! - `rate`: simulated customers send chat messages at a fixed total rate, open loop, and every chat
//!   turn (POST → the bot's reply on the customer's WebSocket) is timed into an HDR histogram;
//! - `ramp`: the same at rising rates until the p99 target or the throughput breaks (the knee);
//! - `ws`: many idle WebSockets held open (server memory), and the delivery latency of events
//!   published straight to NATS to subscribed sockets;
//! - `ceiling`: the same Postgres writes and JetStream publishes a turn causes, done directly with no
//!   product code in between, so product throughput can be reported as a ratio that survives a noisy
//!   machine.
//!
//! It only ever talks to 127.0.0.1 / localhost, every loop is bounded in count and time, and it
//! stops by itself.

mod ceiling;
mod fleet;
mod metrics;
mod questions;
mod report;
mod turns;
mod ws;

/// NATS connection options with the product's own TLS and identity settings from the environment
/// (`JOXAI_NATS_TLS_CA`, `JOXAI_NATS_USER`, `JOXAI_NATS_PASSWORD`), so the generator reaches a server
/// that refuses anonymous and plain-text clients, as every server the dev scripts start does.
pub(crate) fn nats_options(name: &str) -> async_nats::ConnectOptions {
    let mut options = async_nats::ConnectOptions::new().name(name);
    if let Ok(ca) = std::env::var("JOXAI_NATS_TLS_CA") {
        options = options.require_tls(true).add_root_certificates(ca.into());
    }
    if let (Ok(user), Ok(password)) = (
        std::env::var("JOXAI_NATS_USER"),
        std::env::var("JOXAI_NATS_PASSWORD"),
    ) {
        options = options
            .custom_inbox_prefix(format!("_INBOX_{user}"))
            .user_and_password(user, password);
    }
    options
}

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "joxai-loadgen",
    about = "Load generator and ceiling probe for JoxAI"
)]
struct Cli {
    /// Where JoxAI listens (all roles in one process, or the ingress/notifier pair behind one port).
    #[arg(
        long,
        env = "JOXAI_LOADGEN_URL",
        default_value = "http://127.0.0.1:5000",
        global = true
    )]
    url: String,
    /// Write a JSON summary of the run here.
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// A fixed total rate of chat turns for a duration, after a warm-up.
    Rate(RateArgs),
    /// Step the rate up until p99 exceeds the target or throughput falls behind the offered load.
    Ramp(RampArgs),
    /// Idle WebSockets (server memory) and event delivery latency to subscribed sockets.
    Ws(ws::WsArgs),
    /// What Postgres and NATS alone do for the same writes and publishes per turn.
    Ceiling(ceiling::CeilingArgs),
}

#[derive(Args, Clone)]
pub struct FleetArgs {
    /// Simulated customers (each one session and one WebSocket); the rate is spread over them.
    #[arg(long, default_value_t = 500)]
    customers: usize,
    /// Most chat POSTs in flight at once; beyond this a send is counted as an error, not queued,
    /// so the load stays open-loop and the generator's memory bounded.
    #[arg(long, default_value_t = 4096)]
    max_in_flight: usize,
    /// How long after a step's last send to wait for outstanding replies before counting them missing.
    #[arg(long, default_value_t = 5.0)]
    drain_secs: f64,
    /// A reply later than this counts as a timeout (it is still recorded in the histogram).
    #[arg(long, default_value_t = 5.0)]
    reply_timeout_secs: f64,
}

#[derive(Args)]
struct RateArgs {
    /// Chat turns offered per second, in total.
    #[arg(long, default_value_t = 300.0)]
    rate: f64,
    /// Measured seconds.
    #[arg(long, default_value_t = 15.0)]
    duration: f64,
    /// Seconds sent before measuring (caches, pools and JIT-like warm-ups settle).
    #[arg(long, default_value_t = 3.0)]
    warmup: f64,
    /// Scrape the server's /metrics before and after and print where the time per turn went.
    #[arg(long)]
    profile: bool,
    #[command(flatten)]
    fleet: FleetArgs,
}

#[derive(Args)]
struct RampArgs {
    /// Comma-separated rates to try in order (turns/s).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "100,200,400,800,1200,1600,2000,2400,3200"
    )]
    rates: Vec<f64>,
    #[arg(long, default_value_t = 6.0)]
    step_secs: f64,
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// A step whose p99 is above this (milliseconds) is past the knee.
    #[arg(long, default_value_t = 25.0)]
    p99_target_ms: f64,
    /// Scrape /metrics around every step and print the time per turn at the knee.
    #[arg(long)]
    profile: bool,
    #[command(flatten)]
    fleet: FleetArgs,
}

/// Refuse anything but the loopback interface: this tool is a load generator, and load generators
/// pointed at the wrong host are how outages start.
pub fn require_loopback(what: &str, url: &str) -> anyhow::Result<()> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host_port = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    let host = host_port
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(host_port);
    if matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        Ok(())
    } else {
        bail!("{what} must point at 127.0.0.1 or localhost, not {host:?}")
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    require_loopback("--url", &cli.url)?;
    let url = cli.url.trim_end_matches('/').to_owned();
    let summary = match cli.mode {
        Mode::Rate(args) => {
            turns::rate(
                &url,
                args.rate,
                args.duration,
                args.warmup,
                args.profile,
                &args.fleet,
            )
            .await?
        }
        Mode::Ramp(args) => {
            turns::ramp(
                &url,
                &args.rates,
                args.step_secs,
                args.warmup,
                args.p99_target_ms,
                args.profile,
                &args.fleet,
            )
            .await?
        }
        Mode::Ws(args) => ws::run(&url, &args).await?,
        Mode::Ceiling(args) => ceiling::run(&args).await?,
    };
    if let Some(path) = cli.json {
        let text = serde_json::to_string_pretty(&summary)?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("summary written to {}", path.display());
    }
    Ok(())
}
