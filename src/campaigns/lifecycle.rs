//! Status changes. Every one goes through [`transition`], which checks the state diagram
//! (`CampaignStatus::can_transition`), applies the change only if nobody changed the status
//! first (a conditional UPDATE), queues the emails and the webhook event the change causes and
//! appends to `campaign_events`, all in the caller's transaction. A campaign that closes without
//! charging has its pledges released by `settlement::close`, which makes those transitions.

use chrono::{DateTime, Duration, Utc};

use super::access;
use crate::db::DbConn;
use crate::db::campaign_events::{self, NewCampaignEvent};
use crate::db::campaigns::{self, CampaignRow};
use crate::domain::{
    Actor, CampaignId, CampaignStatus, CoreError, EventType, FieldErrors, Refusal, Resource, UserId,
};
use crate::mail::queue::{self, Cancellation};
use crate::media::MediaLinks;
use crate::webhooks::events as webhook_events;

/// Records the creation of a draft.
pub fn record_created(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    actor: UserId,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    campaign_events::append(
        conn,
        &NewCampaignEvent {
            campaign_id: campaign.id,
            actor_id: Some(actor),
            from_status: None,
            to_status: CampaignStatus::Draft,
            reason: None,
            created_at: now.naive_utc(),
        },
    )?;
    Ok(())
}

/// Moves `campaign` to `to`. `actor` is `None` for the system (settlement). A campaign that
/// someone else moved first is [`Refusal::Stale`]; a move the diagram forbids, a conflict.
pub fn transition(
    conn: &mut DbConn,
    links: &MediaLinks,
    campaign: &CampaignRow,
    to: CampaignStatus,
    actor: Option<UserId>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<CampaignRow, CoreError> {
    let from = campaign.status;
    if !from.can_transition(to) {
        return Err(Refusal::Conflict(format!(
            "a {} campaign cannot become {}",
            from.as_str(),
            to.as_str()
        ))
        .into());
    }
    let updated = match to {
        CampaignStatus::Live => {
            let days = campaign.duration_days.unwrap_or_default();
            let deadline = now + Duration::days(i64::from(days));
            campaigns::launch(conn, campaign.id, now.naive_utc(), deadline.naive_utc())?
        }
        _ => campaigns::set_status(conn, campaign.id, from, to, now.naive_utc())?,
    }
    .ok_or(Refusal::Stale(Resource::Campaign))?;
    // Before any release: the fan-outs address the pledges that are still active.
    match to {
        CampaignStatus::Live => {
            queue::campaign_launched(conn, &updated, now)?;
            queue::community::campaign_launched_followed(conn, &updated, now)?;
        }
        CampaignStatus::Canceled => {
            queue::campaign_canceled(conn, campaign, Cancellation { suspended: false }, now)?
        }
        CampaignStatus::Suspended => {
            queue::campaign_canceled(conn, campaign, Cancellation { suspended: true }, now)?
        }
        CampaignStatus::Funded => queue::campaign_funded(conn, campaign, now)?,
        CampaignStatus::Failed => queue::campaign_failed(conn, campaign, now)?,
        // The successful campaign's email carries payout figures: settlement queues it.
        CampaignStatus::Draft | CampaignStatus::Successful => {}
    }
    let event = match to {
        CampaignStatus::Live => Some(EventType::CampaignLaunched),
        CampaignStatus::Canceled => Some(EventType::CampaignCanceled),
        CampaignStatus::Suspended => Some(EventType::CampaignSuspended),
        CampaignStatus::Funded => Some(EventType::CampaignFunded),
        CampaignStatus::Failed => Some(EventType::CampaignFailed),
        CampaignStatus::Successful => Some(EventType::CampaignSuccessful),
        CampaignStatus::Draft => None,
    };
    if let Some(kind) = event {
        webhook_events::campaign(conn, links, kind, &updated, now)?;
    }
    campaign_events::append(
        conn,
        &NewCampaignEvent {
            campaign_id: campaign.id,
            actor_id: actor,
            from_status: Some(from),
            to_status: to,
            reason,
            created_at: now.naive_utc(),
        },
    )?;
    Ok(updated)
}

/// Launches the owner's draft: it goes live now, its deadline `duration_days` away.
pub fn launch(
    conn: &mut DbConn,
    links: &MediaLinks,
    id: CampaignId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<CampaignRow, CoreError> {
    let campaign = access::owned_by(campaigns::find(conn, id)?, actor)?;
    if campaign.status == CampaignStatus::Draft {
        check_ready_to_launch(&campaign)?;
        check_creator_verified(conn, actor)?;
    }
    transition(
        conn,
        links,
        &campaign,
        CampaignStatus::Live,
        Some(actor.id),
        None,
        now,
    )
}

/// Backers' money goes to whoever runs a campaign: the platform must be able to reach them, so
/// only an account whose email address is verified launches one.
fn check_creator_verified(conn: &mut DbConn, actor: &Actor) -> Result<(), CoreError> {
    let verified = crate::db::users::find(conn, actor.id)?.is_some_and(|u| u.email_verified_at.is_some());
    if verified {
        Ok(())
    } else {
        Err(Refusal::conflict(
            "launching a campaign requires a verified email address: open the link in the verification email (POST /api/v1/me/verify-email/resend sends another)",
        )
        .into())
    }
}

/// What a draft lacks before it can go live: a refusal naming each missing field.
pub fn check_ready_to_launch(campaign: &CampaignRow) -> Result<(), Refusal> {
    let mut missing = FieldErrors::default();
    if campaign.description.trim().is_empty() {
        missing.push("description", "is required to launch");
    }
    if campaign.category.is_none() {
        missing.push("category", "is required to launch");
    }
    if campaign.goal_minor.is_none() {
        missing.push("goal", "is required to launch");
    }
    if campaign.duration_days.is_none() {
        missing.push("duration_days", "is required to launch");
    }
    missing.finish()
}
