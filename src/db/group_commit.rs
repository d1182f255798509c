//! Group commit: writes that arrive while another is committing are combined into the next
//! transaction, each in a savepoint of its own.
//!
//! SQLite has one writer, and each transaction ends with a flush of its log to the disk: one
//! pledge per transaction, the pledges wait for each other's flushes. Combined, the pledges
//! that queued during one commit share the next, and their statements are calls in the
//! process, not round trips. On PostgreSQL the same batch would run its pledges one after the
//! other on one connection, four round trips each (savepoint, read, write, release), where
//! alone they run side by side on their own connections and meet only at the tier's and
//! campaign's locks: measured, grouping made a hot tier slower there (bench/RESULTS.md), so
//! each write runs alone. Combining them there takes statements over arrays of pledges.
//!
//! Every work keeps its own outcome: one that fails rolls back to its savepoint, and the others
//! go on; each is answered only after the commit that holds it. A batch whose commit fails is
//! retried split in halves, down to single works, so that one work's fault reaches only its
//! own request. A work alone in its batch runs as it would without grouping, written at once
//! if it can be ([`Work::at_once`]), or in a transaction of its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use diesel::connection::SimpleConnection;
use tokio::sync::oneshot;

use super::{Db, DbConn, RunError, write_transaction};

/// The most works one transaction carries: bounds how long a batch holds the writer.
pub const MAX_BATCH: usize = 64;

/// A unit of work that a group's transaction may carry. It may run more than once (a batch
/// retried in halves): everything it writes goes through `conn`.
pub trait Work<T, E>: Send + Sync {
    /// The work written at once, outside any transaction or in a savepoint of the batch, when
    /// it can be (one statement that is its own transaction); `None` when it wrote nothing and
    /// [`Work::run`] is to do it.
    fn at_once(&self, _conn: &mut DbConn) -> Result<Option<T>, E> {
        Ok(None)
    }

    /// The work inside the caller's transaction.
    fn run(&self, conn: &mut DbConn) -> Result<T, E>;
}

pub type Shared<T, E> = Arc<dyn Work<T, E>>;

struct Pending<T, E> {
    work: Shared<T, E>,
    reply: oneshot::Sender<Result<T, E>>,
}

/// The writes waiting for the next transaction.
pub struct GroupCommit<T, E> {
    /// Whether writes are combined (SQLite) or each runs alone (PostgreSQL).
    grouping: bool,
    /// `None` while no batch is committing; the works queued behind the one that is, otherwise.
    waiting: Mutex<Option<Vec<Pending<T, E>>>>,
    /// Transactions that carried more than one work, and the works they carried.
    grouped: (AtomicU64, AtomicU64),
}

impl<T, E> GroupCommit<T, E> {
    /// Combining writes on SQLite, one writer for the whole database; running each alone on
    /// PostgreSQL (see the module docs).
    pub fn for_backend(url: &super::DatabaseUrl) -> Self {
        Self {
            grouping: matches!(url, super::DatabaseUrl::Sqlite(_)),
            waiting: Mutex::new(None),
            grouped: Default::default(),
        }
    }

    /// (transactions that carried more than one work, works they carried), for the metrics.
    pub fn grouped(&self) -> (u64, u64) {
        (
            self.grouped.0.load(Ordering::Relaxed),
            self.grouped.1.load(Ordering::Relaxed),
        )
    }
}

