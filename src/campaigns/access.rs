//! Who may see and change a campaign.
//!
//! Drafts exist only for their owner and admins: anyone else gets 404, as if it did not exist.
//! A visible campaign that the caller may not change is 403. A prelaunch draft shows everyone
//! its page as coming soon ([`page`]), and nothing else.

use crate::db::campaigns::CampaignRow;
use crate::domain::{Actor, CampaignStatus, Refusal};

pub fn can_view(campaign: &CampaignRow, viewer: Option<&Actor>) -> bool {
    campaign.status != CampaignStatus::Draft
        || viewer.is_some_and(|v| v.id == campaign.owner_id || v.is_admin())
}

/// Not found unless the viewer may see it.
pub fn visible(campaign: Option<CampaignRow>, viewer: Option<&Actor>) -> Result<CampaignRow, Refusal> {
    campaign.filter(|c| can_view(c, viewer)).ok_or(Refusal::NotFound)
}

/// The owner only (not found if invisible, forbidden if visible but not theirs).
pub fn owned_by(campaign: Option<CampaignRow>, user: &Actor) -> Result<CampaignRow, Refusal> {
    let campaign = visible(campaign, Some(user))?;
    if campaign.owner_id == user.id {
        Ok(campaign)
    } else {
        Err(Refusal::forbidden("only the campaign's creator can do this"))
    }
}

/// The owner or an admin.
pub fn owned_or_admin(campaign: Option<CampaignRow>, user: &Actor) -> Result<CampaignRow, Refusal> {
    let campaign = visible(campaign, Some(user))?;
    if campaign.owner_id == user.id || user.is_admin() {
        Ok(campaign)
    } else {
        Err(Refusal::forbidden(
            "only the campaign's creator or an admin can do this",
        ))
    }
}

/// Whether a campaign's page is there for `viewer`, and whether only as coming soon: a
/// prelaunch draft shows everyone its title, blurb, category, cover and creator (`true`), the
/// rest as [`visible`] (`false`).
pub fn page(campaign: Option<CampaignRow>, viewer: Option<&Actor>) -> Result<(CampaignRow, bool), Refusal> {
    let campaign = campaign.ok_or(Refusal::NotFound)?;
    if can_view(&campaign, viewer) {
        Ok((campaign, false))
    } else if campaign.prelaunch {
        Ok((campaign, true))
    } else {
        Err(Refusal::NotFound)
    }
}
