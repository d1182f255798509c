//! Steps 2 and 3: charge the pledges of funded campaigns, retry the errored ones that are due,
//! drop those errored for too long.

use chrono::{DateTime, Utc};

use super::{DROP_AFTER, LEASE, RETRY_EVERY, Settlement, Summary};
use crate::db::campaigns::CampaignRow;
use crate::db::charge_attempts::{self, AttemptRow};
use crate::db::pledges::{self, NewPledgeEvent, PledgeRow};
use crate::db::settlement;
use crate::db::{DbConn, campaigns, tiers, write_transaction};
use crate::domain::Money;
use crate::error::ApiError;
use crate::ledger::{self, BACKERS, PROCESSOR_FEES, Posting};
use crate::mail::queue;
use crate::payments::{ChargeOutcome, ChargeRequest};

fn event(
    conn: &mut DbConn,
    pledge: &PledgeRow,
    from: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    pledges::append_event(
        conn,
        &NewPledgeEvent {
            pledge_id: pledge.id,
            actor_id: None,
            from_status: Some(from),
            to_status: &pledge.status,
            reason,
            amount_minor: pledge.amount_minor,
            tier_id: pledge.tier_id,
            created_at: now.naive_utc(),
        },
    )?;
    Ok(())
}

/// Charges one leased batch; returns whether it was full.
/// Stops at `deadline` even inside a batch: the leases of the pledges it did not reach are
/// handed back so that the next pass takes them at once.
pub fn batch(
    run: &Settlement,
    conn: &mut DbConn,
    summary: &mut Summary,
    deadline: std::time::Instant,
) -> anyhow::Result<bool> {
    let now = run.clock.now();
    let leased = write_transaction(conn, |conn| {
        settlement::lease_chargeable(
            conn,
            now.naive_utc(),
            (now + LEASE).naive_utc(),
            run.config.batch_size,
        )
    })?;
    for (done, pledge) in leased.iter().enumerate() {
        // At least one charge per batch, so that even a tiny budget makes progress.
        if done > 0 && std::time::Instant::now() >= deadline {
            for untouched in &leased[done..] {
                settlement::release_lease(conn, untouched.id)?;
            }
            summary.more = true;
            return Ok(true);
        }
        charge_one(run, conn, pledge, summary)?;
    }
    Ok(leased.len() as i64 >= run.config.batch_size)
}

fn charge_one(
    run: &Settlement,
    conn: &mut DbConn,
    pledge: &PledgeRow,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let campaign = campaigns::find(conn, pledge.campaign_id)?
        .ok_or_else(|| anyhow::anyhow!("pledge {} has no campaign", pledge.id))?;
    let currency = crate::campaigns::currency_of(&campaign).map_err(|e| anyhow::anyhow!("{e:?}"))?;

    // The attempt and its key are committed before the provider hears of it. A pending attempt
    // left by an interrupted run is replayed with its own key and parameters.
    let now = run.clock.now();
    let attempt: AttemptRow = write_transaction(conn, |conn| {
        match charge_attempts::pending_attempt(conn, pledge.id)? {
            Some(pending) => Ok::<_, diesel::result::Error>(pending),
            None => {
                let n = pledge.attempts + 1;
                let key = format!("pledge-{}-attempt-{n}", pledge.id);
                charge_attempts::insert_attempt(conn, pledge, n, &key, currency.code(), now.naive_utc())
            }
        }
    })?;

    let request = ChargeRequest {
        idempotency_key: &attempt.idempotency_key,
        payment_method: &attempt.payment_method,
        amount: Money::from_minor(attempt.amount_minor, currency),
    };
    let outcome = match run.provider.charge(&request) {
        Ok(outcome) => outcome,
        Err(e) => {
            // Unknown outcome: leave the attempt pending; the lease expires and a later pass
            // replays the same key.
            tracing::warn!(pledge.id = pledge.id, error = %e, "charge outcome unknown; will replay");
            summary.pledges.deferred += 1;
            return Ok(());
        }
    };

    let recorded = write_transaction(conn, |conn| {
        record_outcome(conn, &campaign, pledge, &attempt, &outcome, run.clock.now())
    })
    .map_err(|e| anyhow::anyhow!("recording the charge of pledge {}: {e:?}", pledge.id))?;
    match recorded {
        Recorded::Collected => summary.pledges.collected += 1,
        Recorded::Errored => summary.pledges.errored += 1,
        Recorded::Already => {}
    }
    Ok(())
}

/// What [`record_outcome`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Collected,
    Errored,
    /// Another run (or a webhook) recorded this attempt first.
    Already,
}

