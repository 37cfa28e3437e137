//! Fault-injection helpers for the `faults_*` and `abuse_*` tests: a private nats-server and a
//! private Postgres cluster that a test may kill and restart, a fake OpenAI-compatible LLM, and
//! readers of the raw bus. Everything listens on loopback, on ports picked free at run time.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use joxai_platform::Platform;
use serde_json::{Value, json};
use uuid::Uuid;

/// A port nothing listens on right now (the OS picks it; a tiny race with other processes is
/// acceptable in tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind port 0")
        .local_addr()
        .expect("addr")
        .port()
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
        .is_ok()
}

fn wait_port(port: u16, open: bool, within: Duration) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if port_open(port) == open {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "port {port} did not become {} within {within:?}",
        if open { "open" } else { "closed" }
    );
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// Our nats-server ≥ 2.10 (see `infra/scripts/lib.sh::nats_server_bin`).
pub fn nats_server_bin() -> PathBuf {
    if let Ok(p) = std::env::var("JOXAI_NATS_SERVER") {
        return p.into();
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let cached = Path::new(&home).join(".cache/joxai/venv/bin/nats-server");
    if cached.exists() {
        cached
    } else {
        "nats-server".into()
    }
}

/// A nats-server with JetStream that belongs to one test: its own port and store, so the test can
/// stop it (SIGTERM), crash it (SIGKILL) and start it again on the same port with the same store.
/// It runs the configuration the dev scripts give every server (`infra/scripts/nats-security.sh`):
/// TLS, one user per role, no anonymous clients, fsync before every acknowledgement.
pub struct PrivateNats {
    pub port: u16,
    /// The monitoring endpoint's port (`/varz`).
    pub monitor_port: u16,
    pub store: PathBuf,
    /// The CA, the server's certificate, the role passwords and `nats.conf`.
    pub security: PathBuf,
    child: Option<Child>,
}

/// Write (or refresh) a server's TLS material, role passwords and `nats.conf` into `dir`.
pub fn nats_security(dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/scripts/nats-security.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(dir)
        .output()
        .expect("run nats-security.sh");
    assert!(
        out.status.success(),
        "nats-security.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PrivateNats {
    pub fn start() -> PrivateNats {
        let store =
            std::env::temp_dir().join(format!("joxai-faults-nats-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&store).expect("nats store dir");
        let security = store.join("security");
        nats_security(&security);
        let mut nats = PrivateNats {
            port: free_port(),
            monitor_port: free_port(),
            store,
            security,
            child: None,
        };
        nats.restart();
        nats
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The settings that connect to this server as `role` (its URL, CA, user and password).
    pub fn identity(&self, role: &str) -> Vec<(&'static str, String)> {
        let password = std::fs::read_to_string(self.security.join("credentials").join(role))
            .expect("role password file");
        vec![
            ("nats_url", self.url()),
            (
                "nats_tls_ca",
                self.security.join("ca.pem").to_string_lossy().into_owned(),
            ),
            ("nats_user", role.to_owned()),
            ("nats_password", password.trim().to_owned()),
        ]
    }

    /// Apply [`PrivateNats::identity`] to a test's configuration.
    pub fn connect_as(&self, role: &str, mut figment: figment::Figment) -> figment::Figment {
        for setting in self.identity(role) {
            figment = figment.merge(setting);
        }
        figment
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Start (again) on the same port with the same store.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "nats-server already running");
        let child = Command::new(nats_server_bin())
            .arg("-c")
            .arg(self.security.join("nats.conf"))
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-m",
                &self.monitor_port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.store)
            .arg("-l")
            .arg(self.store.join("nats.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server (set JOXAI_NATS_SERVER)");
        self.child = Some(child);
        wait_port(self.port, true, Duration::from_secs(10));
    }

    /// Graceful stop: SIGTERM (lame-duck is not used; the server flushes and exits).
    pub fn stop(&mut self) {
        self.end("TERM");
    }

    /// Crash: SIGKILL, nothing flushed by the server itself.
    pub fn kill(&mut self) {
        self.end("KILL");
    }

    fn end(&mut self, sig: &str) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), sig);
            let _ = child.wait();
            wait_port(self.port, false, Duration::from_secs(10));
        }
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Run a Postgres tool, as the `postgres` user when we are root (Postgres refuses to run as root).
fn pg_tool(tool: &str, args: &[&str]) -> std::process::Output {
    let path = format!("{PG_BIN}/{tool}");
    let mut command = if running_as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", &path]);
        c
    } else {
        Command::new(&path)
    };
    command
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"))
}

/// A Postgres 15 cluster that belongs to one test (initdb on a free port, trust auth, fsync off),
/// so the test can stop and start it.
pub struct PrivatePostgres {
    pub port: u16,
    dir: PathBuf,
}

/// A fresh certificate authority in `dir` (`ca.pem`, `ca.key`) and a server certificate it signed
/// (`server.pem`, `server.key`) for the subject alternative names `san` (`IP:127.0.0.1,DNS:x`).
pub fn make_certificates(dir: &Path, san: &str) {
    std::fs::create_dir_all(dir).expect("certificate dir");
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-days",
            "2",
            "-subj",
            "/CN=JoxAI test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-subj",
            "/CN=joxai-test-server",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("server.ext"),
        format!("subjectAltName={san}\nbasicConstraints=CA:FALSE\n"),
    )
    .expect("ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
}

impl PrivatePostgres {
    /// A private cluster that offers only TLS connections over TCP, with a certificate for
    /// `san` signed by a CA made for it (`tls_dir()/ca.pem`).
    pub fn start_with_tls(san: &str) -> PrivatePostgres {
        let pg = PrivatePostgres::start();
        pg.stop();
        let tls = pg.tls_dir();
        make_certificates(&tls, san);
        let hba = "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n";
        std::fs::write(pg.dir.join("data/pg_hba.conf"), hba).expect("pg_hba.conf");
        let conf = format!(
            "ssl = on\nssl_cert_file = '{0}/server.pem'\nssl_key_file = '{0}/server.key'\n",
            tls.display()
        );
        let mut auto = std::fs::OpenOptions::new()
            .append(true)
            .open(pg.dir.join("data/postgresql.auto.conf"))
            .expect("auto.conf");
        std::io::Write::write_all(&mut auto, conf.as_bytes()).expect("write auto.conf");
        if running_as_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&pg.dir)
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster directory to postgres");
        }
        let _ = Command::new("chmod")
            .arg("600")
            .arg(tls.join("server.key"))
            .status();
        pg.resume();
        pg
    }

    /// Where [`PrivatePostgres::start_with_tls`] keeps its CA and certificate.
    pub fn tls_dir(&self) -> PathBuf {
        self.dir.join("tls")
    }

    pub fn start() -> PrivatePostgres {
        let dir = std::env::temp_dir().join(format!("joxai-faults-pg-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("pg dir");
        if running_as_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster directory to postgres");
        }
        let data = dir.join("data");
        let out = pg_tool(
            "initdb",
            &[
                "-D",
                data.to_str().expect("utf-8 path"),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pg = PrivatePostgres {
            port: free_port(),
            dir,
        };
        pg.resume();
        pg
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    /// Start (again) on the same port.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=100",
            self.port,
            self.dir.to_string_lossy()
        );
        let log = self.dir.join("pg.log").to_string_lossy().into_owned();
        let out = pg_tool(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        wait_port(self.port, true, Duration::from_secs(10));
    }

    /// Stop at once, as a crash or an operator would: `immediate` aborts every connection.
    pub fn stop(&self) {
        let out = pg_tool(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        wait_port(self.port, false, Duration::from_secs(10));
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = pg_tool(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every message currently in `stream`, raw (subject, payload as text), read by sequence.
pub async fn raw_stream(platform: &Platform, stream: &str) -> Vec<(String, String)> {
    let mut stream = platform
        .bus
        .jetstream()
        .get_stream(stream)
        .await
        .expect("stream");
    let info = stream.info().await.expect("stream info").clone();
    let mut out = Vec::new();
    for seq in info.state.first_sequence..=info.state.last_sequence {
        if let Ok(message) = stream.get_raw_message(seq).await {
            let headers = format!("{:?}", message.headers);
            out.push((
                message.subject.to_string(),
                format!("{headers} {}", String::from_utf8_lossy(&message.payload)),
            ));
        }
    }
    out
}

/// A fake OpenAI-compatible chat-completions server: records every request body, answers with a
/// fixed reply after an optional delay (the first `slow_calls` calls wait `delay`; with `delays`,
/// call n waits `delays[n % len]`, so answers finish in a different order than they were asked).
#[derive(Clone, Default)]
pub struct FakeLlm {
    pub requests: Arc<Mutex<Vec<Value>>>,
    pub delay: Duration,
    pub slow_calls: usize,
    pub delays: Vec<Duration>,
    pub reply: String,
}

impl FakeLlm {
    pub async fn serve(self) -> (String, FakeLlm) {
        use axum::routing::post;
        async fn respond(
            axum::extract::State(fake): axum::extract::State<FakeLlm>,
            axum::Json(body): axum::Json<Value>,
        ) -> axum::Json<Value> {
            let call = {
                let mut requests = fake.requests.lock().expect("lock");
                requests.push(body);
                requests.len()
            };
            if call <= fake.slow_calls {
                tokio::time::sleep(fake.delay).await;
            }
            if !fake.delays.is_empty() {
                tokio::time::sleep(fake.delays[(call - 1) % fake.delays.len()]).await;
            }
            let content = json!({ "reply": fake.reply, "handoff": null }).to_string();
            axum::Json(json!({
                "choices": [{ "message": { "content": content } }],
                "usage": { "prompt_tokens": 12, "completion_tokens": 7 }
            }))
        }
        let router = axum::Router::new()
            .route("/v1/chat/completions", post(respond))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake llm");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, router).await });
        (format!("http://{addr}"), self)
    }

    pub fn calls(&self) -> usize {
        self.requests.lock().expect("lock").len()
    }
}

/// Poll `check` until it is true, for at most `within` (the shared helper's 15 s is too short for
/// recoveries after an outage).
pub async fn wait_long<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out after {within:?} waiting until {what}");
}

/// What Postgres says about customer messages and their answers.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Ledger {
    /// Customer messages stored.
    pub customer_messages: i64,
    /// Customer messages with neither a bot reply nor a ticket for their conversation.
    pub unanswered: i64,
    /// Customer messages with more than one bot reply.
    pub doubled: i64,
    /// `(conversation, client_message_id)` stored more than once (the unique index forbids it).
    pub duplicate_customer_messages: i64,
}

/// Count, in the database of `client`, every customer message and how it was answered.
pub async fn ledger(client: &tokio_postgres::Client) -> Ledger {
    let row = client
        .query_one(
            "WITH c AS (
                 SELECT m.id, m.conversation_id,
                        (SELECT count(*) FROM messages b WHERE b.sender = 'bot' AND b.in_reply_to = m.id) AS replies,
                        EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = m.conversation_id) AS escalated
                   FROM messages m WHERE m.sender = 'customer')
             SELECT count(*),
                    count(*) FILTER (WHERE replies = 0 AND NOT escalated),
                    count(*) FILTER (WHERE replies > 1),
                    (SELECT count(*) FROM (SELECT 1 FROM messages WHERE sender = 'customer'
                        GROUP BY conversation_id, client_message_id HAVING count(*) > 1) d)
               FROM c",
            &[],
        )
        .await
        .expect("ledger query");
    Ledger {
        customer_messages: row.get(0),
        unanswered: row.get(1),
        doubled: row.get(2),
        duplicate_customer_messages: row.get(3),
    }
}

/// A direct connection to `url` (not the app's pool, which may be mid-reconnect).
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to Postgres");
    tokio::spawn(connection);
    client
}

/// A random Luhn-valid card number of `len` digits.
pub fn random_pan(len: usize) -> String {
    use rand::Rng as _;
    let mut rng = rand::thread_rng();
    let mut body: Vec<u32> = (0..len - 1)
        .map(|i| {
            if i == 0 {
                rng.gen_range(3..=6)
            } else {
                rng.gen_range(0..=9)
            }
        })
        .collect();
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    body.push((10 - sum % 10) % 10);
    body.iter()
        .map(|d| char::from_digit(*d, 10).expect("digit"))
        .collect()
}
