//! The state of a charge: a charge attempt's, and the sandbox provider's record of it.

use std::str::FromStr;

use diesel::sql_types::Text;
use diesel::{AsExpression, FromSqlRow};

use super::sql::text_column;

/// An attempt is written `pending` before the provider is called, and finished once with the
/// provider's answer; a pending attempt found later is replayed with its own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum ChargeStatus {
    Pending,
    Succeeded,
    Failed,
}

impl ChargeStatus {
    pub const ALL: [ChargeStatus; 3] = [Self::Pending, Self::Succeeded, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

text_column!(ChargeStatus);

impl FromStr for ChargeStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown charge status {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::ChargeStatus;

    #[test]
    fn round_trips_through_text() {
        for s in ChargeStatus::ALL {
            assert_eq!(s.as_str().parse::<ChargeStatus>(), Ok(s));
        }
    }
}
