//! Steps 2 and 3: charge the pledges of funded campaigns, retry the errored ones that are due,
//! drop those errored for too long.

use std::collections::HashMap;

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

/// Pledges charged between two checks of the time budget.
const CHUNK: usize = 100;

/// Charges one leased batch; returns whether it was full. The batch is worked through in chunks,
/// and a chunk in three steps: (1) the attempts are written, all in one transaction, *before*
/// the provider hears of them; (2) the provider is called for them from `concurrency` threads;
/// (3) each thread records its outcomes in one transaction of its own. The time budget is
/// checked between chunks: the leases of pledges not reached are handed back, so the next pass
/// takes them at once.
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
    for (i, chunk) in leased.chunks(CHUNK).enumerate() {
        // At least one chunk per batch, so that even a tiny budget makes progress.
        if i > 0 && std::time::Instant::now() >= deadline {
            for untouched in &leased[i * CHUNK..] {
                settlement::release_lease(conn, untouched.id)?;
            }
            summary.more = true;
            return Ok(true);
        }
        charge_chunk(run, conn, chunk, summary)?;
    }
    Ok(leased.len() as i64 >= run.config.batch_size)
}

/// A pledge about to be charged, with its campaign and its committed attempt.
struct Charge<'a> {
    campaign: &'a CampaignRow,
    pledge: &'a PledgeRow,
    attempt: AttemptRow,
}

fn charge_chunk(
    run: &Settlement,
    conn: &mut DbConn,
    pledges: &[PledgeRow],
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let mut campaign_rows: HashMap<i64, CampaignRow> = HashMap::new();
    for pledge in pledges {
        if !campaign_rows.contains_key(&pledge.campaign_id) {
            let campaign = campaigns::find(conn, pledge.campaign_id)?
                .ok_or_else(|| anyhow::anyhow!("pledge {} has no campaign", pledge.id))?;
            campaign_rows.insert(campaign.id, campaign);
        }
    }

    // (1) The attempts and their keys, committed before the provider hears of them. A pending
    // attempt left by an interrupted run is replayed with its own key and parameters.
    let now = run.clock.now();
    let charges: Vec<Charge<'_>> = write_transaction(conn, |conn| {
        pledges
            .iter()
            .map(|pledge| {
                let campaign = &campaign_rows[&pledge.campaign_id];
                let attempt = match charge_attempts::pending_attempt(conn, pledge.id)? {
                    Some(pending) => pending,
                    None => {
                        let n = pledge.attempts + 1;
                        let key = format!("pledge-{}-attempt-{n}", pledge.id);
                        charge_attempts::insert_attempt(
                            conn,
                            pledge,
                            n,
                            &key,
                            &campaign.currency,
                            now.naive_utc(),
                        )?
                    }
                };
                Ok(Charge {
                    campaign,
                    pledge,
                    attempt,
                })
            })
            .collect::<Result<_, diesel::result::Error>>()
    })?;

    // (2) and (3), spread over the workers: each charges its share, then records it.
    let workers = run.config.concurrency.clamp(1, charges.len().max(1));
    let share = charges.len().div_ceil(workers);
    let totals: Vec<anyhow::Result<Summary>> = std::thread::scope(|scope| {
        let handles: Vec<_> = charges
            .chunks(share.max(1))
            .map(|part| scope.spawn(move || charge_and_record(run, part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a charging thread panicked")))
            })
            .collect()
    });
    for total in totals {
        let total = total?;
        summary.pledges.collected += total.pledges.collected;
        summary.pledges.errored += total.pledges.errored;
        summary.pledges.deferred += total.pledges.deferred;
    }
    Ok(())
}

/// Calls the provider for each charge, then records every answer in one transaction.
fn charge_and_record(run: &Settlement, charges: &[Charge<'_>]) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    let mut answered = Vec::with_capacity(charges.len());
    for charge in charges {
        let currency =
            crate::campaigns::currency_of(charge.campaign).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let request = ChargeRequest {
            idempotency_key: &charge.attempt.idempotency_key,
            payment_method: &charge.attempt.payment_method,
            amount: Money::from_minor(charge.attempt.amount_minor, currency),
        };
        match run.provider.charge(&request) {
            Ok(outcome) => answered.push((charge, outcome)),
            Err(e) => {
                // Unknown outcome: the attempt stays pending; the lease expires and a later pass
                // replays the same key.
                tracing::warn!(pledge.id = charge.pledge.id, error = %e, "charge outcome unknown; will replay");
                summary.pledges.deferred += 1;
            }
        }
    }
    if answered.is_empty() {
        return Ok(summary);
    }
    let mut conn = run.db.get_blocking()?;
    let now = run.clock.now();
    write_transaction(&mut conn, |conn| {
        for (charge, outcome) in &answered {
            match record_outcome(
                conn,
                charge.campaign,
                charge.pledge,
                &charge.attempt,
                outcome,
                now,
            )? {
                Recorded::Collected => summary.pledges.collected += 1,
                Recorded::Errored => summary.pledges.errored += 1,
                Recorded::Already => {}
            }
        }
        Ok::<_, ApiError>(())
    })
    .map_err(|e| anyhow::anyhow!("recording {} charges: {e:?}", answered.len()))?;
    Ok(summary)
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
