//! Following a campaign: anyone signed in follows a prelaunch draft or a live campaign (not
//! their own) to be told when it launches and when it has 48 hours left.

use chrono::{DateTime, Utc};

use crate::campaigns::access;
use crate::db::campaigns::{self, CampaignRow};
use crate::db::{DbConn, follows};
use crate::domain::{Actor, CampaignId, CampaignStatus, CoreError, Refusal};

/// Follows (again: no change); answers the campaign's follower count.
pub fn follow(
    conn: &mut DbConn,
    id: CampaignId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<i64, CoreError> {
    let (campaign, _) = access::page(campaigns::find(conn, id)?, Some(actor))?;
    let open = match campaign.status {
        CampaignStatus::Live => true,
        CampaignStatus::Draft => campaign.prelaunch,
        _ => false,
    };
    if !open {
        return Err(Refusal::conflict("only prelaunch and live campaigns can be followed").into());
    }
    if campaign.owner_id == actor.id {
        return Err(Refusal::conflict("creators do not follow their own campaign").into());
    }
    follows::follow(conn, campaign.id, actor.id, now.naive_utc())?;
    Ok(follows::count(conn, campaign.id)?)
}

/// Stops following (if they did); answers the follower count.
pub fn unfollow(conn: &mut DbConn, id: CampaignId, actor: &Actor) -> Result<i64, CoreError> {
    let (campaign, _) = access::page(campaigns::find(conn, id)?, Some(actor))?;
    follows::unfollow(conn, campaign.id, actor.id)?;
    Ok(follows::count(conn, campaign.id)?)
}

/// Whether the viewer follows the campaign (nobody without a token).
pub fn follows_it(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    viewer: Option<&Actor>,
) -> Result<bool, CoreError> {
    Ok(match viewer {
        Some(v) => follows::is_following(conn, campaign.id, v.id)?,
        None => false,
    })
}
