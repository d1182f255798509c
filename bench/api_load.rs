// A measuring harness, like the tests: a failed step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Load benchmark of the pledge API against the raw database doing the same work.
//!
//!   cargo bench --bench api_load                      # SQLite and PostgreSQL
//!   cargo bench --bench api_load -- sqlite            # one backend
//!   BENCH_SECONDS=10 PG_ADMIN_URL=postgres://... cargo bench --bench api_load
//!   DATABASE_POOL_SIZE=16 cargo bench --bench api_load    # the server's pool (default: its own)
//!   BENCH_ROUNDS=5 cargo bench --bench api_load           # rounds per pledge row (default 3)
//!   CROWDFUND_BIN=/path/to/crowdfund cargo bench --bench api_load   # another build's server
//!
//! For each backend: starts the release binary on a fresh database (email worker off, so only the
//! request path is measured), seeds backers through SQL and signs their access tokens with the
//! server's secret (argon2 registrations would dominate the run otherwise), then measures for
//! `BENCH_SECONDS` each (default 8):
//!
//! - **reference**: everything one pledge must write, as the database alone does it
//!   (`bench/reference/`, see `reference.rs`): on PostgreSQL one statement (a data-modifying CTE)
//!   by pgbench on a schema of its own, on SQLite the same writes in one transaction from an
//!   in-process loop; spread over 150 campaigns, and on one limited tier (**hot**). The raw side
//!   every API rate is divided by;
//! - **replay**: the statements of one pledge with an `Idempotency-Key` on the transaction path
//!   (SQLite's, and on PostgreSQL that of refused pledges and Stripe's, where a new pledge is
//!   otherwise two statements), in its order and transactions, each a prepared statement as the
//!   server's are: on PostgreSQL by pgbench (`-M prepared`, N connections; `PGBENCH` names the
//!   binary), on SQLite by N threads over diesel taking turns to write, as the server's writers
//!   do. What that path costs the database, without HTTP, JSON, authentication and validation;
//! - **pledge API**: `POST /campaigns/{id}/pledges` by N clients, distinct backers, each with
//!   its own `Idempotency-Key`, spread over 150 campaigns as the reference's are, with the
//!   server's CPU time per pledge (`/proc/<pid>/stat`); and the same on one limited tier (**hot
//!   tier**);
//! - `p99` at **half of the peak** pledge rate (requests paced open-loop, a held-up request's
//!   latency counted from when it was due), on a new campaign and on the one that took the
//!   16-client raw run's pledges, in `BENCH_ROUNDS` rounds reporting the median p99, with each
//!   round's spells of requests over 25 ms on stderr;
//! - `GET /campaigns/{id}` and `GET /campaigns` (list) by 16 clients, anonymous (so the
//!   campaign view comes from the server's kept copy), and, as their yardstick, actix-web's
//!   minimal JSON handler in this process by the same clients;
//!
//! at N = 1, 4 and 16, and prints a Markdown table (pasted into bench/RESULTS.md). The pledge
//! rows (reference, API, hot tier, replay) are measured `BENCH_ROUNDS` times, interleaved, and
//! report the median round: single runs on this kind of shared machine move by ±30 %.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crowdfund::auth::JwtKeys;
use crowdfund::db::{DatabaseUrl, Db, DbConn, marker_transaction, write_transaction};
use crowdfund::domain::{Role, UserId};
use diesel::RunQueryDsl;
use serde_json::{Value, json};

#[path = "reference.rs"]
mod reference;
#[path = "support.rs"]
mod support;

use support::{backend, pgbench};

const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret!!";
/// Backers seeded: the API's runs take them from 2 up, the raw runs theirs from the top down
/// (`RAW_RANGE` each), and a run that reached the others' would pledge twice (checked).
const BACKERS: usize = 600_000;

fn seconds() -> Duration {
    Duration::from_secs(
        std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(8),
    )
}

/// Rounds of each pledge measurement (`BENCH_ROUNDS`, default 3); the table gives the median.
fn rounds() -> usize {
    std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(3)
}

/// Backers set aside for each raw run: more than one run pledges in `BENCH_SECONDS` (checked).
const RAW_RANGE: usize = 25_000;

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// The round with the median rate; its latencies give the percentiles, its failures are
/// added up over all rounds.
fn median_run(runs: Vec<Run>) -> Run {
    median_by(runs, Run::rate)
}

