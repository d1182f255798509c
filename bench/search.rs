// A measuring harness, like the tests: a failed step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Campaign search at catalogue scale, through the listing's own query code.
//!
//!   cargo bench --bench search                    # SQLite and PostgreSQL, 1 000 000 campaigns
//!   cargo bench --bench search -- postgres        # one backend
//!   SEARCH_CAMPAIGNS=100000 cargo bench --bench search
//!   PG_ADMIN_URL=postgres://... cargo bench --bench search
//!
//! Seeds a fresh database (the migrations applied, then `SEARCH_CAMPAIGNS` campaigns, half of
//! them live, the rest finished). Titles have 3 words and blurbs 10, drawn from a vocabulary of
//! 13 824 made-up words (three syllables each) by a Zipf law (the word of rank r is drawn in
//! proportion to 1/r, as in natural text), so a few words are in most campaigns and most words
//! in a few hundred. Then times `campaign_list::public` (the ranked ids and their rows, as
//! `GET /campaigns?q=` runs it) for 200 queries of each kind, one at a time on one connection:
//!
//! - **vocabulary**: one or two words, each drawn uniformly from the vocabulary (a search for
//!   a particular thing);
//! - **from a title**: two of the three words of a seeded campaign's title, which it matches
//!   (a search for a campaign one has heard of);
//! - **as written**: one or two words drawn by the same law as the text (mostly common words:
//!   the searches that match the most campaigns);
//!
//! by relevance (the default with `q`) and, for one-word queries, by newest. Prints a Markdown
//! table (p50, p99 and the most, and the median number of matches) and each backend's plan of
//! the relevance query for a one-word and a two-word query.

use std::time::{Duration, Instant};

use crowdfund::db::campaign_list::{self, PublicFilter, Sort};
use crowdfund::db::{DatabaseUrl, Db, DbConn, campaign_search, marker_transaction};
use crowdfund::domain::CampaignStatus;
use crowdfund::domain::search::SearchQuery;
use diesel::RunQueryDsl;
use diesel::sql_types::{BigInt, Text};

#[path = "support.rs"]
#[allow(dead_code)]
mod support;

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "fi", "gu", "ha", "je", "ly", "bo",
    "cu", "wa", "xe", "qi", "mo", "tu", "re",
];
const QUERIES: usize = 200;

fn word(rank: usize) -> String {
    let n = SYLLABLES.len();
    format!(
        "{}{}{}",
        SYLLABLES[rank / (n * n) % n],
        SYLLABLES[rank / n % n],
        SYLLABLES[rank % n]
    )
}

fn vocabulary() -> usize {
    SYLLABLES.len().pow(3)
}

/// xorshift64*: the same text and queries on every run and backend.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Word ranks drawn with probability ∝ 1/(rank + 1).
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|r| {
                total += 1.0 / (r as f64 + 1.0);
                total
            })
            .collect();
        Self { cumulative }
    }

    fn draw(&self, rng: &mut Rng) -> usize {
        let total = *self.cumulative.last().unwrap();
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        self.cumulative.partition_point(|&c| c < x)
    }

    fn words(&self, rng: &mut Rng, n: usize) -> String {
        (0..n).map(|_| word(self.draw(rng))).collect::<Vec<_>>().join(" ")
    }
}

fn exec(conn: &mut DbConn, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .unwrap_or_else(|e| panic!("{}: {e}", &sql[..sql.len().min(200)]));
}

const STATUSES: [&str; 4] = ["successful", "failed", "canceled", "successful"];

