//! Postgres: the connection pool, the embedded migrations and error classification.

use std::time::Instant;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use secrecy::ExposeSecret;
use tokio_postgres::error::SqlState;

use crate::config::Config;
use crate::metrics::metrics;

/// The migrations in `infra/migrations`, embedded so the binary can migrate any database on its own.
/// Append only: an applied migration is never edited, a change is a new file.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../infra/migrations/0001_init.sql"),
    ),
    (
        2,
        "desk",
        include_str!("../../infra/migrations/0002_desk.sql"),
    ),
    (
        3,
        "bank",
        include_str!("../../infra/migrations/0003_bank.sql"),
    ),
    (
        4,
        "desk_reads",
        include_str!("../../infra/migrations/0004_desk_reads.sql"),
    ),
    (
        5,
        "hot_path_indexes",
        include_str!("../../infra/migrations/0005_hot_path_indexes.sql"),
    ),
    (
        6,
        "desk_follow_up",
        include_str!("../../infra/migrations/0006_desk_follow_up.sql"),
    ),
    (
        7,
        "settings",
        include_str!("../../infra/migrations/0007_settings.sql"),
    ),
    (
        8,
        "desk_follows_settings",
        include_str!("../../infra/migrations/0008_desk_follows_settings.sql"),
    ),
    (
        9,
        "message_order",
        include_str!("../../infra/migrations/0009_message_order.sql"),
    ),
    (
        10,
        "email_more",
        include_str!("../../infra/migrations/0010_email_more.sql"),
    ),
];

/// Arbitrary but fixed: every `joxai migrate` takes this lock, so replicas starting at once migrate
/// one after the other instead of racing.
const MIGRATION_LOCK_KEY: i64 = 0x6a6f_7861_6900;

#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// The `sslmode` of `DATABASE_URL` (see [`crate::db_tls`]).
    ssl_mode: crate::db_tls::SslMode,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no Postgres connection available: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("Postgres query failed: {0}")]
    Query(#[from] tokio_postgres::Error),
    /// The connection failed while a shared statement (see the ticket worker's write batches) was
    /// running; carried to every statement that shared it. Trying again can succeed.
    #[error("Postgres unavailable: {0}")]
    Lost(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
}

impl DbError {
    /// Whether trying again later can succeed (the database is down, restarting, overloaded, or a
    /// serialisation conflict). Anything else is a bug or bad data and must not be retried forever.
    pub fn is_transient(&self) -> bool {
        match self {
            DbError::Pool(_) | DbError::Lost(_) => true,
            DbError::Query(e) => match e.code() {
                None => true, // connection-level failure
                Some(code) => {
                    let c = code.code();
                    *code == SqlState::T_R_SERIALIZATION_FAILURE
                        || *code == SqlState::T_R_DEADLOCK_DETECTED
                        || c.starts_with("08") // connection exception
                        || c.starts_with("53") // insufficient resources
                        || c.starts_with("57") // operator intervention (shutdown)
                }
            },
            DbError::Conflict(_) | DbError::NotFound => false,
        }
    }

    pub fn is_unique_violation(&self) -> bool {
        matches!(self, DbError::Query(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION))
    }
}

impl Db {
    pub fn connect(config: &Config) -> anyhow::Result<Self> {
        use crate::db_tls::{self, SslMode};
        let tls = db_tls::split_url(config.database_url.expose_secret())?;
        let mut pg: tokio_postgres::Config = tls.url.parse()?;
        // tokio-postgres only knows whether to encrypt; what to check is the verifier's job.
        pg.ssl_mode(match tls.mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
        let connector = tokio_postgres_rustls::MakeRustlsConnect::new(db_tls::client_config(
            tls.mode,
            tls.root_cert.as_deref(),
        )?);
        let manager = Manager::from_config(
            pg,
            connector,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.db_pool_size)
            .runtime(Runtime::Tokio1)
            // Fail fast when Postgres is gone so the API answers 503 instead of hanging.
            .wait_timeout(Some(std::time::Duration::from_secs(5)))
            .create_timeout(Some(std::time::Duration::from_secs(5)))
            .build()?;
        Ok(Self {
            pool,
            ssl_mode: tls.mode,
        })
    }

    /// Whether this process's connections are encrypted, as Postgres itself reports it.
    pub async fn tls(&self) -> Result<(bool, Option<String>), DbError> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT coalesce(ssl, false), version FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
            .await?;
        Ok((row.get(0), row.get(1)))
    }

    /// Log the negotiated TLS at start-up, so an operator sees at once whether `sslmode` took
    /// effect (a `prefer` that fell back to plain text, say). Postgres being down is not fatal here:
    /// the pool connects lazily and readiness reports it.
    pub async fn log_tls(&self) {
        match self.tls().await {
            Ok((encrypted, version)) => tracing::info!(
                sslmode = self.ssl_mode.as_str(),
                encrypted,
                tls_version = version.as_deref().unwrap_or("none"),
                "postgres connection"
            ),
            Err(e) => {
                tracing::warn!(sslmode = self.ssl_mode.as_str(), error = %e, "postgres not reachable at start-up")
            }
        }
    }

    pub async fn client(&self) -> Result<deadpool_postgres::Client, DbError> {
        let status = self.pool.status();
        let m = metrics();
        m.db_pool_connections
            .with_label_values(&["size"])
            .set(status.size as i64);
        m.db_pool_connections
            .with_label_values(&["available"])
            .set(status.available as i64);
        m.db_pool_waiting.set(status.waiting as i64);
        Ok(self.pool.get().await?)
    }

    /// Time a database operation into `joxai_db_query_duration_seconds{operation}`.
    pub async fn timed<T, F: Future<Output = Result<T, DbError>>>(
        operation: &'static str,
        f: F,
    ) -> Result<T, DbError> {
        let started = Instant::now();
        let out = f.await;
        metrics()
            .db_query_duration
            .with_label_values(&[operation])
            .observe(started.elapsed().as_secs_f64());
        out
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await?;
        Ok(())
    }

    /// Apply pending migrations under an advisory lock. Safe to run from many processes at once.
    pub async fn migrate(&self) -> anyhow::Result<Vec<i32>> {
        let mut client = self.client().await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
            .await?;
        let result = apply_migrations(&mut client).await;
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
            .await?;
        result
    }
}

async fn apply_migrations(client: &mut deadpool_postgres::Client) -> anyhow::Result<Vec<i32>> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        let done = client
            .query_opt(
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                &[version],
            )
            .await?;
        if done.is_some() {
            continue;
        }
        let tx = client.transaction().await?;
        tx.batch_execute(sql)
            .await
            .map_err(|e| anyhow::anyhow!("migration {version} ({name}) failed: {e}"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version, name, "applied migration");
        applied.push(*version);
    }
    Ok(applied)
}
