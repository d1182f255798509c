use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a pledge is in its life.
///
/// ```text
/// active ──cancel (backer, before deadline)──▶ canceled
/// active ──campaign failed / canceled / suspended──▶ released
/// active ──campaign funded──▶ collected (charge succeeded)
///                         └─▶ errored ──retry ok──▶ collected
///                                     └─7 days──▶ dropped
/// collected ──refund──▶ refunded
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
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
                | (Collected, Refunded)
        )
    }

    /// Holds a tier unit and counts as backing the campaign.
    pub fn holds_a_unit(self) -> bool {
        matches!(self, Self::Active | Self::Collected | Self::Errored)
    }
}

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
                (Collected, Refunded),
                (Errored, Collected),
                (Errored, Dropped),
            ]
        );
        for s in PledgeStatus::ALL {
            assert_eq!(s.as_str().parse::<PledgeStatus>(), Ok(s));
        }
    }
}
