//! Keeping the prepared statement of a write that runs on every request.
//!
//! diesel caches the prepared statement of most queries, but never of an `UPDATE`, of an
//! `INSERT` with optional values or of `sql_query`: their SQL may take many shapes, and an
//! unbounded set of shapes would grow the cache without limit. Uncached, each execution is
//! parsed and planned again, a large part of the pledge path's statement time
//! (bench/RESULTS.md, "Cost of one pledge").
//!
//! [`Prepared`] marks one such query as cacheable. The cache then keys it by its SQL text and
//! bind types, so a query whose text varies (an optional value rendered as `DEFAULT`) is
//! still right, one entry per shape. Only wrap queries whose shapes are few and fixed in code:
//! never a multi-row insert or anything whose SQL grows with the input.
//!
//! The mark holds only where diesel hands the query over by value, which it does to load rows
//! (`load`, `get_result`) but not to `execute`: that passes a reference, whose cacheability is
//! worked out again from the wrapped query, and the mark is lost. A prepared write therefore
//! returns a column (`RETURNING id`) and is run with `load`, `get_result` or [`Prepared::affected`].
//!
//! A kept statement must also stay valid. SQLite (3.53, bundled) compiles a `LIMIT` bound to
//! an integer as a constant, and marks the statement to be prepared again whenever that
//! parameter is bound, which diesel does on every execution: `.first()` (`LIMIT ?`) is parsed
//! and planned afresh each time, cache or not (bench/RESULTS.md). A lookup by a unique key (a primary key, a
//! `UNIQUE` constraint, `pledges_one_active_idx`) therefore runs with `get_result`, no `LIMIT`;
//! `first` stays where several rows may match, and a page's `LIMIT` is left bound.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::LoadQuery;
use diesel::{QueryResult, RunQueryDsl};

use super::DbConn;

/// A query whose prepared statement the connection keeps (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(Q);

/// `.prepared()` on a query with few, fixed SQL shapes.
pub trait PreparedDsl: Sized {
    fn prepared(self) -> Prepared<Self> {
        Prepared(self)
    }
}

impl<Q> PreparedDsl for Q {}

impl<Q> Prepared<Q> {
    /// Runs a write that returns one `BIGINT` per row it changed (`RETURNING id`); returns how
    /// many it changed, as `execute` would.
    pub fn affected<'q>(self, conn: &mut DbConn) -> QueryResult<usize>
    where
        Self: LoadQuery<'q, DbConn, i64>,
    {
        Ok(self.load::<i64>(conn)?.len())
    }
}

impl<Q, DB> QueryFragment<DB> for Prepared<Q>
where
    Q: QueryFragment<DB>,
    DB: Backend,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the cache keys the statement by its SQL text, which covers every shape.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Prepared<Q> {}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Connection, Instrumentation, InstrumentationEvent, SimpleConnection};
    use diesel::prelude::*;
    use diesel::sqlite::SqliteConnection;

    use super::PreparedDsl;
    use crate::db::DbConn;
    use crate::domain::{CampaignId, TierId, UserId};

    diesel::table! {
        counters (id) {
            id -> BigInt,
            n -> BigInt,
        }
    }

    /// Records the SQL of each statement the connection adds to its cache.
    struct Cached(Arc<Mutex<Vec<String>>>);

    impl Instrumentation for Cached {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                self.0.lock().expect("lock").push(sql.to_owned());
            }
        }
    }

    fn connection() -> (DbConn, Arc<Mutex<Vec<String>>>) {
        let mut conn = SqliteConnection::establish(":memory:").expect("in-memory SQLite");
        conn.batch_execute("CREATE TABLE counters (id INTEGER PRIMARY KEY, n BIGINT NOT NULL); INSERT INTO counters VALUES (1, 0);")
            .expect("schema");
        let cached = Arc::new(Mutex::new(Vec::new()));
        conn.set_instrumentation(Cached(cached.clone()));
        (DbConn::Sqlite(conn), cached)
    }

    fn bump(conn: &mut DbConn, prepared: bool) -> usize {
        let update = diesel::update(counters::table.find(1)).set(counters::n.eq(counters::n + 1));
        if prepared {
            update
                .returning(counters::id)
                .prepared()
                .affected(conn)
                .expect("update")
        } else {
            update.execute(conn).expect("update")
        }
    }

    #[test]
    fn a_prepared_update_is_cached_once_and_reused() {
        let (mut conn, cached) = connection();
        for _ in 0..3 {
            assert_eq!(bump(&mut conn, true), 1);
        }
        let cached = cached.lock().expect("lock");
        assert_eq!(cached.len(), 1, "cached: {cached:?}");
        assert!(cached[0].starts_with("UPDATE"), "cached: {cached:?}");
        drop(cached);
        let n: i64 = counters::table.select(counters::n).first(&mut conn).expect("n");
        assert_eq!(n, 3);
    }

    /// Records the SQL of every statement the connection runs.
    struct Statements(Arc<Mutex<Vec<String>>>);

    impl Instrumentation for Statements {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                self.0.lock().expect("lock").push(query.to_string());
            }
        }
    }

    #[test]
    fn the_pledge_paths_lookups_bind_no_limit() {
        let mut conn = SqliteConnection::establish(":memory:").expect("in-memory SQLite");
        let statements = Arc::new(Mutex::new(Vec::new()));
        conn.set_instrumentation(Statements(statements.clone()));
        let mut conn = DbConn::Sqlite(conn);
        crate::db::run_migrations(&mut conn).expect("migrations");
        statements.lock().expect("lock").clear();

        assert!(
            crate::db::campaigns::find(&mut conn, CampaignId(1))
                .expect("campaign")
                .is_none()
        );
        assert!(
            crate::db::pledges::active_for(&mut conn, CampaignId(1), UserId(2))
                .expect("pledge")
                .is_none()
        );
        assert!(
            crate::db::tiers::find(&mut conn, CampaignId(1), TierId(1))
                .expect("tier")
                .is_none()
        );
        assert!(
            crate::db::idempotency::find(&mut conn, UserId(2), "k")
                .expect("key")
                .is_none()
        );

        let statements = statements.lock().expect("lock");
        assert_eq!(statements.len(), 4, "{statements:?}");
        for sql in statements.iter() {
            assert!(
                !sql.contains("LIMIT"),
                "a bound LIMIT is prepared again on every run: {sql}"
            );
        }
    }

    #[test]
    fn diesel_alone_does_not_cache_an_update() {
        let (mut conn, cached) = connection();
        for _ in 0..3 {
            assert_eq!(bump(&mut conn, false), 1);
        }
        assert!(cached.lock().expect("lock").is_empty());
    }
}
