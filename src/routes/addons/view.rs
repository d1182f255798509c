//! What the API shows of an add-on.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::campaigns::addons::{stored_shipping, tier_ids};
use crate::campaigns::visibility::Viewer;
use crate::db::addons::AddonRow;
use crate::domain::{CoreError, Currency, Money, Visibility};

#[derive(Debug, Serialize, ToSchema)]
pub struct AddonResponse {
    pub id: i64,
    #[schema(example = "Sticker pack")]
    pub title: String,
    pub description: String,
    /// Each; decimal string.
    #[schema(example = "12.00")]
    pub price: String,
    /// Units on offer; null for unlimited.
    #[schema(example = 200)]
    pub quantity: Option<i32>,
    /// Units held by backers.
    pub claimed: i32,
    /// Units left; null for unlimited.
    pub remaining: Option<i32>,
    /// Most units one pledge may hold.
    #[schema(example = 10)]
    pub max_per_pledge: i32,
    /// Fee per unit by ISO country code, `*` for the rest of the world; null if it ships
    /// nothing.
    #[schema(example = json!({"US": "2.00", "*": "5.00"}))]
    pub shipping: Option<BTreeMap<String, String>>,
    /// The reward tiers it may be added to; empty: any pledge, with or without a reward.
    pub tiers: Vec<i64>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Inside its time window and not sold out.
    pub available: bool,
    pub visibility: Visibility,
    /// The token to share a secret add-on with (its creator and admins only; else null).
    pub secret_token: Option<String>,
}

impl AddonResponse {
    pub fn new(
        row: &AddonRow,
        currency: Currency,
        viewer: Viewer<'_>,
        now: DateTime<Utc>,
    ) -> Result<Self, CoreError> {
        let money = |minor: i64| Money::from_minor(minor, currency).to_decimal_string();
        let remaining = row.quantity.map(|q| (q - row.claimed).max(0));
        let at = now.naive_utc();
        let in_window = row.starts_at.is_none_or(|s| s <= at) && row.ends_at.is_none_or(|e| at < e);
        let shipping = stored_shipping(row)?.map(|s| s.to_decimal_table(currency));
        Ok(Self {
            id: row.id.0,
            title: row.title.clone(),
            description: row.description.clone(),
            price: money(row.price_minor),
            quantity: row.quantity,
            claimed: row.claimed,
            remaining,
            max_per_pledge: row.max_per_pledge,
            shipping,
            tiers: tier_ids(row)?.into_iter().map(|t| t.0).collect(),
            starts_at: row.starts_at.map(|t| t.and_utc()),
            ends_at: row.ends_at.map(|t| t.and_utc()),
            available: in_window && remaining != Some(0),
            visibility: row.visibility,
            secret_token: row.secret_token.clone().filter(|_| viewer.sees_tokens()),
        })
    }
}
