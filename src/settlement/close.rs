//! Step 1: live campaigns past their deadline become funded or failed.

use std::time::Instant;

use super::{Settlement, Summary};
use crate::campaigns::lifecycle;
use crate::db::{DbConn, settlement, write_transaction};
use crate::domain::CampaignStatus;
use crate::error::ApiError;

/// Closes one batch; returns whether the batch was full (more may be waiting).
pub fn batch(
    run: &Settlement,
    conn: &mut DbConn,
    summary: &mut Summary,
    _deadline: Instant,
) -> anyhow::Result<bool> {
    let now = run.clock.now();
    let due = settlement::past_deadline(conn, now.naive_utc(), run.config.batch_size)?;
    for campaign in &due {
        let funded = campaign
            .goal_minor
            .is_some_and(|goal| campaign.pledged_minor >= goal);
        let to = if funded {
            CampaignStatus::Funded
        } else {
            CampaignStatus::Failed
        };
        let closed = write_transaction(conn, |conn| {
            settlement::freeze(conn, campaign.id, now.naive_utc())?;
            // The transition first: it refuses if another run closed the campaign, and it
            // queues the backers' emails while their pledges are still active.
            lifecycle::transition(conn, campaign, to, None, None, now)?;
            let released = if funded {
                0
            } else {
                crate::pledges::service::release_all(conn, campaign.id, None, "campaign failed", now)?
            };
            Ok::<_, ApiError>(released)
        });
        match closed {
            Ok(released) => {
                summary.pledges.released += released as u64;
                if funded {
                    summary.campaigns.funded += 1;
                } else {
                    summary.campaigns.failed += 1;
                }
            }
            // Another run closed it first.
            Err(ApiError::Conflict(_)) => {}
            Err(e) => return Err(anyhow::anyhow!("closing campaign {}: {e:?}", campaign.id)),
        }
    }
    Ok(due.len() as i64 >= run.config.batch_size)
}
