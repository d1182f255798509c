//! Persistence: one diesel code base for SQLite (the embedded default) and PostgreSQL.
//!
//! Query functions take `&mut DbConn` so that callers can compose them inside one transaction;
//! [`Db`] is the async handle the HTTP layer uses, which runs those functions on the blocking
//! thread pool so that diesel never blocks an actix worker.

pub mod campaign_events;
pub mod campaign_list;
pub mod campaign_stats;
pub mod campaign_updates;
pub mod campaigns;
pub mod charge_attempts;
pub mod idempotency;
pub mod ledger;
mod migrations;
pub mod outbox;
pub mod pledges;
mod pool;
pub mod refresh_tokens;
pub mod schema;
pub mod settlement;
pub mod stripe;
pub mod tiers;
pub mod users;

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

pub use migrations::run_migrations;
pub use pool::{ConnectionManager, DatabaseUrl, Db, DbPool};

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
    match conn {
        DbConn::Pg(_) => conn.transaction(f),
        DbConn::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            match f(conn) {
                Ok(value) => {
                    <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
                    Ok(value)
                }
                Err(e) => {
                    <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
                    Err(e)
                }
            }
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
