//! The campaign's crowd: comments on the campaign and its updates, their moderation and the
//! creator's daily digest of them, followers, the referral tags that say which link brought
//! whom, and the share pages.

pub mod comments;
pub mod digest;
pub mod follows;
pub mod moderation;
pub mod referrals;
pub mod share;
