//! Step 0: creators of live campaigns with less than 48 hours left are told so, once, and so are
//! the campaign's followers who have not backed it. A campaign
//! that ran for two days or less was never more than 48 hours from its end, so it is skipped.

use std::time::Instant;

use super::{ENDING_NOTICE, Settlement, Summary, failed_on};
use crate::db::{DbConn, settlement, write_transaction};
use crate::domain::CoreError;
use crate::mail::queue;

pub fn batch(
    run: &Settlement,
    conn: &mut DbConn,
    summary: &mut Summary,
    _deadline: Instant,
) -> Result<bool, CoreError> {
    let now = run.clock.now();
    let due = settlement::ending_soon(
        conn,
        now.naive_utc(),
        (now + ENDING_NOTICE).naive_utc(),
        run.config.batch_size,
    )?;
    for campaign in &due {
        write_transaction(conn, |conn| {
            // Conditional: of two concurrent runs, one sends it.
            if settlement::mark_ending_noticed(conn, campaign.id, now.naive_utc())? {
                queue::campaign_ending(conn, campaign, now)?;
                queue::community::campaign_ending_followed(conn, campaign, now)?;
                summary.campaigns.reminded += 1;
            }
            Ok::<_, CoreError>(())
        })
        .map_err(failed_on(format!(
            "reminding the creator of campaign {}",
            campaign.id
        )))?;
    }
    Ok(due.len() as i64 >= run.config.batch_size)
}
