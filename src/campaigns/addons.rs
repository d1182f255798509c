//! Add-ons: extra items sold beside a reward, with the rules of tiers. They change while their
//! campaign is a draft, or live before its deadline. Once bought (`claimed > 0`) an add-on's
//! `price` and `shipping` are frozen, it cannot be deleted, and its `quantity` can only be
//! raised: checked, then written conditionally on `claimed`, so a pledge that lands in between
//! makes the edit fail rather than slip past the rule. `tiers` lists the reward tiers it may
//! be added to (empty: any pledge, with or without a reward). It may be secret, like a tier.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SubsecRound, Utc};

use super::tiers::{check_window, check_within_life, editable_campaign};
use crate::db::DbConn;
use crate::db::addons::{self, AddonFields, AddonRow};
use crate::db::campaigns::CampaignRow;
use crate::db::tiers;
use crate::domain::addon::max_per_pledge;
use crate::domain::campaign::text;
use crate::domain::tier::{lowers_quantity, quantity, token_for};
use crate::domain::{
    Actor, AddonId, CampaignId, CoreError, Currency, FieldErrors, Money, Refusal, Resource, Shipping, TierId,
    Visibility,
};

/// An add-on's fields as sent (for an update, merged with the add-on as it is).
pub struct Input<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub price: &'a str,
    pub quantity: Option<i64>,
    pub max_per_pledge: i64,
    pub shipping: Option<&'a BTreeMap<String, String>>,
    pub tiers: &'a [TierId],
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub visibility: Visibility,
}

/// Changes to an add-on: absent fields stay, `Some(None)` clears a nullable one.
#[derive(Default)]
pub struct Patch<'a> {
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub price: Option<&'a str>,
    pub quantity: Option<Option<i64>>,
    pub max_per_pledge: Option<i64>,
    pub shipping: Option<Option<&'a BTreeMap<String, String>>>,
    pub tiers: Option<&'a [TierId]>,
    pub starts_at: Option<Option<DateTime<Utc>>>,
    pub ends_at: Option<Option<DateTime<Utc>>>,
    pub visibility: Option<Visibility>,
}

/// An add-on's fields, valid.
struct Fields {
    title: String,
    description: String,
    price_minor: i64,
    quantity: Option<i32>,
    max_per_pledge: i32,
    shipping: Option<Shipping>,
    tier_ids: Vec<TierId>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    visibility: Visibility,
}

impl Fields {
    /// Every invalid field is named in one refusal; `tiers` must be the campaign's.
    fn parse(
        conn: &mut DbConn,
        input: Input<'_>,
        campaign: &CampaignRow,
        now: DateTime<Utc>,
    ) -> Result<Self, CoreError> {
        let currency = campaign.currency;
        let mut errors = FieldErrors::default();
        let title = errors.check("title", text(input.title, 1, 80, false));
        let description = errors.check("description", text(input.description, 0, 2_000, true));
        let price = errors.check("price", Money::parse_positive(input.price, currency));
        let quantity = input.quantity.map(|q| errors.check("quantity", quantity(q)));
        let max = errors.check("max_per_pledge", max_per_pledge(input.max_per_pledge));
        let shipping = input
            .shipping
            .map(|table| Shipping::parse_field(table, currency, &mut errors));
        let campaign_tiers: BTreeSet<TierId> = tiers::for_campaign(conn, campaign.id)?
            .into_iter()
            .map(|t| t.id)
            .collect();
        let mut tier_ids = BTreeSet::new();
        for (i, tier) in input.tiers.iter().enumerate() {
            if !campaign_tiers.contains(tier) {
                errors.push(format!("tiers[{i}]"), "is not a reward tier of this campaign");
            } else if !tier_ids.insert(*tier) {
                errors.push(format!("tiers[{i}]"), "appears more than once");
            }
        }
        errors.finish()?;
        let (starts_at, ends_at) = (
            input.starts_at.map(|t| t.trunc_subsecs(6)),
            input.ends_at.map(|t| t.trunc_subsecs(6)),
        );
        check_window(starts_at, ends_at)?;
        check_within_life(campaign, starts_at, ends_at, now)?;
        match (title, description, price, max) {
            (Some(title), Some(description), Some(price), Some(max_per_pledge)) => Ok(Self {
                title,
                description,
                price_minor: price.minor(),
                quantity: quantity.flatten(),
                max_per_pledge,
                shipping: shipping.flatten(),
                tier_ids: tier_ids.into_iter().collect(),
                starts_at,
                ends_at,
                visibility: input.visibility,
            }),
            _ => Err(CoreError::unexpected(
                "add-on fields passed validation without values",
            )),
        }
    }

