//! Reward tiers: their fields, their availability window, and what freezes once a tier has
//! backers. A tier may be secret (see [`super::visibility`]): its token is made the first time
//! it is, and kept. Tiers change only while their campaign is a draft, or live before its
//! deadline, except their late price, which changes alone in any status that may take late
//! pledges (see [`super::late`]). Once a tier has backers
//! (`claimed > 0`) its `min_amount` and `shipping` are frozen, it cannot be deleted, and its
//! `quantity` can only be raised: checked, then written conditionally on `claimed`, so a
//! pledge that lands in between makes the edit fail rather than slip past the rule.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, SubsecRound, Utc};

use super::access;
use crate::db::DbConn;
use crate::db::campaigns::{self, CampaignRow};
use crate::db::tiers::{self, NewTier, TierRow, TierUpdate};
use crate::domain::campaign::{MAX_DURATION_DAYS, text};
use crate::domain::tier::{estimated_delivery, lowers_quantity, quantity, token_for};
use crate::domain::{
    Actor, CampaignId, CoreError, Currency, FieldErrors, ImageId, Money, Refusal, Resource, Shipping, TierId,
    Visibility,
};

/// A tier's fields as sent (for an update, merged with the tier as it is).
pub struct Input<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub min_amount: &'a str,
    pub quantity: Option<i64>,
    pub estimated_delivery: &'a str,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub shipping: Option<&'a BTreeMap<String, String>>,
    /// One of the campaign's images.
    pub image_id: Option<ImageId>,
    pub visibility: Visibility,
    /// What a late pledge pays for it at least (see `super::late`); `None`: `min_amount`.
    pub late_price: Option<&'a str>,
}

/// Changes to a tier: absent fields stay, `Some(None)` clears a nullable one.
#[derive(Default)]
pub struct Patch<'a> {
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub min_amount: Option<&'a str>,
    pub quantity: Option<Option<i64>>,
    pub estimated_delivery: Option<&'a str>,
    pub starts_at: Option<Option<DateTime<Utc>>>,
    pub ends_at: Option<Option<DateTime<Utc>>>,
    pub shipping: Option<Option<&'a BTreeMap<String, String>>>,
    pub image_id: Option<Option<ImageId>>,
    pub visibility: Option<Visibility>,
    pub late_price: Option<Option<&'a str>>,
}

impl Patch<'_> {
    /// Only the late price: what a tier may still change once its campaign's deadline has
    /// passed, for the late pledges to come.
    fn only_late_price(&self) -> bool {
        let Patch {
            title,
            description,
            min_amount,
            quantity,
            estimated_delivery,
            starts_at,
            ends_at,
            shipping,
            image_id,
            visibility,
            late_price,
        } = self;
        late_price.is_some()
            && title.is_none()
            && description.is_none()
            && min_amount.is_none()
            && quantity.is_none()
            && estimated_delivery.is_none()
            && starts_at.is_none()
            && ends_at.is_none()
            && shipping.is_none()
            && image_id.is_none()
            && visibility.is_none()
    }
}

/// A tier's fields, valid.
struct Fields {
    title: String,
    description: String,
    min_amount_minor: i64,
    quantity: Option<i32>,
    estimated_delivery: String,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    shipping: Option<Shipping>,
    late_price_minor: Option<i64>,
}

impl Fields {
    /// Every invalid field is named in one refusal; the window is checked once the fields are
    /// valid. Instants keep the microseconds both databases store.
    fn parse(input: Input<'_>, campaign: &CampaignRow, now: DateTime<Utc>) -> Result<Self, CoreError> {
        let currency = campaign.currency;
        let mut errors = FieldErrors::default();
        let title = errors.check("title", text(input.title, 1, 80, false));
        let description = errors.check("description", text(input.description, 0, 2_000, true));
        let min_amount = errors.check("min_amount", Money::parse_positive(input.min_amount, currency));
        let quantity = input.quantity.map(|q| errors.check("quantity", quantity(q)));
        let delivery = errors.check(
            "estimated_delivery",
            estimated_delivery(input.estimated_delivery, now),
        );
        let shipping = input
            .shipping
            .map(|table| Shipping::parse_field(table, currency, &mut errors));
        let late_price = input.late_price.map(|raw| {
            errors.check(
                "late_price",
                super::late::price(raw, currency, min_amount.map(|m| m.minor())),
            )
        });
        errors.finish()?;
        let (starts_at, ends_at) = (
            input.starts_at.map(|t| t.trunc_subsecs(6)),
            input.ends_at.map(|t| t.trunc_subsecs(6)),
        );
        check_window(starts_at, ends_at)?;
        check_within_life(campaign, starts_at, ends_at, now)?;
        match (title, description, min_amount, delivery) {
            (Some(title), Some(description), Some(min), Some(estimated_delivery)) => Ok(Self {
                title,
                description,
                min_amount_minor: min.minor(),
                quantity: quantity.flatten(),
                estimated_delivery,
                starts_at,
                ends_at,
                shipping: shipping.flatten(),
                late_price_minor: late_price.flatten(),
            }),
            _ => Err(CoreError::unexpected(
                "tier fields passed validation without values",
            )),
        }
    }
}

