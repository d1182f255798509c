//! SQLite's write-ahead log, checkpointed off the request path.
//!
//! By default the commit that takes the log past 1 000 pages copies the log back into the
//! database file and syncs it inside its `COMMIT`, and here it would do so holding the
//! writers' turn ([`super::SqliteWriterTurn`]), so every other pledge waited for the copy. The
//! server's connections therefore turn the automatic checkpoint off, and one thread of its own
//! checkpoints every [`INTERVAL`]: first beside the writers (`PASSIVE`: it copies what is
//! committed and blocks nobody), and, when the log is past [`TAKE_TURN_AT`] pages, once more in
//! the writers' turn. That second copy is what bounds the log: SQLite starts the log again only
//! when a writer begins on a log copied whole, which writers that follow one another without a
//! pause never do, and in the writers' turn nobody appends (the README's Architecture section
//! and bench/RESULTS.md tell what was measured). Other processes on the same file (the command
//! line) keep SQLite's automatic checkpoint.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Integer;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl};

use super::SqliteWriterTurn;

/// How often the thread checkpoints.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// Log pages past which a checkpoint finishes in the writers' turn: SQLite's own threshold for
/// its automatic checkpoint.
pub const TAKE_TURN_AT: i32 = 1_000;

/// What `PRAGMA wal_checkpoint` answers.
#[derive(Debug, QueryableByName)]
struct Checkpoint {
    /// 1 when a reader or writer kept it from finishing.
    #[diesel(sql_type = Integer)]
    busy: i32,
    /// Pages in the log.
    #[diesel(sql_type = Integer)]
    log: i32,
    /// Of those, pages now copied into the database file.
    #[diesel(sql_type = Integer)]
    checkpointed: i32,
}

fn checkpoint(conn: &mut SqliteConnection) -> diesel::QueryResult<Checkpoint> {
    diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(conn)
}

/// One round: beside the writers, then, if the log is long, in their turn, even when the copy
/// beside them was whole: a writer may have been writing meanwhile (see the module docs).
/// Returns the last checkpoint's answer.
fn round(conn: &mut SqliteConnection) -> diesel::QueryResult<Checkpoint> {
    let beside = checkpoint(conn)?;
    if beside.log < TAKE_TURN_AT {
        return Ok(beside);
    }
    let _turn = SqliteWriterTurn::take();
    checkpoint(conn)
}

