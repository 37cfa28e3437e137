//! One typed configuration for every role, layered: documented defaults, then an optional TOML file
//! (`JOXAI_CONFIG=path`), then environment variables. Validated once at start-up.
//!
//! Environment names: `DATABASE_URL`, `NATS_URL`, and `JOXAI_<FIELD>` for the rest
//! (`JOXAI_HTTP_ADDR`, `JOXAI_NATS_PREFIX`, ...); nested fields use a double underscore
//! (`JOXAI_WORKERS__AI__ACK_WAIT_MS=60000`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use joxai_schemas::streams::{ConsumerTiming, WorkerKind};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Where the HTTP server listens (REST, WebSocket, health).
    pub http_addr: SocketAddr,
    /// Where `/metrics` is served, apart from the customer-facing port so the internet never sees
    /// it. Loopback by default; containers set `0.0.0.0:9464` so Prometheus reaches the pod.
    pub metrics_addr: SocketAddr,
    pub database_url: SecretString,
    /// Connections in the Postgres pool of this process.
    pub db_pool_size: usize,
    pub nats_url: String,
    /// Prefix of every subject and stream, so tests and tenants sharing a NATS server never collide.
    pub nats_prefix: String,
    /// JetStream replicas per stream: 1 on a laptop, 3 on a production cluster.
    pub nats_replicas: usize,
    /// Disk each stream may use. JetStream reserves it up front, so it must fit the server's store.
    pub nats_stream_max_bytes: i64,
    // How a process proves its role to NATS and verifies the server. Each role (ingress, ticket,
    // escalation, ai, notifier) has its own identity whose subject permissions allow only what that
    // role does, so a compromised notifier cannot publish a command; `joxai all` holds every role and
    // connects as the operator. Environment: `JOXAI_NATS_USER`, `JOXAI_NATS_PASSWORD`,
    // `JOXAI_NATS_CREDS_FILE`, `JOXAI_NATS_TLS_CA`, `JOXAI_NATS_TLS_CERT`, `JOXAI_NATS_TLS_KEY`.
    /// User name of this role (with `nats_password`). Its replies use the inbox prefix
    /// `_INBOX_<user>`, which is all the server lets it subscribe to.
    #[serde(default)]
    pub nats_user: Option<String>,
    #[serde(default)]
    pub nats_password: Option<SecretString>,
    /// A NATS credentials file (JWT + nkey seed) for servers run with operator/account JWTs,
    /// instead of a user and password.
    #[serde(default)]
    pub nats_creds_file: Option<PathBuf>,
    /// The CA that signed the server's certificate. When set, the connection must be TLS and the
    /// server's certificate is verified against it (instead of the system's roots).
    #[serde(default)]
    pub nats_tls_ca: Option<PathBuf>,
    /// A client certificate and key, for servers that verify clients by certificate (mutual TLS).
    #[serde(default)]
    pub nats_tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub nats_tls_key: Option<PathBuf>,
    /// Require TLS even without `nats_tls_ca` (the server's certificate is then checked against the
    /// system's roots). A `tls://` URL means the same.
    #[serde(default)]
    pub nats_tls_required: bool,
    /// Signs staff and customer tokens (HS256). Every process of a deployment needs the same value.
    pub jwt_secret: SecretString,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl_secs: u64,
    pub customer_token_ttl_secs: u64,
    /// Secret the bank's web page uses to sign a verified customer reference for the widget.
    pub widget_secret: SecretString,
    /// How long in-flight work may take to finish after SIGTERM.
    pub drain_seconds: u64,
    /// Browser origins allowed to open WebSockets and call the API from another site, and to embed
    /// the widget's frame (its `frame-ancestors`): the bank's own sites, such as
    /// `https://www.bank.example`. Empty means same-origin only.
    pub allowed_origins: Vec<String>,
    /// Exempt loopback callers (127.0.0.1, ::1) from the public rate limits. Off: a reverse proxy on
    /// the same host would otherwise make every customer exempt. Only the load generator and the test
    /// harness, which drive the product from loopback far faster than any customer, turn it on.
    #[serde(default)]
    pub rate_limit_exempt_loopback: bool,
    /// Password for the demo staff accounts; generated and printed when unset.
    pub demo_password: Option<SecretString>,
    pub workers: WorkersConfig,
    /// Where the built frontends are (`widget/dist`, `panel/dist`, `demo/`), served by the all-in-one
    /// process and the ingress.
    pub frontends_dir: std::path::PathBuf,
    /// Demo mode: serves `/demo/identity`, which signs a demo customer's identity so the demo page can
    /// show a verified customer. Never enable it for a real bank.
    pub demo_mode: bool,
    /// Longest a single AI call (LLM request) may take. The AI consumer's ack wait must exceed it.
    pub ai_timeout_ms: u64,
    /// The optional LLM provider; without one the offline responder answers everything.
    pub llm: LlmConfig,
    /// Outgoing email; without a host no email is sent.
    pub smtp: SmtpConfig,
    /// The address customers reach JoxAI at (`JOXAI_PUBLIC_URL`, e.g. `https://chat.bank.example`),
    /// without a trailing slash: links in emails (unsubscribe) start with it.
    pub public_url: String,
    /// What the email worker decides besides SMTP (`JOXAI_EMAIL__REPLY_GRACE_MS`).
    pub email: EmailConfig,
}

