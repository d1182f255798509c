//! What the benchmarks share: a fresh database per backend, and pgbench.

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crowdfund::db::{Db, DbConn};

pub struct Backend {
    pub name: &'static str,
    pub url: String,
    pub postgres: bool,
    pub dir: tempfile::TempDir,
    /// The admin URL and the database's name, to drop it.
    pub admin: Option<(String, String)>,
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

/// A fresh database: on PostgreSQL created through `PG_ADMIN_URL` and dropped with the value;
/// on SQLite a file in a temporary directory.
pub fn backend(name: &str) -> Backend {
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
            dir,
            admin: Some((admin, db)),
        }
    } else {
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        Backend {
            name: "sqlite",
            url,
            postgres: false,
            dir,
            admin: None,
        }
    }
}

/// pgbench, from `PGBENCH`, the `PATH`, or PostgreSQL's own directory on Debian.
pub fn pgbench() -> String {
    if let Ok(path) = std::env::var("PGBENCH") {
        return path;
    }
    let on_path = Command::new("pgbench")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if on_path {
        return "pgbench".into();
    }
    let mut installed: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin/pgbench"))
        .filter(|path| path.exists())
        .collect();
    installed.sort();
    installed
        .pop()
        .map(|path| path.display().to_string())
        .expect("pgbench not found: install PostgreSQL's client tools or set PGBENCH")
}

/// pgbench's transactions per second, after checking that none failed.
pub fn tps(output: &Output) -> f64 {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("number of failed transactions: 0 "),
        "pgbench failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
        .expect("pgbench reports tps")
}

/// Calls per second of `pledge(conn, backer)` from `threads` threads for `duration`, each on a
/// connection of its own, backers counted up from `first_backer` and never given twice.
pub fn loop_rate(
    db: &Db,
    threads: usize,
    first_backer: usize,
    duration: Duration,
    pledge: impl Fn(&mut DbConn, i64) + Send + Sync + 'static,
) -> f64 {
    let pledge = Arc::new(pledge);
    let next = Arc::new(AtomicUsize::new(first_backer));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (db, next, stop, pledge) = (db.clone(), next.clone(), stop.clone(), pledge.clone());
            std::thread::spawn(move || {
                let mut conn = db.get_blocking().expect("connection");
                let mut done = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    pledge(&mut conn, next.fetch_add(1, Ordering::Relaxed) as i64);
                    done += 1;
                }
                done
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let done: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    done as f64 / start.elapsed().as_secs_f64()
}
