//! Browser sessions: the refresh token in an HttpOnly cookie instead of the JSON body.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, SPA_ORIGIN, TestApp, assert_problem, invalid_fields, spawn_app};

/// The `crowdfund_refresh` value a response sets, and the whole `Set-Cookie` header.
fn set_cookie(response: &reqwest::Response) -> (String, String) {
    let header = response
        .headers()
        .get(SET_COOKIE)
        .expect("a Set-Cookie header")
        .to_str()
        .unwrap()
        .to_owned();
    let value = header
        .split(';')
        .next()
        .and_then(|pair| pair.strip_prefix("crowdfund_refresh="))
        .expect("the refresh cookie")
        .to_owned();
    (value, header)
}

async fn cookie_login(app: &TestApp) -> (String, Value) {
    let user = app.create_user().await;
    let response = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": user.email, "password": PASSWORD, "refresh_token_transport": "cookie"}),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (token, header) = set_cookie(&response);
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"] {
        assert!(header.contains(attribute), "{header}");
    }
    let session: Value = response.json().await.unwrap();
    assert!(
        session.get("refresh_token").is_none(),
        "scripts never see it: {session}"
    );
    assert!(session["access_token"].is_string());
    (token, session)
}

async fn refresh_with_cookie(app: &TestApp, token: &str) -> reqwest::Response {
    app.request(reqwest::Method::POST, "/api/v1/auth/refresh", None)
        .header(COOKIE, format!("theme=dark; crowdfund_refresh={token}"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_refresh_cookie_rotates_and_reuse_ends_the_session() {
    let app = spawn_app().await;
    let (first, _) = cookie_login(&app).await;

    let response = refresh_with_cookie(&app, &first).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (second, _) = set_cookie(&response);
    assert_ne!(first, second, "every refresh sets a new token");
    let session: Value = response.json().await.unwrap();
    assert!(session.get("refresh_token").is_none());
    let me = app
        .get("/api/v1/me", Some(session["access_token"].as_str().unwrap()))
        .await;
    assert_eq!(me.status(), StatusCode::OK);

    // The old cookie again (stolen, or a second tab): refused, the cookie cleared, and the
    // whole session revoked.
    let response = refresh_with_cookie(&app, &first).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (cleared, header) = set_cookie(&response);
    assert!(cleared.is_empty() && header.contains("Max-Age=0"), "{header}");
    assert_eq!(
        refresh_with_cookie(&app, &second).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn logout_with_the_cookie_ends_the_session_and_clears_it() {
    let app = spawn_app().await;
    let (token, _) = cookie_login(&app).await;
    let response = app
        .request(reqwest::Method::POST, "/api/v1/auth/logout", None)
        .header(COOKIE, format!("crowdfund_refresh={token}"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (cleared, header) = set_cookie(&response);
    assert!(cleared.is_empty() && header.contains("Max-Age=0"), "{header}");
    assert_eq!(
        refresh_with_cookie(&app, &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_refresh_without_body_token_or_cookie_names_the_field() {
    let app = spawn_app().await;
    let response = app.post_json("/api/v1/auth/refresh", &json!({}), None).await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&problem), ["refresh_token"]);
    let response = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"email": "a@example.com", "password": PASSWORD, "refresh_token_transport": "jar"}),
            None,
        )
        .await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&problem), ["refresh_token_transport"]);
}

#[tokio::test]
async fn registration_can_start_a_cookie_session_and_body_sessions_are_unchanged() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "cookie@example.com", "password": PASSWORD, "display_name": "C",
                    "refresh_token_transport": "cookie"}),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (token, _) = set_cookie(&response);
    assert!(!token.is_empty());
    let body_session = app.login("cookie@example.com", PASSWORD).await;
    assert!(body_session.headers().get(SET_COOKIE).is_none());
    let body_session: Value = body_session.json().await.unwrap();
    assert!(body_session["refresh_token"].is_string());
}

#[tokio::test]
async fn the_spa_origin_may_send_credentials_and_others_may_not() {
    let app = spawn_app().await;
    let preflight = |origin: &'static str| {
        app.request(reqwest::Method::OPTIONS, "/api/v1/auth/refresh", None)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let allowed = preflight(SPA_ORIGIN).await.unwrap();
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-credentials")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some(SPA_ORIGIN)
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    assert!(other.headers().get("access-control-allow-credentials").is_none());
}