/// Timing of customer emails.
#[derive(Debug, Clone, Deserialize)]
pub struct EmailConfig {
    /// How long after an agent's reply the email worker checks whether the customer saw it in the
    /// chat (a socket of theirs was open at some moment since the reply); only if not is it emailed.
    /// Long enough for a widget to reconnect after a network blip.
    pub reply_grace_ms: u64,
}

/// The SMTP server JoxAI sends email through (`JOXAI_SMTP__HOST`, `JOXAI_SMTP__PORT`,
/// `JOXAI_SMTP__USERNAME`, `JOXAI_SMTP__PASSWORD`, `JOXAI_SMTP__FROM`, `JOXAI_SMTP__TLS`).
#[derive(Debug, Clone, Deserialize)]
pub struct SmtpConfig {
    /// Unset: the email worker consumes events but sends nothing.
    pub host: Option<String>,
    pub port: u16,
    /// `tls` (implicit TLS, usually port 465), `starttls` (587) or `none` (a local catcher only).
    pub tls: String,
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<SecretString>,
    /// The sender, `Name <address>` or a bare address.
    pub from: String,
    /// Longest one SMTP exchange may take; must be shorter than the email worker's handler timeout.
    pub timeout_ms: u64,
}

/// Which LLM writes answers, if any. Chosen by `JOXAI_LLM__PROVIDER` (`anthropic`, `openai`,
/// `offline`), or by which of `ANTHROPIC_API_KEY` / `OPENAI_API_KEY` is set.
#[derive(Debug, Clone, Deserialize)]
pub struct LlmConfig {
    pub provider: Option<String>,
    pub model: Option<String>,
    /// For OpenAI-compatible servers (a bank's own model) or tests.
    pub base_url: Option<String>,
    /// Attempts per answer, including the first (429 and 5xx are retried, honouring Retry-After).
    pub max_attempts: usize,
    #[serde(default)]
    pub anthropic_api_key: Option<SecretString>,
    #[serde(default)]
    pub openai_api_key: Option<SecretString>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkersConfig {
    pub ticket: WorkerConfig,
    pub escalation: WorkerConfig,
    pub ai: WorkerConfig,
    pub email: WorkerConfig,
}

/// Consumer and retry settings of one worker kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerConfig {
    /// Messages handled at once by one process.
    pub concurrency: usize,
    pub ack_wait_ms: u64,
    pub max_deliver: i64,
    /// First and largest delay of a negative acknowledgement after a transient failure
    /// (exponential in between, computed with `backon`).
    pub retry_min_ms: u64,
    pub retry_max_ms: u64,
    /// Longest one handler may run before it counts as a transient failure.
    pub handler_timeout_ms: u64,
}

impl WorkerConfig {
    fn defaults(concurrency: usize, ack_wait_ms: u64, handler_timeout_ms: u64) -> Self {
        Self {
            concurrency,
            ack_wait_ms,
            max_deliver: 6,
            retry_min_ms: 500,
            retry_max_ms: 30_000,
            handler_timeout_ms,
        }
    }

    pub fn timing(&self) -> ConsumerTiming {
        ConsumerTiming {
            ack_wait: Duration::from_millis(self.ack_wait_ms),
            max_deliver: self.max_deliver,
            retry_min: Duration::from_millis(self.retry_min_ms),
            retry_max: Duration::from_millis(self.retry_max_ms),
            max_ack_pending: (self.concurrency as i64 * 64).max(256),
        }
    }

    pub fn handler_timeout(&self) -> Duration {
        Duration::from_millis(self.handler_timeout_ms)
    }
}

