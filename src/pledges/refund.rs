//! Recording a refund, whoever started it: the creator or an admin through the API, or the
//! provider's `charge.refunded` webhook (a refund made in the provider's dashboard).

use chrono::{DateTime, Utc};

use crate::campaigns::currency_of;
use crate::db::DbConn;
use crate::db::campaigns::CampaignRow;
use crate::db::pledges::{self, NewPledgeEvent, PledgeRow};
use crate::db::settlement;
use crate::error::ApiError;
use crate::ledger::{self, BACKERS};

/// The provider idempotency key of a pledge's (full, single) refund.
pub fn key(pledge_id: i64) -> String {
    format!("refund-pledge-{pledge_id}")
}

/// Marks a collected pledge refunded, logs it, posts the refund out of the creator's payout and
/// queues the backer's email, in the caller's transaction. `None` if it was not collected (already
/// refunded by a concurrent request or an earlier webhook).
pub fn record(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge_id: i64,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Option<PledgeRow>, ApiError> {
    let Some(refunded) = settlement::mark_refunded(conn, pledge_id, now.naive_utc())? else {
        return Ok(None);
    };
    pledges::append_event(
        conn,
        &NewPledgeEvent {
            pledge_id: refunded.id,
            actor_id: actor,
            from_status: Some("collected"),
            to_status: "refunded",
            reason: "refunded",
            amount_minor: refunded.amount_minor,
            tier_id: refunded.tier_id,
            created_at: now.naive_utc(),
        },
    )?;
    let payable = ledger::creator_payable(campaign.id);
    let reference = format!("refund:{}", key(refunded.id));
    ledger::post(
        conn,
        &ledger::Posting {
            kind: "refund",
            campaign_id: campaign.id,
            pledge_id: Some(refunded.id),
            currency: currency_of(campaign)?.code(),
            reference: &reference,
            entries: &[
                (&payable, -refunded.amount_minor),
                (BACKERS, refunded.amount_minor),
            ],
        },
        now,
    )?;
    crate::mail::queue::refund_issued(conn, campaign, &refunded, now)?;
    Ok(Some(refunded))
}
