//! `/api/v1/campaigns` and `/api/v1/me/campaigns`.

pub mod cancel;
pub mod create;
pub mod delete;
pub mod follow;
pub mod get;
pub mod launch;
pub mod list;
pub mod mine;
pub mod referrals;
pub mod settlement;
pub mod stats;
pub mod update;
pub mod view;
