//! Campaign rules that need the database: who may see or change a campaign (`access`), its
//! fields and what freezes when (`edit`), its reward tiers (`tiers`), its updates
//! (`updates`), and its status changes with their event log (`lifecycle`).

pub mod access;
pub mod edit;
pub mod lifecycle;
pub mod tiers;
pub mod updates;

use chrono::{DateTime, Utc};

use crate::db::campaigns::CampaignRow;
use crate::domain::{CampaignStatus, Refusal};

/// Whether the pledged total has reached the goal: what decides funded or failed at the
/// deadline, and what the last-24-hours rule protects.
pub fn reached_goal(campaign: &CampaignRow) -> bool {
    campaign
        .goal_minor
        .is_some_and(|goal| campaign.pledged_minor >= goal)
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
