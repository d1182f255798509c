//! Persistence: one diesel code base for SQLite (the embedded default) and PostgreSQL.
//!
//! Query functions take `&mut DbConn` so that callers can compose them inside one transaction;
//! [`Db`] is the async handle the HTTP layer uses, which runs those functions on the blocking
//! thread pool so that diesel never blocks an actix worker.

pub mod account_tokens;
pub mod addons;
pub mod campaign_events;
pub mod campaign_list;
pub mod campaign_search;
pub mod campaign_stats;
pub mod campaign_updates;
pub mod campaigns;
pub mod charge_attempts;
pub mod checkpoint;
pub mod comments;
pub mod follows;
pub mod fulfilment;
pub mod group_commit;
pub mod idempotency;
pub mod images;
pub mod ledger;
mod migrations;
pub mod outbox;
pub mod pledge_events;
pub mod pledge_statement;
pub mod pledges;
mod pool;
pub mod prepared;
pub mod reconcile;
pub mod recovery_codes;
pub mod referrals;
pub mod refresh_tokens;
pub mod schema;
pub mod settlement;
pub mod stripe;
pub mod surveys;
pub mod tiers;
pub mod users;
pub mod webhook_deliveries;
pub mod webhooks;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

pub use migrations::run_migrations;
pub use pool::{ConnectionManager, DatabaseUrl, Db, DbPool, RunError};

/// A connection to whichever backend `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs `f` in a transaction that may write.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`: a deferred transaction that reads
/// and then writes cannot wait for the write lock (`busy_timeout` does not cover the upgrade)
/// and fails with "database is locked" under concurrency. PostgreSQL uses a plain `BEGIN`
/// (READ COMMITTED); callers that need more take row locks or write conditional updates.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    transaction(conn, Durability::Synced, f)
}

/// [`write_transaction`] for a marker whose loss in a crash only makes a client repeat its
/// request: the commit is acknowledged before the log reaches the disk. On PostgreSQL that is
/// `synchronous_commit = off` for this transaction alone; on SQLite, `synchronous = NORMAL`
/// for its commit, the connection's `FULL` set again right after. Either log is written in
/// order and synced whole, so any later durable commit makes this one durable too; a crash
/// of the machine can lose it, never half of it, and a crash of the process loses nothing.
/// The marker saves a disk flush, a large part of a small transaction's time.
pub fn marker_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    transaction(conn, Durability::Marker, f)
}

/// Makes PostgreSQL plan this connection's statements again at their next use, its prepared
/// statements and its foreign-key checks alike (`DISCARD PLANS`; the statements themselves
/// stay prepared). PostgreSQL plans a statement once per connection after a few executions,
/// for the table sizes of that moment, and plans it again only after an `ANALYZE` of its
/// tables: a plan made while a table was nearly empty scans it whole for as long as the
/// connection lives, however large the table grows. A writer that grows tables from nearly
/// empty (settlement) calls this as they grow. SQLite plans by its indexes, not by table
/// sizes it has not been told (no `ANALYZE` is run): nothing to do.
pub fn replan(conn: &mut DbConn) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Pg(inner) => inner.batch_execute("DISCARD PLANS"),
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// Whether a commit waits for its log to reach the disk.
#[derive(Clone, Copy, PartialEq)]
enum Durability {
    Synced,
    Marker,
}

fn transaction<T, E, F>(conn: &mut DbConn, durability: Durability, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let _turn = matches!(conn, DbConn::Sqlite(_)).then(SqliteWriterTurn::take);
    // One statement each, so that a marker costs no round trip more on PostgreSQL. SQLite
    // refuses to change `synchronous` inside a transaction: it changes before the BEGIN, and
    // back after the end.
    let begin = match (&conn, durability) {
        (DbConn::Pg(_), Durability::Synced) => "BEGIN",
        (DbConn::Pg(_), Durability::Marker) => "BEGIN; SET LOCAL synchronous_commit TO OFF",
        (DbConn::Sqlite(_), Durability::Synced) => "BEGIN IMMEDIATE",
        (DbConn::Sqlite(_), Durability::Marker) => "PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE",
    };
    let resync = matches!(conn, DbConn::Sqlite(_)) && durability == Durability::Marker;
    let begun = match conn {
        DbConn::Pg(inner) => AnsiTransactionManager::begin_transaction_sql(inner, begin),
        DbConn::Sqlite(inner) => AnsiTransactionManager::begin_transaction_sql(inner, begin),
    };
    if let Err(e) = begun {
        if resync {
            // A BEGIN that failed after the PRAGMA must not leave the connection unsynced.
            let _ = conn.batch_execute(pool::SQLITE_SYNCHRONOUS);
        }
        return Err(e.into());
    }
    let result = match f(conn) {
        Ok(value) => <DbConn as Connection>::TransactionManager::commit_transaction(conn)
            .map(|()| value)
            .map_err(E::from),
        Err(e) => <DbConn as Connection>::TransactionManager::rollback_transaction(conn)
            .map_err(E::from)
            .and(Err(e)),
    };
    if resync {
        // After a failed commit or rollback, that error is the one to report.
        let resynced = conn.batch_execute(pool::SQLITE_SYNCHRONOUS);
        if result.is_ok() {
            resynced?;
        }
    }
    result
}