    fn write<R>(
        &self,
        secret_token: Option<&str>,
        now: DateTime<Utc>,
        with: impl FnOnce(&AddonFields<'_>) -> R,
    ) -> Result<R, CoreError> {
        let shipping = self.shipping.as_ref().map(Shipping::to_json);
        let tier_ids = serde_json::to_string(&self.tier_ids).map_err(CoreError::unexpected)?;
        Ok(with(&AddonFields {
            title: &self.title,
            description: &self.description,
            price_minor: self.price_minor,
            quantity: self.quantity,
            max_per_pledge: self.max_per_pledge,
            shipping: shipping.as_deref(),
            tier_ids: &tier_ids,
            starts_at: self.starts_at.map(|t| t.naive_utc()),
            ends_at: self.ends_at.map(|t| t.naive_utc()),
            visibility: self.visibility,
            secret_token,
            updated_at: now.naive_utc(),
        }))
    }
}

/// Adds an add-on to the owner's draft or live campaign; returns it with the campaign's
/// currency.
pub fn create(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    actor: &Actor,
    input: Input<'_>,
    now: DateTime<Utc>,
) -> Result<(AddonRow, Currency), CoreError> {
    let campaign = editable_campaign(conn, campaign_id, actor, now)?;
    let fields = Fields::parse(conn, input, &campaign, now)?;
    let token = token_for(None, fields.visibility);
    let row = fields.write(token.as_deref(), now, |new| {
        addons::insert(conn, campaign.id, new, now.naive_utc())
    })??;
    Ok((row, campaign.currency))
}

/// Changes an add-on of the owner's campaign: the patch is merged into the add-on and the whole
/// result validated, then the frozen-once-bought rules are checked.
pub fn update(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    addon_id: AddonId,
    actor: &Actor,
    patch: &Patch<'_>,
    now: DateTime<Utc>,
) -> Result<(AddonRow, Currency), CoreError> {
    let campaign = editable_campaign(conn, campaign_id, actor, now)?;
    let currency = campaign.currency;
    let addon = addons::find(conn, campaign.id, addon_id)?.ok_or(Refusal::NotFound)?;
    let stored = stored_shipping(&addon)?;
    let current_price = Money::from_minor(addon.price_minor, currency).to_decimal_string();
    let current_shipping = stored.as_ref().map(|s| s.to_decimal_table(currency));
    let current_tiers = tier_ids(&addon)?;
    let fields = Fields::parse(
        conn,
        Input {
            title: patch.title.unwrap_or(&addon.title),
            description: patch.description.unwrap_or(&addon.description),
            price: patch.price.unwrap_or(&current_price),
            quantity: patch.quantity.unwrap_or(addon.quantity.map(i64::from)),
            max_per_pledge: patch.max_per_pledge.unwrap_or(i64::from(addon.max_per_pledge)),
            shipping: patch.shipping.unwrap_or(current_shipping.as_ref()),
            tiers: patch.tiers.unwrap_or(&current_tiers),
            starts_at: patch.starts_at.unwrap_or(addon.starts_at.map(|t| t.and_utc())),
            ends_at: patch.ends_at.unwrap_or(addon.ends_at.map(|t| t.and_utc())),
            visibility: patch.visibility.unwrap_or(addon.visibility),
        },
        &campaign,
        now,
    )?;
    if addon.claimed > 0 {
        check_bought(&addon, stored, &fields)?;
    }
    let token = token_for(addon.secret_token.as_deref(), fields.visibility);
    let row = fields.write(token.as_deref(), now, |changed| {
        addons::update_if_claimed(conn, addon.id, addon.claimed, changed)
    })??;
    Ok((row.ok_or(Refusal::Stale(Resource::Addon))?, currency))
}

/// What a bought add-on keeps: its price and shipping, and at least its quantity.
fn check_bought(addon: &AddonRow, stored: Option<Shipping>, new: &Fields) -> Result<(), Refusal> {
    if new.price_minor != addon.price_minor {
        return Err(Refusal::conflict("price is frozen once an add-on is bought"));
    }
    if stored != new.shipping {
        return Err(Refusal::conflict("shipping is frozen once an add-on is bought"));
    }
    if lowers_quantity(addon.quantity, new.quantity) {
        return Err(Refusal::conflict(
            "quantity can only be raised once an add-on is bought",
        ));
    }
    Ok(())
}

/// Deletes an add-on nobody holds.
pub fn delete(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    addon_id: AddonId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    let campaign = editable_campaign(conn, campaign_id, actor, now)?;
    let addon = addons::find(conn, campaign.id, addon_id)?.ok_or(Refusal::NotFound)?;
    if addons::delete_unclaimed(conn, addon.id)? {
        Ok(())
    } else {
        Err(Refusal::conflict("an add-on that has been bought cannot be deleted").into())
    }
}

/// The add-on's stored fee table (per unit); a table that does not parse breaks an invariant.
pub fn stored_shipping(addon: &AddonRow) -> Result<Option<Shipping>, CoreError> {
    addon
        .shipping
        .as_deref()
        .map(Shipping::from_json)
        .transpose()
        .map_err(|e| CoreError::unexpected(format!("add-on {}: stored shipping: {e}", addon.id)))
}

/// The tiers the add-on may be added to; empty for any pledge.
pub fn tier_ids(addon: &AddonRow) -> Result<Vec<TierId>, CoreError> {
    serde_json::from_str(&addon.tier_ids)
        .map_err(|e| CoreError::unexpected(format!("add-on {}: stored tiers: {e}", addon.id)))
}
