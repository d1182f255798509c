//! The backer's pledge transactions: make, change, cancel, and a new payment method. Callers
//! run them inside `db::write_transaction`.

use chrono::{DateTime, Duration, Utc};

use super::claims::{move_addons, move_claim};
use super::lifecycle;
use super::terms::{self, AddonAsk, Terms};
use crate::campaigns::{access, is_open};
use crate::db::DbConn;
use crate::db::campaigns::{self, CampaignRow};
use crate::db::pledges::{self, NewPledge, PledgeRow, TermsChange};
use crate::domain::addon::NOTHING;
use crate::domain::{Actor, CampaignId, CoreError, Money, PledgeId, PledgeStatus, Refusal, Resource, TierId};

/// The window before the deadline in which a funded campaign cannot be taken below its goal.
pub const LAST_DAY: Duration = Duration::hours(24);

pub struct NewTerms<'a> {
    pub tier_id: Option<TierId>,
    pub amount: &'a str,
    pub shipping_country: Option<&'a str>,
    /// Which link brought the backer (see [`terms::referral`]).
    pub referral: Option<&'a str>,
    /// A secret tier's token.
    pub secret: Option<&'a str>,
    pub addons: &'a [AddonAsk],
}

impl NewTerms<'_> {
    pub fn asked(&self) -> terms::Asked<'_> {
        terms::Asked {
            tier_id: self.tier_id,
            amount: self.amount,
            shipping_country: self.shipping_country,
            secret: self.secret,
            addons: self.addons,
            held: None,
            held_addons: &NOTHING,
            late: false,
        }
    }
}

/// Changes to a pledge's terms; absent fields keep their value, `Some(None)` clears one.
#[derive(Default)]
pub struct TermsPatch<'a> {
    pub tier_id: Option<Option<TierId>>,
    pub amount: Option<&'a str>,
    pub shipping_country: Option<Option<&'a str>>,
    /// Kept only if the pledge has none yet: the first ref wins.
    pub referral: Option<&'a str>,
    /// The token of a secret tier (or add-on) the pledge moves to.
    pub secret: Option<&'a str>,
    /// The whole new list of add-ons; absent keeps those the pledge holds.
    pub addons: Option<&'a [AddonAsk]>,
}

fn not_accepting() -> Refusal {
    Refusal::conflict("the campaign is not accepting pledges or changes (not live, or past its deadline)")
}

/// Moves the campaign's totals, or explains which rule refused.
fn adjust_totals(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    amount: i64,
    backers: i32,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
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
    let fresh = campaigns::find(conn, campaign.id)?.ok_or(Refusal::NotFound)?;
    if !is_open(&fresh, now) {
        return Err(not_accepting().into());
    }
    let goal = Money::from_minor(fresh.goal_minor.unwrap_or_default(), fresh.currency);
    Err(Refusal::Conflict(format!(
        "in the last 24 hours before the deadline a pledge cannot be canceled or lowered when that \
         would take the campaign below its goal of {}",
        goal.to_decimal_string()
    ))
    .into())
}

/// The row of a new pledge on `terms`, made now and not late: the caller inserts it.
pub(super) fn new_row<'a>(
    campaign: &CampaignRow,
    backer: &Actor,
    terms: &'a Terms,
    referral: Option<&'a str>,
    payment_method: &'a str,
    addons: &'a str,
    now: DateTime<Utc>,
) -> NewPledge<'a> {
    NewPledge {
        campaign_id: campaign.id,
        backer_id: backer.id,
        tier_id: terms.tier.as_ref().map(|t| t.id),
        amount_minor: terms.amount_minor,
        shipping_country: terms.shipping_country.as_deref(),
        shipping_fee_minor: terms.shipping_fee_minor,
        payment_method,
        referral,
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
        addons,
        late: false,
        lease_until: None,
    }
}

