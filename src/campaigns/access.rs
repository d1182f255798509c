//! Who may see and change a campaign.
//!
//! Drafts exist only for their owner and admins: anyone else gets 404, as if it did not exist.
//! A visible campaign that the caller may not change is 403.

use crate::auth::AuthUser;
use crate::db::campaigns::CampaignRow;
use crate::error::ApiError;

pub fn can_view(campaign: &CampaignRow, viewer: Option<&AuthUser>) -> bool {
    campaign.status != "draft" || viewer.is_some_and(|v| v.id.0 == campaign.owner_id || v.is_admin())
}

/// 404 unless the viewer may see it.
pub fn visible(campaign: Option<CampaignRow>, viewer: Option<&AuthUser>) -> Result<CampaignRow, ApiError> {
    campaign.filter(|c| can_view(c, viewer)).ok_or(ApiError::NotFound)
}

/// The owner only (404 if invisible, 403 if visible but not theirs).
pub fn owned_by(campaign: Option<CampaignRow>, user: &AuthUser) -> Result<CampaignRow, ApiError> {
    let campaign = visible(campaign, Some(user))?;
    if campaign.owner_id == user.id.0 {
        Ok(campaign)
    } else {
        Err(ApiError::Forbidden(
            "only the campaign's creator can do this".into(),
        ))
    }
}

/// The owner or an admin.
pub fn owned_or_admin(campaign: Option<CampaignRow>, user: &AuthUser) -> Result<CampaignRow, ApiError> {
    let campaign = visible(campaign, Some(user))?;
    if campaign.owner_id == user.id.0 || user.is_admin() {
        Ok(campaign)
    } else {
        Err(ApiError::Forbidden(
            "only the campaign's creator or an admin can do this".into(),
        ))
    }
}