impl<T, E> GroupCommit<T, E>
where
    T: Send + 'static,
    E: From<diesel::result::Error> + From<RunError> + Send + 'static,
{
    /// Runs `work` in the next transaction, and answers with its own outcome once that
    /// transaction has committed (or rolled its work back).
    pub async fn run(self: &Arc<Self>, db: &Db, work: Shared<T, E>) -> Result<T, E> {
        if !self.grouping {
            return db.run(move |conn| alone(conn, work.as_ref())).await;
        }
        let (reply, answer) = oneshot::channel();
        let pending = Pending { work, reply };
        let lead = {
            let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            match waiting.as_mut() {
                Some(queue) => {
                    queue.push(pending);
                    None
                }
                None => {
                    *waiting = Some(Vec::new());
                    Some(pending)
                }
            }
        };
        if let Some(first) = lead {
            // The batches are committed by a task of their own, so that this request is
            // answered with its batch, not after the batches that queued behind it.
            let (group_commit, db) = (Arc::clone(self), db.clone());
            tokio::spawn(async move { group_commit.lead(db, vec![first]).await });
        }
        answer.await.map_err(|_| E::from(RunError::Unanswered))?
    }

    async fn lead(self: Arc<Self>, db: Db, mut batch: Vec<Pending<T, E>>) {
        loop {
            if batch.len() > 1 {
                self.grouped.0.fetch_add(1, Ordering::Relaxed);
                self.grouped.1.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            let works: Vec<Shared<T, E>> = batch.iter().map(|p| Arc::clone(&p.work)).collect();
            let outcomes = db.run(move |conn| Ok::<_, E>(commit(conn, &works))).await;
            match outcomes {
                Ok(outcomes) => {
                    for (pending, outcome) in batch.into_iter().zip(outcomes) {
                        // A request that went away has no one to tell.
                        let _ = pending.reply.send(outcome);
                    }
                }
                Err(error) => {
                    // No connection for the batch, or its task failed: the first request hears
                    // why, the others that the batch could not run.
                    let mut batch = batch.into_iter();
                    if let Some(first) = batch.next() {
                        let _ = first.reply.send(Err(error));
                    }
                    for pending in batch {
                        let _ = pending.reply.send(Err(E::from(RunError::Batch)));
                    }
                }
            }
            let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            match waiting.as_mut() {
                Some(queue) if !queue.is_empty() => {
                    let take = queue.len().min(MAX_BATCH);
                    batch = queue.drain(..take).collect();
                }
                _ => {
                    *waiting = None;
                    return;
                }
            }
        }
    }
}

/// Commits `works` in one transaction, each in its savepoint; a failed commit is retried in
/// halves. One outcome per work, in order.
fn commit<T, E>(conn: &mut DbConn, works: &[Shared<T, E>]) -> Vec<Result<T, E>>
where
    E: From<diesel::result::Error>,
{
    if let [work] = works {
        return vec![alone(conn, work.as_ref())];
    }
    let outcomes = write_transaction(conn, |conn| {
        let mut outcomes = Vec::with_capacity(works.len());
        for work in works {
            outcomes.push(in_savepoint(conn, work.as_ref())?);
        }
        Ok::<_, diesel::result::Error>(outcomes)
    });
    match outcomes {
        Ok(outcomes) => outcomes,
        Err(_) => {
            let (first, second) = works.split_at(works.len() / 2);
            let mut outcomes = commit(conn, first);
            outcomes.extend(commit(conn, second));
            outcomes
        }
    }
}

/// A work by itself: at once if it can be, or in a transaction of its own.
fn alone<T, E>(conn: &mut DbConn, work: &dyn Work<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match work.at_once(conn)? {
        Some(done) => Ok(done),
        None => write_transaction(conn, |conn| work.run(conn)),
    }
}

/// A work inside the batch's transaction, undone alone if it fails. The outer `Err` is a
/// failure of the savepoint itself, which ends the batch's transaction.
fn in_savepoint<T, E>(
    conn: &mut DbConn,
    work: &dyn Work<T, E>,
) -> Result<Result<T, E>, diesel::result::Error> {
    conn.batch_execute("SAVEPOINT work")?;
    match work.at_once(conn) {
        Ok(Some(done)) => {
            conn.batch_execute("RELEASE SAVEPOINT work")?;
            return Ok(Ok(done));
        }
        Err(error) => {
            conn.batch_execute("ROLLBACK TO SAVEPOINT work; RELEASE SAVEPOINT work")?;
            return Ok(Err(error));
        }
        // Whatever it tried is undone before the usual way runs (a statement that failed
        // leaves PostgreSQL's transaction refusing every other until then).
        Ok(None) => conn.batch_execute("ROLLBACK TO SAVEPOINT work")?,
    }
    match work.run(conn) {
        Ok(done) => {
            conn.batch_execute("RELEASE SAVEPOINT work")?;
            Ok(Ok(done))
        }
        Err(error) => {
            conn.batch_execute("ROLLBACK TO SAVEPOINT work; RELEASE SAVEPOINT work")?;
            Ok(Err(error))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use diesel::connection::{Connection, SimpleConnection};
    use diesel::sqlite::SqliteConnection;
    use diesel::{QueryableByName, RunQueryDsl};

    use super::{Shared, Work, commit};
    use crate::db::DbConn;

    /// Inserts a child row of `parent`; fails after the insert when `fail` is set.
    struct Child {
        id: i64,
        parent: i64,
        fail: bool,
    }

    impl Work<i64, diesel::result::Error> for Child {
        fn run(&self, conn: &mut DbConn) -> Result<i64, diesel::result::Error> {
            conn.batch_execute(&format!(
                "INSERT INTO child (id, parent_id) VALUES ({}, {})",
                self.id, self.parent
            ))?;
            if self.fail {
                return Err(diesel::result::Error::RollbackTransaction);
            }
            Ok(self.id)
        }
    }

    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }

    fn database() -> DbConn {
        let mut conn = SqliteConnection::establish(":memory:").expect("in-memory SQLite");
        conn.batch_execute(
            "PRAGMA foreign_keys = ON; CREATE TABLE parent (id INTEGER PRIMARY KEY); \
             INSERT INTO parent VALUES (1); \
             CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL \
             REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
        )
        .expect("schema");
        DbConn::Sqlite(conn)
    }

    fn children(conn: &mut DbConn) -> Vec<i64> {
        diesel::sql_query("SELECT id FROM child ORDER BY id")
            .load::<Id>(conn)
            .expect("children")
            .into_iter()
            .map(|c| c.id)
            .collect()
    }

    fn works(children: &[(i64, i64, bool)]) -> Vec<Shared<i64, diesel::result::Error>> {
        children
            .iter()
            .map(|&(id, parent, fail)| Arc::new(Child { id, parent, fail }) as Shared<_, _>)
            .collect()
    }

    #[test]
    fn a_failed_work_is_undone_alone_and_the_others_commit() {
        let mut conn = database();
        let outcomes = commit(&mut conn, &works(&[(1, 1, false), (2, 1, true), (3, 1, false)]));
        let outcomes: Vec<bool> = outcomes.iter().map(Result::is_ok).collect();
        assert_eq!(outcomes, [true, false, true]);
        assert_eq!(children(&mut conn), [1, 3]);
    }

    #[test]
    fn a_batch_whose_commit_fails_is_retried_in_halves() {
        let mut conn = database();
        // The second child's parent does not exist: checked at the commit, which fails the
        // whole batch; in halves, only that child's transaction fails.
        let batch = works(&[(1, 1, false), (2, 9, false), (3, 1, false), (4, 1, false)]);
        let outcomes = commit(&mut conn, &batch);
        let outcomes: Vec<bool> = outcomes.iter().map(Result::is_ok).collect();
        assert_eq!(outcomes, [true, false, true, true]);
        assert_eq!(children(&mut conn), [1, 3, 4]);
    }
}