#[derive(Serialize)]
struct Defaults {
    http_addr: String,
    metrics_addr: String,
    database_url: String,
    db_pool_size: usize,
    nats_url: String,
    nats_prefix: String,
    nats_replicas: usize,
    nats_stream_max_bytes: i64,
    jwt_issuer: String,
    jwt_audience: String,
    access_token_ttl_secs: u64,
    customer_token_ttl_secs: u64,
    drain_seconds: u64,
    allowed_origins: Vec<String>,
    workers: WorkersConfig,
    ai_timeout_ms: u64,
    frontends_dir: String,
    demo_mode: bool,
    llm: LlmDefaults,
    smtp: SmtpDefaults,
    public_url: String,
    email: EmailDefaults,
}

#[derive(Serialize)]
struct EmailDefaults {
    reply_grace_ms: u64,
}

#[derive(Serialize)]
struct LlmDefaults {
    max_attempts: usize,
}

#[derive(Serialize)]
struct SmtpDefaults {
    port: u16,
    tls: String,
    from: String,
    timeout_ms: u64,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            http_addr: "127.0.0.1:5000".into(),
            // 9464: the port OpenTelemetry's Prometheus exporter uses, free on most machines.
            metrics_addr: "127.0.0.1:9464".into(),
            database_url: "postgres://postgres@127.0.0.1:5432/joxai".into(),
            // The three workers run up to 160 handlers at once in the all-in-one process; too few
            // connections made them queue for the pool under load (measured with the load generator).
            db_pool_size: 32,
            // 4222 is often taken by an older system nats-server; ours runs on 4223 (see infra/scripts).
            nats_url: "nats://127.0.0.1:4223".into(),
            nats_prefix: "joxai".into(),
            nats_replicas: 1,
            nats_stream_max_bytes: 1 << 30,
            jwt_issuer: "joxai".into(),
            jwt_audience: "joxai".into(),
            access_token_ttl_secs: 900,
            customer_token_ttl_secs: 24 * 3600,
            drain_seconds: 20,
            allowed_origins: vec![],
            workers: WorkersConfig {
                ticket: WorkerConfig::defaults(64, 30_000, 10_000),
                escalation: WorkerConfig::defaults(32, 30_000, 10_000),
                ai: WorkerConfig::defaults(64, 60_000, 40_000),
                // Few at once: a mail server throttles a sender that opens many sessions.
                email: WorkerConfig {
                    max_deliver: 10,
                    ..WorkerConfig::defaults(8, 60_000, 40_000)
                },
            },
            ai_timeout_ms: 20_000,
            frontends_dir: "frontends".into(),
            demo_mode: false,
            llm: LlmDefaults { max_attempts: 3 },
            smtp: SmtpDefaults {
                port: 587,
                tls: "starttls".into(),
                from: "JoxAI <noreply@joxai.local>".into(),
                timeout_ms: 20_000,
            },
            // Where `make run` serves the product.
            public_url: "http://127.0.0.1:5000".into(),
            email: EmailDefaults {
                reply_grace_ms: 30_000,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration could not be read: {0}")]
    Read(#[from] Box<figment::Error>),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Read the configuration from defaults, `JOXAI_CONFIG` (a TOML file) and the environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment())
    }

    pub fn figment() -> Figment {
        let mut figment = Figment::from(Serialized::defaults(Defaults::default()));
        if let Ok(path) = std::env::var("JOXAI_CONFIG") {
            figment = figment.merge(Toml::file(path));
        }
        figment
            .merge(Env::raw().only(&["DATABASE_URL", "NATS_URL"]))
            .merge(
                Env::raw()
                    .only(&["ANTHROPIC_API_KEY", "OPENAI_API_KEY"])
                    .map(|k| format!("llm.{}", k.as_str().to_ascii_lowercase()).into()),
            )
            .merge(Env::prefixed("JOXAI_").ignore(&["CONFIG"]).split("__"))
    }

    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        // Secrets without a configured value get a random one: fine for one process on a laptop
        // (`make run` writes shared secrets to a file; several processes must share the same ones).
        // `Serialized::default` puts the fallbacks in the default profile, below the environment
        // and the file (a bare tuple would land in the global profile and override them).
        let figment = figment
            .join(Serialized::default("jwt_secret", random_secret()))
            .join(Serialized::default("widget_secret", random_secret()));
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Read(Box::new(e)))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        joxai_schemas::subjects::Subjects::new(self.nats_prefix.clone())
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if self.jwt_secret.expose_secret().len() < 32 {
            return invalid("JOXAI_JWT_SECRET must be at least 32 characters".into());
        }
        self.validate_nats().map_err(ConfigError::Invalid)?;
        if self.db_pool_size == 0 {
            return invalid("JOXAI_DB_POOL_SIZE must be at least 1".into());
        }
        for kind in WorkerKind::ALL {
            let w = self.worker(kind);
            // A handler still running when its ack wait expires gets redelivered and done twice.
            let margin = Duration::from_millis(w.ack_wait_ms / 10);
            if w.handler_timeout() + margin > Duration::from_millis(w.ack_wait_ms) {
                return invalid(format!(
                    "worker {}: ack_wait_ms ({}) must exceed handler_timeout_ms ({}) by at least 10%",
                    kind.as_str(),
                    w.ack_wait_ms,
                    w.handler_timeout_ms
                ));
            }
            if w.max_deliver < 2 || w.concurrency == 0 || w.retry_min_ms > w.retry_max_ms {
                return invalid(format!(
                    "worker {}: max_deliver must be at least 2, concurrency at least 1, retry_min_ms <= retry_max_ms",
                    kind.as_str()
                ));
            }
        }
        if self.widget_secret.expose_secret().len() < 32 {
            return invalid(
                "JOXAI_WIDGET_SECRET must be at least 32 characters (it signs the bank's customer identities; \
                 generate one with `openssl rand -hex 32`)"
                    .into(),
            );
        }
        self.validate_llm().map_err(ConfigError::Invalid)?;
        for origin in &self.allowed_origins {
            if !is_origin(origin) {
                return invalid(format!(
                    "JOXAI_ALLOWED_ORIGINS: {origin:?} is not an origin; write scheme, host and optional port only, \
                     such as https://www.bank.example"
                ));
            }
        }
        // The same port on the same address, or on any address when either listens on all of them.
        let overlapping = self.metrics_addr.ip() == self.http_addr.ip()
            || self.metrics_addr.ip().is_unspecified()
            || self.http_addr.ip().is_unspecified();
        if overlapping
            && self.metrics_addr.port() == self.http_addr.port()
            && self.http_addr.port() != 0
        {
            return invalid(format!(
                "JOXAI_METRICS_ADDR ({}) must differ from JOXAI_HTTP_ADDR: metrics are never served on the public port",
                self.metrics_addr
            ));
        }
        if !matches!(self.smtp.tls.as_str(), "tls" | "starttls" | "none") {
            return invalid(format!(
                "JOXAI_SMTP__TLS must be tls, starttls or none, not {:?}",
                self.smtp.tls
            ));
        }
        if self.smtp.timeout_ms >= self.workers.email.handler_timeout_ms {
            return invalid(format!(
                "smtp.timeout_ms ({}) must be shorter than workers.email.handler_timeout_ms ({})",
                self.smtp.timeout_ms, self.workers.email.handler_timeout_ms
            ));
        }
        let url = self.public_url.as_str();
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.ends_with('/')
            || url
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        {
            return invalid(format!(
                "JOXAI_PUBLIC_URL must be an http(s) address without a trailing slash, such as https://chat.bank.example, not {url:?}"
            ));
        }
        if self.ai_timeout_ms >= self.workers.ai.handler_timeout_ms {
            return invalid(format!(
                "ai_timeout_ms ({}) must be shorter than workers.ai.handler_timeout_ms ({})",
                self.ai_timeout_ms, self.workers.ai.handler_timeout_ms
            ));
        }
        Ok(())
    }

    /// A misspelt provider must not quietly turn the LLM off, and a chosen provider needs its key.
    fn validate_llm(&self) -> Result<(), String> {
        let llm = &self.llm;
        match llm.provider.as_deref() {
            None | Some("offline") => Ok(()),
            Some("anthropic") if llm.anthropic_api_key.is_none() => {
                Err("JOXAI_LLM__PROVIDER is anthropic but ANTHROPIC_API_KEY is not set".into())
            }
            Some("openai") if llm.openai_api_key.is_none() => {
                Err("JOXAI_LLM__PROVIDER is openai but OPENAI_API_KEY is not set".into())
            }
            Some("anthropic" | "openai") => Ok(()),
            Some(other) => Err(format!(
                "JOXAI_LLM__PROVIDER must be anthropic, openai or offline, not {other:?} \
                 (unset, the provider whose API key is set is used, else the offline responder)"
            )),
        }
    }

    fn validate_nats(&self) -> Result<(), String> {
        if self.nats_user.is_some() != self.nats_password.is_some() {
            return Err("JOXAI_NATS_USER and JOXAI_NATS_PASSWORD must be set together".into());
        }
        if self.nats_user.is_some() && self.nats_creds_file.is_some() {
            return Err(
                "set either JOXAI_NATS_USER/JOXAI_NATS_PASSWORD or JOXAI_NATS_CREDS_FILE, not both"
                    .into(),
            );
        }
        if self.nats_tls_cert.is_some() != self.nats_tls_key.is_some() {
            return Err("JOXAI_NATS_TLS_CERT and JOXAI_NATS_TLS_KEY must be set together".into());
        }
        if let Some(user) = &self.nats_user
            && (user.is_empty()
                || !user
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            return Err(format!(
                "JOXAI_NATS_USER {user:?} must be letters, digits, '-' or '_' (it names the inbox)"
            ));
        }
        for (name, path) in [
            ("JOXAI_NATS_CREDS_FILE", &self.nats_creds_file),
            ("JOXAI_NATS_TLS_CA", &self.nats_tls_ca),
            ("JOXAI_NATS_TLS_CERT", &self.nats_tls_cert),
            ("JOXAI_NATS_TLS_KEY", &self.nats_tls_key),
        ] {
            if let Some(path) = path
                && !path.is_file()
            {
                return Err(format!("{name}: {} is not a readable file", path.display()));
            }
        }
        Ok(())
    }

    /// Whether the connection is encrypted: a CA, a client certificate, the flag or a `tls://` URL.
    pub fn nats_tls(&self) -> bool {
        self.nats_tls_required
            || self.nats_tls_ca.is_some()
            || self.nats_tls_cert.is_some()
            || self
                .nats_servers()
                .iter()
                .any(|url| url.starts_with("tls://"))
    }

    /// The servers of `nats_url`: one URL, or several separated by commas (the members of a
    /// cluster, so a process can start while any one of them is down).
    pub fn nats_servers(&self) -> Vec<&str> {
        self.nats_url
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .collect()
    }

    /// How this process authenticates, for the start-up log (never the secret itself).
    pub fn nats_identity(&self) -> String {
        match (&self.nats_user, &self.nats_creds_file) {
            (Some(user), _) => format!("user {user}"),
            (None, Some(path)) => format!("credentials file {}", path.display()),
            (None, None) => "anonymous".into(),
        }
    }

    pub fn worker(&self, kind: WorkerKind) -> &WorkerConfig {
        match kind {
            WorkerKind::Ticket => &self.workers.ticket,
            WorkerKind::Escalation => &self.workers.escalation,
            WorkerKind::Ai => &self.workers.ai,
            WorkerKind::Email => &self.workers.email,
        }
    }

    pub fn subjects(&self) -> joxai_schemas::subjects::Subjects {
        // Validated in `validate`.
        joxai_schemas::subjects::Subjects::new(self.nats_prefix.clone())
            .unwrap_or_else(|_| unreachable!("prefix validated at load"))
    }
}