/// SQLite has one writer at a time, and its busy handler waits for the lock by sleeping (1, 2,
/// 5, … up to 100 ms between tries), which under contention adds tens of milliseconds to a
/// write and can starve one writer past the busy timeout. The write transactions of this
/// process therefore queue on a mutex and are handed the turn as the previous one commits;
/// another process writing the same file (the command line, a second instance) still meets
/// SQLite's own lock and busy timeout. One turn for the whole process, which serves one
/// database (tests that open many share it: their writes only take turns).
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

thread_local! {
    /// Whether this thread holds the turn. A nested write transaction (which SQLite refuses)
    /// must fail as before, not wait for itself.
    static HOLDS_SQLITE_TURN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

struct SqliteWriterTurn(Option<std::sync::MutexGuard<'static, ()>>);

impl SqliteWriterTurn {
    fn take() -> Self {
        if HOLDS_SQLITE_TURN.get() {
            return Self(None);
        }
        let guard = SQLITE_WRITER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        HOLDS_SQLITE_TURN.set(true);
        Self(Some(guard))
    }
}

impl Drop for SqliteWriterTurn {
    fn drop(&mut self) {
        if self.0.is_some() {
            HOLDS_SQLITE_TURN.set(false);
        }
    }
}

/// Runs the same diesel expression on whichever concrete connection `conn` holds, bound to `c`:
/// for what the MultiConnection cannot carry, such as multi-row inserts.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Raw SQL written with `?` placeholders, rewritten as `$1, $2, …` for PostgreSQL (the SQL passed
/// here has no other `?`). For the few statements the DSL cannot express through the
/// MultiConnection, such as `INSERT … ON CONFLICT DO NOTHING`.
pub fn for_backend(conn: &DbConn, sql: &str) -> String {
    match conn {
        DbConn::Sqlite(_) => sql.to_owned(),
        DbConn::Pg(_) => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;
    use diesel::connection::SimpleConnection;

    use super::*;

    fn sqlite_db(dir: &tempfile::TempDir, size: u32) -> Db {
        let url = DatabaseUrl::Sqlite(dir.path().join("turns.db").display().to_string());
        let db = Db::connect(&url, size).unwrap();
        db.get_blocking()
            .unwrap()
            .batch_execute("CREATE TABLE t (x INTEGER)")
            .unwrap();
        db
    }

    /// Writers of one process take turns: sixteen threads writing at once all succeed, and no
    /// write is lost.
    #[test]
    fn sqlite_writers_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_db(&dir, 16);
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let db = db.clone();
                std::thread::spawn(move || {
                    let mut conn = db.get_blocking().unwrap();
                    for _ in 0..50 {
                        write_transaction(&mut conn, |conn| conn.batch_execute("INSERT INTO t VALUES (1)"))
                            .unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let count: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM t")
            .get_result(&mut *db.get_blocking().unwrap())
            .unwrap();
        assert_eq!(count.n, 800);
    }

    /// `PRAGMA synchronous`: 2 is FULL (every commit syncs the log), 1 NORMAL.
    fn synchronous(conn: &mut DbConn) -> diesel::QueryResult<i32> {
        #[derive(diesel::QueryableByName)]
        struct Synchronous {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            synchronous: i32,
        }
        Ok(diesel::sql_query("PRAGMA synchronous")
            .get_result::<Synchronous>(conn)?
            .synchronous)
    }

    /// A marker commits without syncing SQLite's log, and leaves its connection syncing every
    /// commit again, whether it committed or failed; other transactions sync.
    #[test]
    fn a_sqlite_marker_alone_commits_without_a_sync() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_db(&dir, 1);
        let mut conn = db.get_blocking().unwrap();
        assert_eq!(synchronous(&mut conn).unwrap(), 2);
        let inside = marker_transaction(&mut conn, |c| {
            c.batch_execute("INSERT INTO t VALUES (1)")?;
            synchronous(c)
        });
        assert_eq!(inside.unwrap(), 1);
        assert_eq!(synchronous(&mut conn).unwrap(), 2);
        let failed = marker_transaction(&mut conn, |c| c.batch_execute("INSERT INTO missing VALUES (1)"));
        assert!(failed.is_err());
        assert_eq!(synchronous(&mut conn).unwrap(), 2);
        assert_eq!(write_transaction(&mut conn, synchronous).unwrap(), 2);
        let kept: i64 = diesel::sql_query("SELECT COUNT(*) AS n FROM t")
            .get_result::<Count>(&mut conn)
            .unwrap()
            .n;
        assert_eq!(kept, 1, "the marker's row is committed");
    }

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    /// A write transaction inside another on the same thread fails (SQLite's busy timeout), as
    /// it always did, rather than waiting for its own turn forever.
    #[test]
    fn a_nested_sqlite_write_transaction_fails_instead_of_waiting_for_itself() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_db(&dir, 2);
        let (mut outer, mut inner) = (db.get_blocking().unwrap(), db.get_blocking().unwrap());
        let nested = write_transaction(&mut outer, |_| {
            write_transaction(&mut inner, |conn| conn.batch_execute("INSERT INTO t VALUES (1)"))
        });
        assert!(nested.is_err());
    }
}
