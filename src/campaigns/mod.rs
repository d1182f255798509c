//! Campaign rules that need the database: who may see or change a campaign (`access`), its
//! fields and what freezes when (`edit`), its reward tiers (`tiers`) and who sees them
//! (`visibility`), its updates (`updates`), its status changes with their event log
//! (`lifecycle`), and the late pledges a successful campaign may take (`late`).

pub mod access;
pub mod addons;
pub mod edit;
pub mod late;
pub mod lifecycle;
pub mod tiers;
pub mod updates;
pub mod visibility;

use chrono::{DateTime, Utc};

use crate::db::campaigns::CampaignRow;
use crate::domain::{CampaignStatus, Refusal};

/// Whether the campaign's backers are charged at its deadline with its current total: it
/// reached its goal, or it is flexible. What decides funded or failed.
pub fn is_charged(campaign: &CampaignRow) -> bool {
    campaign
        .funding_model
        .charges(campaign.pledged_minor, campaign.goal_minor)
}

/// Whether the campaign takes pledges and their changes now: live, and before its deadline.
/// Past the deadline it is still `live` until the next settlement pass closes it.
pub fn is_open(campaign: &CampaignRow, now: DateTime<Utc>) -> bool {
    campaign.status == CampaignStatus::Live && campaign.deadline.is_some_and(|d| now.naive_utc() < d)
}

/// A live campaign past its deadline is settlement's to close: its creator can no longer
/// change it (edit, tiers, cancel), as its backers can no longer change their pledges.
pub fn check_before_deadline(campaign: &CampaignRow, now: DateTime<Utc>) -> Result<(), Refusal> {
    if campaign.status == CampaignStatus::Live && !is_open(campaign, now) {
        Err(Refusal::conflict(
            "the campaign's deadline has passed: it changes no more until settlement closes it",
        ))
    } else {
        Ok(())
    }
}
