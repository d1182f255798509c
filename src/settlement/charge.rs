//! Steps 2 and 3: charge the pledges of funded campaigns, retry the errored ones that are due,
//! drop those errored for too long.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use super::record::{Answer, Recorded, record_outcomes};
use super::{DROP_AFTER, LEASE, Settlement, Summary, failed_on};
use crate::db::campaigns::CampaignRow;
use crate::db::charge_attempts::{self, AttemptRow, NewAttempt};
use crate::db::pledges::PledgeRow;
use crate::db::settlement;
use crate::db::{DbConn, campaigns, write_transaction};
use crate::domain::{CampaignId, CoreError, Money, PledgeId};
use crate::payments::{ChargeRequest, FirstCall, charge_as_first};
use crate::pledges::lifecycle;

/// Pledges charged between two checks of the time budget.
const CHUNK: usize = 100;

/// The last replan: once a pass has charged this many pledges, the tables it writes hold at
/// least as many rows, and plans made from then on are the ones any larger size wants.
const REPLAN_UNTIL: u64 = (CHUNK as u64) << 6;

/// Whether the chunk about to start, with `charged` pledges charged in this pass before it,
/// is the first to reach `CHUNK` × 1, 2, 4, … up to [`REPLAN_UNTIL`]: there the pass plans its
/// statements again ([`crate::db::replan`]). A pass that starts on a nearly empty ledger, charge
/// attempt or provider table would otherwise keep, on each connection, plans made for a nearly
/// empty table (sequential scans, in the foreign-key check of each ledger entry among others)
/// while it writes tens of thousands of rows; PostgreSQL plans again only after an `ANALYZE`,
/// which autovacuum runs up to a minute later and a database without autovacuum never
/// (bench/RESULTS.md, "A first pass on an empty ledger"). Seven replans per pass at most.
fn replan_due(charged: u64) -> bool {
    let chunk = CHUNK as u64;
    std::iter::successors(Some(chunk), |mark| Some(mark * 2))
        .take_while(|mark| *mark <= REPLAN_UNTIL)
        .any(|mark| (mark..mark + chunk).contains(&charged))
}

/// Charges one leased batch; returns whether it was full. The batch is worked through in
/// chunks, and a chunk in three steps: (1) the attempts are written, all in one transaction,
/// *before* the provider hears of them; (2) the provider is called for them from `concurrency`
/// threads; (3) each thread records its outcomes in one transaction of its own. The time budget
/// is checked between chunks: the leases of pledges not reached are handed back, so the next
/// pass takes them at once.
///
/// A batch is leased past the highest id the pass leased before, so the pass goes through the
/// chargeable pledges in id order once and each lookup reads about a batch's worth of rows;
/// looked up from the start each time, the lookups were quadratic in the campaign's size
/// (bench/RESULTS.md). A pledge below that id that falls due during the pass (a retry whose
/// time comes, a payment method just replaced) is charged by the next pass.
pub fn batch(
    run: &Settlement,
    conn: &mut DbConn,
    summary: &mut Summary,
    deadline: std::time::Instant,
) -> Result<bool, CoreError> {
    let now = run.clock.now();
    let after = run.last_leased();
    let leased = write_transaction(conn, |conn| {
        settlement::lease_chargeable(
            conn,
            now.naive_utc(),
            (now + LEASE).naive_utc(),
            after,
            run.config.batch_size,
        )
    })?;
    if let Some(last) = leased.iter().map(|p| p.id).max() {
        run.leased_up_to.store(last.0, Ordering::Relaxed);
    }
    for (i, chunk) in leased.chunks(CHUNK).enumerate() {
        // At least one chunk per batch, so that even a tiny budget makes progress.
        if i > 0 && std::time::Instant::now() >= deadline {
            for untouched in &leased[i * CHUNK..] {
                settlement::release_lease(conn, untouched.id)?;
            }
            summary.more = true;
            return Ok(true);
        }
        let pledges = &summary.pledges;
        if replan_due(pledges.collected + pledges.errored + pledges.deferred) {
            crate::db::replan(conn)?;
            run.db.replan_idle()?;
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
) -> Result<(), CoreError> {
    let mut campaign_rows: HashMap<CampaignId, CampaignRow> = HashMap::new();
    for pledge in pledges {
        if !campaign_rows.contains_key(&pledge.campaign_id) {
            let campaign = campaigns::find(conn, pledge.campaign_id)?
                .ok_or_else(|| CoreError::unexpected(format!("pledge {} has no campaign", pledge.id)))?;
            campaign_rows.insert(campaign.id, campaign);
        }
    }

    // (1) The attempts and their keys, committed before the provider hears of them. A pending
    // attempt left by an interrupted run is replayed with its own key and parameters.
    let now = run.clock.now();
    let ids: Vec<PledgeId> = pledges.iter().map(|p| p.id).collect();
    let mut attempts = write_transaction(conn, |conn| {
        let mut attempts = charge_attempts::pending_attempts(conn, &ids)?;
        let new: Vec<NewAttempt<'_>> = pledges
            .iter()
            .filter(|p| !attempts.contains_key(&p.id))
            .map(|p| NewAttempt::next(p, campaign_rows[&p.campaign_id].currency, now.naive_utc()))
            .collect();
        attempts.extend(charge_attempts::insert_attempts(conn, &new)?);
        Ok::<_, diesel::result::Error>(attempts)
    })?;
    let charges: Vec<Charge<'_>> = pledges
        .iter()
        .map(|pledge| {
            let attempt = attempts
                .remove(&pledge.id)
                .ok_or_else(|| CoreError::unexpected(format!("pledge {} has no attempt", pledge.id)))?;
            Ok(Charge {
                campaign: &campaign_rows[&pledge.campaign_id],
                pledge,
                attempt,
            })
        })
        .collect::<Result<_, CoreError>>()?;

    // (2) and (3), spread over the workers: each charges its share, then records it.
    let workers = run.config.concurrency.clamp(1, charges.len().max(1));
    let share = charges.len().div_ceil(workers);
    let totals: Vec<Result<Summary, CoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = charges
            .chunks(share.max(1))
            .map(|part| scope.spawn(move || charge_and_record(run, part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(CoreError::unexpected("a charging thread panicked")))
            })
            .collect()
    });
    for total in totals {
        let total = total?;
        summary.pledges.collected += total.pledges.collected;
        summary.pledges.errored += total.pledges.errored;
        summary.pledges.deferred += total.pledges.deferred;
        summary.pledges.dropped += total.pledges.dropped;
    }
    Ok(())
}

