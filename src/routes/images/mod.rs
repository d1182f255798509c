//! `/api/v1/campaigns/{id}/images` and the gallery; `/media/{key}` serves the file store.

pub mod delete;
pub mod gallery;
pub mod list;
pub mod serve;
pub mod upload;