/// The round with the median `key`, with the failures of all rounds.
fn median_by(mut runs: Vec<Run>, key: impl Fn(&Run) -> f64) -> Run {
    let failed = runs.iter().map(|r| r.failed).sum();
    let mut failures = BTreeMap::new();
    for (reason, count) in runs.iter().flat_map(|r| &r.failures) {
        *failures.entry(reason.clone()).or_default() += count;
    }
    runs.sort_by(|a, b| key(a).total_cmp(&key(b)));
    let mut run = runs.swap_remove(runs.len() / 2);
    run.failed = failed;
    run.failures = failures;
    run
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// CPU time the server process has used so far (user and system), from `/proc`; NaN where
    /// there is none.
    fn cpu_seconds(&self) -> f64 {
        let ticks = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .ok()
            .and_then(|stat| {
                // The fields after the command name's closing parenthesis; utime and stime are
                // the 12th and 13th of those.
                let fields: Vec<u64> = stat
                    .rsplit_once(')')?
                    .1
                    .split_whitespace()
                    .skip(11)
                    .take(2)
                    .map(|f| f.parse().ok())
                    .collect::<Option<_>>()?;
                Some(fields.iter().sum::<u64>())
            });
        // Linux counts in clock ticks of 1/100 s (USER_HZ) on every common architecture.
        ticks.map_or(f64::NAN, |t| t as f64 / 100.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(database_url: &str, mail_dir: &std::path::Path) -> Server {
    use std::io::{BufRead, BufReader};
    // Another build's binary (an earlier commit's), to compare two in the same hour.
    let bin = std::env::var_os("CROWDFUND_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_crowdfund").into());
    let mut command = Command::new(bin);
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

/// A delivery month the server takes: within 10 years.
fn next_january() -> String {
    format!("{}-01", chrono::Datelike::year(&chrono::Utc::now()) + 1)
}

fn exec(conn: &mut DbConn, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// On PostgreSQL, what autovacuum would have done by now: fresh statistics, which also makes
/// every connection plan its kept statements again. This machine's PostgreSQL runs with
/// `autovacuum = off`; without it the server's connections keep the plans they made while the
/// tables were nearly empty (sequential scans), and each round runs slower than the one before
/// (bench/RESULTS.md).
fn analyze(db: &Db, postgres: bool) {
    if postgres {
        exec(&mut db.get_blocking().expect("connection"), "ANALYZE");
    }
}

fn pledge_count(db: &Db, campaign: i64) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM pledges WHERE campaign_id = {campaign}"
    ))
    .get_result::<Count>(&mut *db.get_blocking().expect("connection"))
    .expect("count pledges")
    .n
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
            "INSERT INTO users (email, display_name, password_hash, role, created_at, updated_at, email_verified_at) \
             SELECT 'u' || i || '@bench.example', 'User ' || i, 'x', 'user', '2026-01-01 00:00:00', '2026-01-01 00:00:00', \
             '2026-01-01 00:00:00' \
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
            Some(json!({"title": title, "min_amount": "5.00", "quantity": quantity, "estimated_delivery": next_january()})),
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
    /// Why the failed requests failed (the status and the problem's title and detail, or the
    /// client's error), with how many each: a load generator's reset connection is not a server's 409.
    failures: BTreeMap<String, usize>,
    /// Each successful request's start, from the run's start, and its latency.
    samples: Vec<(Duration, Duration)>,
    elapsed: Duration,
    /// The wall-clock time the run started, to line its spells up with other records.
    started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The machine's CPU time stolen by the hypervisor during the run, as a share of all CPU
    /// time: over the whole run, and in its worst 100 ms.
    steal: (f64, f64),
}

impl Run {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.samples.is_empty() {
            return f64::NAN;
        }
        let mut latencies: Vec<Duration> = self.samples.iter().map(|&(_, l)| l).collect();
        latencies.sort_unstable();
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    }

    /// The spells in which requests took longer than `over`: requests starting within 100 ms
    /// of the previous slow one belong to the same spell. Each as (start in s, requests,
    /// longest in ms), to tell a few pauses from a slow server.
    fn stalls(&self, over: Duration) -> Vec<(f64, usize, f64)> {
        let mut slow: Vec<(Duration, Duration)> =
            self.samples.iter().copied().filter(|&(_, l)| l > over).collect();
        slow.sort_unstable();
        let mut spells: Vec<(Duration, Duration, usize, Duration)> = Vec::new();
        for (start, latency) in slow {
            match spells.last_mut() {
                Some((_, last, count, longest)) if start <= *last + Duration::from_millis(100) => {
                    *last = start;
                    *count += 1;
                    *longest = (*longest).max(latency);
                }
                _ => spells.push((start, start, 1, latency)),
            }
        }
        spells
            .into_iter()
            .map(|(first, _, count, longest)| (first.as_secs_f64(), count, longest.as_secs_f64() * 1000.0))
            .collect()
    }
}

