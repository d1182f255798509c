use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2;
use diesel::sqlite::SqliteConnection;

use super::checkpoint::Checkpointer;
use super::{DbConn, write_transaction};
use crate::domain::CoreError;

/// A validated `DATABASE_URL`: `sqlite://PATH` (or `sqlite:PATH`) or `postgres://...`.
///
/// `Debug` hides everything after the scheme: a PostgreSQL URL may carry a password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| "must start with sqlite:// or postgres://".to_owned())?;
        if path.is_empty() || path == ":memory:" {
            // Every pooled connection to `:memory:` would see its own empty database.
            return Err("needs a file path (sqlite://PATH); in-memory SQLite is not supported".into());
        }
        Ok(Self::Sqlite(path.to_owned()))
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{path}"),
            Self::Postgres(_) => f.write_str("postgres://[redacted]"),
        }
    }
}

/// Opens connections for r2d2, picking the backend from the URL scheme so that a failure
/// reports libpq's or SQLite's own message rather than MultiConnection's generic one.
#[derive(Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    statements: Arc<AtomicU64>,
    /// Whether SQLite connections checkpoint the log as their commits grow it (SQLite's
    /// default), or leave that to a [`Checkpointer`].
    autocheckpoint: bool,
}

/// Counts every statement sent to the database (each one a round trip), for `/metrics` and
/// for measuring what a request costs.
struct StatementCounter(Arc<AtomicU64>);

impl diesel::connection::Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        if let diesel::connection::InstrumentationEvent::StartQuery { .. } = event {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// How long a SQLite connection waits for a lock before giving up with SQLITE_BUSY.
pub(super) const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// How SQLite connections commit, but for markers (`super::marker_transaction`): each commit
/// syncs the log.
pub(super) const SQLITE_SYNCHRONOUS: &str = "PRAGMA synchronous = FULL";

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                conn.set_instrumentation(StatementCounter(self.statements.clone()));
                Ok(DbConn::Pg(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                // The busy timeout first, so that the other PRAGMAs wait for locks too. WAL lets
                // readers run beside the single writer; synchronous=FULL keeps a committed pledge
                // on disk through a power cut, not only a process crash.
                let mut setup = format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
                     {SQLITE_SYNCHRONOUS}; PRAGMA foreign_keys = ON;"
                );
                if !self.autocheckpoint {
                    setup.push_str(" PRAGMA wal_autocheckpoint = 0;");
                }
                // Switching a new database to WAL needs it to itself, and SQLite answers "locked"
                // at once rather than waiting: connections opened together (a new pool) retry.
                let give_up = Instant::now() + Duration::from_millis(u64::from(SQLITE_BUSY_TIMEOUT_MS));
                loop {
                    match conn.batch_execute(&setup) {
                        Ok(()) => break,
                        Err(diesel::result::Error::DatabaseError(_, info))
                            if info.message().contains("locked") && Instant::now() < give_up =>
                        {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(e) => return Err(diesel::ConnectionError::CouldntSetupConfiguration(e)),
                    }
                }
                conn.set_instrumentation(StatementCounter(self.statements.clone()));
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    /// diesel marks a connection whose server went away (or whose transaction failed to end)
    /// as broken; r2d2 then drops it instead of handing it out again.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        <<DbConn as Connection>::TransactionManager as TransactionManager<DbConn>>::is_broken_transaction_manager(conn)
    }
}

pub type DbPool = r2d2::Pool<ConnectionManager>;

/// Why [`Db::run`] could not run its function.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No connection within the pool's timeout: the database is down or every connection busy.
    #[error("no database connection: {0}")]
    NoConnection(r2d2::PoolError),
    /// The blocking task panicked or was cancelled.
    #[error("the blocking task failed: {0}")]
    Task(tokio::task::JoinError),
    /// A grouped write's batch could not run (`group_commit`); the first of its works was told
    /// why, the others get this.
    #[error("the write's batch could not run")]
    Batch,
    /// The task committing a grouped write ended without answering it.
    #[error("the write's batch ended without an answer")]
    Unanswered,
}

impl From<RunError> for CoreError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::NoConnection(_) | RunError::Batch => Self::Unavailable(e.into()),
            RunError::Task(_) | RunError::Unanswered => Self::Unexpected(e.into()),
        }
    }
}

/// The async face of the pool: every query runs on actix's blocking thread pool.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    statements: Arc<AtomicU64>,
    /// On SQLite when serving: stops when the last clone of this handle is dropped.
    checkpointer: Option<Arc<Checkpointer>>,
}

impl Db {
    /// Builds the pool and opens its first connection, so a wrong URL fails at start-up.
    /// SQLite connections checkpoint the log as SQLite does by default: fine for the command
    /// line, whose runs are short and keep nobody waiting on each write.
    pub fn connect(url: &DatabaseUrl, max_size: u32) -> anyhow::Result<Self> {
        Self::open(url, max_size, true)
    }

