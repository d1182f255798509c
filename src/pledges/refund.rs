//! Refunds: who may make one and of which pledge, the call to the provider, and the record of
//! it, whoever started it: the creator or an admin through the API, or the provider's
//! `charge.refunded` webhook (a refund made in the provider's dashboard).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::lifecycle;
use crate::clock::Clock;
use crate::db::campaigns::{self, CampaignRow};
use crate::db::pledges::{self, PledgeRow};
use crate::db::{Db, DbConn, charge_attempts};
use crate::domain::{Actor, CampaignStatus, CoreError, Money, PledgeId, PledgeStatus, Refusal, UserId};
use crate::ledger::{self, BACKERS};
use crate::payments::{PaymentProvider, RefundRequest};

/// The provider idempotency key of a pledge's (full, single) refund.
pub fn key(pledge_id: PledgeId) -> String {
    format!("refund-pledge-{pledge_id}")
}

/// A pledge the actor may refund, with what the provider needs.
pub struct Refundable {
    pub campaign: CampaignRow,
    pub pledge: PledgeRow,
    pub charge_id: String,
}

/// A collected pledge of a successful campaign, refunded by the campaign's creator or an
/// admin. Its backer is told they may not; anyone else that it does not exist.
pub fn eligible(conn: &mut DbConn, pledge_id: PledgeId, actor: &Actor) -> Result<Refundable, CoreError> {
    let pledge = pledges::find(conn, pledge_id)?.ok_or(Refusal::NotFound)?;
    let campaign = campaigns::find(conn, pledge.campaign_id)?.ok_or(Refusal::NotFound)?;
    if campaign.owner_id != actor.id && !actor.is_admin() {
        return Err(if pledge.backer_id == actor.id {
            Refusal::forbidden("refunds are made by the campaign's creator or an admin").into()
        } else {
            Refusal::NotFound.into()
        });
    }
    if campaign.status != CampaignStatus::Successful || pledge.status != PledgeStatus::Collected {
        return Err(Refusal::Conflict(format!(
            "only a collected pledge of a successful campaign can be refunded (this one is {})",
            pledge.status.as_str()
        ))
        .into());
    }
    let charge_id = charge_attempts::succeeded_charge(conn, pledge.id)?
        .ok_or_else(|| CoreError::unexpected(format!("collected pledge {} has no charge", pledge.id)))?;
    Ok(Refundable {
        campaign,
        pledge,
        charge_id,
    })
}

/// Refunds a pledge in full: checked, refunded at the provider with the key
/// `refund-pledge-{id}` (so a retry never refunds twice), then recorded. Returns the pledge as
/// it is now, with its campaign.
pub async fn refund(
    db: &Db,
    provider: Arc<dyn PaymentProvider>,
    clock: &Clock,
    pledge_id: PledgeId,
    actor: Actor,
) -> Result<(CampaignRow, PledgeRow), CoreError> {
    let Refundable {
        campaign,
        pledge,
        charge_id,
    } = db.run(move |conn| eligible(conn, pledge_id, &actor)).await?;
    let amount = Money::from_minor(pledge.amount_minor, campaign.currency);
    let refunded = tokio::task::spawn_blocking(move || {
        provider.refund(&RefundRequest {
            idempotency_key: &key(pledge_id),
            charge_id: &charge_id,
            amount,
        })
    })
    .await
    .map_err(|e| CoreError::Unexpected(e.into()))?;
    if let Err(e) = refunded {
        // A concurrent request that won the race may have refunded it meanwhile: its loser is
        // told so, not asked to retry.
        let now_status = db
            .run(move |conn| Ok::<_, CoreError>(pledges::find(conn, pledge_id)?.map(|p| p.status)))
            .await?;
        if now_status == Some(PledgeStatus::Refunded) {
            return Err(already_refunded().into());
        }
        return Err(CoreError::Unavailable(e.context("refund failed at the provider")));
    }
    let now = clock.now();
    db.write(
        move |conn| match record(conn, &campaign, pledge.id, Some(actor.id), now)? {
            Some(refunded) => Ok((campaign, refunded)),
            // Recorded meanwhile by a concurrent request with the same provider key.
            None => Err(already_refunded().into()),
        },
    )
    .await
}

fn already_refunded() -> Refusal {
    Refusal::conflict("the pledge was refunded by a concurrent request")
}

/// Marks a collected pledge refunded, logs it, posts the refund out of the creator's payout and
/// queues the backer's email, in the caller's transaction. `None` if it was not collected
/// (already refunded by a concurrent request or an earlier webhook).
pub fn record(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge_id: PledgeId,
    actor: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<Option<PledgeRow>, CoreError> {
    let Some(refunded) = lifecycle::refund(conn, campaign, pledge_id, actor, now)? else {
        return Ok(None);
    };
    let payable = ledger::creator_payable(campaign.id);
    let reference = format!("refund:{}", key(refunded.id));
    ledger::post(
        conn,
        &ledger::Posting {
            kind: "refund",
            campaign_id: campaign.id,
            pledge_id: Some(refunded.id),
            currency: campaign.currency,
            reference: &reference,
            entries: &[
                (&payable, -refunded.amount_minor),
                (BACKERS, refunded.amount_minor),
            ],
        },
        now,
    )?;
    Ok(Some(refunded))
}