/// (steal, total) CPU ticks of the whole machine so far, from the first line of `/proc/stat`.
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    Some((*ticks.get(7)?, ticks.iter().sum()))
}

fn share((steal, total): (u64, u64), (steal0, total0): (u64, u64)) -> f64 {
    (steal - steal0) as f64 / (total - total0).max(1) as f64
}

/// `clients` loops calling `request(n)` with n = 0, 1, 2, … shared between them, for `duration`,
/// or paced to `rate` requests per second in all when given. Paced, a request that a slow
/// answer held up past its due time counts its latency from when it was due, not from when it
/// was sent: that wait is part of what a user arriving on time would see (as wrk2 measures).
async fn drive<F, Fut>(clients: usize, duration: Duration, rate: Option<f64>, request: F) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (start, started_at) = (Instant::now(), chrono::Utc::now());
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (request, next, stop) = (request.clone(), next.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut run = Run::default();
            let interval = rate.map(|r| Duration::from_secs_f64(clients as f64 / r));
            let mut due =
                Instant::now() + interval.map_or(Duration::ZERO, |i| i.mul_f64(c as f64 / clients as f64));
            while !stop.load(Ordering::Relaxed) {
                let t0 = match interval {
                    // Held up past its due time by the previous answer: counts from then.
                    Some(interval) if Instant::now() > due => {
                        let t0 = due;
                        due += interval;
                        t0
                    }
                    // On time: counts from the send, not from the due time, which the timer
                    // (1 ms granularity) would miss by up to a millisecond.
                    Some(interval) => {
                        tokio::time::sleep_until(due.into()).await;
                        due += interval;
                        Instant::now()
                    }
                    None => Instant::now(),
                };
                let n = next.fetch_add(1, Ordering::Relaxed);
                match request(n).await {
                    Ok(()) => {
                        run.ok += 1;
                        run.samples
                            .push((t0.saturating_duration_since(start), t0.elapsed()));
                    }
                    Err(reason) => {
                        run.failed += 1;
                        *run.failures.entry(reason).or_default() += 1;
                    }
                }
            }
            run
        }));
    }
    // Time the hypervisor gives other machines shows here as steal; a stall of every request at
    // once that coincides with it is this machine's, not the server's.
    let first = cpu_ticks();
    let (mut last, mut worst) = (first, 0.0f64);
    let end = start + duration;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100).min(end - Instant::now())).await;
        let now = cpu_ticks();
        if let (Some(now), Some(before)) = (now, last) {
            worst = worst.max(share(now, before));
        }
        last = now;
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = Run {
        started_at: Some(started_at),
        ..Run::default()
    };
    if let (Some(first), Some(last)) = (first, last) {
        total.steal = (share(last, first), worst);
    }
    for task in tasks {
        let run = task.await.expect("client task");
        total.ok += run.ok;
        total.failed += run.failed;
        for (reason, count) in run.failures {
            *total.failures.entry(reason).or_default() += count;
        }
        total.samples.extend(run.samples);
    }
    total.elapsed = start.elapsed();
    total
}

/// `Ok` when the server answered `want`; otherwise why not: the status with the problem's
/// title and detail, or the kind of error the client met before any answer.
/// The yardstick of the read rows: actix-web's smallest JSON answer (a handler that serializes a
/// constant object), served by an `HttpServer` with as many workers as the server has, on
/// this machine, measured by the same clients. Returns its URL; it serves until the bench ends.
fn minimal_json_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(|| {
                actix_web::App::new().route(
                    "/",
                    actix_web::web::get().to(|| async {
                        actix_web::HttpResponse::Ok().json(json!({"id": 1, "title": "Minimal"}))
                    }),
                )
            })
            .workers(std::thread::available_parallelism().map_or(2, |n| n.get()))
            .listen(listener)
            .expect("listen")
            .run()
            .await
            .expect("serve");
        });
    });
    url
}

async fn expect(
    response: reqwest::Result<reqwest::Response>,
    want: reqwest::StatusCode,
) -> Result<(), String> {
    let response = match response {
        Ok(response) => response,
        Err(e) if e.is_timeout() => return Err("client: timed out".into()),
        Err(e) if e.is_connect() => return Err("client: could not connect".into()),
        Err(e) => return Err(format!("client: {e}")),
    };
    let status = response.status();
    if status == want {
        return Ok(());
    }
    let problem = match response.json::<Value>().await {
        Ok(problem) => format!(
            "{}: {}",
            problem["title"].as_str().unwrap_or(""),
            problem["detail"].as_str().unwrap_or("")
        ),
        Err(_) => "(no problem document)".into(),
    };
    Err(format!("{status} {problem}"))
}

