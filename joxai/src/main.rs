//! `joxai`: one binary for every role. Run `joxai --help`.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use joxai_platform::Platform;
use joxai_platform::config::Config;
use joxai_schemas::streams::WorkerKind;
use secrecy::ExposeSecret as _;

#[derive(Parser)]
#[command(
    name = "joxai",
    version,
    about = "JoxAI: AI customer service for banks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every role in one process on one HTTP port (migrates first): for a laptop or a demo.
    All {
        /// Also create the demo staff accounts.
        #[arg(long)]
        seed_demo: bool,
    },
    /// The REST gateway.
    Ingress,
    /// One kind of worker: ticket, escalation or ai.
    Worker {
        #[arg(value_parser = ["ticket", "escalation", "ai"])]
        kind: String,
    },
    /// The WebSocket notifier.
    Notifier,
    /// Apply database migrations (safe to run from many processes at once).
    Migrate,
    /// Create the demo staff accounts (admin, supervisor, agent @joxai.local).
    SeedDemo,
    /// The offline language model: `joxai nlu eval FILE.csv`, `joxai nlu classify "text"`, ...
    Nlu {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// The demo password: `JOXAI_DEMO_PASSWORD`, or a fresh random one (printed once).
fn demo_password(config: &Config) -> String {
    match &config.demo_password {
        Some(p) => p.expose_secret().to_owned(),
        None => {
            use rand::Rng as _;
            let p: String = rand::thread_rng()
                .sample_iter(rand::distributions::Alphanumeric)
                .take(16)
                .map(char::from)
                .collect();
            p
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Nlu { args } = &cli.command {
        // `nlu safety` measures the escalation classifier's decisions, which live in the workers, not in the NLU crate.
        let words: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .skip_while(|a| *a == "nlu")
            .collect();
        if words.first() == Some(&"safety") {
            return joxai_workers::escalation::safety::run_cli(
                &args[args.len() - words.len() + 1..],
            );
        }
        return joxai_nlu::run_cli(args);
    }
    joxai_platform::telemetry::init();
    let config = Config::load()?;
    let started = std::time::Instant::now();
    let platform = Platform::connect(config.clone()).await?;
    let shutdown = joxai_platform::shutdown::on_signal();
    let listen = || async {
        tokio::net::TcpListener::bind(config.http_addr)
            .await
            .with_context(|| {
                format!(
                    "listening on {} (set JOXAI_HTTP_ADDR to change)",
                    config.http_addr
                )
            })
    };
    // Every serving role exposes its metrics on their own listener, never on the customer-facing port.
    let serves = matches!(
        cli.command,
        Command::All { .. } | Command::Ingress | Command::Notifier | Command::Worker { .. }
    );
    let _metrics = if serves {
        Some(joxai::serve_metrics(config.metrics_addr, shutdown.clone()).await?)
    } else {
        None
    };
    match cli.command {
        Command::All { seed_demo } => {
            platform.db.migrate().await?;
            if seed_demo {
                let password = demo_password(&config);
                joxai::seed::seed_demo(&platform, &password).await?;
                joxai::seed::seed_demo_activity(&platform).await?;
                if config.demo_password.is_none() {
                    println!(
                        "Demo staff password (admin@, supervisor@, agent@joxai.local): {password}"
                    );
                }
            }
            // Train the intent model before accepting traffic, so the first message is not slow.
            joxai_workers::intent_model().await?;
            let listener = listen().await?;
            tracing::info!(addr = %config.http_addr, startup_ms = started.elapsed().as_millis() as u64, "JoxAI is ready");
            joxai::run_all(platform, listener, shutdown).await
        }
        Command::Ingress => joxai_ingress::run(platform, listen().await?, shutdown).await,
        Command::Notifier => joxai_notifier::run(platform, listen().await?, shutdown).await,
        Command::Worker { kind } => {
            let kind = WorkerKind::parse(&kind).context("unknown worker kind")?;
            joxai::run_worker(platform, vec![kind], listen().await?, shutdown).await
        }
        Command::Migrate => {
            let applied = platform.db.migrate().await?;
            println!("migrations applied: {applied:?}");
            Ok(())
        }
        Command::SeedDemo => {
            let password = demo_password(&config);
            joxai::seed::seed_demo(&platform, &password).await?;
            joxai::seed::seed_demo_activity(&platform).await?;
            println!(
                "Demo staff ready: admin@joxai.local, supervisor@joxai.local, agent@joxai.local"
            );
            if config.demo_password.is_none() {
                println!("Password: {password}");
            }
            Ok(())
        }
        Command::Nlu { .. } => Ok(()),
    }
}
