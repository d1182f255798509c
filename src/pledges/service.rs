//! The pledge transactions. Callers run them inside `db::write_transaction`.

use chrono::{DateTime, Duration, Utc};

use super::terms::{self, Terms};
use crate::auth::AuthUser;
use crate::campaigns::{access, currency_of};
use crate::db::campaigns::{self, CampaignRow};
use crate::db::pledges::{self, NewPledge, NewPledgeEvent, PledgeRow};
use crate::db::{DbConn, tiers};
use crate::domain::Money;
use crate::error::ApiError;
use crate::mail::queue;

/// The window before the deadline in which a funded campaign cannot be taken below its goal.
pub const LAST_DAY: Duration = Duration::hours(24);

pub struct NewTerms<'a> {
    pub tier_id: Option<i64>,
    pub amount: &'a str,
    pub shipping_country: Option<&'a str>,
}

fn accepting_pledges(campaign: &CampaignRow, now: DateTime<Utc>) -> bool {
    campaign.status == "live" && campaign.deadline.is_some_and(|d| now.naive_utc() < d)
}

fn not_accepting() -> ApiError {
    ApiError::Conflict(
        "the campaign is not accepting pledges or changes (not live, or past its deadline)".into(),
    )
}

fn event(
    conn: &mut DbConn,
    pledge: &PledgeRow,
    actor: Option<i64>,
    from: Option<&str>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<i64, ApiError> {
    Ok(pledges::append_event(
        conn,
        &NewPledgeEvent {
            pledge_id: pledge.id,
            actor_id: actor,
            from_status: from,
            to_status: &pledge.status,
            reason,
            amount_minor: pledge.amount_minor,
            tier_id: pledge.tier_id,
            created_at: now.naive_utc(),
        },
    )?)
}

/// Moves the campaign's totals, or explains which rule refused.
fn adjust_totals(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    amount: i64,
    backers: i32,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let last_day_starts = (now + LAST_DAY).naive_utc();
    if campaigns::adjust_totals(
        conn,
        campaign.id,
        amount,
        backers,
        now.naive_utc(),
        last_day_starts,
    )? {
        return Ok(());
    }
    let fresh = campaigns::find(conn, campaign.id)?.ok_or(ApiError::NotFound)?;
    if !accepting_pledges(&fresh, now) {
        return Err(not_accepting());
    }
    let goal = Money::from_minor(fresh.goal_minor.unwrap_or_default(), currency_of(&fresh)?);
    Err(ApiError::Conflict(format!(
        "in the last 24 hours before the deadline a pledge cannot be canceled or lowered when that \
         would take the campaign below its goal of {}",
        goal.to_decimal_string()
    )))
}

/// Takes a unit of the new tier and gives back one of the old, in tier-id order so that two
/// concurrent changes between the same tiers cannot deadlock.
fn move_claim(
    conn: &mut DbConn,
    from: Option<i64>,
    to: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if from == to {
        return Ok(());
    }
    let now = now.naive_utc();
    let mut steps: Vec<(i64, bool)> = from
        .map(|id| (id, false))
        .into_iter()
        .chain(to.map(|id| (id, true)))
        .collect();
    steps.sort_unstable();
    for (tier, claim) in steps {
        if claim {
            if !tiers::claim(conn, tier, now)? {
                return Err(ApiError::Conflict("this reward is sold out".into()));
            }
        } else {
            tiers::release(conn, tier, now)?;
        }
    }
    Ok(())
}

/// Makes a pledge: claim, insert, totals, first event.
pub fn create(
    conn: &mut DbConn,
    campaign_id: i64,
    backer: &AuthUser,
    new: &NewTerms<'_>,
    payment_method: &str,
    now: DateTime<Utc>,
) -> Result<(CampaignRow, PledgeRow), ApiError> {
    let campaign = access::visible(campaigns::find(conn, campaign_id)?, Some(backer))?;
    if campaign.owner_id == backer.id.0 {
        return Err(ApiError::Forbidden(
            "creators cannot back their own campaign".into(),
        ));
    }
    if !accepting_pledges(&campaign, now) {
        return Err(not_accepting());
    }
    if let Some(existing) = pledges::active_for(conn, campaign.id, backer.id.0)? {
        return Err(ApiError::Duplicate {
            detail: "you already back this campaign; change that pledge instead".into(),
            existing: format!("/api/v1/pledges/{}", existing.id),
        });
    }
    let Terms {
        tier,
        amount_minor,
        shipping_country,
        shipping_fee_minor,
    } = terms::check(
        conn,
        campaign.id,
        currency_of(&campaign)?,
        new.tier_id,
        new.amount,
        new.shipping_country,
        now,
    )?;
    let tier_id = tier.as_ref().map(|t| t.id);
    let pledge = pledges::insert(
        conn,
        &NewPledge {
            campaign_id: campaign.id,
            backer_id: backer.id.0,
            tier_id,
            amount_minor,
            shipping_country: shipping_country.as_deref(),
            shipping_fee_minor,
            payment_method,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        },
    )?;
    event(conn, &pledge, Some(backer.id.0), None, "pledged", now)?;
    queue::pledge_confirmed(
        conn,
        &campaign,
        &pledge,
        tier.as_ref().map(|t| t.title.as_str()),
        now,
    )?;
    // Last, the tier and campaign rows that every pledge of the campaign updates: their locks
    // are held from here to the commit, and every other pledge of the campaign waits for them.
    // A sold-out tier or a closed campaign rolls back what came before. On PostgreSQL the
    // pledge's references to these rows are checked at commit (migration 000008), when their
    // update locks are already held; checked at the insert, they would lock the rows first,
    // shared by concurrent pledges in multixacts (3.9 million multixact lookups in a benchmark
    // run of about 13 000 pledges, bench/RESULTS.md).
    move_claim(conn, None, tier_id, now)?;
    adjust_totals(conn, &campaign, amount_minor, 1, now)?;
    Ok((campaign, pledge))
}

/// The backer's own pledge and its campaign; 404 for anyone else's.
pub fn own(
    conn: &mut DbConn,
    pledge_id: i64,
    backer: &AuthUser,
) -> Result<(CampaignRow, PledgeRow), ApiError> {
    let pledge = pledges::find(conn, pledge_id)?
        .filter(|p| p.backer_id == backer.id.0)
        .ok_or(ApiError::NotFound)?;
    let campaign = campaigns::find(conn, pledge.campaign_id)?.ok_or(ApiError::NotFound)?;
    Ok((campaign, pledge))
}

fn require_active(pledge: &PledgeRow) -> Result<(), ApiError> {
    if pledge.status == "active" {
        Ok(())
    } else {
        Err(ApiError::Conflict(format!(
            "a {} pledge can no longer change",
            pledge.status
        )))
    }
}

/// Changes amount, tier or shipping; absent fields keep their value.
pub fn change(
    conn: &mut DbConn,
    pledge_id: i64,
    backer: &AuthUser,
    tier_id: Option<Option<i64>>,
    amount: Option<&str>,
    shipping_country: Option<Option<&str>>,
    now: DateTime<Utc>,
) -> Result<(CampaignRow, PledgeRow), ApiError> {
    let (campaign, pledge) = own(conn, pledge_id, backer)?;
    require_active(&pledge)?;
    if !accepting_pledges(&campaign, now) {
        return Err(not_accepting());
    }
    let currency = currency_of(&campaign)?;
    let current_amount = Money::from_minor(pledge.amount_minor, currency).to_decimal_string();
    let Terms {
        tier,
        amount_minor,
        shipping_country,
        shipping_fee_minor,
    } = terms::check(
        conn,
        campaign.id,
        currency,
        tier_id.unwrap_or(pledge.tier_id),
        amount.unwrap_or(&current_amount),
        shipping_country.unwrap_or(pledge.shipping_country.as_deref()),
        now,
    )?;
    let new_tier = tier.as_ref().map(|t| t.id);
    move_claim(conn, pledge.tier_id, new_tier, now)?;
    adjust_totals(conn, &campaign, amount_minor - pledge.amount_minor, 0, now)?;
    let changed = pledges::change_terms(
        conn,
        pledge.id,
        new_tier,
        amount_minor,
        shipping_country.as_deref(),
        shipping_fee_minor,
        now.naive_utc(),
    )?
    .ok_or_else(|| ApiError::Conflict("the pledge changed meanwhile; reload it and retry".into()))?;
    let event_id = event(
        conn,
        &changed,
        Some(backer.id.0),
        Some("active"),
        "changed by the backer",
        now,
    )?;
    queue::pledge_changed(
        conn,
        &campaign,
        &changed,
        &queue::Change {
            event_id,
            previous_amount_minor: pledge.amount_minor,
            tier_title: tier.as_ref().map(|t| t.title.as_str()),
        },
        now,
    )?;
    Ok((campaign, changed))
}

/// Cancels an active pledge before the deadline, giving its tier unit back.
pub fn cancel(
    conn: &mut DbConn,
    pledge_id: i64,
    backer: &AuthUser,
    now: DateTime<Utc>,
) -> Result<(CampaignRow, PledgeRow), ApiError> {
    let (campaign, pledge) = own(conn, pledge_id, backer)?;
    require_active(&pledge)?;
    if !accepting_pledges(&campaign, now) {
        return Err(not_accepting());
    }
    move_claim(conn, pledge.tier_id, None, now)?;
    adjust_totals(conn, &campaign, -pledge.amount_minor, -1, now)?;
    let canceled = pledges::cancel(conn, pledge.id, now.naive_utc())?
        .ok_or_else(|| ApiError::Conflict("the pledge changed meanwhile; reload it and retry".into()))?;
    event(
        conn,
        &canceled,
        Some(backer.id.0),
        Some("active"),
        "canceled by the backer",
        now,
    )?;
    queue::pledge_canceled(conn, &campaign, &canceled, now)?;
    Ok((campaign, canceled))
}

/// Releases every active pledge of a campaign that will not be charged (canceled, suspended),
/// giving their tier units back and logging each. Returns how many were released.
pub fn release_all(
    conn: &mut DbConn,
    campaign_id: i64,
    actor: Option<i64>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let released = pledges::release_active(conn, campaign_id, now.naive_utc())?;
    let mut units: std::collections::BTreeMap<i64, i32> = std::collections::BTreeMap::new();
    for (pledge_id, amount_minor, tier_id) in &released {
        pledges::append_event(
            conn,
            &NewPledgeEvent {
                pledge_id: *pledge_id,
                actor_id: actor,
                from_status: Some("active"),
                to_status: "released",
                reason,
                amount_minor: *amount_minor,
                tier_id: *tier_id,
                created_at: now.naive_utc(),
            },
        )?;
        if let Some(tier) = tier_id {
            *units.entry(*tier).or_default() += 1;
        }
    }
    for (tier, count) in units {
        tiers::release_many(conn, tier, count, now.naive_utc())?;
    }
    Ok(released.len())
}
