//! `/api/v1/campaigns/{id}/updates`: the creator's posts to backers and followers.

pub mod create;
pub mod list;

pub use crate::shapes::update::{UpdatePage, UpdateResponse};