/// Writes on stderr why the requests of `run` failed, if any did.
fn report_failures(what: &str, run: &Run) {
    if !run.failures.is_empty() {
        eprintln!("{what}: failed requests by reason {:?}", run.failures);
    }
}

/// The answer the server stores under the key, as long as the real one (the pledge's JSON).
const ANSWER_TAIL: &str = r#","campaign_id":1,"backer_id":2,"tier_id":1,"amount":"10.00","shipping_fee":"0.00","currency":"USD","shipping_country":null,"status":"active","payment_method":"pm_card_visa","created_at":"2026-11-22T19:00:00Z","updated_at":"2026-11-22T19:00:00Z","canceled_at":null,"released_at":null,"collected_at":null,"errored_at":null,"dropped_at":null,"refunded_at":null}"#;

const KEY_HASH: &str = "a3f1c9e2b7d4a3f1c9e2b7d4a3f1c9e2b7d4a3f1c9e2b7d4a3f1c9e2b7d4a3f1";

/// The statements of one pledge with an `Idempotency-Key`, in the server's order
/// (tests/api/costs.rs counts 17): the key's reservation (BEGIN, purge, lookup, reserve,
/// COMMIT), then the pledge (BEGIN, campaign, existing pledge, tier, insert, event,
/// confirmation email, webhook event, claim, totals, stored answer, COMMIT). Parameters are named: `:backer`, `:key`,
/// `:campaign`, `:tier`, `:pledge` (the id the insert returns) and `:answer`.
const PLEDGE_STATEMENTS: [&str; 13] = [
    "DELETE FROM idempotency_keys WHERE user_id = :backer AND created_at < '2026-01-01 00:00:00'",
    "SELECT * FROM idempotency_keys WHERE user_id = :backer AND idempotency_key = :key",
    "INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, created_at) \
     VALUES (:backer, :key, :hash, CURRENT_TIMESTAMP)",
    // COMMIT, BEGIN
    "SELECT * FROM campaigns WHERE id = :campaign",
    "SELECT * FROM pledges WHERE campaign_id = :campaign AND backer_id = :backer AND status = 'active'",
    "SELECT * FROM reward_tiers WHERE id = :tier",
    "INSERT INTO pledges (campaign_id, backer_id, tier_id, amount_minor, shipping_fee_minor, status, \
     payment_method, created_at, updated_at) VALUES (:campaign, :backer, :tier, 1000, 0, 'active', \
     'pm_card_visa', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id",
    "INSERT INTO pledge_events (pledge_id, actor_id, from_status, to_status, reason, amount_minor, \
     tier_id, created_at) VALUES (:pledge, :backer, NULL, 'active', 'pledged', 1000, :tier, CURRENT_TIMESTAMP)",
    "INSERT INTO email_outbox (template, recipient, recipient_name, subject_id, context, \
     next_attempt_at, created_at) SELECT 'pledge_confirmed', u.email, u.display_name, 'pledge:' || CAST(:pledge AS TEXT), \
     '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM users u WHERE u.id = :backer \
     ON CONFLICT (template, recipient, subject_id) DO NOTHING RETURNING id",
    // The payload is the pledge's JSON, as long as the stored answer; the creator's id is 1.
    "INSERT INTO webhook_events (event_type, campaign_id, creator_id, endpoint_id, payload, created_at) \
     VALUES ('pledge.created', :campaign, 1, NULL, :answer, CURRENT_TIMESTAMP) RETURNING id",
    "UPDATE reward_tiers SET claimed = claimed + 1, updated_at = CURRENT_TIMESTAMP \
     WHERE id = :tier AND (quantity IS NULL OR claimed < quantity) RETURNING id",
    "UPDATE campaigns SET pledged_minor = pledged_minor + 1000, backer_count = backer_count + 1, \
     ranked_pledged_minor = CASE WHEN abs(pledged_minor - ranked_pledged_minor + 1000) * 100 >= \
     ranked_pledged_minor THEN pledged_minor + 1000 ELSE ranked_pledged_minor END, \
     ranked_backer_count = CASE WHEN abs(backer_count - ranked_backer_count + 1) * 100 >= \
     ranked_backer_count THEN backer_count + 1 ELSE ranked_backer_count END, \
     updated_at = CURRENT_TIMESTAMP WHERE id = :campaign AND status = 'live' RETURNING id",
    "UPDATE idempotency_keys SET response_status = 201, response_body = :answer \
     WHERE user_id = :backer AND idempotency_key = :key RETURNING user_id",
];

