//! API answers carry personal data, so no browser or proxy may keep a copy of them. The panel runs
//! only its own code and cannot be framed; the widget's frame can be framed only by JoxAI's own pages
//! and the bank's origins; source maps are never served; metrics are not on the public port.

mod support;

use std::path::Path;

use support::{TestApp, spawn_app, spawn_app_with};

const BANK: &str = "https://www.bank.example";

/// Built frontends as the Vite builds lay them out, in a fresh folder, with a source map left in each by
/// mistake.
fn frontends_dir() -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("joxai-frontends-{}", uuid::Uuid::new_v4().simple()));
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "panel/dist/index.html",
        "<!doctype html><title>JoxAI desk</title>",
    );
    write("panel/dist/assets/index-abc.js", "console.log('panel')");
    write(
        "panel/dist/assets/index-abc.js.map",
        "{\"sources\":[\"src/main.tsx\"]}",
    );
    write(
        "widget/dist/frame.html",
        "<!doctype html><title>Chat</title>",
    );
    write("widget/dist/widget.js", "console.log('loader')");
    write(
        "widget/dist/assets/frame-abc.js.map",
        "{\"sources\":[\"src/frame/main.tsx\"]}",
    );
    write("demo/index.html", "<!doctype html><title>Bank</title>");
    dir
}

async fn app_with_frontends() -> TestApp {
    let dir = frontends_dir();
    spawn_app_with(move |f| {
        f.merge(("frontends_dir", dir))
            .merge(("allowed_origins", vec![BANK]))
    })
    .await
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
}

/// The directive `name` of a Content-Security-Policy, without its name.
fn directive(csp: &str, name: &str) -> Option<String> {
    csp.split(';').map(str::trim).find_map(|d| {
        d.strip_prefix(name)
            .filter(|rest| rest.starts_with(' '))
            .map(|rest| rest.trim().to_owned())
    })
}

#[tokio::test]
async fn the_panel_runs_only_its_own_code_and_no_site_may_frame_it() {
    let app = app_with_frontends().await;
    for path in [
        "/panel/",
        "/panel/tickets/123",
        "/panel/assets/index-abc.js",
    ] {
        let response = app.http.get(app.url(path)).send().await.expect("panel");
        assert_eq!(response.status(), 200, "{path}");
        let csp = header(&response, "content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"));
        assert_eq!(
            directive(&csp, "frame-ancestors").as_deref(),
            Some("'none'"),
            "{path}: {csp}"
        );
        assert_eq!(
            directive(&csp, "script-src").as_deref(),
            Some("'self'"),
            "{path}: {csp}"
        );
        assert_eq!(
            directive(&csp, "object-src").as_deref(),
            Some("'none'"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert_eq!(
            header(&response, "x-frame-options").as_deref(),
            Some("DENY"),
            "{path}"
        );
    }
    // The demo bank page may not be framed either.
    let demo = app.http.get(app.url("/")).send().await.expect("demo");
    assert_eq!(header(&demo, "x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(
        directive(
            &header(&demo, "content-security-policy").unwrap_or_default(),
            "frame-ancestors"
        )
        .as_deref(),
        Some("'none'")
    );
    // A known address with another method: 405 in the one error shape.
    let wrong = app
        .http
        .put(app.url("/api/v1/chat/sessions"))
        .send()
        .await
        .expect("put");
    assert_eq!(wrong.status(), 405);
    let body: serde_json::Value = wrong.json().await.expect("error body");
    assert_eq!(body["code"], "method_not_allowed", "{body}");
    // Nor the API explorer.
    let docs = app
        .http
        .get(app.url("/api/v1/docs"))
        .send()
        .await
        .expect("docs");
    assert_eq!(docs.status(), 200);
    assert_eq!(header(&docs, "x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(
        directive(
            &header(&docs, "content-security-policy").unwrap_or_default(),
            "frame-ancestors"
        )
        .as_deref(),
        Some("'none'")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_widget_frame_may_be_framed_only_by_joxai_and_the_banks_origins() {
    let app = app_with_frontends().await;
    let response = app
        .http
        .get(app.url("/widget/frame.html"))
        .send()
        .await
        .expect("frame");
    assert_eq!(response.status(), 200);
    let csp = header(&response, "content-security-policy").expect("CSP on the frame");
    assert_eq!(
        directive(&csp, "frame-ancestors").as_deref(),
        Some(format!("'self' {BANK}").as_str()),
        "{csp}"
    );
    assert_eq!(
        directive(&csp, "script-src").as_deref(),
        Some("'self'"),
        "{csp}"
    );
    assert_eq!(
        header(&response, "x-frame-options"),
        None,
        "X-Frame-Options cannot name the bank: the CSP says it"
    );
    app.stop().await;

    // Without configured origins, only JoxAI's own pages may frame it.
    let dir = frontends_dir();
    let app = spawn_app_with(move |f| f.merge(("frontends_dir", dir))).await;
    let response = app
        .http
        .get(app.url("/widget/frame.html"))
        .send()
        .await
        .expect("frame");
    let csp = header(&response, "content-security-policy").expect("CSP on the frame");
    assert_eq!(
        directive(&csp, "frame-ancestors").as_deref(),
        Some("'self'"),
        "{csp}"
    );
    app.stop().await;
}

#[tokio::test]
async fn source_maps_are_never_served_even_when_a_build_left_one_on_disk() {
    let app = app_with_frontends().await;
    for path in [
        "/panel/assets/index-abc.js.map",
        "/widget/assets/frame-abc.js.map",
        "/panel/assets/missing.js.map",
        "/widget/x.MAP",
    ] {
        let response = app.http.get(app.url(path)).send().await.expect("map");
        assert_eq!(response.status(), 404, "{path}");
        let body = response.text().await.unwrap_or_default();
        assert!(
            !body.contains("sources") && !body.contains("JoxAI desk"),
            "{path}: {body}"
        );
    }
    // The scripts themselves are served.
    assert_eq!(
        app.http
            .get(app.url("/widget/widget.js"))
            .send()
            .await
            .expect("loader")
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn metrics_are_not_served_on_the_public_port() {
    let app = spawn_app().await;
    let public = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("public /metrics");
    assert_eq!(public.status(), 404);
    assert!(
        !public.text().await.unwrap_or_default().contains("joxai_"),
        "metrics leaked on the public port"
    );
    let metrics = app
        .http
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .expect("metrics listener");
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics
            .text()
            .await
            .unwrap_or_default()
            .contains("joxai_http_requests_total")
    );
    app.stop().await;
}

#[tokio::test]
async fn api_responses_with_personal_data_are_never_cached() {
    let app = spawn_app().await;
    let (conversation, token) = app.start_session().await;
    let staff = app.login("admin@joxai.local").await;
    let answers = [
        app.http
            .get(app.url(&format!(
                "/api/v1/chat/conversations/{conversation}/messages"
            )))
            .bearer_auth(&token)
            .send()
            .await
            .expect("transcript"),
        app.http
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(&staff)
            .send()
            .await
            .expect("me"),
        app.http
            .get(app.url("/api/v1/conversations"))
            .bearer_auth(&staff)
            .send()
            .await
            .expect("conversations"),
        // Refusals too: a 401 or 404 must not be replayed from a cache to the next person either.
        app.http
            .get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .expect("unauthenticated"),
    ];
    for response in answers {
        let url = response.url().to_string();
        let cache = response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        assert_eq!(
            cache.as_deref(),
            Some("no-store"),
            "{url} ({})",
            response.status()
        );
    }
    app.stop().await;
}
