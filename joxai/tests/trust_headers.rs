//! API answers carry personal data, so no browser or proxy may keep a copy of them.

mod support;

use support::spawn_app;

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
