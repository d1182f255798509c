// A measuring harness, like the tests: a failed step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Memory under a login flood: what password hashing costs when many arrive at once.
//!
//!   cargo bench --bench login_memory                          # 500 concurrent logins
//!   BENCH_LOGINS=200 cargo bench --bench login_memory
//!   CROWDFUND_BIN=/path/to/crowdfund cargo bench --bench login_memory   # another build's server
//!
//! Starts the release binary on a fresh SQLite database with the per-IP auth limit lifted (a
//! flood from many addresses is not stopped by it), registers one account, then sends
//! `BENCH_LOGINS` logins with a wrong password at once, each on its own connection, while a
//! client asks `GET /health/ready` every 50 ms. Reports the server's peak resident memory
//! (`VmHWM` in `/proc`), how the logins were answered (401, 429, 503, or no answer at all) and
//! whether readiness was answered throughout. Counts memory and answers, not time.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

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

impl Server {
    /// A `kB` line of the server's `/proc/{pid}/status`, in MiB.
    fn status_mib(&self, key: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a kB figure");
        kb / 1024.0
    }
}

fn start_server(bin: &std::ffi::OsStr, database_url: &str, mail_dir: &std::path::Path) -> Server {
    use std::io::{BufRead, BufReader};
    let mut command = Command::new(bin);
    command.env_clear();
    for key in ["PASSWORD_HASH_CONCURRENCY", "PASSWORD_HASH_QUEUE"] {
        if let Ok(value) = std::env::var(key) {
            command.env(key, value);
        }
    }
    let mut child = command
        .env("DATABASE_URL", database_url)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("JWT_SECRET", "bench-secret-bench-secret-bench-secret!!")
        .env("CRON_SECRET", "bench-cron-secret-0123")
        .env("AUTH_RATE_LIMIT_PER_MINUTE", "1000000")
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

#[derive(Default, Debug)]
struct Answers {
    unauthorized: usize,
    rate_limited: usize,
    unavailable: usize,
    other: usize,
    dropped: usize,
}

#[tokio::main]
async fn main() {
    let logins: usize = std::env::var("BENCH_LOGINS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(500);
    let bin = std::env::var_os("CROWDFUND_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_crowdfund").into());
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let server = start_server(&bin, &database_url, dir.path());
    let client = reqwest::Client::new();
    let registered = client
        .post(format!("{}/api/v1/auth/register", server.base))
        .json(
            &json!({"email": "flood@example.com", "password": "correct horse battery staple",
                      "display_name": "Flood"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let before = server.status_mib("VmRSS:");

    let done = Arc::new(AtomicBool::new(false));
    let health = tokio::spawn({
        let (done, base) = (done.clone(), server.base.clone());
        async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let (mut ok, mut total, mut slowest) = (0, 0, Duration::ZERO);
            while !done.load(Ordering::Relaxed) {
                let started = Instant::now();
                let answer = client.get(format!("{base}/health/ready")).send().await;
                slowest = slowest.max(started.elapsed());
                total += 1;
                ok += usize::from(answer.is_ok_and(|r| r.status() == 200));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (ok, total, slowest)
        }
    });
    let started = Instant::now();
    let flood = (0..logins).map(|_| {
        // A client each: one connection per login, as from many addresses.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let url = format!("{}/api/v1/auth/login", server.base);
        async move {
            client
                .post(url)
                .json(&json!({"email": "flood@example.com", "password": "a wrong password, again"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    let statuses = futures::future::join_all(flood).await;
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let (health_ok, health_total, slowest) = health.await.unwrap();
    let peak = server.status_mib("VmHWM:");

    let mut answers = Answers::default();
    for status in statuses {
        match status {
            Ok(401) => answers.unauthorized += 1,
            Ok(429) => answers.rate_limited += 1,
            Ok(503) => answers.unavailable += 1,
            Ok(_) => answers.other += 1,
            Err(_) => answers.dropped += 1,
        }
    }
    println!(
        "| binary | logins | RSS before (MiB) | peak RSS (MiB) | 401 | 429 | 503 | other | no answer | /health/ready 200 | slowest /health/ready (ms) | flood (s) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {logins} | {before:.0} | {peak:.0} | {} | {} | {} | {} | {} | {health_ok}/{health_total} | {} | {:.1} |",
        std::path::Path::new(&bin).display(),
        answers.unauthorized,
        answers.rate_limited,
        answers.unavailable,
        answers.other,
        answers.dropped,
        slowest.as_millis(),
        elapsed.as_secs_f64()
    );
}
