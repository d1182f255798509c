//! `/api/v1/campaigns/{id}/tiers`: reward tiers.

pub mod create;
pub mod delete;
pub mod list;
pub mod update;

use chrono::{DateTime, Utc};

use crate::campaigns::lifecycle;
use crate::db::campaigns::CampaignRow;
use crate::error::ApiError;

/// Tiers change only while the campaign is a draft or live.
fn require_editable(campaign: &CampaignRow) -> Result<(), ApiError> {
    let status = lifecycle::status_of(campaign)?;
    if status.is_editable() {
        Ok(())
    } else {
        Err(ApiError::Conflict(format!(
            "the tiers of a {} campaign can no longer change",
            status.as_str()
        )))
    }
}

/// `starts_at` must come before `ends_at`.
fn check_window(starts_at: Option<DateTime<Utc>>, ends_at: Option<DateTime<Utc>>) -> Result<(), ApiError> {
    match (starts_at, ends_at) {
        (Some(start), Some(end)) if start >= end => {
            Err(ApiError::field("ends_at", "must be after starts_at"))
        }
        _ => Ok(()),
    }
}
