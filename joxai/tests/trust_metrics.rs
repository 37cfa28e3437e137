//! The real binary serves `/metrics` on its own listener (`JOXAI_METRICS_ADDR`) and never on the
//! customer-facing port, and refuses a configuration that would put both on one port.

mod fault_support;
mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use fault_support::{free_port, wait_long};
use uuid::Uuid;

fn joxai(http_port: u16, metrics_addr: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_joxai"));
    command
        .arg("ingress")
        .env("JOXAI_HTTP_ADDR", format!("127.0.0.1:{http_port}"))
        .env("JOXAI_METRICS_ADDR", metrics_addr)
        .env("JOXAI_NATS_URL", support::nats_url())
        .envs(support::nats_env())
        .env(
            "JOXAI_NATS_PREFIX",
            format!("t{}", &Uuid::new_v4().simple().to_string()[..12]),
        )
        .env("JOXAI_NATS_STREAM_MAX_BYTES", (16 << 20).to_string())
        .env("JOXAI_DB_POOL_SIZE", "2")
        .stdin(Stdio::null());
    command
}

#[tokio::test]
async fn the_ingress_serves_metrics_on_the_metrics_listener_and_404_on_the_public_port() {
    let (http_port, metrics_port) = (free_port(), free_port());
    let mut child = joxai(http_port, &format!("127.0.0.1:{metrics_port}"))
        .env("JOXAI_DATABASE_URL", support::fresh_database().await)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start joxai ingress");
    let http = reqwest::Client::new();
    let public = format!("http://127.0.0.1:{http_port}");
    let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
    wait_long(
        "the ingress answers /healthz",
        Duration::from_secs(60),
        || async {
            http.get(format!("{public}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        },
    )
    .await;
    let on_public = http
        .get(format!("{public}/metrics"))
        .send()
        .await
        .expect("public /metrics");
    let status = on_public.status();
    let body = on_public.text().await.unwrap_or_default();
    let scraped = http.get(&metrics).send().await.expect("metrics listener");
    let scraped_status = scraped.status();
    let scraped_body = scraped.text().await.unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 404, "the public port served /metrics");
    assert!(!body.contains("joxai_"), "{body}");
    assert_eq!(scraped_status, 200);
    // The /healthz request above was counted, by route, on the metrics listener.
    assert!(
        scraped_body.contains("joxai_http_requests_total{"),
        "{scraped_body}"
    );
    assert!(
        scraped_body.contains("route=\"/healthz\""),
        "{scraped_body}"
    );
}

#[tokio::test]
async fn metrics_on_the_public_port_are_refused_at_start_up() {
    let port = free_port();
    // The same address, or every address (which includes the public one).
    for metrics_addr in [format!("127.0.0.1:{port}"), format!("0.0.0.0:{port}")] {
        let output = joxai(port, &metrics_addr)
            .env("JOXAI_DATABASE_URL", support::fresh_database().await)
            .output()
            .expect("run joxai ingress");
        assert!(
            !output.status.success(),
            "started with metrics at {metrics_addr}, on the public port"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("JOXAI_METRICS_ADDR"), "{stderr}");
    }
}