    /// [`Db::connect`] for serving many writers: on SQLite, the log is checkpointed by a thread
    /// of its own instead of inside the commit that fills it, which made every other writer
    /// wait (see [`super::checkpoint`]).
    pub fn connect_serving(url: &DatabaseUrl, max_size: u32) -> anyhow::Result<Self> {
        let mut db = Self::open(url, max_size, false)?;
        if let DatabaseUrl::Sqlite(path) = url {
            let checkpointer = Checkpointer::start(path)
                .map_err(|e| anyhow::anyhow!("cannot start checkpointing the sqlite log: {e}"))?;
            db.checkpointer = Some(Arc::new(checkpointer));
        }
        Ok(db)
    }

    fn open(url: &DatabaseUrl, max_size: u32, autocheckpoint: bool) -> anyhow::Result<Self> {
        let statements = Arc::new(AtomicU64::new(0));
        let pool = r2d2::Pool::builder()
            .max_size(max_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(5))
            // No `SELECT 1` before every checkout: it would add a round trip to every request.
            // A connection that died (database restart) fails its next query once, diesel marks
            // it broken and r2d2 discards it (`has_broken`); the pool then opens fresh ones.
            .test_on_check_out(false)
            .build(ConnectionManager {
                url: url.clone(),
                statements: statements.clone(),
                autocheckpoint,
            })
            .map_err(|e| anyhow::anyhow!("cannot connect to the {} database: {e}", url.backend()))?;
        Ok(Self {
            pool,
            statements,
            checkpointer: None,
        })
    }

    /// A connection, waiting for one: for start-up work, command-line tools and threads of
    /// their own, which may block.
    pub fn get_blocking(&self) -> Result<r2d2::PooledConnection<ConnectionManager>, RunError> {
        self.pool.get().map_err(RunError::NoConnection)
    }

    /// [`super::replan`] on each connection idle in the pool now (the caller's own, it replans
    /// itself). They are all held until the last is done, so none is taken twice; a request
    /// that needs one meanwhile waits a round trip or opens another.
    pub fn replan_idle(&self) -> diesel::QueryResult<()> {
        let mut held = Vec::new();
        while let Some(mut conn) = self.pool.try_get() {
            super::replan(&mut conn)?;
            held.push(conn);
        }
        Ok(())
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, so that diesel never
    /// blocks an async worker. Generic over the error: the core's, or the HTTP layer's.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<RunError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(RunError::NoConnection)?;
            f(&mut conn)
        })
        .await
        .map_err(RunError::Task)?
    }

    /// [`Db::run`] inside a [`write_transaction`]: a request's writes, committed together.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<RunError> + From<diesel::result::Error> + Send + 'static,
    {
        self.run(move |conn| write_transaction(conn, f)).await
    }

    /// (connections open, of which idle), for the metrics endpoint.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// Statements sent through this pool since it was opened (health checks included).
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    pub fn max_size(&self) -> u32 {
        self.pool.max_size()
    }
}

#[cfg(test)]
mod tests {
    use super::DatabaseUrl;

    #[test]
    fn parses_both_schemes_and_rejects_the_rest() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://crowdfund.db"),
            Ok(DatabaseUrl::Sqlite("crowdfund.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:/tmp/x.db"),
            Ok(DatabaseUrl::Sqlite("/tmp/x.db".into()))
        );
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u:p@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
        assert!(DatabaseUrl::parse("sqlite://:memory:").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    /// Connections opened at once on a new database, as a pool opens its first ones, wait for
    /// each other's locks (switching to WAL takes one) instead of failing at their first PRAGMA.
    #[test]
    fn sqlite_connections_opened_at_once_wait_for_each_other() {
        use diesel::connection::SimpleConnection;
        use diesel::r2d2::ManageConnection;

        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let manager = std::sync::Arc::new(super::ConnectionManager {
                url: DatabaseUrl::Sqlite(dir.path().join("new.db").display().to_string()),
                statements: Default::default(),
                autocheckpoint: true,
            });
            let opening: Vec<_> = (0..8)
                .map(|i| {
                    let manager = manager.clone();
                    std::thread::spawn(move || {
                        let mut conn = manager.connect().map_err(|e| format!("connect: {e}"))?;
                        conn.batch_execute(&format!(
                            "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS t (x INTEGER); \
                             INSERT INTO t VALUES ({i}); COMMIT;"
                        ))
                        .map_err(|e| format!("write: {e}"))
                    })
                })
                .collect();
            for thread in opening {
                let opened = thread.join().unwrap();
                assert!(opened.is_ok(), "round {round}: {:?}", opened.err());
            }
        }
    }

    #[test]
    fn debug_hides_postgres_credentials() {
        let url = DatabaseUrl::parse("postgres://user:hunter2@db/app").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
