//! `/api/v1/campaigns/{id}/pledges`, `/api/v1/pledges/{id}` and `/api/v1/me/pledges`.

pub mod cancel;
pub mod create;
pub mod fulfilment;
pub mod get;
mod late;
pub mod mine;
pub mod payment_method;
pub mod refund;
pub mod update;
pub mod view;
