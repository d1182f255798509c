//! What a pledge may be: amount, tier, add-ons and shipping checked against the campaign's
//! rewards.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::campaigns::addons::{stored_shipping as addon_shipping, tier_ids as addon_tiers};
use crate::campaigns::tiers::stored_shipping;
use crate::db::addons::{self, AddonRow};
use crate::db::tiers::{self, TierRow};
use crate::db::{DbConn, referrals};
use crate::domain::addon::{Held, Holding};
use crate::domain::referral::{self, Ref};
use crate::domain::tier::{is_country, opens};
use crate::domain::{
    AddonId, CampaignId, CoreError, Currency, FieldError, FieldErrors, Money, Refusal, Shipping, TierId,
    pledge,
};

/// A pledge's terms as checked: ready to store.
#[derive(Debug, Clone)]
pub struct Terms {
    pub tier: Option<TierRow>,
    pub amount_minor: i64,
    pub shipping_country: Option<String>,
    /// The tier's fee and every add-on's, for the pledge's country.
    pub shipping_fee_minor: i64,
    pub addons: Holding,
}

/// One add-on a backer asks for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddonAsk {
    #[schema(value_type = i64, example = 3)]
    pub addon_id: AddonId,
    /// From 1 to the add-on's `max_per_pledge`.
    #[schema(example = 2, minimum = 1)]
    pub quantity: i64,
    /// A secret add-on's token, where it is not the pledge's `secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// What a backer asks for, as sent.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub tier_id: Option<TierId>,
    pub amount: &'a str,
    pub shipping_country: Option<&'a str>,
    /// A secret tier's token: without it that tier is not found (see `campaigns::visibility`).
    pub secret: Option<&'a str>,
    pub addons: &'a [AddonAsk],
    /// The tier the pledge already holds: kept without its token.
    pub held: Option<TierId>,
    /// The add-ons it already holds: kept without their tokens, and outside their windows.
    pub held_addons: &'a Holding,
    /// A late pledge: a tier's `late_price`, where it has one, is its minimum.
    pub late: bool,
}

/// Checks `amount ≥ tier minimum (its late price, for a late pledge) + Σ add-on price × quantity + shipping` (≥ one major unit
/// without either), that the tier and add-ons are ones the backer can see (404 naming the field
/// otherwise), their windows (409 outside them), the tiers each add-on may go with, and their
/// shipping destinations. Sold-out is the claims' job.
pub fn check(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    currency: Currency,
    asked: &Asked<'_>,
    now: DateTime<Utc>,
) -> Result<Terms, CoreError> {
    let tier = match asked.tier_id {
        Some(id) => tiers::find(conn, campaign_id, id)?,
        None => None,
    };
    let ids: Vec<AddonId> = asked.addons.iter().map(|a| a.addon_id).collect();
    let addon_rows = if ids.is_empty() {
        Vec::new()
    } else {
        addons::find_many(conn, campaign_id, &ids)?
    };
    judge(currency, asked, tier, &addon_rows, now)
}

