//! `/api/v1/campaigns/{id}/addons`: add-ons sold beside rewards. Their rules are in
//! `campaigns::addons`; who sees them, in `campaigns::visibility`.

pub mod create;
pub mod delete;
pub mod list;
pub mod update;
pub mod view;
