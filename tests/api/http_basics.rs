use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{SPA_ORIGIN, assert_problem, invalid_fields, spawn_app};

#[tokio::test]
async fn health_endpoints_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health/live", None).await.status(), StatusCode::OK);
    let ready = app.get("/health/ready", None).await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn unknown_paths_are_problem_404s() {
    let app = spawn_app().await;
    assert_problem(app.get("/api/v1/nothing-here", None).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn bodies_are_checked_before_anything_happens() {
    let app = spawn_app().await;
    let url = "/api/v1/auth/login";

    let big = json!({"email": "a@example.com", "password": "x".repeat(70 * 1024)});
    assert_problem(
        app.post_json(url, &big, None).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;

    let malformed = app
        .request(Method::POST, url, None)
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_problem(malformed, StatusCode::BAD_REQUEST).await;

    let form = app
        .request(Method::POST, url, None)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=a@example.com")
        .send()
        .await
        .unwrap();
    assert_problem(form, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    let wrong_type = app
        .post_json(url, &json!({"email": 42, "password": "x"}), None)
        .await;
    let problem = assert_problem(wrong_type, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&problem), ["email"]);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let a = app.get("/health/live", None).await;
    let b = app.get("/api/v1/me", None).await;
    let id_a = a.headers()["x-request-id"].to_str().unwrap().to_owned();
    let id_b = b.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id_a.len(), 36, "a UUID: {id_a}");
    assert_ne!(id_a, id_b);
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        app.request(Method::OPTIONS, "/api/v1/me", None)
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight(SPA_ORIGIN).await.unwrap();
    assert!(allowed.status().is_success());
    assert_eq!(allowed.headers()["access-control-allow-origin"], SPA_ORIGIN);
    let headers = allowed.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(headers.contains("authorization"), "{headers}");

    let other = preflight("http://evil.test").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let simple = app
        .request(Method::GET, "/health/live", None)
        .header("origin", SPA_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(simple.headers()["access-control-allow-origin"], SPA_ORIGIN);
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_show_the_pool() {
    let app = spawn_app().await;
    app.get("/api/v1/me", None).await;
    app.get("/health/ready", None).await;
    let response = app.get("/metrics", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"crowdfund_http_requests_total{method="GET",route="/api/v1/me",status="401"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"crowdfund_http_request_duration_seconds_count{method="GET",route="/health/ready"} 1"#
        )
    );
    assert!(text.contains("crowdfund_db_pool_connections{state=\"idle\"}"));
    assert!(text.contains("crowdfund_db_pool_max_connections 8"));
}

#[tokio::test]
async fn interactive_docs_are_served_offline() {
    let app = spawn_app().await;
    let redirect = app.get("/docs", None).await;
    assert!(redirect.status().is_redirection());
    let page = app.get("/docs/", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let bundle = app.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(
        bundle.status(),
        StatusCode::OK,
        "the UI is vendored into the binary"
    );
}

#[tokio::test]
async fn the_pool_recovers_when_the_database_drops_its_connections() {
    let app = spawn_app().await;
    let Some(name) = app
        .database_url
        .strip_prefix("postgres")
        .and_then(|u| u.rsplit('/').next())
    else {
        return; // PostgreSQL only: SQLite has no server to drop connections.
    };
    for _ in 0..8 {
        assert_eq!(app.get("/health/ready", None).await.status(), StatusCode::OK);
    }
    let admin_url = std::env::var("TEST_DATABASE_URL").unwrap();
    let mut admin = <diesel::PgConnection as diesel::Connection>::establish(&admin_url).unwrap();
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )),
        &mut admin,
    )
    .unwrap();
    // Each dead connection fails once and is discarded; then the pool serves fresh ones.
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(app.get("/health/ready", None).await.status().as_u16());
    }
    assert!(statuses[10..].iter().all(|s| *s == 200), "{statuses:?}");
}