/// `starts_at` must come before `ends_at`.
pub fn check_window(starts_at: Option<DateTime<Utc>>, ends_at: Option<DateTime<Utc>>) -> Result<(), Refusal> {
    match (starts_at, ends_at) {
        (Some(start), Some(end)) if start >= end => Err(Refusal::field("ends_at", "must be after starts_at")),
        _ => Ok(()),
    }
}

/// How far after now a draft's windows may reach: its deadline is not known until it launches.
const DRAFT_HORIZON_DAYS: i64 = 365;

/// A window lies within the campaign's life: not before the day it was created, not after its
/// deadline (a draft's: a year from now, plus its longest duration). Outside it a window means
/// nothing, and a year such as 0 or 9999 is a typo.
pub(super) fn check_within_life(
    campaign: &CampaignRow,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let earliest = campaign.created_at.date().and_time(NaiveTime::MIN).and_utc();
    let latest = match campaign.deadline {
        Some(deadline) => deadline.and_utc(),
        None => now + Duration::days(DRAFT_HORIZON_DAYS + MAX_DURATION_DAYS),
    };
    let mut errors = FieldErrors::default();
    for (field, at) in [("starts_at", starts_at), ("ends_at", ends_at)] {
        if let Some(at) = at
            && !(earliest..=latest).contains(&at)
        {
            errors.push(
                field,
                format!(
                    "must be within the campaign's life, from {} to {}",
                    earliest.to_rfc3339(),
                    latest.to_rfc3339()
                ),
            );
        }
    }
    errors.finish()
}

/// Tiers change only while the campaign is a draft or live.
fn require_editable(campaign: &CampaignRow) -> Result<(), Refusal> {
    if campaign.status.is_editable() {
        Ok(())
    } else {
        Err(Refusal::Conflict(format!(
            "the tiers of a {} campaign can no longer change",
            campaign.status.as_str()
        )))
    }
}

