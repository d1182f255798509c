//! Late pledges (see `campaigns::late`): made once the campaign is successful, and charged in
//! the backer's own request. First the pledge, its units and its first attempt are written
//! together, the pledge leased to the request; then the provider is called, outside any
//! transaction; then its answer is recorded as settlement records one
//! (`settlement::record_outcome`): collected, with the platform fee and the creator's share
//! posted at once, or dropped at the first decline. An unknown outcome leaves the attempt
//! pending: the lease expires and the next settlement pass replays the same key. The campaign's
//! totals and frozen figures never move.

use chrono::{DateTime, Duration, Utc};

use super::claims::{move_addons, move_claim};
use super::lifecycle::{self, Created};
use super::service::{NewTerms, new_row};
use super::terms::{self, Terms};
use crate::campaigns::access;
use crate::campaigns::late::takes_late_pledges;
use crate::db::campaigns::{self, CampaignRow};
use crate::db::charge_attempts::{self, AttemptRow, NewAttempt};
use crate::db::pledges::{self, NewPledge, NewPledgeEvent, PledgeRow};
use crate::db::{DbConn, settlement as settlement_db, webhooks};
use crate::domain::addon::NOTHING;
use crate::domain::{Actor, CampaignId, CoreError, PledgeStatus, Refusal};
use crate::payments::ChargeOutcome;
use crate::settlement::{self, Config, LEASE};

/// How long a late pledge waits for its backer to confirm the payment (3-D Secure) before a
/// settlement pass asks the provider again, and drops it if it is still unconfirmed.
pub const CONFIRM_WITHIN: Duration = Duration::hours(1);

/// A late pledge written, its charge about to be made.
#[derive(Debug, Clone)]
pub struct Started {
    pub campaign: CampaignRow,
    pub pledge: PledgeRow,
    pub attempt: AttemptRow,
}

/// Whether the campaign takes late pledges now: asked only once a pledge was refused because
/// the campaign is not live, so that live campaigns' pledges pay nothing for it.
pub fn applies(conn: &mut DbConn, campaign_id: CampaignId, now: DateTime<Utc>) -> Result<bool, CoreError> {
    Ok(campaigns::find(conn, campaign_id)?.is_some_and(|c| takes_late_pledges(&c, now)))
}

/// Checks and writes a late pledge: terms at the tiers' late prices, units claimed as a live
/// pledge claims them, its first event, and its first attempt, pending. In the caller's
/// transaction.
pub fn start(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    backer: &Actor,
    new: &NewTerms<'_>,
    payment_method: &str,
    now: DateTime<Utc>,
) -> Result<Started, CoreError> {
    let campaign = access::visible(campaigns::find(conn, campaign_id)?, Some(backer))?;
    if campaign.owner_id == backer.id {
        return Err(Refusal::forbidden("creators cannot back their own campaign").into());
    }
    if !takes_late_pledges(&campaign, now) {
        return Err(Refusal::conflict(
            "the campaign is not accepting pledges (not live, and not taking late pledges)",
        )
        .into());
    }
    if let Some(existing) = pledges::backing(conn, campaign.id, backer.id)? {
        return Err(Refusal::Duplicate {
            detail: "you already back this campaign".into(),
            existing: format!("/api/v1/pledges/{existing}"),
        }
        .into());
    }
    let asked = terms::Asked {
        late: true,
        ..new.asked()
    };
    let checked = terms::check(conn, campaign.id, campaign.currency, &asked, now)?;
    let referral = new
        .referral
        .map(|raw| terms::referral(conn, campaign.id, raw))
        .transpose()?;
    let holding = checked.addons.to_json();
    let pledge = pledges::insert(
        conn,
        &NewPledge {
            late: true,
            lease_until: Some((now + LEASE).naive_utc()),
            ..new_row(
                &campaign,
                backer,
                &checked,
                referral.as_deref(),
                payment_method,
                &holding,
                now,
            )
        },
    )?;
    let Terms {
        tier,
        addons: holding,
        ..
    } = checked;
    let tier_id = tier.as_ref().map(|t| t.id);
    // Its event and `pledge.created`; no confirmation email: the receipt follows at once.
    let Created { event, webhook, .. } =
        lifecycle::created_records(&campaign, &pledge, tier.as_ref().map(|t| t.title.as_str()), now);
    pledges::append_event(
        conn,
        &NewPledgeEvent {
            reason: "pledged late",
            ..event
        },
    )?;
    webhooks::insert_event(conn, &webhook)?;
    move_claim(conn, None, tier_id, now)?;
    move_addons(conn, &NOTHING, &holding, now)?;
    let mut attempts = charge_attempts::insert_attempts(
        conn,
        &[NewAttempt::next(&pledge, campaign.currency, now.naive_utc())],
    )?;
    let attempt = attempts
        .remove(&pledge.id)
        .ok_or_else(|| CoreError::unexpected(format!("late pledge {} has no attempt", pledge.id)))?;
    Ok(Started {
        campaign,
        pledge,
        attempt,
    })
}

/// The backer must confirm `payment`: the pledge stays leased to them for
/// [`CONFIRM_WITHIN`], while the provider's webhook reports the outcome; the attempt keeps the
/// payment for whoever replays it.
pub fn wait_for_backer(
    conn: &mut DbConn,
    started: &Started,
    payment: &str,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    charge_attempts::await_confirmation(conn, started.attempt.id, payment)?;
    settlement_db::hold_lease(conn, started.pledge.id, (now + CONFIRM_WITHIN).naive_utc())?;
    Ok(())
}

/// Records the provider's answer. The pledge as it is now if it was collected; a refusal
/// naming the provider's reason if it was declined (the pledge is dropped, and its units given
/// back, whatever the caller does with the refusal: commit it).
pub fn finish(
    conn: &mut DbConn,
    started: &Started,
    outcome: &ChargeOutcome,
    fees: &Config,
    now: DateTime<Utc>,
) -> Result<Result<PledgeRow, Refusal>, CoreError> {
    let Started {
        campaign,
        pledge,
        attempt,
    } = started;
    // Recorded now, or first by the provider's webhook: the same key had the same answer.
    settlement::record_outcome(conn, campaign, pledge, attempt, outcome, fees, now)?;
    let now_row = pledges::find(conn, pledge.id)?
        .ok_or_else(|| CoreError::unexpected(format!("late pledge {} vanished", pledge.id)))?;
    Ok(match outcome {
        ChargeOutcome::Failed { code } if now_row.status == PledgeStatus::Dropped => Err(Refusal::Declined {
            code: code.clone(),
            pledge: format!("/api/v1/pledges/{}", pledge.id),
        }),
        _ => Ok(now_row),
    })
}
