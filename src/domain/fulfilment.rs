//! Where a collected pledge's reward is on its way to the backer.

use std::str::FromStr;

use diesel::sql_types::Text;
use diesel::{AsExpression, FromSqlRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sql::text_column;

/// The fulfilment export's columns before the survey's, in order; an import reads the same
/// names, and a survey question's id may not take one.
pub const EXPORT_COLUMNS: [&str; 14] = [
    "pledge_id",
    "backer_name",
    "backer_email",
    "tier",
    "addons",
    "amount",
    "currency",
    "shipping_country",
    "status",
    "pledged_at",
    "fulfilment_status",
    "carrier",
    "tracking_number",
    "ref",
];

/// ```text
/// unfulfilled ──▶ shipped ──▶ delivered
///      └──────────────────────▲
/// not_applicable: the pledge ships nothing (a digital-only tier, or no reward)
/// ```
/// A shipped pledge may be shipped again with a corrected carrier or tracking number; nothing
/// moves backwards.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, AsExpression, FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[diesel(sql_type = Text)]
pub enum FulfilmentStatus {
    Unfulfilled,
    Shipped,
    Delivered,
    NotApplicable,
}

impl FulfilmentStatus {
    pub const ALL: [FulfilmentStatus; 4] = [
        Self::Unfulfilled,
        Self::Shipped,
        Self::Delivered,
        Self::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unfulfilled => "unfulfilled",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::NotApplicable => "not_applicable",
        }
    }

    /// A pledge's status as shown: what is stored, unless the pledge ships nothing.
    pub fn of(stored: Self, ships: bool) -> Self {
        if ships { stored } else { Self::NotApplicable }
    }

    /// Whether a creator may set `to` on a pledge that is `self` now.
    pub fn can_move(self, to: Self) -> bool {
        use FulfilmentStatus::*;
        matches!(
            (self, to),
            (Unfulfilled, Shipped) | (Unfulfilled, Delivered) | (Shipped, Shipped) | (Shipped, Delivered)
        )
    }
}

text_column!(FulfilmentStatus);

impl FromStr for FulfilmentStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("must be one of unfulfilled, shipped, delivered (not {s:?})"))
    }
}

/// A carrier's name or a tracking number: 1–100 printable characters on one line.
pub fn label(raw: &str) -> Result<String, String> {
    super::campaign::text(raw, 1, 100, false)
}

#[cfg(test)]
mod tests {
    use super::FulfilmentStatus::*;
    use super::*;

    #[test]
    fn moves_only_forward() {
        assert!(Unfulfilled.can_move(Shipped));
        assert!(Shipped.can_move(Shipped));
        assert!(Shipped.can_move(Delivered));
        assert!(Unfulfilled.can_move(Delivered));
        assert!(!Delivered.can_move(Shipped));
        assert!(!Delivered.can_move(Delivered));
        assert!(!Shipped.can_move(Unfulfilled));
        assert!(!Unfulfilled.can_move(NotApplicable));
        for to in FulfilmentStatus::ALL {
            assert!(!NotApplicable.can_move(to));
        }
        assert_eq!(FulfilmentStatus::of(Shipped, false), NotApplicable);
        assert_eq!("shipped".parse::<FulfilmentStatus>(), Ok(Shipped));
    }
}
