//! Referral tags: a creator names the links they share, each gets a short code, and every
//! pledge that came through one carries it (see `pledges::terms::referral`).

use chrono::{DateTime, Utc};

use crate::campaigns::access;
use crate::db::DbConn;
use crate::db::campaigns::{self, CampaignRow};
use crate::db::referrals::{self, RefTotal, TagRow};
use crate::domain::referral::{self, MAX_TAGS};
use crate::domain::{Actor, CampaignId, CoreError, Refusal};

/// Makes a tag on the owner's campaign. A name is used once per campaign.
pub fn create(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    actor: &Actor,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(CampaignRow, TagRow), CoreError> {
    let name = referral::name(name).map_err(|m| Refusal::field("name", m))?;
    let campaign = access::owned_by(campaigns::find(conn, campaign_id)?, actor)?;
    if let Some(existing) = referrals::named(conn, campaign.id, &name)? {
        return Err(Refusal::Duplicate {
            detail: format!("this campaign has a referral tag named {name:?} already"),
            existing: format!("/api/v1/campaigns/{}/referrals#{}", campaign.id, existing.code),
        }
        .into());
    }
    if referrals::count(conn, campaign.id)? >= MAX_TAGS {
        return Err(Refusal::conflict(format!("a campaign has at most {MAX_TAGS} referral tags")).into());
    }
    // A code taken by another campaign's tag is drawn again; 31^8 codes make that rare.
    for _ in 0..5 {
        if let Some(tag) =
            referrals::insert(conn, campaign.id, &referral::new_code(), &name, now.naive_utc())?
        {
            return Ok((campaign, tag));
        }
        if referrals::named(conn, campaign.id, &name)?.is_some() {
            return Err(Refusal::Stale(crate::domain::Resource::Campaign).into());
        }
    }
    Err(CoreError::unexpected("no free referral code after five draws"))
}

/// The campaign's tags and what the pledges of each ref add up to (owner and admins).
pub fn list(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    actor: &Actor,
) -> Result<(CampaignRow, Vec<TagRow>, Vec<RefTotal>), CoreError> {
    let campaign = access::owned_or_admin(campaigns::find(conn, campaign_id)?, actor)?;
    let tags = referrals::for_campaign(conn, campaign.id)?;
    let totals = referrals::totals(conn, campaign.id)?;
    Ok((campaign, tags, totals))
}
