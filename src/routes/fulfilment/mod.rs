//! `/api/v1/pledges/{id}/fulfilment` and `/api/v1/campaigns/{id}/fulfilment/import`: the
//! creator marks rewards shipped and delivered.

pub mod import;
pub mod set;
