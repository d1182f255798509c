use std::collections::HashMap;

use actix_web::dev::ServerHandle;
use chrono::{Datelike, Utc};
use crowdfund::clock::Clock;
use crowdfund::config::Settings;
use crowdfund::routes::app::Application;
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret!";
pub const PASSWORD: &str = "correct horse battery staple";
pub const SPA_ORIGIN: &str = "http://spa.test";

/// A database that exists for one test and is removed after it.
pub enum TestDb {
    /// Held only so the directory (and the database file) is removed on drop.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl TestDb {
    pub fn create() -> (Self, String) {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("postgres"))
        {
            Some(admin_url) => {
                let name = format!("crowdfund_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(&admin_url).expect("connect to TEST_DATABASE_URL");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create test database");
                // The test database takes the admin URL's place, keeping its parameters
                // (`?sslmode=disable`).
                let (path, query) = admin_url
                    .split_once('?')
                    .map_or((admin_url.as_str(), ""), |(path, query)| (path, query));
                let (base, _) = path.rsplit_once('/').expect("URL with a database path");
                let url = if query.is_empty() {
                    format!("{base}/{name}")
                } else {
                    format!("{base}/{name}?{query}")
                };
                (Self::Postgres { admin_url, name }, url)
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                (Self::Sqlite(dir), url)
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Off the async runtime: diesel blocks.
            let _ = std::thread::spawn(move || {
                if let Ok(mut conn) = PgConnection::establish(&admin_url) {
                    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn);
                }
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub database_url: String,
    settings: HashMap<String, String>,
    pub clock: Clock,
    pub client: reqwest::Client,
    handle: ServerHandle,
    // Dropped after the server is stopped (fields drop in declaration order).
    _db: TestDb,
    /// Where the development mail transport writes `.eml` files (`MAIL_DIR`).
    pub mail_dir: tempfile::TempDir,
    /// The file store's directory (`MEDIA_STORE`), unless the test chose another store.
    pub media_dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop without waiting: the runtime is going away with the test.
        drop(self.handle.stop(false));
    }
}

/// A registered user with a live session.
pub struct TestUser {
    pub id: i64,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the application with extra environment settings (e.g. a low rate limit).
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    // `TEST_LOG=1` shows the servers' logs (filtered by RUST_LOG) with the test's output.
    if std::env::var_os("TEST_LOG").is_some() {
        crowdfund::telemetry::init(crowdfund::config::LogFormat::Pretty);
    }
    let (db, database_url) = TestDb::create();
    let mail_dir = tempfile::tempdir().expect("mail dir");
    let mail_dir_path = mail_dir.path().display().to_string();
    let media_dir = tempfile::tempdir().expect("media dir");
    let media_store = format!("file://{}", media_dir.path().display());
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", database_url.as_str()),
        ("BIND_ADDR", "127.0.0.1:0"),
        ("JWT_SECRET", JWT_SECRET),
        ("CRON_SECRET", CRON_SECRET),
        ("CORS_ALLOWED_ORIGINS", SPA_ORIGIN),
        ("AUTH_RATE_LIMIT_PER_MINUTE", "1000000"),
        ("PLEDGE_CHANGE_RATE_LIMIT_PER_MINUTE", "1000000"),
        ("DATABASE_POOL_SIZE", "8"),
        ("MAIL_DIR", mail_dir_path.as_str()),
        ("WEBHOOK_ALLOW_PRIVATE", "on"),
        ("WEBHOOK_SECRETS_KEY", WEBHOOK_SECRETS_KEY),
        ("MEDIA_STORE", media_store.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in overrides {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let settings = Settings::from_lookup(|k| vars.get(k).cloned()).expect("test settings");
    let saved_settings = vars.clone();
    let clock = Clock::manual(Utc::now());
    let app = Application::build(settings, clock.clone())
        .await
        .expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        database_url,
        settings: saved_settings,
        clock,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        handle,
        _db: db,
        mail_dir,
        media_dir,
    }
}

impl TestApp {
    /// Another server instance on the same database and clock (as behind a load balancer);
    /// returns its base address. It stops with the test's runtime.
    pub async fn another_instance(&self) -> String {
        self.another_instance_with(&[]).await
    }

    /// Another instance with some settings changed.
    pub async fn another_instance_with(&self, overrides: &[(&str, &str)]) -> String {
        let mut vars = self.settings.clone();
        for (k, v) in overrides {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        let settings = Settings::from_lookup(|k| vars.get(k).cloned()).expect("settings");
        let app = Application::build(settings, self.clock.clone())
            .await
            .expect("second instance");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        address
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, format!("{}{path}", self.address));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        self.request(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn register(&self, email: &str, password: &str, display_name: &str) -> Response {
        self.post_json(
            "/api/v1/auth/register",
            &json!({"email": email, "password": password, "display_name": display_name}),
            None,
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password}),
            None,
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": refresh_token}),
            None,
        )
        .await
    }

    /// Registers a fresh user with a unique email, its address verified (as if the link in
    /// the verification email had been opened: tests of verification itself open it).
    pub async fn create_user(&self) -> TestUser {
        let user = self.create_unverified_user().await;
        self.sql(&format!(
            "UPDATE users SET email_verified_at = created_at WHERE id = {}",
            user.id
        ))
        .expect("verify the address");
        user
    }

    /// Registers a fresh user with a unique email, as registration leaves it: unverified.
    pub async fn create_unverified_user(&self) -> TestUser {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        let response = self.register(&email, PASSWORD, "Test User").await;
        assert_eq!(response.status(), StatusCode::CREATED);
        TestUser::from_session(response.json().await.expect("session"))
    }
}

impl TestUser {
    pub fn from_session(session: Value) -> Self {
        Self {
            id: session["user"]["id"].as_i64().expect("user id"),
            email: session["user"]["email"].as_str().expect("email").to_owned(),
            access_token: session["access_token"].as_str().expect("access token").to_owned(),
            refresh_token: session["refresh_token"]
                .as_str()
                .expect("refresh token")
                .to_owned(),
        }
    }
}

/// Asserts a problem+json answer with `status`; returns its body.
pub async fn assert_problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("problem body");
    assert_eq!(body["status"], status.as_u16());
    assert!(
        body["type"].as_str().is_some_and(|t| t.starts_with("/problems/")),
        "{body}"
    );
    assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
    body
}

/// The field names a 422 problem lists.
pub fn invalid_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(ToOwned::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A complete campaign body: launchable as it is.
pub fn campaign_body(title: &str) -> Value {
    json!({
        "title": title,
        "currency": "USD",
        "blurb": "A lamp that charges while you ride",
        "description": "Long description\nwith paragraphs.",
        "category": "technology",
        "goal": "1000.00",
        "duration_days": 30,
    })
}

pub fn tier_body(title: &str, min_amount: &str, quantity: Option<i64>) -> Value {
    json!({
        "title": title,
        "min_amount": min_amount,
        "quantity": quantity,
        "estimated_delivery": format!("{}-01", Utc::now().year() + 1),
    })
}

impl TestApp {
    pub async fn patch_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        self.request(Method::PATCH, path, token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::DELETE, path, token)
            .send()
            .await
            .expect("request")
    }

    /// A user promoted with `crowdfund create-admin`, logged in again to carry the role.
    pub async fn create_admin(&self) -> TestUser {
        let user = self.create_user().await;
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_crowdfund"))
            .env_clear()
            .env("DATABASE_URL", &self.database_url)
            .env("RUST_LOG", "error")
            .args(["create-admin", "--email", &user.email])
            .output()
            .expect("run create-admin")
            .status;
        assert!(status.success());
        TestUser::from_session(
            self.login(&user.email, PASSWORD)
                .await
                .json()
                .await
                .expect("session"),
        )
    }

    /// Creates a draft; returns its JSON.
    pub async fn create_campaign(&self, owner: &TestUser, body: &Value) -> Value {
        let response = self
            .post_json("/api/v1/campaigns", body, Some(&owner.access_token))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("campaign")
    }

    /// Creates and launches a complete campaign; returns its id.
    pub async fn live_campaign(&self, owner: &TestUser, title: &str) -> i64 {
        self.live_campaign_from(owner, &campaign_body(title)).await
    }

    /// A campaign created from `body` and launched; returns its id.
    pub async fn live_campaign_from(&self, owner: &TestUser, body: &Value) -> i64 {
        let id = self.create_campaign(owner, body).await["id"]
            .as_i64()
            .expect("id");
        let response = self
            .post_json(
                &format!("/api/v1/campaigns/{id}/launch"),
                &json!({}),
                Some(&owner.access_token),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        id
    }

    pub async fn create_tier(&self, owner: &TestUser, campaign_id: i64, body: &Value) -> Value {
        let response = self
            .post_json(
                &format!("/api/v1/campaigns/{campaign_id}/tiers"),
                body,
                Some(&owner.access_token),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("tier")
    }

    /// Runs SQL against the test database, for state no route can reach yet (tier claims
    /// before pledges exist) and for reading the append-only logs.
    pub fn sql(&self, query: &str) -> diesel::QueryResult<usize> {
        diesel::sql_query(query).execute(&mut *self.connection())
    }

    /// `SELECT COUNT(*) AS n FROM ...`: the first column must be named `n`.
    pub fn count(&self, query: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(query)
            .get_result::<Count>(&mut *self.connection())
            .expect("count query")
            .n
    }

    pub fn connection(&self) -> diesel::r2d2::PooledConnection<crowdfund::db::ConnectionManager> {
        let url = crowdfund::db::DatabaseUrl::parse(&self.database_url).expect("url");
        let db = crowdfund::db::Db::connect(&url, 1).expect("connect");
        db.get_blocking().expect("connection")
    }
}

pub fn pledge_body(tier_id: Option<i64>, amount: &str) -> Value {
    json!({"tier_id": tier_id, "amount": amount, "payment_method": "pm_card_visa"})
}

impl TestApp {
    pub async fn pledge(&self, backer: &TestUser, campaign_id: i64, body: &Value) -> Response {
        self.post_json(
            &format!("/api/v1/campaigns/{campaign_id}/pledges"),
            body,
            Some(&backer.access_token),
        )
        .await
    }

    /// Makes a pledge that must succeed; returns it.
    pub async fn pledged(&self, backer: &TestUser, campaign_id: i64, body: &Value) -> Value {
        let response = self.pledge(backer, campaign_id, body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("pledge")
    }

    pub async fn campaign(&self, id: i64) -> Value {
        self.get(&format!("/api/v1/campaigns/{id}"), None)
            .await
            .json()
            .await
            .expect("campaign")
    }
}

impl TestApp {
    /// A fresh session for `user`, after the clock moved past the access token's lifetime.
    pub async fn relogin(&self, user: &TestUser) -> TestUser {
        let response = self.login(&user.email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        TestUser::from_session(response.json().await.expect("session"))
    }
}

pub const WEBHOOK_SECRETS_KEY: &str = "test-webhook-secrets-key-0123456789abcdef";

pub const CRON_SECRET: &str = "test-cron-secret-0123456789";

impl TestApp {
    /// One settlement pass through the cron endpoint; returns its summary.
    pub async fn settle(&self) -> Value {
        let response = self
            .request(Method::POST, "/api/v1/settlement/run", Some(CRON_SECRET))
            .send()
            .await
            .expect("request");
        let status = response.status();
        let body: Value = response.json().await.expect("summary");
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn audit(&self, admin: &TestUser) -> Value {
        let response = self
            .get("/api/v1/admin/ledger/verify", Some(&admin.access_token))
            .await;
        let status = response.status();
        let report: Value = response.json().await.expect("report");
        assert_eq!(status, StatusCode::OK, "{report}");
        report
    }

    /// Balance of a ledger account (only for accounts named by the test).
    pub fn balance(&self, account: &str) -> i64 {
        self.count(&format!(
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS n FROM ledger_entries WHERE account = '{account}'"
        ))
    }
}

/// A PNG of `width` × `height` with varied pixels (so that its variants differ in content).
pub fn png(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, image::ImageFormat::Png)
}

/// A JPEG of `width` × `height`.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encoded(width, height, image::ImageFormat::Jpeg)
}

fn encoded(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let seed = rand_seed();
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x.wrapping_mul(7) ^ seed) as u8,
            (y.wrapping_mul(3) ^ (seed >> 8)) as u8,
            ((x + y) ^ (seed >> 16)) as u8,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .expect("encode test image");
    out.into_inner()
}

/// Different for every image made, so that two uploads never share their variants by chance.
fn rand_seed() -> u32 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    NEXT.fetch_add(0x9E37_79B9, std::sync::atomic::Ordering::Relaxed)
}

impl TestApp {
    /// Uploads `bytes` as the raw body with `content_type`.
    pub async fn upload(
        &self,
        user: &TestUser,
        campaign_id: i64,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Response {
        self.request(
            Method::POST,
            &format!("/api/v1/campaigns/{campaign_id}/images"),
            Some(&user.access_token),
        )
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .expect("upload")
    }

    /// Uploads a small PNG and returns the image.
    pub async fn uploaded(&self, user: &TestUser, campaign_id: i64) -> Value {
        let response = self.upload(user, campaign_id, png(64, 48), "image/png").await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("image json")
    }

    /// The files of the file store (`MEDIA_STORE`), by name.
    pub fn stored_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.media_dir.path())
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().is_file())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}
