//! The reference pledge (`bench/reference/`): everything one pledge must write, as the database
//! alone does it, without the server. On PostgreSQL one statement per pledge (a data-modifying
//! CTE: one round trip, one commit) run by pgbench on a schema of its own; on SQLite the same
//! writes in one transaction per pledge, as calls from an in-process loop whose threads take
//! turns to write as the server's writers do.
//!
//! "Spread" pledges go to 150 campaigns at random, each with an unlimited tier; "hot" ones all
//! claim units of campaign 151's single limited tier.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crowdfund::db::{DatabaseUrl, Db, DbConn, write_transaction};
use diesel::RunQueryDsl;
use diesel::sql_types::{BigInt, Text};

pub const CAMPAIGNS: i64 = 150;
/// Units of the hot tier: more than every hot run together claims.
const HOT_QUANTITY: i64 = 100_000_000;

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/reference")
}

/// The reference schema and data in a database of their own, dropped at the end.
pub struct PgReference {
    admin: String,
    name: String,
    pub url: String,
}

impl PgReference {
    pub fn create(admin: &str) -> Self {
        let name = format!("crowdfund_reference_{}", std::process::id());
        let created = Command::new("psql")
            .args([admin, "-qc", &format!("CREATE DATABASE {name}")])
            .status()
            .expect("psql");
        assert!(created.success(), "cannot create {name}");
        let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
        let url = format!("{base}/{name}");
        let loaded = Command::new("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1"])
            .args(["-v", &format!("campaigns={CAMPAIGNS}")])
            .args(["-v", &format!("hot_quantity={HOT_QUANTITY}")])
            .arg("-f")
            .arg(dir().join("reference_pledge.sql"))
            .arg(&url)
            .output()
            .expect("psql");
        assert!(
            loaded.status.success(),
            "reference schema: {}",
            String::from_utf8_lossy(&loaded.stderr)
        );
        Self {
            admin: admin.to_owned(),
            name,
            url,
        }
    }

    /// pgbench's rate for the reference statement with `clients` connections. Each run's
    /// backers are its own (`base`), each client's distinct (`n`, `client_id`): drawn at random,
    /// as in the script first published, two of the hot tier's pledges share a backer after
    /// some 40 000 (the birthday bound of 10⁹) and the second one fails the one-active-pledge
    /// index; the work of a pledge is the same.
    pub fn rate(&self, pgbench: &str, clients: usize, hot: bool, duration: Duration) -> f64 {
        static RUN: AtomicUsize = AtomicUsize::new(0);
        let base = (RUN.fetch_add(1, Ordering::Relaxed) + 1) * 1_000_000_000;
        let (min, max) = if hot { (CAMPAIGNS + 1, 1) } else { (1, CAMPAIGNS) };
        let output = Command::new(pgbench)
            .args(["-n", "-M", "prepared"])
            .args(["-c", &clients.to_string(), "-j", &clients.min(2).to_string()])
            .args(["-T", &duration.as_secs().max(1).to_string()])
            .args(["-D", &format!("camp_min={min}"), "-D", &format!("camp_max={max}")])
            .args(["-D", "n=0", "-D", &format!("base={base}")])
            .arg("-f")
            .arg(dir().join("reference_pledge.pgbench"))
            .arg(&self.url)
            .output()
            .expect("run pgbench");
        super::support::tps(&output)
    }
}

impl Drop for PgReference {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                self.admin.as_str(),
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// The reference schema on SQLite, in `dir`: the same tables, SQLite's types.
pub struct SqliteReference {
    db: Db,
}

const SQLITE_SCHEMA: &[&str] = &[
    "CREATE TABLE campaigns (id INTEGER PRIMARY KEY, status TEXT NOT NULL DEFAULT 'live', \
     goal_minor BIGINT NOT NULL, pledged_minor BIGINT NOT NULL DEFAULT 0, \
     backer_count INTEGER NOT NULL DEFAULT 0, deadline TIMESTAMP NOT NULL)",
    "CREATE TABLE tiers (id INTEGER PRIMARY KEY, campaign_id BIGINT NOT NULL REFERENCES campaigns, \
     min_minor BIGINT NOT NULL, quantity INTEGER, claimed INTEGER NOT NULL DEFAULT 0, \
     CHECK (quantity IS NULL OR claimed <= quantity))",
    "CREATE TABLE pledges (id INTEGER PRIMARY KEY AUTOINCREMENT, campaign_id BIGINT NOT NULL REFERENCES campaigns, \
     backer_id BIGINT NOT NULL, tier_id BIGINT REFERENCES tiers, \
     amount_minor BIGINT NOT NULL CHECK (amount_minor > 0), status TEXT NOT NULL DEFAULT 'active', \
     payment_method TEXT NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    "CREATE UNIQUE INDEX pledges_one_active ON pledges (campaign_id, backer_id) WHERE status = 'active'",
    "CREATE TABLE pledge_events (id INTEGER PRIMARY KEY AUTOINCREMENT, pledge_id BIGINT NOT NULL REFERENCES pledges, \
     to_status TEXT NOT NULL, amount_minor BIGINT NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    "CREATE TABLE email_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, template TEXT NOT NULL, \
     recipient_id BIGINT NOT NULL, subject_id BIGINT NOT NULL, context TEXT NOT NULL, \
     created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, UNIQUE (template, recipient_id, subject_id))",
    "CREATE TABLE idempotency_keys (user_id BIGINT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, \
     status INTEGER NOT NULL, response TEXT NOT NULL, created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, \
     PRIMARY KEY (user_id, key))",
];

