//! Closing campaigns. Step 1 of a pass: live campaigns past their deadline become funded or
//! failed. A campaign also closes early: canceled by its creator or suspended by an admin.
//! Whichever way, [`close`] makes the transition, and a campaign that charges nobody has its
//! active pledges released in the same transaction.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::{Settlement, Summary, failed_on};
use crate::campaigns::{access, check_before_deadline, is_charged, lifecycle};
use crate::db::campaigns::{self, CampaignRow};
use crate::db::{DbConn, settlement, write_transaction};
use crate::domain::campaign::text;
use crate::domain::{Actor, CampaignId, CampaignStatus, CoreError, Refusal, Resource, UserId};
use crate::media::MediaLinks;
use crate::pledges;

/// Closes one batch; returns whether the batch was full (more may be waiting).
pub fn batch(
    run: &Settlement,
    conn: &mut DbConn,
    summary: &mut Summary,
    _deadline: Instant,
) -> Result<bool, CoreError> {
    let now = run.clock.now();
    let due = settlement::past_deadline(conn, now.naive_utc(), run.config.batch_size)?;
    for campaign in &due {
        let to = if is_charged(campaign) {
            CampaignStatus::Funded
        } else {
            CampaignStatus::Failed
        };
        let closed = write_transaction(conn, |conn| {
            settlement::freeze(conn, campaign.id, now.naive_utc())?;
            close(conn, &run.media.links, campaign, to, None, None, now)
        });
        match closed {
            Ok((_, released)) => {
                summary.pledges.released += released as u64;
                match to {
                    CampaignStatus::Funded => summary.campaigns.funded += 1,
                    _ => summary.campaigns.failed += 1,
                }
            }
            // Another run closed it first.
            Err(e) if e.refusal() == Some(&Refusal::Stale(Resource::Campaign)) => {}
            Err(e) => return Err(failed_on(format!("closing campaign {}", campaign.id))(e)),
        }
    }
    Ok(due.len() as i64 >= run.config.batch_size)
}

/// Moves `campaign` to the closed status `to`; if that status charges nobody (failed,
/// canceled, suspended), releases its active pledges. The transition comes first: it refuses
/// if someone closed the campaign meanwhile, and it queues the backers' emails while their
/// pledges are still active. Returns the campaign as it is now and how many pledges it
/// released.
pub fn close(
    conn: &mut DbConn,
    links: &MediaLinks,
    campaign: &CampaignRow,
    to: CampaignStatus,
    actor: Option<UserId>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(CampaignRow, usize), CoreError> {
    let closed = lifecycle::transition(conn, links, campaign, to, actor, reason, now)?;
    let released = if to.releases_pledges() {
        let why = match to {
            CampaignStatus::Canceled => "campaign canceled by its creator",
            CampaignStatus::Suspended => "campaign suspended",
            _ => "campaign failed",
        };
        pledges::lifecycle::release_all(conn, campaign.id, actor, why, now)?
    } else {
        0
    };
    Ok((closed, released))
}

/// The creator cancels their live campaign before its deadline: nobody is charged. Past the
/// deadline the outcome is settlement's (a creator could otherwise drop a funded campaign at
/// the last second); an admin's suspension still stops a fraudulent one then.
pub fn cancel(
    conn: &mut DbConn,
    links: &MediaLinks,
    id: CampaignId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<CampaignRow, CoreError> {
    let campaign = access::owned_by(campaigns::find(conn, id)?, actor)?;
    check_before_deadline(&campaign, now)?;
    Ok(close(
        conn,
        links,
        &campaign,
        CampaignStatus::Canceled,
        Some(actor.id),
        None,
        now,
    )?
    .0)
}

/// An admin suspends a live campaign, saying why (1–500 characters, kept in its event log):
/// nobody is charged.
pub fn suspend(
    conn: &mut DbConn,
    links: &MediaLinks,
    id: CampaignId,
    actor: &Actor,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<CampaignRow, CoreError> {
    if !actor.is_admin() {
        return Err(Refusal::forbidden("only admins can suspend campaigns").into());
    }
    let reason = text(reason, 1, 500, true).map_err(|m| Refusal::field("reason", m))?;
    let campaign = access::visible(campaigns::find(conn, id)?, Some(actor))?;
    Ok(close(
        conn,
        links,
        &campaign,
        CampaignStatus::Suspended,
        Some(actor.id),
        Some(&reason),
        now,
    )?
    .0)
}