/// Whether `value` is a browser origin (`https://host` or `http://host:port`), nothing more: it goes
/// into the widget frame's Content-Security-Policy, where a space, `;` or `,` would add directives.
pub fn is_origin(value: &str) -> bool {
    let Some((scheme, authority)) = value.split_once("://") else {
        return false;
    };
    let host = match authority.rsplit_once(':') {
        Some((host, port))
            if !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host
        }
        _ => authority,
    };
    matches!(scheme, "http" | "https")
        && !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

fn random_secret() -> String {
    use rand::Rng as _;
    let bytes: [u8; 32] = rand::thread_rng().r#gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::is_origin;

    #[test]
    fn an_origin_is_a_scheme_a_host_and_maybe_a_port_and_nothing_that_could_extend_a_policy() {
        for good in [
            "https://www.bank.example",
            "http://localhost:5000",
            "https://bank-1.example:8443",
        ] {
            assert!(is_origin(good), "{good}");
        }
        for bad in [
            "www.bank.example",
            "https://bank.example/",
            "https://bank.example/path",
            "https://bank.example; script-src *",
            "https://a.example https://b.example",
            "https://bank.example,https://evil.example",
            "ftp://bank.example",
            "https://",
            "https://bank.example:",
            "*",
            "'none'",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }
}
