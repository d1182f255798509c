//! Survey answers hold addresses: they are erased once nothing is left to ship to them —
//! `ADDRESS_RETENTION_DAYS` after the pledge is marked delivered, and, for a deleted account,
//! as soon as its pledges have nothing left to ship (at deletion, or when later delivered).

use chrono::{DateTime, Duration, Utc};

use crate::db::DbConn;
use crate::db::surveys;
use crate::domain::{CoreError, UserId};

/// Erases up to `limit` answers that are due; returns how many.
pub fn erase_due(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    retention: Duration,
    limit: i64,
) -> Result<usize, CoreError> {
    let due = surveys::erasable(conn, (now - retention).naive_utc(), None, limit)?;
    Ok(surveys::erase(conn, &due, now.naive_utc())?)
}

/// At an account's deletion: the answers of its pledges with nothing left to ship.
pub fn erase_for_backer(conn: &mut DbConn, backer: UserId, now: DateTime<Utc>) -> Result<usize, CoreError> {
    let due = surveys::erasable(conn, now.naive_utc(), Some(backer), i64::MAX)?;
    Ok(surveys::erase(conn, &due, now.naive_utc())?)
}