/// How the charge's attempt was first made: a late pledge's on session.
fn first_call<'a>(charge: &'a Charge<'_>) -> FirstCall<'a> {
    if charge.pledge.late {
        FirstCall::OnSession {
            awaiting: charge.attempt.provider_charge_id.as_deref(),
        }
    } else {
        FirstCall::OffSession
    }
}

/// Calls the provider for the charges, then records every answer in one transaction.
fn charge_and_record(run: &Settlement, charges: &[Charge<'_>]) -> Result<Summary, CoreError> {
    let mut summary = Summary::default();
    let requests: Vec<ChargeRequest<'_>> = charges
        .iter()
        .map(|charge| ChargeRequest {
            idempotency_key: &charge.attempt.idempotency_key,
            payment_method: &charge.attempt.payment_method,
            amount: Money::from_minor(charge.attempt.amount_minor, charge.campaign.currency),
        })
        .collect();
    // Late pledges are replayed one by one, with their first call.
    let outcomes = if charges.iter().any(|c| c.pledge.late) {
        requests
            .iter()
            .zip(charges)
            .map(|(request, charge)| charge_as_first(run.provider.as_ref(), request, first_call(charge)))
            .collect()
    } else {
        run.provider.charge_many(&requests)
    };
    let mut answered = Vec::with_capacity(charges.len());
    for (charge, outcome) in charges.iter().zip(outcomes) {
        match outcome {
            Ok(outcome) => answered.push((charge, outcome)),
            Err(e) => {
                // Unknown outcome: the attempt stays pending; the lease expires and a later pass
                // replays the same key.
                tracing::warn!(pledge.id = %charge.pledge.id, error = %e, "charge outcome unknown; will replay");
                summary.pledges.deferred += 1;
            }
        }
    }
    if answered.is_empty() {
        return Ok(summary);
    }
    let mut conn = run.db.get_blocking()?;
    let now = run.clock.now();
    let answers: Vec<Answer<'_>> = answered
        .iter()
        .map(|(charge, outcome)| Answer {
            campaign: charge.campaign,
            pledge: charge.pledge,
            attempt: &charge.attempt,
            outcome,
        })
        .collect();
    let recorded = write_transaction(&mut conn, |conn| {
        record_outcomes(conn, &answers, &run.config, now)
    })
    .map_err(failed_on(format!("recording {} charges", answers.len())))?;
    for r in recorded {
        match r {
            Recorded::Collected => summary.pledges.collected += 1,
            Recorded::Errored => summary.pledges.errored += 1,
            Recorded::Dropped => summary.pledges.dropped += 1,
            Recorded::Already => {}
        }
    }
    Ok(summary)
}

/// Drops one batch of pledges errored for longer than [`DROP_AFTER`], giving their units back.
pub fn drop_batch(
    run: &Settlement,
    conn: &mut DbConn,
    summary: &mut Summary,
    _deadline: std::time::Instant,
) -> Result<bool, CoreError> {
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
            if charge_attempts::pending_attempts(conn, &[pledge.id])?.contains_key(&pledge.id) {
                return Ok(());
            }
            let campaign = campaigns::find(conn, pledge.campaign_id)?
                .ok_or_else(|| CoreError::unexpected(format!("pledge {} has no campaign", pledge.id)))?;
            if lifecycle::drop(conn, &campaign, pledge, "payment failed for 7 days", now)?.is_some() {
                summary.pledges.dropped += 1;
            }
            Ok::<_, CoreError>(())
        })
        .map_err(failed_on(format!("dropping pledge {}", pledge.id)))?;
    }
    Ok(due.len() as i64 >= run.config.batch_size)
}

#[cfg(test)]
mod tests {
    use super::{CHUNK, replan_due};

    /// Charged counts at which a pass replans, chunk after chunk of `sizes`.
    fn replans(sizes: &[u64]) -> Vec<u64> {
        let mut charged = 0;
        let mut at = Vec::new();
        for size in sizes {
            if replan_due(charged) {
                at.push(charged);
            }
            charged += size;
        }
        at
    }

    #[test]
    fn replans_as_the_charged_pledges_double_then_stops() {
        let full = vec![CHUNK as u64; 200];
        assert_eq!(replans(&full), [100, 200, 400, 800, 1_600, 3_200, 6_400]);
    }

    #[test]
    fn chunks_short_of_full_still_reach_every_mark() {
        // Chunks that lose pledges to another writer, or end a batch early.
        let ragged: Vec<u64> = (0..400).map(|i| [100, 37, 99, 0, 64][i % 5]).collect();
        let at = replans(&ragged);
        for mark in [100, 200, 400, 800, 1_600, 3_200, 6_400] {
            assert!(
                at.iter().any(|c| (mark..mark + 100).contains(c)),
                "{mark} missed: {at:?}"
            );
        }
        assert!(at.iter().all(|c| *c < 6_500), "{at:?}");
    }
}
