//! Customers, canned responses, the knowledge base and the analytics summary.

mod desk_helpers;
mod support;

use desk_helpers::*;
use joxai_ingress::routes::chat::sign_identity;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use support::{TestApp, spawn_app, wait_until};
use uuid::Uuid;

async fn verified_session(app: &TestApp, customer_ref: &str, name: &str) -> (Uuid, String) {
    let issued_at = time::OffsetDateTime::now_utc().unix_timestamp();
    let secret = app
        .platform
        .config
        .widget_secret
        .expose_secret()
        .as_bytes()
        .to_vec();
    let signature = sign_identity(&secret, customer_ref, Some(name), issued_at);
    app.start_session_with(json!({
        "identity": { "customer_ref": customer_ref, "display_name": name, "issued_at": issued_at, "signature": signature }
    }))
    .await
}

async fn escalate(app: &TestApp, conversation: Uuid, token: &str) -> Uuid {
    let response = app
        .http
        .post(app.url(&format!(
            "/api/v1/chat/conversations/{conversation}/escalate"
        )))
        .bearer_auth(token)
        .send()
        .await
        .expect("escalate");
    assert_eq!(response.status(), 202);
    wait_until("the ticket is opened", || async {
        app.count(
            "SELECT count(*) FROM tickets WHERE conversation_id = $1",
            &[&conversation],
        )
        .await
            == 1
    })
    .await;
    app.query(
        "SELECT id FROM tickets WHERE conversation_id = $1",
        &[&conversation],
    )
    .await[0]
        .get(0)
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn supervisors_search_customers_and_open_a_profile_with_conversations_and_tickets() {
    let app = spawn_app().await;
    let supervisor = app.login(SUPERVISOR).await;
    let agent = app.login(AGENT).await;
    let (verified_conversation, verified_token) =
        verified_session(&app, "CUST-7781", "Dana Quintero").await;
    let (anonymous_conversation, _) = app.start_session().await;
    wait_until("both conversations are stored", || async {
        app.count(
            "SELECT count(*) FROM conversations WHERE id = ANY($1)",
            &[&vec![verified_conversation, anonymous_conversation]],
        )
        .await
            == 2
    })
    .await;
    let ticket = escalate(&app, verified_conversation, &verified_token).await;
    let dana: Uuid = app
        .query(
            "SELECT customer_id FROM conversations WHERE id = $1",
            &[&verified_conversation],
        )
        .await[0]
        .get(0);

    // Search by name and by the bank's reference, case-insensitively; filter by verification.
    for q in ["quinter", "cust-77"] {
        let (status, page) = get(&app, &format!("/api/v1/customers?q={q}"), &supervisor).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(ids(&page), [dana.to_string()], "q={q}");
        assert_eq!(page["items"][0]["external_ref"], "CUST-7781");
        assert_eq!(page["items"][0]["verified"], true);
        assert_eq!(page["items"][0]["conversation_count"], 1);
    }
    let (_, page) = get(&app, "/api/v1/customers?verified=false", &supervisor).await;
    assert!(!ids(&page).contains(&dana.to_string()));
    assert_eq!(
        page["items"][0]["external_ref"],
        Value::Null,
        "anonymous: no reference"
    );

    // Cursor paging: one per page, newest first, every customer once.
    let (_, first) = get(&app, "/api/v1/customers?limit=1", &supervisor).await;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let (_, second) = get(
        &app,
        &format!("/api/v1/customers?limit=1&cursor={cursor}"),
        &supervisor,
    )
    .await;
    assert_eq!(second["next_cursor"], Value::Null);
    let mut all = ids(&first);
    all.extend(ids(&second));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 2);

    let (status, profile) = get(&app, &format!("/api/v1/customers/{dana}"), &supervisor).await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["display_name"], "Dana Quintero");
    assert_eq!(
        profile["conversations"][0]["id"],
        verified_conversation.to_string()
    );
    assert_eq!(profile["tickets"][0]["id"], ticket.to_string());

    // 4xx paths.
    assert_eq!(get(&app, "/api/v1/customers", &agent).await.0, 403);
    assert_eq!(
        get(&app, &format!("/api/v1/customers/{dana}"), &agent)
            .await
            .0,
        403
    );
    assert_eq!(
        get(
            &app,
            &format!("/api/v1/customers/{}", Uuid::now_v7()),
            &supervisor
        )
        .await
        .0,
        404
    );
    assert_eq!(
        get(&app, "/api/v1/customers?cursor=bogus", &supervisor)
            .await
            .0,
        422
    );
    assert_eq!(
        get(&app, "/api/v1/customers?limit=1000", &supervisor)
            .await
            .0,
        422
    );
    assert_eq!(
        get(&app, "/api/v1/customers?verified=maybe", &supervisor)
            .await
            .0,
        422
    );
    assert_eq!(
        call(&app, "GET", "/api/v1/customers", None, None).await.0,
        401
    );
    app.stop().await;
}

