use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{JWT_SECRET, PASSWORD, assert_problem, invalid_fields, spawn_app, spawn_app_with};

#[tokio::test]
async fn register_logs_in_and_me_returns_the_account() {
    let app = spawn_app().await;
    let response = app
        .register("  Ana.Lopez@Example.COM ", PASSWORD, "Ana López")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["expires_in"], 900);
    assert_eq!(session["user"]["email"], "ana.lopez@example.com");
    assert_eq!(session["user"]["role"], "user");
    assert!(session.get("password_hash").is_none() && session["user"].get("password_hash").is_none());

    let token = session["access_token"].as_str().unwrap();
    let me: Value = app.get("/api/v1/me", Some(token)).await.json().await.unwrap();
    assert_eq!(me["id"], session["user"]["id"]);
    assert_eq!(me["email"], "ana.lopez@example.com");
    assert_eq!(me["display_name"], "Ana López");
}

#[tokio::test]
async fn duplicate_email_is_a_conflict_whatever_its_case() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("ana@example.com", PASSWORD, "Ana").await.status(),
        StatusCode::CREATED
    );
    let response = app.register("ANA@example.com", PASSWORD, "Other Ana").await;
    let problem = assert_problem(response, StatusCode::CONFLICT).await;
    assert!(problem["detail"].as_str().unwrap().contains("already exists"));
}

#[tokio::test]
async fn invalid_registration_names_every_bad_field_and_creates_nothing() {
    let app = spawn_app().await;
    let problem = assert_problem(
        app.register("not-an-email", PASSWORD, "Ana").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["email"]);

    let problem = assert_problem(
        app.register("ana@example.com", "short", "Ana").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["password"]);

    let problem = assert_problem(
        app.register("ana@example.com", "password123", "Ana").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        invalid_fields(&problem),
        ["password"],
        "a common password is weak"
    );

    let problem = assert_problem(
        app.register("bad", "short", " ").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["email", "display_name", "password"]);

    // Nothing was created: the address is still free.
    assert_eq!(
        app.register("ana@example.com", PASSWORD, "Ana").await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn role_cannot_be_assigned_through_the_body() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "eve@example.com", "password": PASSWORD, "display_name": "Eve", "role": "admin"}),
            None,
        )
        .await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&problem), ["role"]);
    assert_eq!(
        app.login("eve@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "no account was created"
    );
}

#[tokio::test]
async fn login_with_wrong_password_or_unknown_email_is_401_alike() {
    let app = spawn_app().await;
    let user = app.create_user().await;
    let wrong = assert_problem(
        app.login(&user.email, "not the password at all").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let unknown = assert_problem(
        app.login("nobody@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(wrong, unknown, "the answer must not reveal which accounts exist");

    let response = app.login(&user.email.to_uppercase(), PASSWORD).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "login is case-insensitive on the email"
    );
    let session: Value = response.json().await.unwrap();
    let me = app.get("/api/v1/me", session["access_token"].as_str()).await;
    assert_eq!(me.status(), StatusCode::OK);
}

fn forge(claims: &Value, alg: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

#[tokio::test]
async fn bad_access_tokens_are_refused() {
    let app = spawn_app().await;
    let user = app.create_user().await;
    let now = app.clock.now().timestamp();
    let claims = json!({"iss": "crowdfund", "aud": "crowdfund-api", "sub": user.id.to_string(),
                        "exp": now + 900, "iat": now, "role": "user"});
    // The forging works: a well-made token is accepted.
    let good = forge(&claims, Algorithm::HS256, JWT_SECRET.as_bytes());
    assert_eq!(app.get("/api/v1/me", Some(&good)).await.status(), StatusCode::OK);

    let response = app.get("/api/v1/me", None).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, StatusCode::UNAUTHORIZED).await;

    let mut wrong_audience = claims.clone();
    wrong_audience["aud"] = json!("another-api");
    let mut wrong_issuer = claims.clone();
    wrong_issuer["iss"] = json!("someone-else");
    let mut no_iat = claims.clone();
    no_iat.as_object_mut().unwrap().remove("iat");
    let mut admin_claims = claims.clone();
    admin_claims["role"] = json!("admin");
    let (header, _, signature) = {
        let mut parts = user.access_token.split('.');
        (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        )
    };
    let tampered = format!(
        "{header}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(admin_claims.to_string())
    );
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );

    let without = |claim: &str| {
        let mut c = claims.clone();
        c.as_object_mut().unwrap().remove(claim);
        forge(&c, Algorithm::HS256, JWT_SECRET.as_bytes())
    };
    let with = |claim: &str, value: Value| {
        let mut c = claims.clone();
        c[claim] = value;
        forge(&c, Algorithm::HS256, JWT_SECRET.as_bytes())
    };
    // An RS256 header over an HMAC signature (algorithm confusion).
    let alg_swap = {
        let token = forge(&claims, Algorithm::HS256, JWT_SECRET.as_bytes());
        let mut parts = token.splitn(2, '.');
        let _ = parts.next();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
            parts.next().unwrap()
        )
    };
    let more = [
        ("expired (past the 30 s leeway)", with("exp", json!(now - 31))),
        ("not yet valid (nbf in 2 minutes)", with("nbf", json!(now + 120))),
        ("missing exp", without("exp")),
        ("missing sub", without("sub")),
        ("missing aud", without("aud")),
        ("missing iss", without("iss")),
        ("sub not a user id", with("sub", json!("admin"))),
        ("unknown role", with("role", json!("root"))),
        ("RS256 header (algorithm confusion)", alg_swap),
        ("empty token", String::new()),
    ];
    for (case, token) in more {
        let response = app.get("/api/v1/me", Some(&token)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case} was accepted");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{case}");
        assert_problem(response, StatusCode::UNAUTHORIZED).await;
    }
    // Inside the leeway an expired token still works: clocks drift.
    let just_expired = with("exp", json!(now - 20));
    assert_eq!(
        app.get("/api/v1/me", Some(&just_expired)).await.status(),
        StatusCode::OK
    );

    let cases = [
        (
            "wrong audience",
            forge(&wrong_audience, Algorithm::HS256, JWT_SECRET.as_bytes()),
        ),
        (
            "wrong issuer",
            forge(&wrong_issuer, Algorithm::HS256, JWT_SECRET.as_bytes()),
        ),
        (
            "missing iat",
            forge(&no_iat, Algorithm::HS256, JWT_SECRET.as_bytes()),
        ),
        (
            "other key",
            forge(&claims, Algorithm::HS256, b"not-the-server-secret-not-the-server"),
        ),
        ("HS512", forge(&claims, Algorithm::HS512, JWT_SECRET.as_bytes())),
        ("tampered payload", tampered),
        ("alg none", alg_none),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (case, token) in cases {
        let response = app.get("/api/v1/me", Some(&token)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case} was accepted");
    }
}

