// A measuring harness, like the tests: a failed step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Load benchmark of the pledge API against the raw database doing the same work.
//!
//!   cargo bench --bench api_load                      # SQLite and PostgreSQL
//!   cargo bench --bench api_load -- sqlite            # one backend
//!   BENCH_SECONDS=10 PG_ADMIN_URL=postgres://... cargo bench --bench api_load
//!   DATABASE_POOL_SIZE=16 cargo bench --bench api_load    # the server's pool (default: its own)
//!
//! For each backend: starts the release binary on a fresh database (email worker off, so only the
//! request path is measured), seeds backers through SQL and signs their access tokens with the
//! server's secret (argon2 registrations would dominate the run otherwise), then measures for
//! `BENCH_SECONDS` each (default 8):
//!
//! - **raw database**: the statements of one pledge, in one transaction, sent by N threads over
//!   the same driver (diesel) the server uses: what the database can do without HTTP, JSON,
//!   authentication and validation;
//! - **pledge API**: `POST /campaigns/{id}/pledges` by N clients, distinct backers, each with
//!   its own `Idempotency-Key`; and the same on one limited tier (**hot tier**);
//! - `p99` at **half of the peak** pledge rate (requests paced open-loop);
//! - `GET /campaigns/{id}` and `GET /campaigns` (list) by 16 clients;
//!
//! at N = 1, 4 and 16, and prints a Markdown table (pasted into bench/RESULTS.md).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crowdfund::auth::JwtKeys;
use crowdfund::db::{DatabaseUrl, Db, DbConn};
use crowdfund::domain::{Role, UserId};
use diesel::RunQueryDsl;
use serde_json::{Value, json};

const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret!!";
const BACKERS: usize = 400_000;

fn seconds() -> Duration {
    Duration::from_secs(
        std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(8),
    )
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(database_url: &str, mail_dir: &std::path::Path) -> Server {
    use std::io::{BufRead, BufReader};
    let mut command = Command::new(env!("CARGO_BIN_EXE_crowdfund"));
    command.env_clear();
    // The server's own defaults, unless the pool size is given to compare another.
    if let Ok(size) = std::env::var("DATABASE_POOL_SIZE") {
        command.env("DATABASE_POOL_SIZE", size);
    }
    let mut child = command
        .env("DATABASE_URL", database_url)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("JWT_SECRET", JWT_SECRET)
        .env("CRON_SECRET", "bench-cron-secret-0123")
        .env("MAIL_WORKER", "off")
        .env("MAIL_DIR", mail_dir)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "warn,crowdfund=info")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start crowdfund");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let port = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let log: Value = serde_json::from_str(&line).ok()?;
            (log["message"] == "crowdfund listening")
                .then(|| log["port"].as_u64())
                .flatten()
        })
        .expect("the server announces its port");
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

fn exec(conn: &mut DbConn, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Backers 2..=BACKERS+1 (user 1 is the creator), straight into the table.
fn seed_users(db: &Db, postgres: bool) {
    let mut conn = db.get_blocking().expect("connection");
    let n = BACKERS + 1;
    let series = if postgres {
        format!("SELECT i FROM generate_series(1, {n}) AS s(i)")
    } else {
        format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s"
        )
    };
    exec(
        &mut conn,
        &format!(
            "INSERT INTO users (email, display_name, password_hash, role, created_at, updated_at) \
             SELECT 'u' || i || '@bench.example', 'User ' || i, 'x', 'user', '2026-01-01 00:00:00', '2026-01-01 00:00:00' \
             FROM ({series}) AS numbers"
        ),
    );
    if postgres {
        exec(&mut conn, "ANALYZE");
    }
}