#[tokio::test]
async fn canned_responses_are_written_by_supervisors_read_by_agents_and_rendered_for_a_visible_ticket()
 {
    let app = spawn_app().await;
    let supervisor = app.login(SUPERVISOR).await;
    let agent = app.login(AGENT).await;
    let body = "Hi {{customer_name}}, this is {{agent_name}} about {{ticket_number}}.";
    let (status, canned) = post(
        &app,
        "/api/v1/canned-responses",
        &supervisor,
        json!({ "title": "Greeting", "body": body }),
    )
    .await;
    assert_eq!(status, 201, "{canned}");
    let id = canned["id"].as_str().expect("id").to_owned();
    assert_eq!(canned["body"], body);

    // Agents read; only supervisors and admins write.
    assert_eq!(
        post(
            &app,
            "/api/v1/canned-responses",
            &agent,
            json!({ "title": "x", "body": "y" })
        )
        .await
        .0,
        403
    );
    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("/api/v1/canned-responses/{id}"),
            Some(&agent),
            None
        )
        .await
        .0,
        403
    );
    let (status, page) = get(&app, "/api/v1/canned-responses?q=greet", &agent).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&page), [id.as_str()]);
    let (_, page) = get(&app, "/api/v1/canned-responses?q=nothing-like-this", &agent).await;
    assert!(ids(&page).is_empty());
    assert_eq!(
        get(&app, &format!("/api/v1/canned-responses/{id}"), &agent)
            .await
            .0,
        200
    );

    // Validation and missing objects.
    let (status, err) = post(
        &app,
        "/api/v1/canned-responses",
        &supervisor,
        json!({ "title": " ", "body": "x".repeat(4001) }),
    )
    .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = err["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert_eq!(fields, ["title", "body"]);
    let (status, _) = call(
        &app,
        "PUT",
        &format!("/api/v1/canned-responses/{}", Uuid::now_v7()),
        Some(&supervisor),
        Some(json!({ "title": "a", "body": "b" })),
    )
    .await;
    assert_eq!(status, 404);

    let (status, updated) = call(
        &app,
        "PUT",
        &format!("/api/v1/canned-responses/{id}"),
        Some(&supervisor),
        Some(json!({ "title": "Greeting v2", "body": body })),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["title"], "Greeting v2");

    // Render for a ticket the agent may see (assigned to them automatically).
    let (conversation, token) = verified_session(&app, "CUST-1", "Dana").await;
    let ticket = escalate(&app, conversation, &token).await;
    wait_until("the ticket is assigned", || async {
        app.count(
            "SELECT count(*) FROM tickets WHERE id = $1 AND assignee_id IS NOT NULL",
            &[&ticket],
        )
        .await
            == 1
    })
    .await;
    let number: String = app
        .query("SELECT number FROM tickets WHERE id = $1", &[&ticket])
        .await[0]
        .get(0);
    let (status, rendered) = post(
        &app,
        &format!("/api/v1/canned-responses/{id}/render"),
        &agent,
        json!({ "ticket_id": ticket }),
    )
    .await;
    assert_eq!(status, 200, "{rendered}");
    assert_eq!(
        rendered["text"],
        format!("Hi Dana, this is Alex Agent about {number}.")
    );

    // Another agent cannot render for Alex's ticket (it looks missing); unknown ids are 404 too.
    let admin = app.login(ADMIN).await;
    let (_, other) = create_staff(&app, &admin, "blake@joxai.local", "Blake Agent", "agent").await;
    assert_eq!(
        post(
            &app,
            &format!("/api/v1/canned-responses/{id}/render"),
            &other,
            json!({ "ticket_id": ticket })
        )
        .await
        .0,
        404
    );
    assert_eq!(
        post(
            &app,
            &format!("/api/v1/canned-responses/{}/render", Uuid::now_v7()),
            &agent,
            json!({ "ticket_id": ticket })
        )
        .await
        .0,
        404
    );
    assert_eq!(
        post(
            &app,
            &format!("/api/v1/canned-responses/{id}/render"),
            &agent,
            json!({})
        )
        .await
        .0,
        422
    );

    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("/api/v1/canned-responses/{id}"),
            Some(&supervisor),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        get(&app, &format!("/api/v1/canned-responses/{id}"), &agent)
            .await
            .0,
        404
    );
    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("/api/v1/canned-responses/{id}"),
            Some(&supervisor),
            None
        )
        .await
        .0,
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn knowledge_articles_are_managed_by_supervisors_and_used_by_the_assistant() {
    let app = spawn_app().await;
    let supervisor = app.login(SUPERVISOR).await;
    let agent = app.login(AGENT).await;
    let article = json!({
        "locale": "en", "title": "Replacing a damaged card", "body": "Order a replacement in the app under Cards.",
        "intents": ["card_replacement_test"], "tags": ["cards"]
    });
    let (status, created) = post(
        &app,
        "/api/v1/knowledge/articles",
        &supervisor,
        article.clone(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["slug"], "replacing-a-damaged-card",
        "derived from the title"
    );
    assert_eq!(created["active"], true);
    let id = created["id"].as_str().expect("id").to_owned();

    // The assistant finds it by intent, straight from the same table.
    let found = joxai_workers::knowledge::search(
        &app.platform.db,
        Some("card_replacement_test"),
        "damaged card",
        "en",
        3,
    )
    .await
    .expect("search");
    assert_eq!(found[0].slug, "replacing-a-damaged-card");

    // Same slug in the same locale: 409; in the other locale it is a different article.
    assert_eq!(
        post(
            &app,
            "/api/v1/knowledge/articles",
            &supervisor,
            article.clone()
        )
        .await
        .0,
        409
    );
    let mut spanish = article.clone();
    spanish["locale"] = json!("es");
    spanish["slug"] = json!("replacing-a-damaged-card");
    assert_eq!(
        post(&app, "/api/v1/knowledge/articles", &supervisor, spanish)
            .await
            .0,
        201
    );

    // Plain text and limits.
    for (bad, field) in [
        (
            json!({ "locale": "en", "title": "x", "body": "<script>alert(1)</script>" }),
            "body",
        ),
        (
            json!({ "locale": "en", "title": "t".repeat(201), "body": "b" }),
            "title",
        ),
        (
            json!({ "locale": "en", "title": "t", "body": "b".repeat(4001) }),
            "body",
        ),
        (
            json!({ "locale": "fr", "title": "t", "body": "b" }),
            "locale",
        ),
        (
            json!({ "locale": "en", "title": "t", "body": "b", "slug": "Not A Slug" }),
            "slug",
        ),
    ] {
        let (status, err) = post(&app, "/api/v1/knowledge/articles", &supervisor, bad).await;
        assert_eq!(status, 422, "{err}");
        assert_eq!(err["fields"][0]["field"], field, "{err}");
    }
    assert_eq!(
        post(&app, "/api/v1/knowledge/articles", &agent, article.clone())
            .await
            .0,
        403
    );

    // Agents read; lists filter by locale, text, intent and active.
    let (status, page) = get(
        &app,
        "/api/v1/knowledge/articles?locale=en&q=replacing-a-damaged-card",
        &agent,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ids(&page), [id.as_str()]);
    let (_, page) = get(
        &app,
        "/api/v1/knowledge/articles?intent=card_replacement_test",
        &agent,
    )
    .await;
    assert_eq!(ids(&page).len(), 2);
    assert_eq!(
        get(&app, "/api/v1/knowledge/articles?locale=fr", &agent)
            .await
            .0,
        422
    );

    // Deactivating keeps the article but the assistant stops using it.
    let mut inactive = article.clone();
    inactive["active"] = json!(false);
    inactive["title"] = json!("Replacing a damaged card (old)");
    let (status, updated) = call(
        &app,
        "PUT",
        &format!("/api/v1/knowledge/articles/{id}"),
        Some(&supervisor),
        Some(inactive.clone()),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["active"], false);
    assert_eq!(updated["slug"], "replacing-a-damaged-card-old");
    let found = joxai_workers::knowledge::search(
        &app.platform.db,
        Some("card_replacement_test"),
        "damaged card",
        "en",
        3,
    )
    .await
    .expect("search");
    assert!(
        found
            .iter()
            .all(|a| !a.slug.starts_with("replacing-a-damaged-card")),
        "inactive articles are not used: {found:?}"
    );
    let (_, page) = get(&app, "/api/v1/knowledge/articles?active=false", &agent).await;
    assert_eq!(ids(&page), [id.as_str()]);
    assert_eq!(
        call(
            &app,
            "PUT",
            &format!("/api/v1/knowledge/articles/{}", Uuid::now_v7()),
            Some(&supervisor),
            Some(inactive)
        )
        .await
        .0,
        404
    );

    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("/api/v1/knowledge/articles/{id}"),
            Some(&agent),
            None
        )
        .await
        .0,
        403
    );
    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("/api/v1/knowledge/articles/{id}"),
            Some(&supervisor),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        get(&app, &format!("/api/v1/knowledge/articles/{id}"), &agent)
            .await
            .0,
        404
    );
    app.stop().await;
}

