//! Late pledges: a successful campaign whose creator lets it keep selling its rewards. The
//! creator turns them on or off on a draft, live, funded or successful campaign; they are taken
//! only once the campaign is successful, until the creator turns them off or
//! `late_pledges_until` passes (at most, and by default, a year after the deadline). Each is
//! charged in its own request (`pledges::late`) and stays out of the campaign's frozen figures.
//! A tier's `late_price` is its minimum for late pledges.

use chrono::{DateTime, Duration, NaiveDateTime, SubsecRound, Utc};

use super::access;
use crate::db::DbConn;
use crate::db::campaigns::{self, CampaignRow};
use crate::db::tiers::{self, TierRow};
use crate::domain::{
    Actor, CampaignId, CampaignStatus, CoreError, Currency, Money, Refusal, Resource, TierId,
};

/// How long after the deadline late pledges may stay open.
pub const HORIZON: Duration = Duration::days(365);

/// When the campaign's late pledges close: the creator's date, else a year after the deadline.
/// `None` before launch, when there is no deadline yet.
pub fn closes_at(campaign: &CampaignRow) -> Option<NaiveDateTime> {
    campaign
        .deadline
        .map(|deadline| campaign.late_pledges_until.unwrap_or(deadline + HORIZON))
}

/// Whether a backer may pledge late now.
pub fn takes_late_pledges(campaign: &CampaignRow, now: DateTime<Utc>) -> bool {
    campaign.status == CampaignStatus::Successful
        && campaign.late_pledges
        && closes_at(campaign).is_some_and(|closes| now.naive_utc() < closes)
}

/// The creator's late-pledge settings as sent; absent fields stay.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub enabled: Option<bool>,
    /// `Some(None)` goes back to the default, a year after the deadline.
    pub until: Option<Option<DateTime<Utc>>>,
}

impl Settings {
    pub fn is_empty(&self) -> bool {
        self.enabled.is_none() && self.until.is_none()
    }

    /// The closing time as stored: microseconds, as both databases keep them.
    pub fn until_column(&self) -> Option<Option<NaiveDateTime>> {
        self.until
            .map(|until| until.map(|t| t.trunc_subsecs(6).naive_utc()))
    }
}

/// Refuses settings the campaign cannot take: 409 in a status that will never take late
/// pledges; 422 on `late_pledges_until` for a draft (no deadline yet), or unless it is after now
/// and the deadline and at most [`HORIZON`] after the deadline.
pub fn check(campaign: &CampaignRow, settings: &Settings, now: DateTime<Utc>) -> Result<(), Refusal> {
    if !matches!(
        campaign.status,
        CampaignStatus::Draft | CampaignStatus::Live | CampaignStatus::Funded | CampaignStatus::Successful
    ) {
        return Err(Refusal::Conflict(format!(
            "a {} campaign takes no late pledges",
            campaign.status.as_str()
        )));
    }
    let Some(Some(until)) = settings.until else {
        return Ok(());
    };
    let Some(deadline) = campaign.deadline.map(|d| d.and_utc()) else {
        return Err(Refusal::field(
            "late_pledges_until",
            "can be set once the campaign is live and has its deadline",
        ));
    };
    let latest = deadline + HORIZON;
    if until <= now.max(deadline) || until > latest {
        return Err(Refusal::field(
            "late_pledges_until",
            format!(
                "must be after now and the deadline ({}), and at most 365 days after the deadline ({})",
                deadline.to_rfc3339(),
                latest.to_rfc3339()
            ),
        ));
    }
    Ok(())
}

/// A tier's late price as sent: a positive amount, at least the tier's minimum.
pub(super) fn price(raw: &str, currency: Currency, min_amount_minor: Option<i64>) -> Result<i64, String> {
    let price = Money::parse_positive(raw, currency)?;
    match min_amount_minor {
        Some(min) if price.minor() < min => Err(format!(
            "must be at least the tier's min_amount, {}",
            Money::from_minor(min, currency).to_decimal_string()
        )),
        _ => Ok(price.minor()),
    }
}

/// Sets or clears (`None`) a tier's late price, in any status that may take late pledges, even
/// past the deadline; its other fields stay as they are.
pub(super) fn set_tier_price(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    tier_id: TierId,
    actor: &Actor,
    raw: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(TierRow, Currency), CoreError> {
    let campaign = access::owned_by(campaigns::find(conn, campaign_id)?, actor)?;
    check(&campaign, &Settings::default(), now)?;
    let tier = tiers::find(conn, campaign.id, tier_id)?.ok_or(Refusal::NotFound)?;
    let price = raw
        .map(|raw| price(raw, campaign.currency, Some(tier.min_amount_minor)))
        .transpose()
        .map_err(|message| Refusal::field("late_price", message))?;
    let row = tiers::set_late_price(conn, tier.id, tier.min_amount_minor, price, now.naive_utc())?
        .ok_or(Refusal::Stale(Resource::Tier))?;
    Ok((row, campaign.currency))
}
