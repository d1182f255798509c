//! Add-ons: extra items a pledge buys beside its reward, and what a pledge holds of them.

use diesel::sql_types::BigInt;
use diesel::{AsExpression, FromSqlRow};
use serde::{Deserialize, Serialize};

use super::sql::id_column;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, AsExpression, FromSqlRow,
)]
#[serde(transparent)]
#[diesel(sql_type = BigInt)]
pub struct AddonId(pub i64);
id_column!(AddonId);

/// The default, and the largest allowed, number of one add-on a pledge may hold.
pub const DEFAULT_MAX_PER_PLEDGE: i64 = 10;
pub const MAX_PER_PLEDGE: i64 = 1_000;

pub fn max_per_pledge(n: i64) -> Result<i32, String> {
    if (1..=MAX_PER_PLEDGE).contains(&n) {
        Ok(n as i32)
    } else {
        Err(format!("must be from 1 to {MAX_PER_PLEDGE}"))
    }
}

/// One add-on a pledge holds, at the price and shipping fee it was bought for (`quantity`
/// units: the fee is for all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub addon_id: AddonId,
    pub quantity: i32,
    pub price_minor: i64,
    pub shipping_fee_minor: i64,
}

impl Held {
    pub fn cost_minor(&self) -> i64 {
        self.price_minor * i64::from(self.quantity)
    }
}

/// What a pledge holds of add-ons, ordered by add-on id (the order their units are claimed in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holding(Vec<Held>);

/// A pledge that holds no add-on.
pub static NOTHING: Holding = Holding(Vec::new());

impl Holding {
    pub fn new(mut items: Vec<Held>) -> Self {
        items.sort_by_key(|h| h.addon_id);
        Self(items)
    }

    pub fn items(&self) -> &[Held] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Σ price × quantity.
    pub fn cost_minor(&self) -> i64 {
        self.0.iter().map(Held::cost_minor).sum()
    }

    pub fn shipping_minor(&self) -> i64 {
        self.0.iter().map(|h| h.shipping_fee_minor).sum()
    }

    /// The units of `addon` held.
    pub fn units_of(&self, addon: AddonId) -> i32 {
        self.0
            .iter()
            .find(|h| h.addon_id == addon)
            .map_or(0, |h| h.quantity)
    }

    /// How each add-on's units move from `self` to `to`: (add-on, +taken or −given back), by
    /// add-on id, nothing for those that stay.
    pub fn moves_to(&self, to: &Holding) -> Vec<(AddonId, i32)> {
        let mut ids: Vec<AddonId> = self.0.iter().chain(&to.0).map(|h| h.addon_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .map(|id| (id, to.units_of(id) - self.units_of(id)))
            .filter(|(_, delta)| *delta != 0)
            .collect()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".into())
    }

    pub fn from_json(stored: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(stored).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(id: i64, quantity: i32) -> Held {
        Held {
            addon_id: AddonId(id),
            quantity,
            price_minor: 500,
            shipping_fee_minor: 100 * i64::from(quantity),
        }
    }

    #[test]
    fn a_holding_sums_and_moves() {
        let before = Holding::new(vec![held(3, 2), held(1, 1)]);
        assert_eq!(before.items()[0].addon_id, AddonId(1), "ordered by id");
        assert_eq!(before.cost_minor(), 1500);
        assert_eq!(before.shipping_minor(), 300);
        let after = Holding::new(vec![held(3, 1), held(2, 4)]);
        assert_eq!(
            before.moves_to(&after),
            [(AddonId(1), -1), (AddonId(2), 4), (AddonId(3), -1)]
        );
        assert!(before.moves_to(&before).is_empty());
        assert_eq!(Holding::from_json(&before.to_json()).unwrap(), before);
        assert_eq!(Holding::from_json("[]").unwrap(), Holding::default());
    }

    #[test]
    fn max_per_pledge_bounds() {
        assert!(max_per_pledge(0).is_err() && max_per_pledge(1).is_ok() && max_per_pledge(1001).is_err());
    }
}