/// The statements for pgbench (`-M prepared`): backers are counted per client without a round
/// trip; the id the insert returns is kept with `\gset`; the answer is built in SQL. The
/// reservation's `SET LOCAL` is a statement of its own (the server sends it with `BEGIN` in one
/// round trip, which prepared mode does not allow): one round trip more than the server's 17.
fn pgbench_script(campaign: i64, tier: i64, clients: usize, first_backer: usize) -> String {
    let mut script = format!("\\set n :n + 1\n\\set backer {first_backer} + :n * {clients} + :client_id\n");
    // pgbench would take `:null` in the literal for a variable.
    let tail = ANSWER_TAIL.replace("\":null", "\": null");
    let answer = format!("'{{\"id\":' || CAST(:id AS TEXT) || '{tail}'");
    let mut lines = vec![
        "BEGIN;".to_owned(),
        "SET LOCAL synchronous_commit TO OFF;".to_owned(),
    ];
    for (i, statement) in PLEDGE_STATEMENTS.iter().enumerate() {
        if i == 3 {
            lines.push("COMMIT;".into());
            lines.push("BEGIN;".into());
        }
        let mut sql = statement
            .replace(":key", "'raw-' || CAST(:backer AS TEXT)")
            .replace(":hash", &format!("'{KEY_HASH}'"))
            .replace(":campaign", &campaign.to_string())
            .replace(":tier", &tier.to_string())
            .replace(":answer", &answer)
            .replace(":pledge", ":id");
        if sql.starts_with("INSERT INTO pledges ") {
            sql.push_str(" \\gset");
        }
        lines.push(if sql.ends_with("\\gset") {
            sql
        } else {
            format!("{sql};")
        });
    }
    lines.push("COMMIT;".into());
    script.push_str(&lines.join("\n"));
    script.push('\n');
    script
}
#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// A row whose columns are not read: the raw loop measures the database, not decoding.
#[derive(diesel::QueryableByName)]
struct Unread {}

/// One of [`PLEDGE_STATEMENTS`] on SQLite: its named parameters become `?` binds, and it runs as
/// a prepared statement the connection keeps, as the server's do. Returns the id an insert of
/// a pledge returns.
fn run_sqlite(
    conn: &mut DbConn,
    statement: &str,
    backer: i64,
    campaign: i64,
    tier: i64,
    pledge: i64,
) -> Option<i64> {
    use crowdfund::db::prepared::PreparedDsl;
    use diesel::sql_types::{BigInt, Text};
    let key = format!("raw-{backer}");
    let answer = format!("{{\"id\":{pledge}{ANSWER_TAIL}");
    let mut sql = String::with_capacity(statement.len());
    let mut names = Vec::new();
    let mut rest = statement;
    while let Some(at) = rest.find(':') {
        sql.push_str(&rest[..at]);
        let name: String = rest[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + 1 + name.len()..];
        if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            sql.push('?');
            names.push(name);
        } else {
            // A colon in a literal, as in a time of day.
            sql.push(':');
            sql.push_str(&name);
        }
    }
    sql.push_str(rest);
    let mut query = diesel::sql_query(sql).into_boxed();
    for name in &names {
        query = match name.as_str() {
            "backer" => query.bind::<BigInt, _>(backer),
            "campaign" => query.bind::<BigInt, _>(campaign),
            "tier" => query.bind::<BigInt, _>(tier),
            "pledge" => query.bind::<BigInt, _>(pledge),
            "key" => query.bind::<Text, _>(key.clone()),
            "hash" => query.bind::<Text, _>(KEY_HASH),
            "answer" => query.bind::<Text, _>(answer.clone()),
            other => panic!("unknown parameter :{other}"),
        };
    }
    if statement.starts_with("INSERT INTO pledges ") {
        let row: Id = query
            .prepared()
            .get_result(conn)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        Some(row.id)
    } else {
        query
            .prepared()
            .load::<Unread>(conn)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        None
    }
}

/// One pledge's statements on SQLite, in the server's two transactions, each begun and
/// committed by the server's own helpers: the key's reservation a marker committed without a
/// disk flush, as the server's is, and the writers of the process queued in turns, which the
/// log's checkpoints also take (`crowdfund::db::checkpoint`).
fn raw_sqlite_pledge(conn: &mut DbConn, campaign: i64, tier: i64, backer: i64) {
    let (reservation, pledge) = PLEDGE_STATEMENTS.split_at(3);
    let mut pledge_id = 0;
    let mut run = |conn: &mut DbConn, statements: &[&str]| {
        for statement in statements {
            if let Some(id) = run_sqlite(conn, statement, backer, campaign, tier, pledge_id) {
                pledge_id = id;
            }
        }
        Ok::<_, diesel::result::Error>(())
    };
    marker_transaction(conn, |conn| run(conn, reservation)).expect("the key's reservation");
    write_transaction(conn, |conn| run(conn, pledge)).expect("the pledge's transaction");
}