/// Makes a pledge: claim, insert, totals, first event.
pub fn create(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    backer: &Actor,
    new: &NewTerms<'_>,
    payment_method: &str,
    now: DateTime<Utc>,
) -> Result<(CampaignRow, PledgeRow), CoreError> {
    let campaign = access::visible(campaigns::find(conn, campaign_id)?, Some(backer))?;
    if campaign.owner_id == backer.id {
        return Err(Refusal::forbidden("creators cannot back their own campaign").into());
    }
    if !is_open(&campaign, now) {
        return Err(not_accepting().into());
    }
    if let Some(existing) = pledges::active_for(conn, campaign.id, backer.id)? {
        return Err(Refusal::Duplicate {
            detail: "you already back this campaign; change that pledge instead".into(),
            existing: format!("/api/v1/pledges/{}", existing.id),
        }
        .into());
    }
    let checked = terms::check(conn, campaign.id, campaign.currency, &new.asked(), now)?;
    let referral = new
        .referral
        .map(|raw| terms::referral(conn, campaign.id, raw))
        .transpose()?;
    let holding = checked.addons.to_json();
    let pledge = pledges::insert(
        conn,
        &new_row(
            &campaign,
            backer,
            &checked,
            referral.as_deref(),
            payment_method,
            &holding,
            now,
        ),
    )?;
    let Terms {
        tier,
        amount_minor,
        addons: holding,
        ..
    } = checked;
    let tier_id = tier.as_ref().map(|t| t.id);
    lifecycle::created(
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
    // shared by concurrent pledges (bench/RESULTS.md).
    move_claim(conn, None, tier_id, now)?;
    move_addons(conn, &NOTHING, &holding, now)?;
    adjust_totals(conn, &campaign, amount_minor, 1, now)?;
    Ok((campaign, pledge))
}

/// The backer's own pledge and its campaign; not found for anyone else's.
pub fn own(
    conn: &mut DbConn,
    pledge_id: PledgeId,
    backer: &Actor,
) -> Result<(CampaignRow, PledgeRow), CoreError> {
    let pledge = pledges::find(conn, pledge_id)?
        .filter(|p| p.backer_id == backer.id)
        .ok_or(Refusal::NotFound)?;
    let campaign = campaigns::find(conn, pledge.campaign_id)?.ok_or(Refusal::NotFound)?;
    Ok((campaign, pledge))
}

/// The backer's active pledge on a campaign open to changes.
fn changeable(
    conn: &mut DbConn,
    pledge_id: PledgeId,
    backer: &Actor,
    now: DateTime<Utc>,
) -> Result<(CampaignRow, PledgeRow), CoreError> {
    let (campaign, pledge) = own(conn, pledge_id, backer)?;
    if pledge.status != PledgeStatus::Active {
        return Err(Refusal::Conflict(format!(
            "a {} pledge can no longer change",
            pledge.status.as_str()
        ))
        .into());
    }
    if !is_open(&campaign, now) {
        return Err(not_accepting().into());
    }
    Ok((campaign, pledge))
}

/// Changes amount, tier or shipping, checked as a new pledge would be.
pub fn change(
    conn: &mut DbConn,
    pledge_id: PledgeId,
    backer: &Actor,
    patch: &TermsPatch<'_>,
    now: DateTime<Utc>,
) -> Result<(CampaignRow, PledgeRow), CoreError> {
    let (campaign, pledge) = changeable(conn, pledge_id, backer, now)?;
    let current_amount = Money::from_minor(pledge.amount_minor, campaign.currency).to_decimal_string();
    let held = lifecycle::holding(pledge.id, &pledge.addons)?;
    let kept: Vec<AddonAsk> = held
        .items()
        .iter()
        .map(|h| AddonAsk {
            addon_id: h.addon_id,
            quantity: i64::from(h.quantity),
            secret: None,
        })
        .collect();
    let Terms {
        tier,
        amount_minor,
        shipping_country,
        shipping_fee_minor,
        addons: holding,
    } = terms::check(
        conn,
        campaign.id,
        campaign.currency,
        &terms::Asked {
            tier_id: patch.tier_id.unwrap_or(pledge.tier_id),
            amount: patch.amount.unwrap_or(&current_amount),
            shipping_country: patch
                .shipping_country
                .unwrap_or(pledge.shipping_country.as_deref()),
            secret: patch.secret,
            addons: patch.addons.unwrap_or(&kept),
            held: pledge.tier_id,
            held_addons: &held,
            late: pledge.late,
        },
        now,
    )?;
    let referral = patch
        .referral
        .map(|raw| terms::referral(conn, campaign.id, raw))
        .transpose()?;
    let new_tier = tier.as_ref().map(|t| t.id);
    move_claim(conn, pledge.tier_id, new_tier, now)?;
    move_addons(conn, &held, &holding, now)?;
    adjust_totals(conn, &campaign, amount_minor - pledge.amount_minor, 0, now)?;
    let changed = pledges::change_terms(
        conn,
        pledge.id,
        &TermsChange {
            tier_id: new_tier,
            amount_minor,
            shipping_country: shipping_country.as_deref(),
            shipping_fee_minor,
            addons: &holding.to_json(),
            updated_at: now.naive_utc(),
        },
    )?
    .ok_or(Refusal::Stale(Resource::Pledge))?;
    let changed = match referral {
        Some(referral) if changed.referral.is_none() => {
            pledges::keep_first_referral(conn, pledge.id, &referral)?.unwrap_or(changed)
        }
        _ => changed,
    };
    lifecycle::changed(
        conn,
        &campaign,
        &pledge,
        &changed,
        tier.as_ref().map(|t| t.title.as_str()),
        now,
    )?;
    Ok((campaign, changed))
}

/// Cancels an active pledge before the deadline, giving its tier unit and add-ons back.
pub fn cancel(
    conn: &mut DbConn,
    pledge_id: PledgeId,
    backer: &Actor,
    now: DateTime<Utc>,
) -> Result<(CampaignRow, PledgeRow), CoreError> {
    let (campaign, pledge) = changeable(conn, pledge_id, backer, now)?;
    move_claim(conn, pledge.tier_id, None, now)?;
    move_addons(
        conn,
        &lifecycle::holding(pledge.id, &pledge.addons)?,
        &NOTHING,
        now,
    )?;
    adjust_totals(conn, &campaign, -pledge.amount_minor, -1, now)?;
    let canceled = lifecycle::cancel(conn, &campaign, &pledge, now)?;
    Ok((campaign, canceled))
}

/// Replaces the payment method (a provider reference already saved) of the backer's pledge
/// while it is still being charged or retried; an errored pledge is retried at the next pass.
pub fn replace_payment_method(
    conn: &mut DbConn,
    pledge_id: PledgeId,
    backer: &Actor,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<(CampaignRow, PledgeRow), CoreError> {
    let (campaign, _) = own(conn, pledge_id, backer)?;
    let pledge = pledges::set_payment_method(conn, pledge_id, reference, now.naive_utc())?
        .ok_or_else(|| Refusal::conflict("only an active or errored pledge takes a new payment method"))?;
    Ok((campaign, pledge))
}

/// A pledge as its backer, the campaign's creator or an admin may see it; not found for anyone
/// else. Also says whether the viewer is the backer, who alone sees the payment method.
pub fn view(
    conn: &mut DbConn,
    pledge_id: PledgeId,
    viewer: &Actor,
) -> Result<(CampaignRow, PledgeRow, bool), CoreError> {
    let pledge = pledges::find(conn, pledge_id)?.ok_or(Refusal::NotFound)?;
    let campaign = campaigns::find(conn, pledge.campaign_id)?.ok_or(Refusal::NotFound)?;
    let is_backer = pledge.backer_id == viewer.id;
    if !is_backer && campaign.owner_id != viewer.id && !viewer.is_admin() {
        return Err(Refusal::NotFound.into());
    }
    Ok((campaign, pledge, is_backer))
}
