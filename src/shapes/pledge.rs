//! A pledge as the API, and webhook payloads, show it.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::pledges::PledgeRow;
use crate::domain::addon::Holding;
use crate::domain::{Currency, FulfilmentStatus, Money, PledgeStatus};

/// A pledge. `payment_method` is shown to the backer only, never to the creator.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PledgeResponse {
    #[schema(example = 17)]
    pub id: i64,
    pub campaign_id: i64,
    pub backer_id: i64,
    pub tier_id: Option<i64>,
    /// Total to be charged, shipping included.
    #[schema(example = "60.00")]
    pub amount: String,
    /// The part of `amount` that pays for shipping (the reward's and the add-ons').
    #[schema(example = "15.00")]
    pub shipping_fee: String,
    /// The add-ons bought beside the reward, at the prices they were bought for.
    pub addons: Vec<PledgeAddon>,
    /// How `amount` divides: `reward + addons + shipping = amount`.
    pub breakdown: Breakdown,
    pub currency: Currency,
    #[schema(example = "FR")]
    pub shipping_country: Option<String>,
    pub status: PledgeStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "pm_card_visa")]
    pub payment_method: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub canceled_at: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
    pub collected_at: Option<DateTime<Utc>>,
    pub errored_at: Option<DateTime<Utc>>,
    pub dropped_at: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
    /// Where its reward is: `not_applicable` when it ships nothing.
    pub fulfilment_status: FulfilmentStatus,
    #[schema(example = "La Poste")]
    pub carrier: Option<String>,
    #[schema(example = "6A12345678901")]
    pub tracking_number: Option<String>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Which link brought the backer: a referral code of the campaign, or `direct`,
    /// `search`, `embed` or `other`; the first one sent is kept.
    #[serde(default, rename = "ref")]
    #[schema(example = "direct")]
    pub referral: Option<String>,
    /// With `PAYMENT_PROVIDER=stripe`, in the answer to a pledge or a new payment method only:
    /// the SetupIntent's client secret, for Stripe.js to finish the card's set-up (3-D Secure)
    /// when it needs the backer. See the README, "Stripe".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_intent_client_secret: Option<String>,
    /// Made after the campaign's success and charged at once: outside the campaign's frozen
    /// totals.
    #[serde(default)]
    pub late: bool,
    /// In the answer to a late pledge only, when the card needs the backer (Stripe's
    /// `requires_action`): the PaymentIntent's client secret, for Stripe.js to finish the
    /// payment. The pledge stays `active` until the provider reports the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent_client_secret: Option<String>,
}

/// An add-on a pledge holds.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PledgeAddon {
    #[schema(example = 3)]
    pub addon_id: i64,
    #[schema(example = 2)]
    pub quantity: i32,
    /// Each.
    #[schema(example = "12.00")]
    pub price: String,
    /// For all `quantity` units, to the pledge's country.
    #[schema(example = "4.00")]
    pub shipping_fee: String,
}

/// The parts of a pledge's amount.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Breakdown {
    /// What is left for the reward (at least its minimum; anything above is a bonus).
    #[schema(example = "32.00")]
    pub reward: String,
    /// Σ add-on price × quantity.
    #[schema(example = "24.00")]
    pub addons: String,
    #[schema(example = "19.00")]
    pub shipping: String,
}

/// One page of pledges; pass `next_cursor` as `cursor` for the next (null: last page).
#[derive(Debug, Serialize, ToSchema)]
pub struct PledgePage {
    pub items: Vec<PledgeResponse>,
    pub next_cursor: Option<String>,
}

fn utc(t: Option<NaiveDateTime>) -> Option<DateTime<Utc>> {
    t.map(|t| t.and_utc())
}

impl PledgeResponse {
    /// `for_backer`: whether the viewer is the backer (who alone sees the payment method).
    pub fn new(pledge: &PledgeRow, currency: Currency, for_backer: bool) -> Self {
        let money = |minor: i64| Money::from_minor(minor, currency).to_decimal_string();
        let holding = Holding::from_json(&pledge.addons).unwrap_or_else(|e| {
            tracing::error!(pledge.id = %pledge.id, error = %e, "stored add-ons do not parse");
            Holding::default()
        });
        let addons_minor = holding.cost_minor();
        Self {
            id: pledge.id.0,
            campaign_id: pledge.campaign_id.0,
            backer_id: pledge.backer_id.0,
            tier_id: pledge.tier_id.map(|t| t.0),
            amount: Money::from_minor(pledge.amount_minor, currency).to_decimal_string(),
            shipping_fee: money(pledge.shipping_fee_minor),
            addons: holding
                .items()
                .iter()
                .map(|h| PledgeAddon {
                    addon_id: h.addon_id.0,
                    quantity: h.quantity,
                    price: money(h.price_minor),
                    shipping_fee: money(h.shipping_fee_minor),
                })
                .collect(),
            breakdown: Breakdown {
                reward: money(pledge.amount_minor - addons_minor - pledge.shipping_fee_minor),
                addons: money(addons_minor),
                shipping: money(pledge.shipping_fee_minor),
            },
            currency,
            shipping_country: pledge.shipping_country.clone(),
            status: pledge.status,
            payment_method: for_backer.then(|| pledge.payment_method.clone()),
            created_at: pledge.created_at.and_utc(),
            updated_at: pledge.updated_at.and_utc(),
            canceled_at: utc(pledge.canceled_at),
            released_at: utc(pledge.released_at),
            collected_at: utc(pledge.collected_at),
            errored_at: utc(pledge.errored_at),
            dropped_at: utc(pledge.dropped_at),
            refunded_at: utc(pledge.refunded_at),
            fulfilment_status: FulfilmentStatus::of(
                pledge.fulfilment_status,
                pledge.shipping_country.is_some(),
            ),
            carrier: pledge.carrier.clone(),
            tracking_number: pledge.tracking_number.clone(),
            shipped_at: utc(pledge.shipped_at),
            delivered_at: utc(pledge.delivered_at),
            referral: pledge.referral.clone(),
            setup_intent_client_secret: None,
            late: pledge.late,
            payment_intent_client_secret: None,
        }
    }
}