/// Fixture rows on 1–2 January 2024, a range no other test data falls in, so every figure is exact.
async fn analytics_fixture(app: &TestApp) {
    let client = app.platform.db.client().await.expect("db");
    client
        .batch_execute(
            "INSERT INTO customers (id, display_name, verified, created_at) VALUES ('00000000-0000-7000-8000-000000000001', 'Fixture', false, '2024-01-01T00:00:00Z');
             INSERT INTO conversations (id, customer_id, created_at, rating, rated_at) VALUES
               ('00000000-0000-7000-8000-00000000000a', '00000000-0000-7000-8000-000000000001', '2024-01-01T10:05:00Z', 5, '2024-01-01T12:00:00Z'),
               ('00000000-0000-7000-8000-00000000000b', '00000000-0000-7000-8000-000000000001', '2024-01-01T10:20:00Z', 3, '2024-01-01T12:00:00Z'),
               ('00000000-0000-7000-8000-00000000000c', '00000000-0000-7000-8000-000000000001', '2024-01-01T11:30:00Z', NULL, NULL),
               ('00000000-0000-7000-8000-00000000000d', '00000000-0000-7000-8000-000000000001', '2024-01-02T09:00:00Z', NULL, NULL);
             INSERT INTO messages (id, conversation_id, sender, text, intent, created_at) VALUES
               ('00000000-0000-7000-8000-0000000000a1', '00000000-0000-7000-8000-00000000000a', 'customer', 'lost my card', 'card_lost', '2024-01-01T10:05:10Z'),
               ('00000000-0000-7000-8000-0000000000a2', '00000000-0000-7000-8000-00000000000a', 'bot', 'blocking it', 'card_lost', '2024-01-01T10:05:20Z'),
               ('00000000-0000-7000-8000-0000000000b1', '00000000-0000-7000-8000-00000000000b', 'customer', 'balance?', 'balance', '2024-01-01T10:20:10Z');
             INSERT INTO tickets (id, number, conversation_id, subject, status, priority, reason, source_command_id, created_at, first_response_at, resolved_at) VALUES
               ('00000000-0000-7000-8000-0000000000f1', 'FIX-1', '00000000-0000-7000-8000-00000000000a', 's', 'resolved', 'high', 'customer_asked',
                '00000000-0000-7000-8000-0000000000e1', '2024-01-01T10:06:00Z', '2024-01-01T10:07:00Z', '2024-01-01T10:16:00Z'),
               ('00000000-0000-7000-8000-0000000000f2', 'FIX-2', '00000000-0000-7000-8000-00000000000c', 's', 'in_progress', 'normal', 'urgent_intent',
                '00000000-0000-7000-8000-0000000000e2', '2024-01-01T11:31:00Z', '2024-01-01T11:34:00Z', NULL),
               ('00000000-0000-7000-8000-0000000000f3', 'FIX-3', NULL, 's', 'open', 'low', 'manual',
                '00000000-0000-7000-8000-0000000000e3', '2024-01-02T12:00:00Z', '2024-01-02T12:02:00Z', NULL);",
        )
        .await
        .expect("fixture");
}

