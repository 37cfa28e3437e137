//! The JoxAI process: runs any role, or all of them in one process on one port.
//!
//! This crate only assembles: the behaviour lives in `joxai-ingress`, `joxai-workers` and
//! `joxai-notifier`, and the plumbing in `joxai-platform`.

pub mod frontends;
pub mod seed;

use joxai_platform::Platform;
use joxai_schemas::streams::WorkerKind;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Every role in one process: the REST API, the WebSocket notifier, the three workers, health and
/// metrics, all on `listener`. Returns once `shutdown` is cancelled and everything has drained.
pub async fn run_all(
    platform: Platform,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        joxai_ingress::extract::check_proxy_settings(addr);
    }
    platform.follow_settings(shutdown.clone());
    let hub = joxai_notifier::Hub::start(platform.clone(), shutdown.clone());
    let router = joxai_ingress::api_router(platform.clone())
        .merge(joxai_notifier::router(hub))
        .merge(joxai_platform::http::health_router(platform.clone()))
        .merge(frontends::router(&platform.config.frontends_dir))
        .merge(if platform.config.demo_mode {
            frontends::demo_identity_router(platform.clone())
        } else {
            axum::Router::new()
        })
        .layer(axum::middleware::from_fn(|req, next| {
            joxai_platform::http::track_metrics("all", req, next)
        }));
    let workers = tokio::spawn(joxai_workers::run(
        platform.clone(),
        &WorkerKind::ALL,
        shutdown.clone(),
    ));
    let server = joxai_platform::http::serve(listener, router, shutdown.clone());
    let served = server.await;
    shutdown.cancel();
    workers.await??;
    served?;
    Ok(())
}

/// The health endpoints alone, for a worker process (probes and metrics scraping).
pub async fn run_worker(
    platform: Platform,
    kinds: Vec<WorkerKind>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    platform.follow_settings(shutdown.clone());
    let health = joxai_platform::http::serve(
        listener,
        joxai_platform::http::health_router(platform.clone()),
        shutdown.clone(),
    );
    let workers = joxai_workers::run(platform, &kinds, shutdown.clone());
    let (served, worked) = tokio::join!(health, workers);
    served?;
    worked
}
