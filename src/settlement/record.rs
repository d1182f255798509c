//! Recording the provider's answers: the attempt, the pledge's transition (its event and the
//! backer's email), and the ledger postings of a success, in the caller's transaction. A late
//! pledge (`pledges::late`) is charged after its campaign completed: its success also posts the
//! platform fee and the creator's share at once, leaving the escrow at zero, and a decline
//! drops it at once.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{Config, DROP_AFTER, RETRY_EVERY};
use crate::db::DbConn;
use crate::db::campaigns::CampaignRow;
use crate::db::charge_attempts::{self, AttemptRow};
use crate::db::pledges::PledgeRow;
use crate::domain::money::basis_points_half_even;
use crate::domain::{ChargeStatus, CoreError};
use crate::ledger::{self, BACKERS, PLATFORM_REVENUE, PROCESSOR_FEES, Posting};
use crate::payments::ChargeOutcome;
use crate::pledges::lifecycle::{self, Collection, Decline};

/// What recording an answer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Collected,
    Errored,
    /// A late pledge declined: dropped.
    Dropped,
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
    fees: &Config,
    now: DateTime<Utc>,
) -> Result<Recorded, CoreError> {
    let answer = Answer {
        campaign,
        pledge,
        attempt,
        outcome,
    };
    Ok(record_outcomes(conn, std::slice::from_ref(&answer), fees, now)?[0])
}

/// Records answers to pending attempts, in the caller's transaction. Each is conditional on its
/// attempt still being pending, so settlement and the provider's webhooks can both report the
/// same charge and only the first counts. Successes, the common case, are written together:
/// one statement each for the attempts, the pledges, their events and the receipts, and two
/// for the ledger, whatever their number.
pub fn record_outcomes(
    conn: &mut DbConn,
    answers: &[Answer<'_>],
    fees: &Config,
    now: DateTime<Utc>,
) -> Result<Vec<Recorded>, CoreError> {
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

    let charged: Vec<Collection<'_>> = succeeded
        .iter()
        .map(|(i, charge_id, _)| Collection {
            campaign: answers[*i].campaign,
            pledge: answers[*i].pledge,
            charge_id,
        })
        .collect();
    let collected = lifecycle::collect(conn, &charged, now)?;
    // A campaign whose survey is out asks each pledge it collects now.
    let surveyed: Vec<_> = charged
        .iter()
        .filter_map(|c| Some((c.campaign, collected.get(&c.pledge.id)?)))
        .collect();
    crate::surveys::invite_collected(conn, &surveyed, now)?;
    // Only the pledges this call collected go on; another writer got to the rest first.
    succeeded.retain(|(i, _, _)| collected.contains_key(&answers[*i].pledge.id));

    // Two postings per charge: the amount into the campaign's escrow, the fee out of it.
    struct Names {
        escrow: String,
        charge: String,
        fee: String,
    }
    let names: Vec<Names> = succeeded
        .iter()
        .map(|(i, _, _)| {
            let answer = &answers[*i];
            Names {
                escrow: ledger::escrow(answer.campaign.id),
                charge: format!("charge:{}", answer.attempt.idempotency_key),
                fee: format!("processing_fee:{}", answer.attempt.idempotency_key),
            }
        })
        .collect();
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
                currency: answer.campaign.currency,
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
    for (i, _, fee) in &succeeded {
        let answer = &answers[*i];
        if answer.pledge.late {
            pay_out_late(conn, answer, *fee, fees, now)?;
        }
    }
    for (i, _, _) in &succeeded {
        recorded[*i] = Recorded::Collected;
    }
    Ok(recorded)
}

/// A late pledge's campaign has completed already: what its charge leaves in escrow goes at
/// once to the platform's fee (at the campaign's rate) and the creator.
fn pay_out_late(
    conn: &mut DbConn,
    answer: &Answer<'_>,
    processing_fee: i64,
    fees: &Config,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    let (campaign, pledge) = (answer.campaign, answer.pledge);
    let amount = answer.attempt.amount_minor;
    let platform_fee = basis_points_half_even(amount, fees.platform_fee_bps_for(campaign));
    let payout = amount - processing_fee - platform_fee;
    let escrow = ledger::escrow(campaign.id);
    let payable = ledger::creator_payable(campaign.id);
    let fee_reference = format!("platform_fee:pledge:{}", pledge.id);
    let payout_reference = format!("payout:pledge:{}", pledge.id);
    let fee_entries = [(escrow.as_str(), -platform_fee), (PLATFORM_REVENUE, platform_fee)];
    let payout_entries = [(escrow.as_str(), -payout), (payable.as_str(), payout)];
    let posting = |kind, reference, entries| Posting {
        kind,
        campaign_id: campaign.id,
        pledge_id: Some(pledge.id),
        currency: campaign.currency,
        reference,
        entries,
    };
    ledger::post_many(
        conn,
        &[
            posting("platform_fee", &fee_reference, &fee_entries),
            posting("payout", &payout_reference, &payout_entries),
        ],
        now,
    )?;
    Ok(())
}

/// A declined charge: the pledge is errored until its retry, and the backer hears how to fix it;
/// a late pledge is dropped instead, its backer told in the answer to their request.
fn record_failure(
    conn: &mut DbConn,
    answer: &Answer<'_>,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Recorded, CoreError> {
    let attempt = answer.attempt;
    if !charge_attempts::finish_attempt(
        conn,
        attempt.id,
        ChargeStatus::Failed,
        None,
        None,
        Some(code),
        now.naive_utc(),
    )? {
        return Ok(Recorded::Already);
    }
    if answer.pledge.late {
        let reason = format!("charge declined: {code}");
        return Ok(
            match lifecycle::drop(conn, answer.campaign, answer.pledge, &reason, now)? {
                Some(_) => Recorded::Dropped,
                None => Recorded::Already,
            },
        );
    }
    let decline = Decline {
        attempt_id: attempt.id,
        code,
        retry_at: (now + RETRY_EVERY).naive_utc(),
        drop_after: DROP_AFTER,
    };
    Ok(
        match lifecycle::decline(conn, answer.campaign, answer.pledge, &decline, now)? {
            Some(_) => Recorded::Errored,
            None => Recorded::Already,
        },
    )
}
