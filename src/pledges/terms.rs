//! What a pledge may be: amount, tier and shipping checked against the campaign and tier.

use chrono::{DateTime, Utc};

use crate::campaigns::tiers::stored_shipping;
use crate::db::tiers::{self, TierRow};
use crate::db::{DbConn, referrals};
use crate::domain::referral::{self, Ref};
use crate::domain::tier::is_country;
use crate::domain::{CampaignId, CoreError, Currency, FieldErrors, Money, Refusal, TierId, pledge};

/// A pledge's terms as checked: ready to store.
#[derive(Debug, Clone)]
pub struct Terms {
    pub tier: Option<TierRow>,
    pub amount_minor: i64,
    pub shipping_country: Option<String>,
    pub shipping_fee_minor: i64,
}

/// Checks `amount ≥ tier minimum + shipping fee` (≥ one major unit without a tier), the tier's
/// window (409 outside it) and its shipping destinations. Sold-out is the claim's job.
pub fn check(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    currency: Currency,
    tier_id: Option<TierId>,
    amount: &str,
    shipping_country: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Terms, CoreError> {
    let tier = match tier_id {
        Some(id) => tiers::find(conn, campaign_id, id)?,
        None => None,
    };
    judge(currency, tier_id, tier, amount, shipping_country, now)
}

/// [`check`] with the tier already read: `tier` is the campaign's tier `tier_id`, if it has one.
pub fn judge(
    currency: Currency,
    tier_id: Option<TierId>,
    tier: Option<TierRow>,
    amount: &str,
    shipping_country: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Terms, CoreError> {
    let mut errors = FieldErrors::default();
    let amount = errors.check("amount", pledge::amount(amount, currency));
    let country = shipping_country.map(|c| c.trim().to_ascii_uppercase());
    if let Some(c) = &country
        && !is_country(c)
    {
        errors.push(
            "shipping_country",
            "must be an assigned ISO 3166-1 alpha-2 code such as US",
        );
    }
    if tier_id.is_some() && tier.is_none() {
        errors.push("tier_id", "is not a reward tier of this campaign");
    }
    errors.finish()?;
    let amount =
        amount.ok_or_else(|| CoreError::unexpected("the amount passed validation without a value"))?;

    let (minimum, fee, country) = match &tier {
        Some(tier) => {
            let at = now.naive_utc();
            if tier.starts_at.is_some_and(|s| at < s) {
                return Err(Refusal::conflict("this reward is not available yet").into());
            }
            if tier.ends_at.is_some_and(|e| e <= at) {
                return Err(Refusal::conflict("this reward is no longer available").into());
            }
            match stored_shipping(tier)? {
                None => (tier.min_amount_minor, 0, None),
                Some(shipping) => {
                    let country = country.ok_or_else(|| {
                        Refusal::field("shipping_country", "is required: this reward ships")
                    })?;
                    let fee = shipping.fee_for(&country).ok_or_else(|| {
                        Refusal::field(
                            "shipping_country",
                            format!("this reward does not ship to {country}"),
                        )
                    })?;
                    (tier.min_amount_minor + fee, fee, Some(country))
                }
            }
        }
        None => (currency.minor_per_major(), 0, None),
    };
    if amount.minor() < minimum {
        let minimum = Money::from_minor(minimum, currency).to_decimal_string();
        let detail = if fee > 0 {
            format!("must be at least {minimum} (the reward plus shipping)")
        } else {
            format!("must be at least {minimum}")
        };
        return Err(Refusal::field("amount", detail).into());
    }
    Ok(Terms {
        tier,
        amount_minor: amount.minor(),
        shipping_country: country,
        shipping_fee_minor: fee,
    })
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
