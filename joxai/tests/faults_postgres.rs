//! Postgres stops under load. Each test runs its own Postgres 15 cluster on a free
//! port (initdb + pg_ctl, as the `postgres` user when run as root) so it can stop and restart it.
//!
//! Invariants: the API answers 503 with `Retry-After`, never 500, while the database is down; chat
//! messages keep being accepted durably on the bus; nothing is acknowledged that was not stored; the
//! backlog drains once the database is back, with no duplicates.
//! (`make soak` runs the 30-second outage; these stay under a minute.)

mod fault_support;
mod support;

use std::time::Duration;

use fault_support::{PrivatePostgres, connect, ledger, wait_long};
use serde_json::json;
use support::{PASSWORD, TestApp, spawn_app_with};

async fn app_on(pg: &PrivatePostgres) -> TestApp {
    let url = pg.url();
    spawn_app_with(move |f| f.merge(("database_url", url)).merge(("db_pool_size", 4))).await
}

/// While Postgres is down every endpoint that needs it answers 503 with `Retry-After` (never 500),
/// readiness reports the outage, and the service recovers by itself when Postgres is back.
#[tokio::test]
async fn with_postgres_down_the_api_answers_503_not_500_and_recovers_by_itself() {
    let pg = PrivatePostgres::start();
    let app = app_on(&pg).await;
    let (conversation, token) = app.start_session().await;
    let admin = app.login("admin@joxai.local").await;
    pg.stop();

    let checks: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "transcript",
            app.http
                .get(app.url(&format!(
                    "/api/v1/chat/conversations/{conversation}/messages"
                )))
                .bearer_auth(&token),
        ),
        (
            "login",
            app.http
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({ "email": "admin@joxai.local", "password": PASSWORD })),
        ),
        (
            "tickets",
            app.http.get(app.url("/api/v1/tickets")).bearer_auth(&admin),
        ),
        (
            "conversations",
            app.http
                .get(app.url("/api/v1/conversations"))
                .bearer_auth(&admin),
        ),
        (
            "dead letters",
            app.http
                .get(app.url("/api/v1/dead-letters"))
                .bearer_auth(&admin),
        ),
        ("readyz", app.http.get(app.url("/readyz"))),
    ];
    for (what, request) in checks {
        let response = request
            .timeout(Duration::from_secs(15))
            .send()
            .await
            .expect(what);
        assert_eq!(response.status(), 503, "{what} with Postgres down");
        if what != "readyz" {
            assert!(
                response.headers().contains_key("retry-after"),
                "{what}: Retry-After"
            );
            let body: serde_json::Value = response.json().await.expect("body");
            assert_eq!(
                body["code"], "unavailable",
                "{what}: stable error body, no internals"
            );
        }
    }
    // The bus, not the database, takes chat messages: still accepted.
    assert_eq!(
        app.post_message(conversation, &token, "during", "what is my balance?")
            .await
            .status(),
        202
    );

    pg.resume();
    wait_long("the API recovers", Duration::from_secs(20), || async {
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let response = app
        .http
        .get(app.url(&format!(
            "/api/v1/chat/conversations/{conversation}/messages"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .expect("transcript");
    assert_eq!(response.status(), 200);
    app.stop().await;
}

/// Customers keep writing through an outage longer than the workers' whole retry schedule: once
/// Postgres is back every accepted message is stored once and answered once — a database outage is
/// not a reason to give up on a message (and giving up needs the database anyway).
#[tokio::test]

async fn messages_accepted_while_postgres_is_down_are_all_stored_and_answered_once_after_it_returns()
 {
    let pg = PrivatePostgres::start();
    let app = app_on(&pg).await;
    let mut sessions = vec![];
    for _ in 0..3 {
        sessions.push(app.start_session().await);
    }
    let db_url = pg.url();
    // Let the conversations be stored before the outage.
    {
        let db = connect(&db_url).await;
        wait_long("conversations stored", Duration::from_secs(15), || async {
            db.query_one("SELECT count(*) FROM conversations", &[])
                .await
                .expect("count")
                .get::<_, i64>(0)
                == 3
        })
        .await;
    }
    pg.stop();
    let outage = tokio::time::Instant::now();
    let mut accepted = 0i64;
    let mut n = 0;
    // Eight seconds of traffic: far longer than the test retry schedule (6 deliveries, 20–200 ms),
    // as a 30 s outage is longer than the production one (6 deliveries, 0.5–30 s).
    while outage.elapsed() < Duration::from_secs(8) {
        for (conversation, token) in &sessions {
            let status = app
                .post_message(
                    *conversation,
                    token,
                    &format!("m{n}"),
                    "what is my balance?",
                )
                .await
                .status();
            assert!(
                status == 202 || status == 503,
                "accepted or 503, got {status}"
            );
            if status == 202 {
                accepted += 1;
            }
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    pg.resume();
    let db = connect(&db_url).await;
    let result = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let l = ledger(&db).await;
            if l.customer_messages == accepted && l.unanswered == 0 {
                return l;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    let l = match result {
        Ok(l) => l,
        Err(_) => {
            let dead: i64 = db
                .query_one("SELECT count(*) FROM dead_letters", &[])
                .await
                .expect("dead")
                .get(0);
            panic!(
                "backlog did not drain: {accepted} accepted, now {:?}, {dead} dead letters",
                ledger(&db).await
            );
        }
    };
    assert_eq!(
        (l.doubled, l.duplicate_customer_messages),
        (0, 0),
        "no duplicates: {l:?}"
    );
    app.stop().await;
}
