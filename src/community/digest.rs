//! The creator's daily digest: once a UTC day is over, each campaign whose backers commented
//! that day (or since the last digest) sends its creator one email with how many and the
//! newest few. Run by the settlement pass; the day in the subject makes it once per day.

use chrono::{DateTime, NaiveTime, Utc};

use crate::db::DbConn;
use crate::db::campaigns;
use crate::db::comments;
use crate::domain::CoreError;
use crate::mail::queue::community as mail;

/// Comments quoted in a digest.
const EXCERPTS: i64 = 5;

/// Queues the digests due at `now`, at most `limit`; returns how many.
pub fn queue_due(conn: &mut DbConn, now: DateTime<Utc>, limit: i64) -> Result<usize, CoreError> {
    let cutoff = now.date_naive().and_time(NaiveTime::MIN);
    let due = comments::undigested(conn, cutoff, limit)?;
    for (campaign_id, count) in &due {
        let newest = comments::newest_undigested(conn, *campaign_id, cutoff, EXCERPTS)?;
        if let Some(campaign) = campaigns::find(conn, *campaign_id)? {
            mail::comments_digest(conn, &campaign, *count, &newest, cutoff, now)?;
        }
        comments::digested(conn, *campaign_id, cutoff)?;
    }
    Ok(due.len())
}
