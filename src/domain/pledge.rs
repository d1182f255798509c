use std::str::FromStr;

use diesel::sql_types::{BigInt, Text};
use diesel::{AsExpression, FromSqlRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::campaign::MAX_GOAL_MAJOR;
use super::money::{Currency, Money};
use super::sql::{id_column, text_column};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, AsExpression, FromSqlRow,
)]
#[serde(transparent)]
#[diesel(sql_type = BigInt)]
pub struct PledgeId(pub i64);
id_column!(PledgeId);

/// Where a pledge is in its life.
///
/// ```text
/// active ──cancel (backer, before deadline)──▶ canceled
/// active ──campaign failed / canceled / suspended──▶ released
/// active ──campaign funded──▶ collected (charge succeeded)
///                         └─▶ errored ──retry ok──▶ collected
///                                     └─7 days──▶ dropped
/// active (late) ──charged at once──▶ collected
///               └─declined─────────▶ dropped
/// collected ──refund──▶ refunded
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, AsExpression, FromSqlRow,
)]
#[serde(rename_all = "lowercase")]
#[diesel(sql_type = Text)]
pub enum PledgeStatus {
    Active,
    Canceled,
    Released,
    Collected,
    Errored,
    Dropped,
    Refunded,
}

impl PledgeStatus {
    pub const ALL: [PledgeStatus; 7] = [
        Self::Active,
        Self::Canceled,
        Self::Released,
        Self::Collected,
        Self::Errored,
        Self::Dropped,
        Self::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Canceled => "canceled",
            Self::Released => "released",
            Self::Collected => "collected",
            Self::Errored => "errored",
            Self::Dropped => "dropped",
            Self::Refunded => "refunded",
        }
    }

    /// The only place that says which transitions exist.
    pub fn can_transition(self, to: PledgeStatus) -> bool {
        use PledgeStatus::*;
        matches!(
            (self, to),
            (Active, Canceled)
                | (Active, Released)
                | (Active, Collected)
                | (Active, Errored)
                | (Errored, Collected)
                | (Errored, Dropped)
                | (Active, Dropped)
                | (Collected, Refunded)
        )
    }

    /// Holds a tier unit and counts as backing the campaign.
    pub fn holds_a_unit(self) -> bool {
        matches!(self, Self::Active | Self::Collected | Self::Errored)
    }

    /// The statuses a pledge can reach `to` from.
    pub fn sources(to: PledgeStatus) -> impl Iterator<Item = PledgeStatus> {
        Self::ALL.into_iter().filter(move |from| from.can_transition(to))
    }

    /// The statuses that back a campaign ([`PledgeStatus::holds_a_unit`]).
    pub fn backing() -> impl Iterator<Item = PledgeStatus> {
        Self::ALL.into_iter().filter(|s| s.holds_a_unit())
    }

    /// Whether the pledge is still being charged or waits for a retry: not final.
    pub fn in_flight(self) -> bool {
        matches!(self, Self::Active | Self::Errored)
    }
}

/// The largest pledge: the largest goal (`MAX_GOAL_MAJOR` major units). It keeps a campaign's
/// total, a sum of pledges, far inside a BIGINT however many backers it has.
pub const MAX_PLEDGE_MAJOR: i64 = MAX_GOAL_MAJOR;

/// A pledge's amount: positive, at most [`MAX_PLEDGE_MAJOR`].
pub fn amount(raw: &str, currency: Currency) -> Result<Money, String> {
    let money = Money::parse_positive(raw, currency)?;
    if money.minor() > MAX_PLEDGE_MAJOR * currency.minor_per_major() {
        return Err(format!("must be at most {MAX_PLEDGE_MAJOR} {currency}"));
    }
    Ok(money)
}

/// Statuses quoted for SQL text, `'active', 'errored'`: for a condition the database must see
/// in the statement itself (a partial index's, or a plan that depends on it). Their names are
/// fixed words, never input.
pub fn sql_list(statuses: impl IntoIterator<Item = PledgeStatus>) -> String {
    statuses
        .into_iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

text_column!(PledgeStatus);

impl FromStr for PledgeStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown pledge status {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_state_diagram() {
        use PledgeStatus::*;
        let allowed: Vec<_> = PledgeStatus::ALL
            .iter()
            .flat_map(|from| PledgeStatus::ALL.iter().map(move |to| (*from, *to)))
            .filter(|(from, to)| from.can_transition(*to))
            .collect();
        assert_eq!(
            allowed,
            [
                (Active, Canceled),
                (Active, Released),
                (Active, Collected),
                (Active, Errored),
                (Active, Dropped),
                (Collected, Refunded),
                (Errored, Collected),
                (Errored, Dropped),
            ]
        );
        for s in PledgeStatus::ALL {
            assert_eq!(s.as_str().parse::<PledgeStatus>(), Ok(s));
        }
    }

    #[test]
    fn sources_and_backing_follow_the_diagram() {
        use PledgeStatus::*;
        assert_eq!(
            PledgeStatus::sources(Collected).collect::<Vec<_>>(),
            [Active, Errored]
        );
        assert_eq!(PledgeStatus::sources(Refunded).collect::<Vec<_>>(), [Collected]);
        assert_eq!(
            PledgeStatus::backing().collect::<Vec<_>>(),
            [Active, Collected, Errored]
        );
        assert_eq!(sql_list([Active, Errored]), "'active', 'errored'");
    }
}
