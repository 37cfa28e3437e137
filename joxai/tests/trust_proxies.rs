//! Behind a proxy, limits count the customer, not the proxy: `X-Forwarded-For` is read when the
//! peer is inside one of the `JOXAI_TRUSTED_PROXIES` CIDR ranges, and ignored otherwise (a forged
//! header buys no fresh allowance). A process listening on a non-loopback address without trusted
//! proxies says so loudly at start-up. Sign-in throttling never lets one person lock out another:
//! failures count per (account, address). Each case runs the real binary, as the settings are read
//! from its environment.

mod fault_support;
mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fault_support::{free_port, wait_long};
use uuid::Uuid;

const DEMO_PASSWORD: &str = "correct-horse-battery-staple";

struct Process {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

async fn start(bind: &str, env: &[(&str, &str)]) -> Process {
    let port = free_port();
    let log = std::env::temp_dir().join(format!("joxai-proxies-{}.log", Uuid::new_v4().simple()));
    let file = std::fs::File::create(&log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_joxai"))
        .args(["all", "--seed-demo"])
        .env("JOXAI_DEMO_PASSWORD", DEMO_PASSWORD)
        .env("JOXAI_HTTP_ADDR", format!("{bind}:{port}"))
        .env("JOXAI_DATABASE_URL", support::fresh_database().await)
        .env("JOXAI_NATS_URL", support::nats_url())
        .envs(support::nats_env())
        .env(
            "JOXAI_NATS_PREFIX",
            format!("t{}", &Uuid::new_v4().simple().to_string()[..12]),
        )
        .env("JOXAI_NATS_STREAM_MAX_BYTES", (16 << 20).to_string())
        .env("JOXAI_DB_POOL_SIZE", "4")
        .env("JOXAI_RATE_LIMIT_SESSIONS_PER_IP", "2")
        // Our requests come from 127.0.0.1, and are counted: the loopback exemption is off by default.
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(file.try_clone().expect("clone"))
        .stderr(file)
        .stdin(Stdio::null())
        .spawn()
        .expect("start joxai all");
    let process = Process {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    };
    let http = reqwest::Client::new();
    wait_long(
        "the process answers /healthz",
        Duration::from_secs(60),
        || async {
            http.get(format!("{}/healthz", process.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        },
    )
    .await;
    process
}

async fn new_session(base: &str, forwarded_for: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/chat/sessions"))
        .header("x-forwarded-for", forwarded_for)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("session")
        .status()
        .as_u16()
}

#[tokio::test]
async fn customers_behind_a_trusted_proxy_range_are_counted_one_by_one_and_a_forged_header_is_not()
{
    // The proxy (us, 127.0.0.1) is inside a trusted range, not listed address by address.
    let behind_proxy = start(
        "127.0.0.1",
        &[("JOXAI_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.0/8")],
    )
    .await;
    assert_eq!(new_session(&behind_proxy.base, "203.0.113.5").await, 201);
    assert_eq!(new_session(&behind_proxy.base, "203.0.113.5").await, 201);
    assert_eq!(
        new_session(&behind_proxy.base, "203.0.113.5").await,
        429,
        "one customer's third chat within the window"
    );
    assert_eq!(
        new_session(&behind_proxy.base, "203.0.113.6").await,
        201,
        "another customer behind the same proxy"
    );
    // A client that adds its own X-Forwarded-For in front is still counted by what the proxy saw.
    assert_eq!(
        new_session(&behind_proxy.base, "198.51.100.1, 203.0.113.5").await,
        429
    );

    // Without trusted proxies the header is anyone's to forge: it is ignored, and the peer counts.
    let direct = start("127.0.0.1", &[]).await;
    assert_eq!(new_session(&direct.base, "203.0.113.7").await, 201);
    assert_eq!(new_session(&direct.base, "203.0.113.8").await, 201);
    assert_eq!(
        new_session(&direct.base, "203.0.113.9").await,
        429,
        "a forged header bought a fresh allowance"
    );
}

#[tokio::test]
async fn listening_on_a_public_address_without_trusted_proxies_logs_a_loud_warning() {
    let exposed = start("0.0.0.0", &[]).await;
    let log = std::fs::read_to_string(&exposed.log).expect("log");
    assert!(
        log.contains("NO TRUSTED PROXIES"),
        "no warning in the start-up log:\n{log}"
    );

    let configured = start("0.0.0.0", &[("JOXAI_TRUSTED_PROXIES", "10.0.0.0/8")]).await;
    let log = std::fs::read_to_string(&configured.log).expect("log");
    assert!(
        !log.contains("NO TRUSTED PROXIES"),
        "warned although proxies are set"
    );
    assert!(
        log.contains("10.0.0.0/8"),
        "the trusted ranges are not reported:\n{log}"
    );
}

async fn sign_in(base: &str, forwarded_for: &str, email: &str, password: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login")
        .status()
        .as_u16()
}

#[tokio::test]
async fn an_attackers_failed_sign_ins_do_not_stop_the_real_user_signing_in_from_their_own_address()
{
    let app = start("127.0.0.1", &[("JOXAI_TRUSTED_PROXIES", "127.0.0.0/8")]).await;
    let (attacker, user, admin) = ("203.0.113.66", "198.51.100.7", "admin@joxai.local");
    for attempt in 0..8 {
        let status = sign_in(&app.base, attacker, admin, "guess-number-something").await;
        assert_eq!(
            status,
            if attempt < 5 { 401 } else { 429 },
            "attacker's attempt {attempt}"
        );
    }
    // The attacker is stopped even with the right password from there...
    assert_eq!(
        sign_in(&app.base, attacker, admin, DEMO_PASSWORD).await,
        429
    );
    // ...and the admin, from their own address, signs in.
    assert_eq!(
        sign_in(&app.base, user, admin, DEMO_PASSWORD).await,
        200,
        "the attacker locked the real user out"
    );
    assert_eq!(
        sign_in(&app.base, attacker, admin, DEMO_PASSWORD).await,
        429,
        "the real user's sign-in reset the attacker's count"
    );

    // Spread over many addresses, guesses on one account are slowed down, never refused: the real
    // user still gets in, after a short wait.
    for n in 0..20 {
        assert_eq!(
            sign_in(
                &app.base,
                &format!("203.0.113.{}", 100 + n),
                admin,
                "another-guess-here"
            )
            .await,
            401
        );
    }
    let started = std::time::Instant::now();
    assert_eq!(
        sign_in(&app.base, user, admin, DEMO_PASSWORD).await,
        200,
        "a slowed account is not a locked one"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "sign-ins on an account under attack are not slowed"
    );
}
