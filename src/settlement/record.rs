//! Recording the provider's answers: the attempt, the pledge's new status and event, the
//! ledger postings of a success, and the backer's email, in the caller's transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::{DROP_AFTER, RETRY_EVERY};
use crate::db::campaigns::CampaignRow;
use crate::db::charge_attempts::{self, AttemptRow};
use crate::db::pledges::{self, NewPledgeEvent, PledgeRow};
use crate::db::{DbConn, settlement};
use crate::error::ApiError;
use crate::ledger::{self, BACKERS, PROCESSOR_FEES, Posting};
use crate::mail::queue;
use crate::payments::ChargeOutcome;

/// What recording an answer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Collected,
    Errored,
    /// Another run (or a webhook) recorded this attempt first.
    Already,
}

/// The provider's answer to one pending attempt.
pub struct Answer<'a> {
    pub campaign: &'a CampaignRow,
    pub pledge: &'a PledgeRow,
    pub attempt: &'a AttemptRow,
    pub outcome: &'a ChargeOutcome,
}

/// Records one answer; see [`record_outcomes`].
pub fn record_outcome(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    attempt: &AttemptRow,
    outcome: &ChargeOutcome,
    now: DateTime<Utc>,
) -> Result<Recorded, ApiError> {
    let answer = Answer {
        campaign,
        pledge,
        attempt,
        outcome,
    };
    Ok(record_outcomes(conn, std::slice::from_ref(&answer), now)?[0])
}

/// Records answers to pending attempts, in the caller's transaction. Each is conditional on its
/// attempt still being pending, so settlement and the provider's webhooks can both report the
/// same charge and only the first counts. Successes, the common case, are written together:
/// one statement each for the attempts, the pledges, their events and the receipts, and two
/// for the ledger, whatever their number.
pub fn record_outcomes(
    conn: &mut DbConn,
    answers: &[Answer<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<Recorded>, ApiError> {
    let naive = now.naive_utc();
    let mut recorded = vec![Recorded::Already; answers.len()];
    // Successes: (answer index, charge id, fee).
    let mut succeeded: Vec<(usize, &str, i64)> = Vec::new();
    for (i, answer) in answers.iter().enumerate() {
        match answer.outcome {
            ChargeOutcome::Succeeded { charge_id, fee_minor } => succeeded.push((i, charge_id, *fee_minor)),
            ChargeOutcome::Failed { code } => recorded[i] = record_failure(conn, answer, code, now)?,
        }
    }
    let attempts: Vec<(i64, &str, i64)> = succeeded
        .iter()
        .map(|(i, charge_id, fee)| (answers[*i].attempt.id, *charge_id, *fee))
        .collect();
    let finished: HashSet<i64> = charge_attempts::finish_succeeded(conn, &attempts, naive)?
        .into_iter()
        .collect();
    // Only the attempts this call finished go on; another writer recorded the rest first.
    succeeded.retain(|(i, _, _)| finished.contains(&answers[*i].attempt.id));
    if succeeded.is_empty() {
        return Ok(recorded);
    }

    let ids: Vec<i64> = succeeded.iter().map(|(i, _, _)| answers[*i].pledge.id).collect();
    let collected: HashMap<i64, PledgeRow> = settlement::mark_collected(conn, &ids, naive)?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    // Only the pledges this call collected go on; another writer got to the rest first.
    succeeded.retain(|(i, _, _)| collected.contains_key(&answers[*i].pledge.id));

    let events: Vec<NewPledgeEvent<'_>> = succeeded
        .iter()
        .map(|(i, _, _)| {
            let before = answers[*i].pledge;
            let after = &collected[&before.id];
            NewPledgeEvent {
                pledge_id: after.id,
                actor_id: None,
                from_status: Some(&before.status),
                to_status: &after.status,
                reason: "charge succeeded",
                amount_minor: after.amount_minor,
                tier_id: after.tier_id,
                created_at: naive,
            }
        })
        .collect();
    pledges::append_events(conn, &events)?;

    // Two postings per charge: the amount into the campaign's escrow, the fee out of it.
    struct Names {
        escrow: String,
        charge: String,
        fee: String,
        currency: &'static str,
    }
    let names: Vec<Names> = succeeded
        .iter()
        .map(|(i, _, _)| {
            let answer = &answers[*i];
            Ok(Names {
                escrow: ledger::escrow(answer.campaign.id),
                charge: format!("charge:{}", answer.attempt.idempotency_key),
                fee: format!("processing_fee:{}", answer.attempt.idempotency_key),
                currency: crate::campaigns::currency_of(answer.campaign)?.code(),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    let entries: Vec<[[(&str, i64); 2]; 2]> = succeeded
        .iter()
        .zip(&names)
        .map(|((i, _, fee), n)| {
            let amount = answers[*i].attempt.amount_minor;
            [
                [(BACKERS, -amount), (n.escrow.as_str(), amount)],
                [(n.escrow.as_str(), -fee), (PROCESSOR_FEES, *fee)],
            ]
        })
        .collect();
    let postings: Vec<Posting<'_>> = succeeded
        .iter()
        .zip(&names)
        .zip(&entries)
        .flat_map(|(((i, _, _), n), [charge, fee])| {
            let answer = &answers[*i];
            let posting = |kind, reference, entries| Posting {
                kind,
                campaign_id: answer.campaign.id,
                pledge_id: Some(answer.pledge.id),
                currency: n.currency,
                reference,
                entries,
            };
            [
                posting("charge", n.charge.as_str(), charge.as_slice()),
                posting("processing_fee", n.fee.as_str(), fee.as_slice()),
            ]
        })
        .collect();
    ledger::post_many(conn, &postings, now)?;

    let receipts: Vec<(&CampaignRow, &PledgeRow, &str)> = succeeded
        .iter()
        .map(|(i, charge_id, _)| {
            let answer = &answers[*i];
            (answer.campaign, &collected[&answer.pledge.id], *charge_id)
        })
        .collect();
    queue::payment_receipts(conn, &receipts, now)?;
    for (i, _, _) in &succeeded {
        recorded[*i] = Recorded::Collected;
    }
    Ok(recorded)
}

/// A declined charge: the pledge is errored until its retry, and the backer hears how to fix it.
fn record_failure(
    conn: &mut DbConn,
    answer: &Answer<'_>,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Recorded, ApiError> {
    let naive = now.naive_utc();
    let (campaign, pledge, attempt) = (answer.campaign, answer.pledge, answer.attempt);
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

/// Appends the event of a settlement change to the pledge's log (no actor: the system did it).
pub(super) fn event(
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