#[tokio::test]
async fn access_tokens_expire_after_15_minutes() {
    let app = spawn_app().await;
    let user = app.create_user().await;
    app.clock.advance(Duration::minutes(15));
    assert_eq!(
        app.get("/api/v1/me", Some(&user.access_token)).await.status(),
        StatusCode::OK,
        "within the 30 s leeway"
    );
    app.clock.advance(Duration::seconds(30));
    assert_problem(
        app.get("/api/v1/me", Some(&user.access_token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let user = app.create_user().await;

    let first = app.refresh(&user.refresh_token).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    let second_token = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_token, user.refresh_token, "a new refresh token every time");
    assert_eq!(first["user"]["id"], user.id);
    assert_eq!(
        app.get("/api/v1/me", first["access_token"].as_str())
            .await
            .status(),
        StatusCode::OK
    );

    let second: Value = app.refresh(&second_token).await.json().await.unwrap();
    let third_token = second["refresh_token"].as_str().unwrap().to_owned();

    // The first token comes back: stolen or replayed. It is refused, and so is the live one.
    assert_problem(app.refresh(&user.refresh_token).await, StatusCode::UNAUTHORIZED).await;
    assert_problem(app.refresh(&third_token).await, StatusCode::UNAUTHORIZED).await;

    // A new login starts a new, working family.
    let login: Value = app.login(&user.email, PASSWORD).await.json().await.unwrap();
    assert_eq!(
        app.refresh(login["refresh_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_tokens_expire_after_30_days() {
    let app = spawn_app().await;
    let user = app.create_user().await;
    app.clock.advance(Duration::days(30));
    assert_problem(app.refresh(&user.refresh_token).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let user = app.create_user().await;
    let other_session: Value = app.login(&user.email, PASSWORD).await.json().await.unwrap();

    let response = app
        .post_json(
            "/api/v1/auth/logout",
            &json!({"refresh_token": user.refresh_token}),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(app.refresh(&user.refresh_token).await, StatusCode::UNAUTHORIZED).await;
    // Only that session: the other login still refreshes.
    assert_eq!(
        app.refresh(other_session["refresh_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );

    let unknown = app
        .post_json(
            "/api/v1/auth/logout",
            &json!({"refresh_token": "never-issued"}),
            None,
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn login_and_register_are_rate_limited_per_address() {
    let app = spawn_app_with(&[("AUTH_RATE_LIMIT_PER_MINUTE", "3")]).await;
    for _ in 0..3 {
        assert_eq!(
            app.login("nobody@example.com", PASSWORD).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let response = app.login("nobody@example.com", PASSWORD).await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=20).contains(&retry_after),
        "one attempt every 20 s at 3/min, got {retry_after}"
    );
    let problem = assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(problem["type"], "/problems/rate-limited");

    let response = app.register("new@example.com", PASSWORD, "New").await;
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    // Routes outside /auth are not limited.
    assert_eq!(app.get("/health/live", None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn password_checks_past_the_hashing_bound_are_told_to_retry_and_health_is_served() {
    // One hash at a time and one waiting: a flood of logins cannot hold more memory than that.
    let app = spawn_app_with(&[("PASSWORD_HASH_CONCURRENCY", "1"), ("PASSWORD_HASH_QUEUE", "1")]).await;
    let user = app.create_user().await;
    let logins = (0..40).map(|_| app.login(&user.email, "a wrong password, again"));
    let health = async {
        let mut answers = Vec::new();
        for _ in 0..5 {
            answers.push(app.get("/health/ready", None).await.status());
        }
        answers
    };
    let (answers, health) = futures::join!(futures::future::join_all(logins), health);
    assert!(health.iter().all(|s| *s == StatusCode::OK), "{health:?}");
    let mut wrong = 0;
    let mut busy = Vec::new();
    for response in answers {
        match response.status() {
            StatusCode::UNAUTHORIZED => wrong += 1,
            StatusCode::SERVICE_UNAVAILABLE => busy.push(response),
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        wrong >= 1 && !busy.is_empty(),
        "{wrong} wrong, {} busy",
        busy.len()
    );
    let refused = busy.pop().unwrap();
    assert_eq!(refused.headers()["retry-after"], "1");
    let problem = assert_problem(refused, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(problem["type"], "/problems/unavailable");

    // Once the flood has passed, the right password works.
    assert_eq!(app.login(&user.email, PASSWORD).await.status(), StatusCode::OK);
}
