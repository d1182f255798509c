//! What an account's emailed links are for, and the account rules' fixed numbers.

use std::str::FromStr;

use chrono::Duration;
use diesel::sql_types::Text;
use diesel::{AsExpression, FromSqlRow};

use super::sql::text_column;

/// What a token sent by email lets its holder do, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum TokenPurpose {
    /// Prove the account's address is the holder's.
    VerifyEmail,
    /// Prove a new address is the holder's; the account moves to it when confirmed.
    ChangeEmail,
    /// Set a new password without the old one.
    ResetPassword,
}

impl TokenPurpose {
    pub const ALL: [TokenPurpose; 3] = [Self::VerifyEmail, Self::ChangeEmail, Self::ResetPassword];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ChangeEmail => "change_email",
            Self::ResetPassword => "reset_password",
        }
    }

    /// How long a link works: an hour for a reset, which hands over the account; two days to
    /// confirm an address, which people do when they next read their mail.
    pub fn lifetime(self) -> Duration {
        match self {
            Self::ResetPassword => Duration::hours(1),
            Self::VerifyEmail | Self::ChangeEmail => Duration::hours(48),
        }
    }
}

text_column!(TokenPurpose);

impl FromStr for TokenPurpose {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown token purpose {s:?}"))
    }
}

/// Failed passwords (or second factors) for one account that lock its logins...
pub const MAX_FAILED_LOGINS: i32 = 10;
/// ...when they fall within this window...
pub fn failed_login_window() -> Duration {
    Duration::minutes(15)
}
/// ...for this long, whatever address they come from.
pub fn login_lock() -> Duration {
    Duration::minutes(15)
}

/// What a deleted account's address and name become: unique, and not an address anyone can own.
pub fn pseudonym(id: super::UserId) -> String {
    format!("deleted-user-{id}")
}

pub const DELETED_NAME: &str = "Deleted user";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_round_trip_through_text() {
        for p in TokenPurpose::ALL {
            assert_eq!(p.as_str().parse::<TokenPurpose>(), Ok(p));
        }
        assert!("login".parse::<TokenPurpose>().is_err());
    }

    #[test]
    fn a_pseudonym_is_not_an_email_address() {
        let name = pseudonym(super::super::UserId(7));
        assert_eq!(name, "deleted-user-7");
        assert!(super::super::Email::parse(&name).is_err());
    }
}