#[derive(diesel::QueryableByName)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    campaign_id: i64,
    #[diesel(sql_type = BigInt)]
    min_minor: i64,
}

#[derive(diesel::QueryableByName)]
struct Inserted {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

impl SqliteReference {
    pub fn create(dir: &Path) -> Self {
        let url = format!("sqlite://{}", dir.join("reference.db").display());
        let db = Db::connect_serving(&DatabaseUrl::parse(&url).expect("url"), 16).expect("connect");
        let mut conn = db.get_blocking().expect("connection");
        for statement in SQLITE_SCHEMA {
            diesel::sql_query(*statement).execute(&mut conn).expect("schema");
        }
        let n = CAMPAIGNS + 1;
        diesel::sql_query(format!(
            "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n}) \
             INSERT INTO campaigns (id, goal_minor, deadline) SELECT i, 10000000, '2099-01-01 00:00:00' FROM g"
        ))
        .execute(&mut conn)
        .expect("campaigns");
        diesel::sql_query(format!(
            "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n}) \
             INSERT INTO tiers (id, campaign_id, min_minor, quantity) \
             SELECT i, i, 500, CASE WHEN i = {n} THEN {HOT_QUANTITY} END FROM g"
        ))
        .execute(&mut conn)
        .expect("tiers");
        drop(conn);
        Self { db }
    }

    /// One pledge's writes, in one transaction: nothing is written when the campaign is not
    /// live or the tier is sold out.
    fn pledge(conn: &mut DbConn, campaign: i64, backer: i64) {
        use crowdfund::db::prepared::PreparedDsl;
        write_transaction(conn, |conn| {
            let tier: Option<Claimed> = diesel::sql_query(
                "UPDATE tiers SET claimed = claimed + 1 WHERE id = ? \
                 AND (quantity IS NULL OR claimed < quantity) \
                 AND EXISTS (SELECT 1 FROM campaigns WHERE id = tiers.campaign_id AND status = 'live' \
                 AND deadline > CURRENT_TIMESTAMP) RETURNING campaign_id, min_minor",
            )
            .bind::<BigInt, _>(campaign)
            .prepared()
            .get_result(conn)
            .map(Some)
            .or_else(|e| if e == diesel::result::Error::NotFound { Ok(None) } else { Err(e) })?;
            let Some(tier) = tier else {
                return Ok(());
            };
            let amount = tier.min_minor + 501;
            let pledge: Inserted = diesel::sql_query(
                "INSERT INTO pledges (campaign_id, backer_id, tier_id, amount_minor, payment_method) \
                 VALUES (?, ?, ?, ?, 'pm_card_visa') RETURNING id",
            )
            .bind::<BigInt, _>(tier.campaign_id)
            .bind::<BigInt, _>(backer)
            .bind::<BigInt, _>(campaign)
            .bind::<BigInt, _>(amount)
            .prepared()
            .get_result(conn)?;
            diesel::sql_query("INSERT INTO pledge_events (pledge_id, to_status, amount_minor) VALUES (?, 'active', ?)")
                .bind::<BigInt, _>(pledge.id)
                .bind::<BigInt, _>(amount)
                .prepared()
                .execute(conn)?;
            diesel::sql_query(
                "INSERT INTO email_outbox (template, recipient_id, subject_id, context) \
                 VALUES ('pledge_confirmed', ?, ?, '{\"amount_minor\":' || ? || '}')",
            )
            .bind::<BigInt, _>(backer)
            .bind::<BigInt, _>(pledge.id)
            .bind::<BigInt, _>(amount)
            .prepared()
            .execute(conn)?;
            diesel::sql_query(
                "UPDATE campaigns SET pledged_minor = pledged_minor + ?, backer_count = backer_count + 1 WHERE id = ?",
            )
            .bind::<BigInt, _>(amount)
            .bind::<BigInt, _>(tier.campaign_id)
            .prepared()
            .execute(conn)?;
            diesel::sql_query(
                "INSERT INTO idempotency_keys (user_id, key, request_hash, status, response) \
                 VALUES (?, ?, ?, 201, '{\"id\":' || ? || ',\"status\":\"active\"}')",
            )
            .bind::<BigInt, _>(backer)
            .bind::<Text, _>(format!("k-{backer}-{}", tier.campaign_id))
            .bind::<Text, _>(format!("k-{backer}"))
            .bind::<BigInt, _>(pledge.id)
            .prepared()
            .execute(conn)?;
            Ok::<_, diesel::result::Error>(())
        })
        .expect("the reference pledge");
    }

    /// Pledges per second from `threads` threads for `duration`.
    pub fn rate(&self, threads: usize, hot: bool, duration: Duration) -> f64 {
        static BACKER: AtomicUsize = AtomicUsize::new(1);
        // Each run's backers are its own: the reference's tables keep every run's pledges.
        let first = BACKER.fetch_add(1_000_000_000, Ordering::Relaxed);
        super::support::loop_rate(&self.db, threads, first, duration, move |conn, backer| {
            let campaign = if hot {
                CAMPAIGNS + 1
            } else {
                1 + backer % CAMPAIGNS
            };
            Self::pledge(conn, campaign, backer);
        })
    }
}