/// The owner's campaign, while its tiers may change (a draft, or live before its deadline).
pub(super) fn editable_campaign(
    conn: &mut DbConn,
    id: CampaignId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<CampaignRow, CoreError> {
    let campaign = access::owned_by(campaigns::find(conn, id)?, actor)?;
    require_editable(&campaign)?;
    super::check_before_deadline(&campaign, now)?;
    Ok(campaign)
}

/// Adds a tier to the owner's draft or live campaign; returns it with the campaign's currency.
pub fn create(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    actor: &Actor,
    input: Input<'_>,
    now: DateTime<Utc>,
) -> Result<(TierRow, Currency), CoreError> {
    let campaign = editable_campaign(conn, campaign_id, actor, now)?;
    let (image_id, input_visibility) = (input.image_id, input.visibility);
    let fields = Fields::parse(input, &campaign, now)?;
    if let Some(image) = image_id {
        crate::media::images::check_usable(conn, campaign.id, "image_id", image)?;
    }
    let shipping = fields.shipping.as_ref().map(Shipping::to_json);
    let secret_token = token_for(None, input_visibility);
    let row = tiers::insert(
        conn,
        &NewTier {
            campaign_id: campaign.id,
            title: &fields.title,
            description: &fields.description,
            min_amount_minor: fields.min_amount_minor,
            quantity: fields.quantity,
            estimated_delivery: &fields.estimated_delivery,
            starts_at: fields.starts_at.map(|t| t.naive_utc()),
            ends_at: fields.ends_at.map(|t| t.naive_utc()),
            shipping: shipping.as_deref(),
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
            image_id,
            visibility: input_visibility,
            secret_token: secret_token.as_deref(),
            late_price_minor: fields.late_price_minor,
        },
    )?;
    Ok((row, campaign.currency))
}

/// Changes a tier of the owner's campaign: the patch is merged into the tier and the whole
/// result validated, then the frozen-once-backed rules are checked.
pub fn update(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    tier_id: TierId,
    actor: &Actor,
    patch: &Patch<'_>,
    now: DateTime<Utc>,
) -> Result<(TierRow, Currency), CoreError> {
    if patch.only_late_price() {
        return super::late::set_tier_price(
            conn,
            campaign_id,
            tier_id,
            actor,
            patch.late_price.flatten(),
            now,
        );
    }
    let campaign = editable_campaign(conn, campaign_id, actor, now)?;
    let currency = campaign.currency;
    let tier = tiers::find(conn, campaign.id, tier_id)?.ok_or(Refusal::NotFound)?;
    let stored_shipping = stored_shipping(&tier)?;

    let current_min = Money::from_minor(tier.min_amount_minor, currency).to_decimal_string();
    let current_shipping = stored_shipping.as_ref().map(|s| s.to_decimal_table(currency));
    let current_late = tier
        .late_price_minor
        .map(|minor| Money::from_minor(minor, currency).to_decimal_string());
    let fields = Fields::parse(
        Input {
            title: patch.title.unwrap_or(&tier.title),
            description: patch.description.unwrap_or(&tier.description),
            min_amount: patch.min_amount.unwrap_or(&current_min),
            quantity: patch.quantity.unwrap_or(tier.quantity.map(i64::from)),
            estimated_delivery: patch.estimated_delivery.unwrap_or(&tier.estimated_delivery),
            starts_at: patch.starts_at.unwrap_or(tier.starts_at.map(|t| t.and_utc())),
            ends_at: patch.ends_at.unwrap_or(tier.ends_at.map(|t| t.and_utc())),
            shipping: patch.shipping.unwrap_or(current_shipping.as_ref()),
            image_id: patch.image_id.unwrap_or(tier.image_id),
            visibility: patch.visibility.unwrap_or(tier.visibility),
            late_price: patch.late_price.unwrap_or(current_late.as_deref()),
        },
        &campaign,
        now,
    )?;
    let visibility = patch.visibility.unwrap_or(tier.visibility);
    let secret_token = token_for(tier.secret_token.as_deref(), visibility);
    if tier.claimed > 0 {
        check_backed_tier(&tier, stored_shipping, &fields)?;
    }
    if let Some(Some(image)) = patch.image_id {
        crate::media::images::check_usable(conn, campaign.id, "image_id", image)?;
    }
    let row = tiers::update_if_claimed(
        conn,
        tier.id,
        tier.claimed,
        &TierUpdate {
            shipping: fields.shipping.as_ref().map(Shipping::to_json),
            title: fields.title,
            description: fields.description,
            min_amount_minor: fields.min_amount_minor,
            quantity: fields.quantity,
            estimated_delivery: fields.estimated_delivery,
            starts_at: fields.starts_at.map(|t| t.naive_utc()),
            ends_at: fields.ends_at.map(|t| t.naive_utc()),
            updated_at: now.naive_utc(),
            image_id: patch.image_id.unwrap_or(tier.image_id),
            visibility,
            secret_token,
            late_price_minor: fields.late_price_minor,
        },
    )?
    .ok_or(Refusal::Stale(Resource::Tier))?;
    Ok((row, currency))
}

/// What a tier with backers keeps: its price and shipping, and at least its quantity.
fn check_backed_tier(tier: &TierRow, stored_shipping: Option<Shipping>, new: &Fields) -> Result<(), Refusal> {
    if new.min_amount_minor != tier.min_amount_minor {
        return Err(Refusal::conflict("min_amount is frozen once a tier has backers"));
    }
    if stored_shipping != new.shipping {
        return Err(Refusal::conflict("shipping is frozen once a tier has backers"));
    }
    if lowers_quantity(tier.quantity, new.quantity) {
        return Err(Refusal::conflict(
            "quantity can only be raised once a tier has backers",
        ));
    }
    Ok(())
}

/// Deletes a tier nobody has pledged for.
pub fn delete(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    tier_id: TierId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    let campaign = editable_campaign(conn, campaign_id, actor, now)?;
    let tier = tiers::find(conn, campaign.id, tier_id)?.ok_or(Refusal::NotFound)?;
    if tiers::delete_unclaimed(conn, tier.id)? {
        Ok(())
    } else {
        Err(Refusal::conflict("a tier with backers cannot be deleted").into())
    }
}

/// The tier's stored fee table; a table that does not parse breaks an invariant.
pub fn stored_shipping(tier: &TierRow) -> Result<Option<Shipping>, CoreError> {
    tier.shipping
        .as_deref()
        .map(Shipping::from_json)
        .transpose()
        .map_err(|e| CoreError::unexpected(format!("tier {}: stored shipping: {e}", tier.id)))
}