/// The checkpointing thread; stopped (after a last round) and joined when dropped.
#[derive(Debug)]
pub struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a connection of its own to `path` and starts checkpointing.
    pub fn start(path: &str) -> Result<Self, diesel::ConnectionError> {
        let mut conn = SqliteConnection::establish(path)?;
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {};",
            super::pool::SQLITE_BUSY_TIMEOUT_MS
        ))
        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(INTERVAL),
                        Err(mpsc::RecvTimeoutError::Timeout)
                    );
                    match round(&mut conn) {
                        // A reader still on an older page of the log kept it from copying
                        // every page; the next round copies the rest.
                        Ok(done) if done.busy != 0 || done.checkpointed < done.log => {
                            tracing::debug!(?done, "checkpoint could not copy every page")
                        }
                        Ok(_) => {}
                        // Another process's checkpoint is running (PASSIVE does not wait for it).
                        Err(error) if error.to_string().contains("locked") => {
                            tracing::debug!(%error, "checkpoint skipped")
                        }
                        Err(error) => tracing::warn!(%error, "checkpoint failed"),
                    }
                    if last {
                        break;
                    }
                }
            })
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::db::{DbConn, write_transaction};

    /// A database in WAL mode without the automatic checkpoint, as the server's connections
    /// have it, and a connection for checkpoints.
    fn open(dir: &tempfile::TempDir) -> (String, DbConn, SqliteConnection) {
        let path = dir.path().join("c.db").display().to_string();
        let mut writer = DbConn::Sqlite(SqliteConnection::establish(&path).unwrap());
        writer
            .batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; PRAGMA synchronous = OFF; \
                 CREATE TABLE t (x BLOB);",
            )
            .unwrap();
        let checkpoints = SqliteConnection::establish(&path).unwrap();
        (path, writer, checkpoints)
    }

    /// Commits of about one page each.
    fn write(writer: &mut DbConn, commits: usize) {
        for _ in 0..commits {
            write_transaction(writer, |c| {
                c.batch_execute("INSERT INTO t VALUES (zeroblob(3000))")
            })
            .unwrap();
        }
    }

    /// Pages in the log now, read without copying any (nothing to copy right after a round).
    fn log_pages(conn: &mut SqliteConnection) -> i32 {
        checkpoint(conn).unwrap().log
    }

    /// A long log is copied whole, and the next commit starts it again from the beginning:
    /// without the automatic checkpoint, that is what keeps it from growing without end.
    #[test]
    fn a_round_copies_a_long_log_whole_and_writers_start_it_again() {
        let dir = tempfile::tempdir().unwrap();
        let (_, mut writer, mut conn) = open(&dir);
        write(&mut writer, 2 * TAKE_TURN_AT as usize);
        let done = round(&mut conn).unwrap();
        assert!(done.log >= 2 * TAKE_TURN_AT, "{done:?}");
        assert_eq!(done.checkpointed, done.log, "{done:?}");
        write(&mut writer, 1);
        let log = log_pages(&mut conn);
        assert!(log < 10, "the log kept {log} pages after a full checkpoint");
    }

    /// The case that grew the log without end: a writer is writing while the round copies the
    /// log beside it, and commits after the copy. The log must still start again at the next
    /// writer, however the commits follow each other.
    #[test]
    fn the_log_starts_again_after_a_writer_commits_behind_the_copy() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut writer, mut conn) = open(&dir);
        write(&mut writer, 2 * TAKE_TURN_AT as usize);
        let (writing, written) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        let during = std::thread::spawn(move || {
            let mut other = DbConn::Sqlite(SqliteConnection::establish(&path).unwrap());
            other.batch_execute("PRAGMA wal_autocheckpoint = 0").unwrap();
            write_transaction(&mut other, |c| {
                c.batch_execute("INSERT INTO t VALUES (zeroblob(3000))")?;
                writing.0.send(()).unwrap();
                written.1.recv().unwrap();
                Ok::<_, diesel::result::Error>(())
            })
            .unwrap();
        });
        writing.1.recv().unwrap();
        let round = std::thread::spawn(move || {
            let done = round(&mut conn);
            (conn, done)
        });
        // Long enough for the round's copy beside the writer to finish before the writer
        // commits. The round then waits for the writers' turn; had it returned there, the
        // writer's commit would leave the log unfinished, and it would only grow.
        std::thread::sleep(Duration::from_millis(200));
        written.0.send(()).unwrap();
        during.join().unwrap();
        let (mut conn, done) = round.join().unwrap();
        let done = done.unwrap();
        assert_eq!(done.checkpointed, done.log, "{done:?}");
        write(&mut writer, 1);
        let log = log_pages(&mut conn);
        assert!(log < 10, "the log kept {log} pages after a round");
    }

    /// The thread checkpoints beside a writer until it is dropped, and runs a last round then,
    /// after which the log starts again.
    #[test]
    fn the_thread_checkpoints_beside_writers_and_finishes_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut writer, mut conn) = open(&dir);
        let checkpointer = Checkpointer::start(&path).unwrap();
        for _ in 0..3 {
            write(&mut writer, TAKE_TURN_AT as usize);
            std::thread::sleep(INTERVAL);
        }
        drop(checkpointer);
        write(&mut writer, 1);
        let log = log_pages(&mut conn);
        assert!(log < 10, "the log kept {log} pages after the last round");
    }
}