/// [`check`] with the rows already read: `tier` is the campaign's tier `asked.tier_id`, if it
/// has one, and `addon_rows` those of the campaign's add-ons `asked.addons` names.
pub fn judge(
    currency: Currency,
    asked: &Asked<'_>,
    tier: Option<TierRow>,
    addon_rows: &[AddonRow],
    now: DateTime<Utc>,
) -> Result<Terms, CoreError> {
    let tier = tier
        .filter(|t| Some(t.id) == asked.held || opens(t.visibility, t.secret_token.as_deref(), asked.secret));
    let mut errors = FieldErrors::default();
    let amount = errors.check("amount", pledge::amount(asked.amount, currency));
    let country = asked.shipping_country.map(|c| c.trim().to_ascii_uppercase());
    if let Some(c) = &country
        && !is_country(c)
    {
        errors.push(
            "shipping_country",
            "must be an assigned ISO 3166-1 alpha-2 code such as US",
        );
    }
    let mut seen = HashSet::new();
    for (i, ask) in asked.addons.iter().enumerate() {
        if !seen.insert(ask.addon_id) {
            errors.push(format!("addons[{i}].addon_id"), "appears more than once");
        }
        if ask.quantity < 1 {
            errors.push(format!("addons[{i}].quantity"), "must be at least 1");
        }
    }
    errors.finish()?;
    if asked.tier_id.is_some() && tier.is_none() {
        return Err(Refusal::Unknown(FieldError::new(
            "tier_id",
            "names no reward tier of this campaign",
        ))
        .into());
    }
    let amount =
        amount.ok_or_else(|| CoreError::unexpected("the amount passed validation without a value"))?;
    let at = now.naive_utc();

    let (reward_minimum, tier_fee) = match &tier {
        Some(tier) => {
            // A pledge that holds the tier keeps it outside its window (an early bird).
            if Some(tier.id) != asked.held {
                check_open("reward", (tier.starts_at, tier.ends_at), at)?;
            }
            let fee = match stored_shipping(tier)? {
                None => None,
                Some(shipping) => Some(fee_to(&shipping, country.as_deref(), "this reward")?),
            };
            let minimum = match tier.late_price_minor {
                Some(late_price) if asked.late => late_price,
                _ => tier.min_amount_minor,
            };
            (minimum, fee)
        }
        None => (0, None),
    };
    let mut held = Vec::with_capacity(asked.addons.len());
    let mut addon_ships = false;
    for (i, ask) in asked.addons.iter().enumerate() {
        let kept = asked.held_addons.units_of(ask.addon_id);
        let addon = addon_rows
            .iter()
            .find(|a| a.id == ask.addon_id)
            .filter(|a| {
                kept > 0
                    || opens(
                        a.visibility,
                        a.secret_token.as_deref(),
                        ask.secret.as_deref().or(asked.secret),
                    )
            })
            .ok_or_else(|| {
                Refusal::Unknown(FieldError::new(
                    format!("addons[{i}].addon_id"),
                    "names no add-on of this campaign",
                ))
            })?;
        // What the pledge already holds with the same reward stays, whatever the creator has
        // changed of the add-on's limits since.
        let keeps = ask.quantity <= i64::from(kept) && asked.held == asked.tier_id;
        if !keeps && ask.quantity > i64::from(addon.max_per_pledge) {
            return Err(Refusal::field(
                format!("addons[{i}].quantity"),
                format!("must be at most {} for this add-on", addon.max_per_pledge),
            )
            .into());
        }
        let quantity = ask.quantity as i32;
        let allowed = addon_tiers(addon)?;
        if !keeps && !allowed.is_empty() && !tier.as_ref().is_some_and(|t| allowed.contains(&t.id)) {
            return Err(Refusal::field(
                format!("addons[{i}].addon_id"),
                "can only be added to a pledge for one of its rewards (its `tiers`)",
            )
            .into());
        }
        if quantity > kept {
            check_open("add-on", (addon.starts_at, addon.ends_at), at)?;
        }
        let fee = match addon_shipping(addon)? {
            None => 0,
            Some(shipping) => {
                addon_ships = true;
                let what = format!("the add-on {:?}", addon.title);
                fee_to(&shipping, country.as_deref(), &what)? * i64::from(quantity)
            }
        };
        held.push(Held {
            addon_id: addon.id,
            quantity,
            price_minor: addon.price_minor,
            shipping_fee_minor: fee,
        });
    }
    let addons = Holding::new(held);
    let ships = tier_fee.is_some() || addon_ships;
    let shipping_fee = tier_fee.unwrap_or(0) + addons.shipping_minor();
    let minimum = (reward_minimum + addons.cost_minor() + shipping_fee).max(if tier.is_none() {
        currency.minor_per_major()
    } else {
        0
    });
    if amount.minor() < minimum {
        let minimum = Money::from_minor(minimum, currency).to_decimal_string();
        let parts = match (shipping_fee > 0, addons.is_empty()) {
            (true, true) => " (the reward plus shipping)",
            (false, false) => " (the reward plus its add-ons)",
            (true, false) => " (the reward, its add-ons and shipping)",
            (false, true) => "",
        };
        return Err(Refusal::field("amount", format!("must be at least {minimum}{parts}")).into());
    }
    Ok(Terms {
        tier,
        amount_minor: amount.minor(),
        shipping_country: if ships { country } else { None },
        shipping_fee_minor: shipping_fee,
        addons,
    })
}

/// 409 outside a reward's or an add-on's window.
fn check_open(
    what: &str,
    (starts_at, ends_at): (Option<NaiveDateTime>, Option<NaiveDateTime>),
    at: NaiveDateTime,
) -> Result<(), Refusal> {
    if starts_at.is_some_and(|s| at < s) {
        return Err(Refusal::Conflict(format!("this {what} is not available yet")));
    }
    if ends_at.is_some_and(|e| e <= at) {
        return Err(Refusal::Conflict(format!("this {what} is no longer available")));
    }
    Ok(())
}

/// The fee to ship `what` to `country`: 422 on `shipping_country` without one, or where it
/// does not ship.
fn fee_to(shipping: &Shipping, country: Option<&str>, what: &str) -> Result<i64, Refusal> {
    let country =
        country.ok_or_else(|| Refusal::field("shipping_country", format!("is required: {what} ships")))?;
    shipping
        .fee_for(country)
        .ok_or_else(|| Refusal::field("shipping_country", format!("{what} does not ship to {country}")))
}

/// A pledge's `ref` as it is kept: a channel, or one of the campaign's referral codes
/// (lowercase); 422 on `ref` otherwise.
pub fn referral(conn: &mut DbConn, campaign_id: CampaignId, raw: &str) -> Result<String, CoreError> {
    match referral::parse(raw).map_err(|m| Refusal::field("ref", m))? {
        Ref::Channel(channel) => Ok(channel.to_owned()),
        Ref::Code(code) if referrals::is_tag_of(conn, campaign_id, &code)? => Ok(code),
        Ref::Code(_) => Err(Refusal::field("ref", referral::unknown()).into()),
    }
}