#[tokio::test]
async fn the_analytics_summary_counts_tickets_times_escalations_intents_csat_and_volume() {
    let app = spawn_app().await;
    analytics_fixture(&app).await;
    let supervisor = app.login(SUPERVISOR).await;
    let (status, s) = get(
        &app,
        "/api/v1/analytics/summary?from=2024-01-01T00:00:00Z&to=2024-01-03T00:00:00Z",
        &supervisor,
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["tickets"], 3);
    assert_eq!(
        s["tickets_by_status"],
        json!({ "open": 1, "in_progress": 1, "resolved": 1, "closed": 0 })
    );
    assert_eq!(
        s["tickets_by_priority"],
        json!({ "low": 1, "normal": 1, "high": 1, "urgent": 0 })
    );
    // First responses after 60, 120 and 180 s: median 120, p90 = 120 + 0.8 × 60 (continuous percentile).
    assert_eq!(
        s["first_response_seconds"],
        json!({ "median": 120.0, "p90": 168.0, "count": 3 })
    );
    assert_eq!(
        s["resolution_seconds"],
        json!({ "median": 600.0, "p90": 600.0, "count": 1 })
    );
    assert_eq!(s["conversations"], 4);
    assert_eq!(s["escalated_conversations"], 2);
    assert_eq!(s["escalation_rate"], 0.5);
    assert_eq!(
        s["escalation_reasons"],
        json!({ "customer_asked": 1, "urgent_intent": 1, "manual": 1 })
    );
    assert_eq!(
        s["top_intents"],
        json!([{ "intent": "card_lost", "count": 2 }, { "intent": "balance", "count": 1 }])
    );
    assert_eq!(
        s["csat"],
        json!({ "average": 4.0, "count": 2, "distribution": { "1": 0, "2": 0, "3": 1, "4": 0, "5": 1 } })
    );
    assert_eq!(
        s["volume_per_day"],
        json!([{ "day": "2024-01-01", "conversations": 3, "messages": 3 }, { "day": "2024-01-02", "conversations": 1, "messages": 0 }])
    );
    let hours = s["volume_per_hour"].as_array().expect("hours");
    assert_eq!(hours.len(), 48, "a complete series");
    assert_eq!(
        hours[10],
        json!({ "hour": "2024-01-01T10:00:00Z", "conversations": 2, "messages": 3 })
    );
    assert_eq!(hours[11]["conversations"], 1);

    // A narrower range sees only its part.
    let (_, s) = get(
        &app,
        "/api/v1/analytics/summary?from=2024-01-02T00:00:00Z&to=2024-01-03T00:00:00Z",
        &supervisor,
    )
    .await;
    assert_eq!(s["tickets"], 1);
    assert_eq!(s["conversations"], 1);
    assert_eq!(s["escalation_rate"], 0.0);
    assert_eq!(s["csat"]["average"], Value::Null);

    // Defaults to the last 7 days; 4xx paths.
    let (status, s) = get(&app, "/api/v1/analytics/summary", &supervisor).await;
    assert_eq!(status, 200);
    let days = s["volume_per_day"].as_array().expect("days").len();
    assert!(
        days == 7 || days == 8,
        "7 days starting mid-day span 8 dates: {days}"
    );
    assert_eq!(
        get(&app, "/api/v1/analytics/summary", &app.login(AGENT).await)
            .await
            .0,
        403
    );
    assert_eq!(
        get(
            &app,
            "/api/v1/analytics/summary?from=2024-01-03T00:00:00Z&to=2024-01-01T00:00:00Z",
            &supervisor
        )
        .await
        .0,
        422
    );
    assert_eq!(
        get(
            &app,
            "/api/v1/analytics/summary?from=2023-01-01T00:00:00Z&to=2024-01-01T00:00:00Z",
            &supervisor
        )
        .await
        .0,
        422
    );
    assert_eq!(
        get(
            &app,
            "/api/v1/analytics/summary?from=yesterday",
            &supervisor
        )
        .await
        .0,
        422
    );
    app.stop().await;
}
