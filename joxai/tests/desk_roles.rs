//! Who may call what: the role × route matrix generated from the OpenAPI document (which carries
//! `x-roles` for every operation), and the document checked against the routes really served.

mod desk_helpers;
mod support;

use std::collections::BTreeSet;

use desk_helpers::*;
use serde_json::{Value, json};
use support::spawn_app;
use uuid::Uuid;

const PRINCIPALS: [&str; 5] = ["anonymous", "customer", "agent", "supervisor", "admin"];

#[tokio::test]
async fn every_role_reaches_exactly_the_routes_the_document_grants_it() {
    let app = spawn_app().await;
    let (_, doc) = call(&app, "GET", "/api/v1/openapi.json", None, None).await;
    let (_, customer) = app.start_session().await;
    let tokens = [
        None,
        Some(customer),
        Some(app.login(AGENT).await),
        Some(app.login(SUPERVISOR).await),
        Some(app.login(ADMIN).await),
    ];
    let mut checked = 0;
    for (path, methods) in doc["paths"].as_object().expect("paths") {
        for (method, op) in methods.as_object().expect("methods") {
            if path == "/api/v1/auth/logout" {
                continue; // checked below: it would end the sessions the matrix still needs
            }
            let roles: Vec<&str> = op["x-roles"]
                .as_array()
                .expect("x-roles")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            // An id nobody owns: allowed callers get 404 (or 422 for an empty body), never 401/403.
            let concrete = path.replace("{id}", &Uuid::now_v7().to_string());
            for (principal, token) in PRINCIPALS.iter().zip(&tokens) {
                let body = (method != "get").then(|| json!({}));
                let (status, answer) = call(
                    &app,
                    &method.to_uppercase(),
                    &concrete,
                    token.as_deref(),
                    body,
                )
                .await;
                let allowed = roles.contains(principal) || roles.contains(&"anonymous");
                if allowed {
                    assert!(
                        status != 401 && status != 403,
                        "{principal} may call {method} {path} but got {status}: {answer}"
                    );
                } else {
                    let staff = matches!(*principal, "agent" | "supervisor" | "admin");
                    let customer_route = roles == ["customer"];
                    let expected = if staff && !customer_route { 403 } else { 401 };
                    assert_eq!(
                        status, expected,
                        "{principal} must not call {method} {path}: {answer}"
                    );
                    assert!(
                        answer["code"].is_string() && answer["message"].is_string(),
                        "one error body: {answer}"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 5 * 35, "the matrix covered {checked} cases");
    for (principal, token) in PRINCIPALS.iter().zip(&tokens) {
        let (status, _) = call(
            &app,
            "POST",
            "/api/v1/auth/logout",
            token.as_deref(),
            Some(json!({})),
        )
        .await;
        let expected = if matches!(*principal, "anonymous" | "customer") {
            401
        } else {
            204
        };
        assert_eq!(status, expected, "{principal} logout");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_the_router_serves() {
    let app = spawn_app().await;
    let (status, doc) = call(&app, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, methods)| {
            methods
                .as_object()
                .expect("methods")
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = joxai_ingress::served_routes()
        .into_iter()
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    assert_eq!(documented, served, "the document and the router agree");

    // Every reference resolves and every operation names its roles and a success response.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().expect("name");
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "schema {name} is defined"
        );
    }
    for methods in doc["paths"].as_object().expect("paths").values() {
        for op in methods.as_object().expect("ops").values() {
            assert!(op["x-roles"].as_array().is_some_and(|r| !r.is_empty()));
            assert!(
                op["responses"]
                    .as_object()
                    .is_some_and(|r| r.keys().any(|k| k.starts_with('2')))
            );
        }
    }
    // Every documented route answers something other than "no such route".
    for (method, path) in &documented {
        let concrete = path.replace("{id}", &Uuid::now_v7().to_string());
        let (_, body) = call(
            &app,
            method,
            &concrete,
            None,
            (method != "GET").then(|| json!({})),
        )
        .await;
        assert_ne!(
            body["message"], "route not found",
            "{method} {path} is routed"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn the_docs_page_is_served_locally_without_any_external_asset() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url("/api/v1/docs"))
        .send()
        .await
        .expect("docs");
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("html");
    assert!(html.contains("/api/v1/openapi.json"));
    assert!(
        !html.contains("https://") && !html.contains("http://"),
        "no CDN or other site"
    );
    app.stop().await;
}

#[tokio::test]
async fn fields_in_a_request_body_never_grant_anything() {
    let app = spawn_app().await;
    let agent = app.login(AGENT).await;
    let supervisor = app.login(SUPERVISOR).await;
    let admin_id = user_id(&app, ADMIN).await;
    let (_, _, ticket) = escalated_ticket(&app).await;

    // An agent cannot hand a ticket to someone else, nor become an admin, nor author as another user.
    let (status, _) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/assign"),
        &agent,
        json!({ "assignee_id": admin_id }),
    )
    .await;
    assert!(
        status == 403 || status == 404,
        "agent assigning to another: {status}"
    );
    let (status, _) = call(
        &app,
        "PATCH",
        &format!("/api/v1/users/{}", user_id(&app, AGENT).await),
        Some(&agent),
        Some(json!({ "role": "admin" })),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &app,
        "PATCH",
        &format!("/api/v1/users/{admin_id}"),
        Some(&supervisor),
        Some(json!({ "active": false })),
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = post(
        &app,
        "/api/v1/tickets",
        &agent,
        json!({ "subject": "x", "assignee_id": admin_id }),
    )
    .await;
    assert_eq!(
        status, 422,
        "unknown fields such as assignee_id are refused: {body}"
    );
    let (status, body) = post(
        &app,
        &format!("/api/v1/tickets/{ticket}/notes"),
        &supervisor,
        json!({ "text": "hi", "author_id": admin_id }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        app.query("SELECT role FROM users WHERE email = $1", &[&AGENT])
            .await[0]
            .get::<_, String>(0),
        "agent"
    );
    app.stop().await;
}