/// Seeds the campaigns; returns the titles of `QUERIES` of them, evenly spaced.
fn seed(conn: &mut DbConn, campaigns: usize) -> Vec<String> {
    let mut titles = Vec::with_capacity(QUERIES);
    let every = (campaigns / QUERIES).max(1);
    exec(
        conn,
        "INSERT INTO users (email, display_name, password_hash, role, created_at, updated_at) \
         VALUES ('creator@bench.example', 'Creator', 'x', 'user', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    );
    let zipf = Zipf::new(vocabulary());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    for chunk in (0..campaigns).collect::<Vec<_>>().chunks(1000) {
        let values: Vec<String> = chunk
            .iter()
            .map(|&i| {
                let status = if i % 2 == 0 { "live" } else { STATUSES[i / 2 % 4] };
                let minutes = i % 500_000;
                let title = zipf.words(&mut rng, 3);
                if i % every == 0 && titles.len() < QUERIES {
                    titles.push(title.clone());
                }
                format!(
                    "(1, 'c-{i}', '{}', '{}', 'Description', 'games', 'USD', 100000, 30, '{status}', \
                     '2026-01-01 00:00:00', '2026-02-01 00:00:00', {p}, 3, {p}, 3, \
                     '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                    title,
                    zipf.words(&mut rng, 10),
                    p = minutes * 10,
                )
            })
            .collect();
        marker_transaction(conn, |conn| {
            exec(
                conn,
                &format!(
                    "INSERT INTO campaigns (owner_id, slug, title, blurb, description, category, currency, \
                     goal_minor, duration_days, status, launched_at, deadline, pledged_minor, backer_count, \
                     ranked_pledged_minor, ranked_backer_count, created_at, updated_at) VALUES {}",
                    values.join(", ")
                ),
            );
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    }
    // What autovacuum would have done by now (this machine's PostgreSQL runs without it): fresh
    // statistics, and the GIN index's pending entries merged into it.
    exec(
        conn,
        if matches!(conn, DbConn::Pg(_)) {
            "VACUUM ANALYZE"
        } else {
            "ANALYZE"
        },
    );
    eprintln!("seeded {campaigns} campaigns in {:.0?}", started.elapsed());
    titles
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn matches(conn: &mut DbConn, query: &SearchQuery) -> i64 {
    let sql = match conn {
        DbConn::Sqlite(_) => "SELECT COUNT(*) AS n FROM campaigns_fts WHERE campaigns_fts MATCH ?",
        DbConn::Pg(_) => {
            "SELECT COUNT(*) AS n FROM campaign_search WHERE document @@ to_tsquery('simple', $1)"
        }
    };
    let term = campaign_search::term(conn, query);
    diesel::sql_query(sql)
        .bind::<Text, _>(term)
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

struct Timing {
    p50: Duration,
    p99: Duration,
    max: Duration,
    matches: i64,
}

fn time(conn: &mut DbConn, queries: &[String], sort: Sort) -> Timing {
    let mut latencies = Vec::with_capacity(queries.len());
    let mut counts = Vec::with_capacity(queries.len());
    for text in queries {
        let query = SearchQuery::parse(text).unwrap();
        let started = Instant::now();
        let rows = campaign_list::public(
            conn,
            &PublicFilter {
                status: CampaignStatus::Live,
                category: None,
                text: Some(&query),
                sort,
                after: None,
                limit: 21,
            },
        )
        .unwrap();
        latencies.push(started.elapsed());
        let n = matches(conn, &query);
        assert!(
            rows.len() as i64 <= n,
            "{text}: {} rows of {n} matches",
            rows.len()
        );
        counts.push(n);
    }
    latencies.sort();
    counts.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    Timing {
        p50: at(0.5),
        p99: at(0.99),
        max: *latencies.last().unwrap(),
        matches: counts[counts.len() / 2],
    }
}

#[derive(diesel::QueryableByName)]
struct PgPlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

#[derive(diesel::QueryableByName)]
struct SqlitePlanLine {
    #[diesel(sql_type = Text)]
    detail: String,
}

fn plan(conn: &mut DbConn, text: &str) -> String {
    let query = SearchQuery::parse(text).unwrap();
    let sql = campaign_search::relevance_sql(conn, false, false);
    let term = campaign_search::term(conn, &query);
    let lines: Vec<String> = match conn {
        DbConn::Pg(_) => diesel::sql_query(format!("EXPLAIN (ANALYZE, COSTS OFF) {sql}"))
            .bind::<Text, _>(term)
            .bind::<Text, _>("live")
            .bind::<BigInt, _>(21)
            .load::<PgPlanLine>(conn)
            .unwrap()
            .into_iter()
            .map(|l| l.line)
            .collect(),
        DbConn::Sqlite(_) => diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .bind::<Text, _>(term)
            .bind::<Text, _>("live")
            .bind::<BigInt, _>(21)
            .load::<SqlitePlanLine>(conn)
            .unwrap()
            .into_iter()
            .map(|l| l.detail)
            .collect(),
    };
    format!(
        "`q={text}` ({} matches):\n\n```\n{}\n```\n",
        matches(conn, &query),
        lines.join("\n")
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn run(name: &str, campaigns: usize, rows: &mut Vec<String>, plans: &mut Vec<String>) {
    let backend = support::backend(name);
    let url = DatabaseUrl::parse(&backend.url).unwrap();
    let db = Db::connect_serving(&url, 2).unwrap();
    let mut conn = db.get_blocking().unwrap();
    crowdfund::db::run_migrations(&mut conn).unwrap();
    let titles = seed(&mut conn, campaigns);
    let zipf = Zipf::new(vocabulary());
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let uniform = |rng: &mut Rng, n: usize| {
        (0..n)
            .map(|_| word(rng.below(vocabulary())))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let sets: Vec<(&str, Vec<String>)> = vec![
        (
            "vocabulary, 1 word",
            (0..QUERIES).map(|_| uniform(&mut rng, 1)).collect(),
        ),
        (
            "vocabulary, 2 words",
            (0..QUERIES).map(|_| uniform(&mut rng, 2)).collect(),
        ),
        (
            "from a title, 2 words",
            titles
                .iter()
                .map(|t| {
                    let words: Vec<&str> = t.split(' ').collect();
                    let skip = rng.below(words.len());
                    let pair: Vec<&str> = (0..words.len())
                        .filter(|&i| i != skip)
                        .map(|i| words[i])
                        .collect();
                    pair.join(" ")
                })
                .collect(),
        ),
        (
            "as written, 1 word",
            (0..QUERIES).map(|_| zipf.words(&mut rng, 1)).collect(),
        ),
        (
            "as written, 2 words",
            (0..QUERIES).map(|_| zipf.words(&mut rng, 2)).collect(),
        ),
    ];
    for (what, queries) in &sets {
        for sort in [Sort::Relevance, Sort::Newest] {
            if sort == Sort::Newest && what.ends_with("2 words") {
                continue;
            }
            let t = time(&mut conn, queries, sort);
            rows.push(format!(
                "| {name} | {what} | {} | {} | {} | {} | {} |",
                if sort == Sort::Relevance {
                    "relevance"
                } else {
                    "newest"
                },
                ms(t.p50),
                ms(t.p99),
                ms(t.max),
                t.matches
            ));
        }
    }
    plans.push(format!("### {name}\n"));
    plans.push(plan(&mut conn, &uniform(&mut rng, 1)));
    plans.push(plan(&mut conn, &uniform(&mut rng, 2)));
    plans.push(plan(&mut conn, &word(0)));
}

fn main() {
    let campaigns = std::env::var("SEARCH_CAMPAIGNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let mut rows = Vec::new();
    let mut plans = Vec::new();
    for name in ["sqlite", "postgres"] {
        if only.is_empty() || only.iter().any(|o| o == name) {
            run(name, campaigns, &mut rows, &mut plans);
        }
    }
    println!("{campaigns} campaigns, 200 queries per row, one at a time; milliseconds.\n");
    println!("| backend | queries | sort | p50 | p99 | most | matches (median) |");
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    println!();
    for plan in plans {
        println!("{plan}");
    }
}
