//! Status changes. Every one goes through [`transition`], which checks the state diagram
//! (`CampaignStatus::can_transition`), applies the change only if nobody changed the status
//! first (a conditional UPDATE), queues the emails the change causes, releases the active
//! pledges of a canceled or suspended campaign, and appends to `campaign_events`, all in the
//! caller's transaction.

use chrono::{DateTime, Duration, Utc};

use crate::db::DbConn;
use crate::db::campaign_events::{self, NewCampaignEvent};
use crate::db::campaigns::{self, CampaignRow};
use crate::domain::{CampaignStatus, UserId};
use crate::error::{ApiError, FieldError};
use crate::mail::queue;
use crate::pledges;

pub fn status_of(campaign: &CampaignRow) -> Result<CampaignStatus, ApiError> {
    campaign
        .status
        .parse()
        .map_err(|e: String| ApiError::Internal(anyhow::anyhow!(e)))
}

/// Records the creation of a draft.
pub fn record_created(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    actor: UserId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    campaign_events::append(
        conn,
        &NewCampaignEvent {
            campaign_id: campaign.id,
            actor_id: Some(actor.0),
            from_status: None,
            to_status: CampaignStatus::Draft.as_str(),
            reason: None,
            created_at: now.naive_utc(),
        },
    )?;
    Ok(())
}

/// Moves `campaign` to `to`. `actor` is `None` for the system (settlement).
pub fn transition(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    to: CampaignStatus,
    actor: Option<UserId>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<CampaignRow, ApiError> {
    let from = status_of(campaign)?;
    if !from.can_transition(to) {
        return Err(ApiError::Conflict(format!(
            "a {} campaign cannot become {}",
            from.as_str(),
            to.as_str()
        )));
    }
    let updated = match to {
        CampaignStatus::Live => {
            let days = campaign.duration_days.unwrap_or_default();
            let deadline = now + Duration::days(i64::from(days));
            campaigns::launch(conn, campaign.id, now.naive_utc(), deadline.naive_utc())?
        }
        _ => campaigns::set_status(conn, campaign.id, from.as_str(), to.as_str(), now.naive_utc())?,
    }
    .ok_or_else(|| ApiError::Conflict("the campaign changed meanwhile; reload it and retry".into()))?;
    // Before any release: the fan-outs address the pledges that are still active.
    match to {
        CampaignStatus::Live => queue::campaign_launched(conn, &updated, now)?,
        CampaignStatus::Canceled => queue::campaign_canceled(conn, campaign, false, now)?,
        CampaignStatus::Suspended => queue::campaign_canceled(conn, campaign, true, now)?,
        CampaignStatus::Funded => queue::campaign_funded(conn, campaign, now)?,
        CampaignStatus::Failed => queue::campaign_failed(conn, campaign, now)?,
        // The successful campaign's email carries payout figures: settlement queues it.
        CampaignStatus::Draft | CampaignStatus::Successful => {}
    }
    if matches!(to, CampaignStatus::Canceled | CampaignStatus::Suspended) {
        let why = match to {
            CampaignStatus::Canceled => "campaign canceled by its creator",
            _ => "campaign suspended",
        };
        pledges::service::release_all(conn, campaign.id, actor.map(|a| a.0), why, now)?;
    }
    campaign_events::append(
        conn,
        &NewCampaignEvent {
            campaign_id: campaign.id,
            actor_id: actor.map(|a| a.0),
            from_status: Some(from.as_str()),
            to_status: to.as_str(),
            reason,
            created_at: now.naive_utc(),
        },
    )?;
    Ok(updated)
}

/// What a draft lacks before it can go live: 422 naming each missing field.
pub fn check_ready_to_launch(campaign: &CampaignRow) -> Result<(), ApiError> {
    let mut missing = Vec::new();
    if campaign.description.trim().is_empty() {
        missing.push(FieldError::new("description", "is required to launch"));
    }
    if campaign.category.is_none() {
        missing.push(FieldError::new("category", "is required to launch"));
    }
    if campaign.goal_minor.is_none() {
        missing.push(FieldError::new("goal", "is required to launch"));
    }
    if campaign.duration_days.is_none() {
        missing.push(FieldError::new("duration_days", "is required to launch"));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(missing))
    }
}
