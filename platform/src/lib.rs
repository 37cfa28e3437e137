//! Plumbing shared by every JoxAI service, written once.
//!
//! This crate owns: the typed [`config::Config`] (defaults, optional file, environment), logging
//! ([`telemetry`]), the Postgres pool and embedded migrations ([`db`]), the NATS JetStream connection,
//! topology and publishing ([`bus`]), the cancellation signal ([`shutdown`]), the health, readiness
//! and metrics endpoints ([`http`]), the Prometheus metric families ([`metrics`]) the JWTs that
//! staff and customers carry ([`tokens`]) and the settings a bank edits in the panel, kept live in every
//! process ([`settings`]).
//!
//! It owns no business rules: those live in `joxai-ingress`, `joxai-workers` and `joxai-notifier`.

pub mod bus;
pub mod client_addr;
pub mod config;
pub mod db;
pub mod db_tls;
pub mod email;
pub mod http;
pub mod metrics;
pub mod rate_window;
pub mod rows;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
pub mod tokens;

/// Everything a service needs to talk to the outside world, built once per process and cloned cheaply.
#[derive(Clone)]
pub struct Platform {
    pub config: std::sync::Arc<config::Config>,
    pub db: db::Db,
    pub bus: bus::Bus,
    pub tokens: tokens::TokenKeys,
    /// The bank's settings as last loaded; follows changes once [`Platform::follow_settings`] runs.
    pub settings: settings::Live,
}

impl Platform {
    /// Connect to Postgres and NATS and make sure the JetStream streams exist.
    pub async fn connect(config: config::Config) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let db = db::Db::connect(&config).context("creating the Postgres pool")?;
        db.log_tls().await;
        let bus = bus::Bus::connect(&config)
            .await
            .context("connecting to NATS")?;
        bus.ensure_streams()
            .await
            .context("creating the JetStream streams")?;
        let tokens = tokens::TokenKeys::new(&config);
        Ok(Self {
            config: std::sync::Arc::new(config),
            db,
            bus,
            tokens,
            settings: settings::Live::default(),
        })
    }

    /// Load the settings and reload them on every change until `shutdown` (each serving process
    /// calls it once at start).
    pub fn follow_settings(&self, shutdown: tokio_util::sync::CancellationToken) {
        self.settings
            .follow(self.db.clone(), self.bus.clone(), shutdown);
    }
}