/// SQLite's rate for the pledge's statements from `threads` threads. SQLite has one writer at a
/// time; left to its busy handler, several threads starve one another past the busy timeout,
/// so the threads take turns in the process, as the server's writers do ([`raw_sqlite_pledge`]).
/// Their connections are opened as the server's are, with a thread checkpointing the log, for
/// this run only: the server's own checkpoints are the only others then, as in production,
/// and none of this process runs beside the server's later.
fn raw_sqlite_rate(
    url: &str,
    threads: usize,
    campaign: i64,
    tier: i64,
    first_backer: usize,
    duration: Duration,
) -> f64 {
    let db = Db::connect_serving(&DatabaseUrl::parse(url).expect("url"), threads as u32).expect("connect");
    support::loop_rate(&db, threads, first_backer, duration, move |conn, backer| {
        raw_sqlite_pledge(conn, campaign, tier, backer)
    })
}

/// PostgreSQL's rate for the pledge's statements: pgbench with `clients` connections, each
/// statement prepared once per connection.
fn raw_pg_rate(
    url: &str,
    dir: &std::path::Path,
    clients: usize,
    campaign: i64,
    tier: i64,
    first_backer: usize,
    duration: Duration,
) -> f64 {
    let script = dir.join(format!("pledge-{clients}.sql"));
    std::fs::write(&script, pgbench_script(campaign, tier, clients, first_backer)).expect("script");
    let output = Command::new(pgbench())
        .args(["-n", "-M", "prepared", "-D", "n=0"])
        .args(["-c", &clients.to_string(), "-j", &clients.min(2).to_string()])
        .args(["-T", &duration.as_secs().max(1).to_string()])
        .arg("-f")
        .arg(&script)
        .arg(url)
        .output()
        .expect("run pgbench");
    support::tps(&output)
}

