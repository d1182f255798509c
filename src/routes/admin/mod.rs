//! `/api/v1/admin`: routes for admins only (403 for everyone else).

pub mod comments;
pub mod ledger;
pub mod suspend;
pub mod users;
pub mod webhooks;