fn token(keys: &JwtKeys, user: i64) -> String {
    keys.issue(UserId(user), Role::User, chrono::Utc::now())
        .expect("token")
        .0
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> Value {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {value}");
    value
}

/// A live campaign with an unlimited tier and a hot one; returns (campaign, open tier, hot tier).
async fn campaign(server: &Server, creator: &str) -> (i64, i64, i64) {
    let client = reqwest::Client::new();
    let base = format!("{}/api/v1", server.base);
    let c = call(
        &client,
        reqwest::Method::POST,
        &format!("{base}/campaigns"),
        creator,
        Some(
            json!({"title": "Bench lamp", "blurb": "b", "description": "d", "category": "design",
                    "currency": "USD", "goal": "1000.00", "duration_days": 30}),
        ),
    )
    .await;
    let id = c["id"].as_i64().expect("id");
    let mut tiers = Vec::new();
    for (title, quantity) in [("Open", Value::Null), ("Hot", json!(1_000_000))] {
        let t = call(
            &client,
            reqwest::Method::POST,
            &format!("{base}/campaigns/{id}/tiers"),
            creator,
            Some(json!({"title": title, "min_amount": "5.00", "quantity": quantity, "estimated_delivery": "2099-01"})),
        )
        .await;
        tiers.push(t["id"].as_i64().expect("tier id"));
    }
    call(
        &client,
        reqwest::Method::POST,
        &format!("{base}/campaigns/{id}/launch"),
        creator,
        Some(json!({})),
    )
    .await;
    (id, tiers[0], tiers[1])
}

#[derive(Default)]
struct Run {
    ok: usize,
    failed: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Run {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&mut self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        self.latencies.sort_unstable();
        let i = ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len()) - 1;
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

/// `clients` loops calling `request(n)` with n = 0, 1, 2, … shared between them, for `duration`,
/// or paced to `rate` requests per second in all when given.
async fn drive<F, Fut>(clients: usize, duration: Duration, rate: Option<f64>, request: F) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (request, next, stop) = (request.clone(), next.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut run = Run::default();
            let interval = rate.map(|r| Duration::from_secs_f64(clients as f64 / r));
            let mut due =
                Instant::now() + interval.map_or(Duration::ZERO, |i| i.mul_f64(c as f64 / clients as f64));
            while !stop.load(Ordering::Relaxed) {
                if let Some(interval) = interval {
                    tokio::time::sleep_until(due.into()).await;
                    due += interval;
                }
                let n = next.fetch_add(1, Ordering::Relaxed);
                let t0 = Instant::now();
                if request(n).await {
                    run.ok += 1;
                    run.latencies.push(t0.elapsed());
                } else {
                    run.failed += 1;
                }
            }
            run
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = Run::default();
    for task in tasks {
        let run = task.await.expect("client task");
        total.ok += run.ok;
        total.failed += run.failed;
        total.latencies.extend(run.latencies);
    }
    total.elapsed = start.elapsed();
    total
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// The statements one pledge with an `Idempotency-Key` sends, as the server sends them
/// (tests/api/costs.rs counts 16): the key's reservation (BEGIN, purge, lookup, reserve, COMMIT),
/// then the pledge (BEGIN, campaign, existing pledge, tier, claim, insert, totals, event,
/// confirmation email, stored answer, COMMIT).
fn raw_pledge(conn: &mut DbConn, postgres: bool, campaign: i64, tier: i64, backer: i64) {
    let begin = if postgres { "BEGIN" } else { "BEGIN IMMEDIATE" };
    // The reservation is a marker: on PostgreSQL its commit does not wait for the disk.
    let begin_marker = if postgres {
        "BEGIN; SET LOCAL synchronous_commit TO OFF"
    } else {
        "BEGIN IMMEDIATE"
    };
    let key = format!("raw-{backer}");
    // One round trip, as the server sends it (a simple query may hold two statements).
    diesel::connection::SimpleConnection::batch_execute(conn, begin_marker)
        .unwrap_or_else(|e| panic!("{begin_marker}: {e}"));
    exec(
        conn,
        &format!(
            "DELETE FROM idempotency_keys WHERE user_id = {backer} AND created_at < '2026-01-01 00:00:00'"
        ),
    );
    exec(
        conn,
        &format!("SELECT * FROM idempotency_keys WHERE user_id = {backer} AND idempotency_key = '{key}'"),
    );
    exec(
        conn,
        &format!(
            "INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, created_at) \
             VALUES ({backer}, '{key}', 'a3f1c9e2b7d4a3f1c9e2b7d4a3f1c9e2b7d4a3f1c9e2b7d4a3f1c9e2b7d4a3f1', CURRENT_TIMESTAMP)"
        ),
    );
    exec(conn, "COMMIT");
    exec(conn, begin);
    exec(conn, &format!("SELECT * FROM campaigns WHERE id = {campaign}"));
    exec(
        conn,
        &format!(
            "SELECT * FROM pledges WHERE campaign_id = {campaign} AND backer_id = {backer} AND status = 'active' LIMIT 1"
        ),
    );
    exec(conn, &format!("SELECT * FROM reward_tiers WHERE id = {tier}"));
    exec(
        conn,
        &format!(
            "UPDATE reward_tiers SET claimed = claimed + 1, updated_at = CURRENT_TIMESTAMP \
             WHERE id = {tier} AND (quantity IS NULL OR claimed < quantity)"
        ),
    );
    let pledge: Id = diesel::sql_query(format!(
        "INSERT INTO pledges (campaign_id, backer_id, tier_id, amount_minor, shipping_fee_minor, status, payment_method, \
         created_at, updated_at) VALUES ({campaign}, {backer}, {tier}, 1000, 0, 'active', 'pm_card_visa', \
         CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id"
    ))
    .get_result(conn)
    .expect("insert pledge");
    exec(
        conn,
        &format!(
            "UPDATE campaigns SET pledged_minor = pledged_minor + 1000, backer_count = backer_count + 1, \
             updated_at = CURRENT_TIMESTAMP WHERE id = {campaign} AND status = 'live'"
        ),
    );
    exec(
        conn,
        &format!(
            "INSERT INTO pledge_events (pledge_id, actor_id, from_status, to_status, reason, amount_minor, tier_id, created_at) \
             VALUES ({}, {backer}, NULL, 'active', 'pledged', 1000, {tier}, CURRENT_TIMESTAMP)",
            pledge.id
        ),
    );
    exec(
        conn,
        &format!(
            "INSERT INTO email_outbox (template, recipient, recipient_name, subject_id, context, next_attempt_at, created_at) \
             SELECT 'pledge_confirmed', u.email, u.display_name, 'pledge:{}', '{{}}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP \
             FROM users u WHERE u.id = {backer} ON CONFLICT (template, recipient, subject_id) DO NOTHING",
            pledge.id
        ),
    );
    let answer = format!(
        "{{\"id\":{},\"campaign_id\":{campaign},\"backer_id\":{backer},\"tier_id\":{tier},\"amount\":\"10.00\",\"shipping_fee\":\"0.00\",\"currency\":\"USD\",\"shipping_country\":null,\"status\":\"active\",\"payment_method\":\"pm_card_visa\",\"created_at\":\"2026-11-22T19:00:00Z\",\"updated_at\":\"2026-11-22T19:00:00Z\",\"canceled_at\":null,\"released_at\":null,\"collected_at\":null,\"errored_at\":null,\"dropped_at\":null,\"refunded_at\":null}}",
        pledge.id
    );
    exec(
        conn,
        &format!(
            "UPDATE idempotency_keys SET response_status = 201, response_body = '{answer}' \
             WHERE user_id = {backer} AND idempotency_key = '{key}'"
        ),
    );
    exec(conn, "COMMIT");
}

fn raw_rate(
    db: &Db,
    postgres: bool,
    threads: usize,
    campaign: i64,
    tier: i64,
    first_backer: usize,
    duration: Duration,
) -> (f64, usize) {
    let next = Arc::new(AtomicUsize::new(first_backer));
    let stop = Arc::new(AtomicBool::new(false));
    // SQLite has one writer at a time; left to its busy handler, several threads starve one
    // another past the busy timeout. Taking turns in the process measures what the file can do.
    let writer = Arc::new(std::sync::Mutex::new(()));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (db, next, stop, writer) = (db.clone(), next.clone(), stop.clone(), writer.clone());
            std::thread::spawn(move || {
                let mut conn = db.get_blocking().expect("connection");
                let mut done = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let backer = next.fetch_add(1, Ordering::Relaxed) as i64;
                    let _turn = (!postgres).then(|| writer.lock().unwrap_or_else(|e| e.into_inner()));
                    raw_pledge(&mut conn, postgres, campaign, tier, backer);
                    done += 1;
                }
                done
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let done: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    (
        done as f64 / start.elapsed().as_secs_f64(),
        next.load(Ordering::Relaxed),
    )
}

struct Backend {
    name: &'static str,
    url: String,
    postgres: bool,
    _dir: tempfile::TempDir,
    admin: Option<(String, String)>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.admin {
            let _ = Command::new("psql")
                .args([
                    admin.as_str(),
                    "-qc",
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ])
                .output();
        }
    }
}

fn backend(name: &str) -> Backend {
    let dir = tempfile::tempdir().expect("temp dir");
    if name == "postgres" {
        let admin = std::env::var("PG_ADMIN_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let db = format!("crowdfund_bench_{}", std::process::id());
        let created = Command::new("psql")
            .args([admin.as_str(), "-qc", &format!("CREATE DATABASE {db}")])
            .status()
            .expect("psql");
        assert!(created.success(), "cannot create {db}");
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(b, _)| b)
            .to_owned();
        Backend {
            name: "postgres",
            url: format!("{base}/{db}"),
            postgres: true,
            _dir: dir,
            admin: Some((admin, db)),
        }
    } else {
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        Backend {
            name: "sqlite",
            url,
            postgres: false,
            _dir: dir,
            admin: None,
        }
    }
}

async fn bench(name: &str, rows: &mut Vec<String>) {
    let backend = backend(name);
    let mail = tempfile::tempdir().expect("mail dir");
    let server = start_server(&backend.url, mail.path());
    let db = Db::connect(&DatabaseUrl::parse(&backend.url).expect("url"), 20).expect("connect");
    seed_users(&db, backend.postgres);
    let keys = JwtKeys::new(JWT_SECRET.as_bytes(), 3600);
    let creator = token(&keys, 1);
    let (campaign, open_tier, hot_tier) = campaign(&server, &creator).await;
    let tokens: Arc<Vec<String>> = Arc::new((0..=BACKERS + 1).map(|u| token(&keys, u as i64)).collect());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let url = Arc::new(format!("{}/api/v1/campaigns/{campaign}/pledges", server.base));
    let duration = seconds();
    // Backers are handed out in order, never twice: 2.. for the API, then for the raw runs.
    let backer = Arc::new(AtomicUsize::new(2));

    let pledge = |tier: i64| {
        let (client, url, tokens, backer) = (client.clone(), url.clone(), tokens.clone(), backer.clone());
        move |_n: usize| {
            let (client, url, tokens) = (client.clone(), url.clone(), tokens.clone());
            let b = backer.fetch_add(1, Ordering::Relaxed);
            async move {
                let response = client
                    .post(url.as_str())
                    .bearer_auth(&tokens[b])
                    .header("Idempotency-Key", format!("bench-{b}"))
                    .json(&json!({"amount": "10.00", "tier_id": tier, "payment_method": "pm_card_visa"}))
                    .send()
                    .await;
                matches!(response, Ok(r) if r.status() == reqwest::StatusCode::CREATED)
            }
        }
    };

    let mut peak = 0.0f64;
    for clients in [1usize, 4, 16] {
        let mut api = drive(clients, duration, None, pledge(open_tier)).await;
        let mut hot = drive(clients, duration, None, pledge(hot_tier)).await;
        // The raw runs take backers from ranges the API never reaches.
        let raw_start = BACKERS + 1
            - 60_000
                * match clients {
                    1 => 3,
                    4 => 2,
                    _ => 1,
                };
        let (raw, _) = raw_rate(
            &db,
            backend.postgres,
            clients,
            campaign,
            open_tier,
            raw_start,
            duration,
        );
        assert!(
            backer.load(Ordering::Relaxed) < BACKERS + 1 - 180_000,
            "the API used up its backers"
        );
        peak = peak.max(api.rate());
        rows.push(format!(
            "| {} | {clients} | {raw:.0} | {:.0} | {:.0} % | {:.1} | {:.1} | {:.0} | {:.1} | {} |",
            backend.name,
            api.rate(),
            100.0 * api.rate() / raw,
            api.percentile(0.5),
            api.percentile(0.99),
            hot.rate(),
            hot.percentile(0.99),
            api.failed + hot.failed,
        ));
    }

    // p99 at half of the peak pledge rate, paced.
    let mut half = drive(16, duration, Some(peak / 2.0), pledge(open_tier)).await;
    let get_url = Arc::new(format!("{}/api/v1/campaigns/{campaign}", server.base));
    let list_url = Arc::new(format!("{}/api/v1/campaigns?limit=20", server.base));
    let getter = |url: Arc<String>| {
        let client = client.clone();
        move |_n: usize| {
            let (client, url) = (client.clone(), url.clone());
            async move { matches!(client.get(url.as_str()).send().await, Ok(r) if r.status().is_success()) }
        }
    };
    let mut get = drive(16, duration, None, getter(get_url)).await;
    let mut list = drive(16, duration, None, getter(list_url)).await;
    rows.push(format!(
        "| {} | half of peak ({:.0}/s) | | {:.0} | | {:.1} | {:.1} | | | {} |",
        backend.name,
        peak / 2.0,
        half.rate(),
        half.percentile(0.5),
        half.percentile(0.99),
        half.failed
    ));
    rows.push(format!(
        "| {} | GET /campaigns/{{id}} ×16 | | {:.0} | | {:.1} | {:.1} | | | {} |",
        backend.name,
        get.rate(),
        get.percentile(0.5),
        get.percentile(0.99),
        get.failed
    ));
    rows.push(format!(
        "| {} | GET /campaigns ×16 | | {:.0} | | {:.1} | {:.1} | | | {} |",
        backend.name,
        list.rate(),
        list.percentile(0.5),
        list.percentile(0.99),
        list.failed
    ));
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let backends: Vec<&str> = if args.is_empty() {
        vec!["sqlite", "postgres"]
    } else {
        args.iter().map(String::as_str).collect()
    };
    let mut rows = Vec::new();
    for name in backends {
        eprintln!("benchmarking {name} ({} s per measurement)…", seconds().as_secs());
        bench(name, &mut rows).await;
    }
    println!(
        "| backend | clients | raw DB pledges/s | API pledges/s | API / raw | p50 (ms) | p99 (ms) | hot tier pledges/s | hot tier p99 (ms) | failed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}
