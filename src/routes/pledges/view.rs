//! The pledge shapes live in `shapes`, shared with webhook payloads.

pub use crate::shapes::pledge::{PledgePage, PledgeResponse};