async fn bench(name: &str, rows: &mut Vec<String>) {
    let backend = backend(name);
    let mail = tempfile::tempdir().expect("mail dir");
    let server = start_server(&backend.url, mail.path());
    // For seeding and counting: SQLite's automatic checkpoint, as the command line has it.
    let db = Db::connect(&DatabaseUrl::parse(&backend.url).expect("url"), 4).expect("connect");
    seed_users(&db, backend.postgres);
    let keys = JwtKeys::new(JWT_SECRET.as_bytes(), 3600);
    let creator = token(&keys, 1);
    let tokens: Arc<Vec<String>> = Arc::new((0..=BACKERS + 1).map(|u| token(&keys, u as i64)).collect());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let duration = seconds();
    // Backers are handed out in order, never twice: 2.. for the API, then for the raw runs.
    let backer = Arc::new(AtomicUsize::new(2));

    // Each pledge goes to `targets[backer % len]`: one campaign, or spread over many.
    let pledge_to = |targets: Vec<(i64, i64)>| {
        let targets = Arc::new(targets);
        let url = Arc::new(format!("{}/api/v1/campaigns", server.base));
        let (client, tokens, backer) = (client.clone(), tokens.clone(), backer.clone());
        move |_n: usize| {
            let (client, url, tokens) = (client.clone(), url.clone(), tokens.clone());
            let b = backer.fetch_add(1, Ordering::Relaxed);
            let (campaign, tier) = targets[b % targets.len()];
            async move {
                let response = client
                    .post(format!("{url}/{campaign}/pledges"))
                    .bearer_auth(&tokens[b])
                    .header("Idempotency-Key", format!("bench-{b}"))
                    .json(&json!({"amount": "10.00", "tier_id": tier, "payment_method": "pm_card_visa"}))
                    .send()
                    .await;
                expect(response, reqwest::StatusCode::CREATED).await
            }
        }
    };
    let pledge = |campaign: i64, tier: i64| pledge_to(vec![(campaign, tier)]);
    let pg_reference = backend
        .admin
        .as_ref()
        .map(|(admin, _)| reference::PgReference::create(admin));
    let sqlite_reference =
        (!backend.postgres).then(|| reference::SqliteReference::create(backend.dir.path()));
    let reference_rate = |clients: usize, hot: bool| match (&pg_reference, &sqlite_reference) {
        (Some(pg), _) => pg.rate(&pgbench(), clients, hot, duration),
        (None, Some(sqlite)) => sqlite.rate(clients, hot, duration),
        (None, None) => unreachable!("one reference per backend"),
    };

    // Every measurement pledges to campaigns of its own, so that none inherits the rows and
    // dead row versions an earlier one left (this database may not vacuum meanwhile).
    let mut peak = 0.0f64;
    // The campaign that takes the most pledges (the 16-client raw run's), paced again at the end.
    let mut busiest = (0, 0);
    let rounds = rounds();
    for (slot, clients) in [1usize, 4, 16].into_iter().enumerate() {
        // Rounds alternate the reference, API, hot tier and replay, so that a slow spell of this
        // shared machine weighs on all; each row reports the median round.
        let (mut api, mut hot, mut raw) = (Vec::new(), Vec::new(), Vec::new());
        let (mut reference, mut reference_hot) = (Vec::new(), Vec::new());
        // The server's CPU time per pledge in each API run (on SQLite the database's included).
        let mut server_cpu = Vec::new();
        for round in 0..rounds {
            analyze(&db, backend.postgres);
            reference.push(reference_rate(clients, false));
            let mut spread = Vec::new();
            for _ in 0..reference::CAMPAIGNS {
                let (campaign, open_tier, _) = campaign(&server, &creator).await;
                spread.push((campaign, open_tier));
            }
            analyze(&db, backend.postgres);
            let cpu = server.cpu_seconds();
            let run = drive(clients, duration, None, pledge_to(spread)).await;
            server_cpu.push(1000.0 * (server.cpu_seconds() - cpu) / run.ok as f64);
            api.push(run);
            reference_hot.push(reference_rate(clients, true));
            let (campaign, _, hot_tier) = self::campaign(&server, &creator).await;
            hot.push(drive(clients, duration, None, pledge(campaign, hot_tier)).await);
            let (campaign, open_tier, _) = self::campaign(&server, &creator).await;
            // Each raw run takes its backers from a range of its own, above any the API reaches
            // (their `Idempotency-Key`s derive from the backer).
            let raw_start = BACKERS + 1 - RAW_RANGE * (1 + slot * rounds + round);
            raw.push(if backend.postgres {
                raw_pg_rate(
                    &backend.url,
                    backend.dir.path(),
                    clients,
                    campaign,
                    open_tier,
                    raw_start,
                    duration,
                )
            } else {
                raw_sqlite_rate(&backend.url, clients, campaign, open_tier, raw_start, duration)
            });
            assert!(
                pledge_count(&db, campaign) + 2 * (clients as i64) < RAW_RANGE as i64,
                "a raw run used more backers than RAW_RANGE sets aside"
            );
            busiest = (campaign, open_tier);
        }
        assert!(
            backer.load(Ordering::Relaxed) < BACKERS + 1 - RAW_RANGE * 3 * rounds,
            "the API used up its backers"
        );
        eprintln!(
            "{} at {clients}: reference {:.0?} (hot {:.0?}), replay {:.0?}, API {:.0?}, hot tier {:.0?} \
             pledges/s by round; server CPU {:.2?} ms per API pledge; CPU stolen during the API runs {:.1?} %",
            backend.name,
            reference,
            reference_hot,
            raw,
            api.iter().map(Run::rate).collect::<Vec<_>>(),
            hot.iter().map(Run::rate).collect::<Vec<_>>(),
            server_cpu,
            api.iter().map(|r| 100.0 * r.steal.0).collect::<Vec<_>>(),
        );
        let (api, hot, raw) = (median_run(api), median_run(hot), median(raw));
        let (reference, reference_hot, server_cpu) =
            (median(reference), median(reference_hot), median(server_cpu));
        report_failures(&format!("{} API at {clients}", backend.name), &api);
        report_failures(&format!("{} hot tier at {clients}", backend.name), &hot);
        peak = peak.max(api.rate());
        rows.push(format!(
            "| {} | {clients} | {reference:.0} | {raw:.0} | {:.0} | {:.0} % | {:.1} | {:.1} | {server_cpu:.2} \
             | {reference_hot:.0} | {:.0} | {:.0} % | {:.1} | {} |",
            backend.name,
            api.rate(),
            100.0 * api.rate() / reference,
            api.percentile(0.5),
            api.percentile(0.99),
            hot.rate(),
            100.0 * hot.rate() / reference_hot,
            hot.percentile(0.99),
            api.failed + hot.failed,
        ));
    }

    // p99 at half of the peak pledge rate, paced, in rounds: on a new campaign, then on one that
    // already holds thousands of pledges (what a pledge costs must not grow with the campaign's
    // backers). Each row reports the round with the median p99.
    let held = pledge_count(&db, busiest.0);
    let (mut half, mut crowded) = (Vec::new(), Vec::new());
    let mut campaign_id = 0;
    for _ in 0..rounds {
        analyze(&db, backend.postgres);
        let (campaign, open_tier, _) = campaign(&server, &creator).await;
        campaign_id = campaign;
        half.push(drive(16, duration, Some(peak / 2.0), pledge(campaign, open_tier)).await);
        crowded.push(drive(16, duration, Some(peak / 2.0), pledge(busiest.0, busiest.1)).await);
    }
    assert!(
        backer.load(Ordering::Relaxed) < BACKERS + 1 - RAW_RANGE * 3 * rounds,
        "the API used up its backers"
    );
    for (what, runs) in [("new campaign", &half), ("crowded campaign", &crowded)] {
        for run in runs {
            eprintln!(
                "{} half of peak, {what}, from {}: p50 {:.1} ms, p99 {:.1} ms; spells over 25 ms (s, \
                 requests, longest ms): {:.1?}; CPU stolen {:.1} %, worst 100 ms {:.0} %",
                backend.name,
                run.started_at
                    .map_or_else(String::new, |t| t.format("%H:%M:%S%.3f UTC").to_string()),
                run.percentile(0.5),
                run.percentile(0.99),
                run.stalls(Duration::from_millis(25)),
                100.0 * run.steal.0,
                100.0 * run.steal.1,
            );
        }
    }
    let p99 = |run: &Run| run.percentile(0.99);
    let (half, crowded) = (median_by(half, p99), median_by(crowded, p99));
    let campaign = campaign_id;
    let get_url = Arc::new(format!("{}/api/v1/campaigns/{campaign}", server.base));
    let list_url = Arc::new(format!("{}/api/v1/campaigns?limit=20", server.base));
    let getter = |url: Arc<String>| {
        let client = client.clone();
        move |_n: usize| {
            let (client, url) = (client.clone(), url.clone());
            async move { expect(client.get(url.as_str()).send().await, reqwest::StatusCode::OK).await }
        }
    };
    let get = drive(16, duration, None, getter(get_url)).await;
    let list = drive(16, duration, None, getter(list_url)).await;
    let minimal = drive(16, duration, None, getter(Arc::new(minimal_json_server()))).await;
    for (what, run) in [
        ("half of peak", &half),
        ("crowded", &crowded),
        ("GET", &get),
        ("list", &list),
        ("minimal", &minimal),
    ] {
        report_failures(&format!("{} {what}", backend.name), run);
    }
    rows.push(format!(
        "| {} | half of peak ({:.0}/s) | | | {:.0} | | {:.1} | {:.1} | | | | | | {} |",
        backend.name,
        peak / 2.0,
        half.rate(),
        half.percentile(0.5),
        half.percentile(0.99),
        half.failed
    ));
    rows.push(format!(
        "| {} | half of peak, on a campaign holding {held} pledges | | | {:.0} | | {:.1} | {:.1} | | | | | | {} |",
        backend.name,
        crowded.rate(),
        crowded.percentile(0.5),
        crowded.percentile(0.99),
        crowded.failed
    ));
    rows.push(format!(
        "| {} | GET /campaigns/{{id}} ×16 | | | {:.0} | | {:.1} | {:.1} | | | | | | {} |",
        backend.name,
        get.rate(),
        get.percentile(0.5),
        get.percentile(0.99),
        get.failed
    ));
    rows.push(format!(
        "| {} | GET /campaigns ×16 | | | {:.0} | | {:.1} | {:.1} | | | | | | {} |",
        backend.name,
        list.rate(),
        list.percentile(0.5),
        list.percentile(0.99),
        list.failed
    ));
    rows.push(format!(
        "| {} | minimal actix JSON handler ×16 (GET /campaigns/{{id}} at {:.0} % of it) | | | {:.0} | | {:.1} | {:.1} | | | | | | {} |",
        backend.name,
        100.0 * get.rate() / minimal.rate(),
        minimal.rate(),
        minimal.percentile(0.5),
        minimal.percentile(0.99),
        minimal.failed
    ));
    if !backend.postgres {
        // SQLite's log file keeps the size of its longest log: the checkpoints' bound, if any.
        let wal = std::fs::metadata(backend.dir.path().join("bench.db-wal")).map_or(0, |m| m.len());
        eprintln!(
            "sqlite: the write-ahead log file ended at {:.1} MiB",
            wal as f64 / (1 << 20) as f64
        );
    }
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
        "| backend | clients | reference pledges/s | transaction path replayed/s | API pledges/s | API / reference \
         | p50 (ms) | p99 (ms) | server CPU per pledge (ms) | reference hot tier/s | API hot tier/s \
         | API hot / reference hot | hot tier p99 (ms) | failed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}
