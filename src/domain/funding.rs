//! A campaign's funding model: what its backers are charged on at the deadline.

use std::str::FromStr;

use diesel::sql_types::Text;
use diesel::{AsExpression, FromSqlRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sql::text_column;

/// What a campaign's backers are charged on: only if the goal is reached at the deadline
/// (`all_or_nothing`), or whatever the total (`flexible`: the campaign keeps what it raised).
/// Set in draft, frozen at launch.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
#[diesel(sql_type = Text)]
pub enum FundingModel {
    #[default]
    AllOrNothing,
    Flexible,
}

impl FundingModel {
    pub const ALL: [FundingModel; 2] = [Self::AllOrNothing, Self::Flexible];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllOrNothing => "all_or_nothing",
            Self::Flexible => "flexible",
        }
    }

    /// Whether the campaign is charged at its deadline with `pledged` of its `goal`.
    pub fn charges(self, pledged: i64, goal: Option<i64>) -> bool {
        match self {
            Self::AllOrNothing => goal.is_some_and(|goal| pledged >= goal),
            Self::Flexible => true,
        }
    }
}

text_column!(FundingModel);

impl FromStr for FundingModel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("unknown funding model {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_each_funding_model_charges() {
        use FundingModel::*;
        assert!(AllOrNothing.charges(100, Some(100)) && !AllOrNothing.charges(99, Some(100)));
        assert!(!AllOrNothing.charges(100, None));
        assert!(Flexible.charges(0, Some(100)) && Flexible.charges(200, Some(100)));
        for m in FundingModel::ALL {
            assert_eq!(m.as_str().parse::<FundingModel>(), Ok(m));
        }
    }
}
