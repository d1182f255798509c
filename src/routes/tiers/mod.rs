//! `/api/v1/campaigns/{id}/tiers`: reward tiers. Their rules are in `campaigns::tiers`.

pub mod create;
pub mod delete;
pub mod list;
pub mod update;
