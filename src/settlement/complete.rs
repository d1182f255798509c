//! Step 4: funded campaigns with no pledge in flight become successful; the platform fee and
//! the creator's payout are posted, leaving the campaign's escrow at zero, and the creator is
//! emailed the figures.

use std::time::Instant;

use super::{Settlement, Summary, failed_on};
use crate::campaigns::lifecycle;
use crate::db::{DbConn, ledger as ledger_db, settlement, write_transaction};
use crate::domain::money::basis_points_half_even;
use crate::domain::{CampaignStatus, CoreError, PledgeStatus, Refusal, Resource};
use crate::ledger::{self, PLATFORM_REVENUE, Posting};
use crate::mail::queue;

pub fn batch(
    run: &Settlement,
    conn: &mut DbConn,
    summary: &mut Summary,
    _deadline: Instant,
) -> Result<bool, CoreError> {
    let now = run.clock.now();
    let ready = settlement::completable(conn, run.config.batch_size)?;
    for campaign in &ready {
        let done = write_transaction(conn, |conn| {
            let collected = settlement::collected_pledges_total(conn, campaign.id)?;
            let escrow_account = ledger::escrow(campaign.id);
            let platform_fee = basis_points_half_even(collected, run.config.platform_fee_bps_for(campaign));
            // What is left in escrow after the processing fees already taken.
            let escrow = ledger_db::escrow_balance(conn, campaign.id)?;
            let payout = escrow - platform_fee;
            let reference = format!("platform_fee:campaign:{}", campaign.id);
            ledger::post(
                conn,
                &Posting {
                    kind: "platform_fee",
                    campaign_id: campaign.id,
                    pledge_id: None,
                    currency: campaign.currency,
                    reference: &reference,
                    entries: &[(&escrow_account, -platform_fee), (PLATFORM_REVENUE, platform_fee)],
                },
                now,
            )?;
            let payable = ledger::creator_payable(campaign.id);
            let reference = format!("payout:campaign:{}", campaign.id);
            ledger::post(
                conn,
                &Posting {
                    kind: "payout",
                    campaign_id: campaign.id,
                    pledge_id: None,
                    currency: campaign.currency,
                    reference: &reference,
                    entries: &[(&escrow_account, -payout), (&payable, payout)],
                },
                now,
            )?;
            lifecycle::transition(
                conn,
                &run.media.links,
                campaign,
                CampaignStatus::Successful,
                None,
                None,
                now,
            )?;
            settlement::mark_completed(conn, campaign.id, now.naive_utc())?;
            let by_status = settlement::totals_by_status(conn, campaign.id, false)?;
            let pledges_in = |status: PledgeStatus| {
                by_status
                    .iter()
                    .find(|t| t.status == status)
                    .map_or(0, |t| t.pledges)
            };
            queue::campaign_successful(
                conn,
                campaign,
                &queue::Payout {
                    collected_minor: collected,
                    collected_pledges: pledges_in(PledgeStatus::Collected),
                    dropped_pledges: pledges_in(PledgeStatus::Dropped),
                    processing_fees_minor: collected - escrow,
                    platform_fee_minor: platform_fee,
                    payout_minor: payout,
                },
                now,
            )?;
            Ok::<_, CoreError>(())
        });
        match done {
            Ok(()) => summary.campaigns.successful += 1,
            // Completed by another run.
            Err(e) if e.refusal() == Some(&Refusal::Stale(Resource::Campaign)) => {}
            Err(e) => return Err(failed_on(format!("completing campaign {}", campaign.id))(e)),
        }
    }
    Ok(ready.len() as i64 >= run.config.batch_size)
}
