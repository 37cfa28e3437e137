//! The demo as a new user meets it: a fresh `joxai all --seed-demo` shows past activity on the
//! Dashboard and Analytics (seeded once, quickly, however often it restarts), and the panel's pages
//! load on a reload of their address.

mod desk_helpers;
mod support;

use std::time::{Duration, Instant};

use desk_helpers::*;
use support::{spawn_app, spawn_app_with};

#[tokio::test]
async fn a_fresh_demo_has_weeks_of_history_for_the_charts_and_seeding_it_again_changes_nothing() {
    let app = spawn_app().await;
    let started = Instant::now();
    joxai::seed::seed_demo_activity(&app.platform)
        .await
        .expect("seed activity");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "seeding took {:?}",
        started.elapsed()
    );
    let counts = || async {
        (
            app.count("SELECT count(*) FROM conversations", &[]).await,
            app.count("SELECT count(*) FROM tickets", &[]).await,
            app.count("SELECT count(*) FROM messages", &[]).await,
            app.count("SELECT count(*) FROM canned_responses", &[])
                .await,
        )
    };
    let first = counts().await;
    let again = Instant::now();
    joxai::seed::seed_demo_activity(&app.platform)
        .await
        .expect("seed again");
    assert!(
        again.elapsed() < Duration::from_millis(500),
        "a restart pays one query, not a reseed: {:?}",
        again.elapsed()
    );
    assert_eq!(counts().await, first, "idempotent");
    assert!(first.0 >= 40 && first.1 >= 15 && first.3 >= 6, "{first:?}");

    // Canned responses in both languages, with placeholders the panel fills in.
    let canned = app.query("SELECT body FROM canned_responses", &[]).await;
    let bodies: Vec<String> = canned.iter().map(|r| r.get(0)).collect();
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("{{customer_name}}") && b.starts_with("Hola")),
        "{bodies:?}"
    );
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("{{ticket_number}}") && b.starts_with("Hello")),
        "{bodies:?}"
    );

    // What the supervisor's charts show over the last 30 days.
    let supervisor = app.login(SUPERVISOR).await;
    let from = (time::OffsetDateTime::now_utc() - time::Duration::days(30))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let (status, summary) = get(
        &app,
        &format!(
            "/api/v1/analytics/summary?from={}",
            from.replace('+', "%2B")
        ),
        &supervisor,
    )
    .await;
    assert_eq!(status, 200, "{summary}");
    assert!(summary["conversations"].as_i64() >= Some(40), "{summary}");
    assert!(summary["csat"]["count"].as_i64() >= Some(10), "{summary}");
    let rate = summary["escalation_rate"].as_f64().expect("rate");
    assert!(
        (0.25..0.55).contains(&rate),
        "a plausible share reaches a person: {rate}"
    );
    assert!(
        summary["first_response_seconds"]["median"]
            .as_f64()
            .is_some(),
        "{summary}"
    );
    assert!(
        summary["resolution_seconds"]["median"].as_f64().is_some(),
        "{summary}"
    );
    let sla = &summary["sla"]["first_response"];
    assert!(
        sla["counted"].as_i64() >= Some(15) && sla["met"].as_i64() > Some(0),
        "{summary}"
    );
    assert!(
        sla["met"].as_i64() < sla["counted"].as_i64(),
        "some past their SLA, as a real desk: {summary}"
    );
    assert!(
        summary["escalation_reasons"]
            .as_object()
            .is_some_and(|r| r.len() >= 4),
        "{summary}"
    );
    let busy_days = summary["volume_per_day"]
        .as_array()
        .expect("days")
        .iter()
        .filter(|d| d["conversations"].as_i64() > Some(0))
        .count();
    assert!(busy_days >= 15, "spread over the weeks: {busy_days} days");
    assert!(
        summary["top_intents"]
            .as_array()
            .is_some_and(|i| i.len() >= 5),
        "{summary}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_panels_analytics_page_loads_on_a_reload_of_its_address() {
    let dir = std::env::temp_dir().join(format!("joxai-frontends-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("panel/dist")).expect("dir");
    std::fs::write(
        dir.join("panel/dist/index.html"),
        "<!doctype html><title>JoxAI panel</title>",
    )
    .expect("index");
    let frontends = dir.to_string_lossy().into_owned();
    let app = spawn_app_with(|f| f.merge(("frontends_dir", frontends))).await;
    for path in ["/panel/analytics", "/panel/admin/users", "/panel/"] {
        let response = app.http.get(app.url(path)).send().await.expect("get");
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.text().await.expect("body").contains("JoxAI panel"),
            "{path} serves the panel"
        );
    }
    app.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The demo bank's profile (Northbridge Bank) is written as the settings' starting point (version
/// 0) before any administrator saves; every process must take it over its built-in defaults, or
/// emails and system messages would name another bank than the widget does.
#[tokio::test]
async fn every_process_takes_the_seeded_bank_profile_over_its_built_in_defaults() {
    let app = spawn_app().await;
    app.platform
        .settings
        .reload(&app.platform.db)
        .await
        .expect("reload");
    let current = app.platform.settings.current();
    assert_eq!(current.version, 0);
    assert_eq!(current.settings.profile.name, "Northbridge Bank");
    app.stop().await;
}