/// Records the provider's answer to a pending attempt, in the caller's transaction: the attempt,
/// the pledge's new status and event, the ledger postings of a success, and the backer's email.
/// Conditional on the attempt still being pending, so settlement and the provider's webhooks can
/// both report the same charge and only the first counts.
pub fn record_outcome(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    attempt: &AttemptRow,
    outcome: &ChargeOutcome,
    now: DateTime<Utc>,
) -> Result<Recorded, ApiError> {
    let naive = now.naive_utc();
    let currency = crate::campaigns::currency_of(campaign)?;
    match outcome {
        ChargeOutcome::Succeeded { charge_id, fee_minor } => {
            if !charge_attempts::finish_attempt(
                conn,
                attempt.id,
                "succeeded",
                Some(charge_id),
                Some(*fee_minor),
                None,
                naive,
            )? {
                return Ok(Recorded::Already);
            }
            let Some(collected) = settlement::mark_collected(conn, pledge.id, naive)? else {
                return Ok(Recorded::Already);
            };
            event(conn, &collected, &pledge.status, "charge succeeded", now)?;
            let escrow = ledger::escrow(campaign.id);
            let reference = format!("charge:{}", attempt.idempotency_key);
            ledger::post(
                conn,
                &Posting {
                    kind: "charge",
                    campaign_id: campaign.id,
                    pledge_id: Some(pledge.id),
                    currency: currency.code(),
                    reference: &reference,
                    entries: &[(BACKERS, -attempt.amount_minor), (&escrow, attempt.amount_minor)],
                },
                now,
            )?;
            let reference = format!("processing_fee:{}", attempt.idempotency_key);
            ledger::post(
                conn,
                &Posting {
                    kind: "processing_fee",
                    campaign_id: campaign.id,
                    pledge_id: Some(pledge.id),
                    currency: currency.code(),
                    reference: &reference,
                    entries: &[(&escrow, -fee_minor), (PROCESSOR_FEES, *fee_minor)],
                },
                now,
            )?;
            queue::payment_receipt(conn, campaign, &collected, charge_id, now)?;
            Ok(Recorded::Collected)
        }
        ChargeOutcome::Failed { code } => {
            if !charge_attempts::finish_attempt(conn, attempt.id, "failed", None, None, Some(code), naive)? {
                return Ok(Recorded::Already);
            }
            let retry_at = (now + RETRY_EVERY).naive_utc();
            let Some(errored) = settlement::mark_errored(conn, pledge, code, retry_at, naive)? else {
                return Ok(Recorded::Already);
            };
            event(
                conn,
                &errored,
                &pledge.status,
                &format!("charge failed: {code}"),
                now,
            )?;
            let first_failure = errored.errored_at.unwrap_or(naive);
            queue::payment_failed(
                conn,
                campaign,
                &errored,
                &queue::Failure {
                    attempt_id: attempt.id,
                    code,
                    retry_at,
                    drop_at: first_failure + DROP_AFTER,
                },
                now,
            )?;
            Ok(Recorded::Errored)
        }
    }
}

/// Drops one batch of pledges errored for longer than [`DROP_AFTER`], giving their units back.
pub fn drop_batch(
    run: &Settlement,
    conn: &mut DbConn,
    summary: &mut Summary,
    _deadline: std::time::Instant,
) -> anyhow::Result<bool> {
    let now = run.clock.now();
    let due = settlement::droppable(
        conn,
        now.naive_utc(),
        (now - DROP_AFTER).naive_utc(),
        run.config.batch_size,
    )?;
    for pledge in &due {
        write_transaction(conn, |conn| {
            // A pending attempt means a charge may have gone through: settle it first.
            if charge_attempts::pending_attempt(conn, pledge.id)?.is_some() {
                return Ok(());
            }
            let Some(dropped) = settlement::mark_dropped(conn, pledge.id, now.naive_utc())? else {
                return Ok(());
            };
            if let Some(tier) = dropped.tier_id {
                tiers::release(conn, tier, now.naive_utc())?;
            }
            event(conn, &dropped, "errored", "payment failed for 7 days", now)?;
            if let Some(campaign) = campaigns::find(conn, dropped.campaign_id)? {
                queue::pledge_dropped(conn, &campaign, &dropped, now)?;
            }
            summary.pledges.dropped += 1;
            Ok::<_, ApiError>(())
        })
        .map_err(|e| anyhow::anyhow!("dropping pledge {}: {e:?}", pledge.id))?;
    }
    Ok(due.len() as i64 >= run.config.batch_size)
}
