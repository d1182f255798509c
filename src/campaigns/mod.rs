//! Campaign rules that need the database: who may see or change a campaign, and the
//! lifecycle transitions with their event log.

pub mod access;
pub mod lifecycle;

use crate::db::campaigns::CampaignRow;
use crate::domain::Currency;
use crate::error::ApiError;

/// The campaign's currency; the column is CHECK-constrained, so a bad value is a bug (500).
pub fn currency_of(campaign: &CampaignRow) -> Result<Currency, ApiError> {
    campaign
        .currency
        .parse()
        .map_err(|e: &str| ApiError::Internal(anyhow::anyhow!("campaign {}: {e}", campaign.id)))
}
