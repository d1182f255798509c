//! A campaign as lists, and webhook payloads, show it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::image::ImageResponse;
use crate::db::campaign_list::funded_bps;
use crate::db::campaigns::CampaignRow;
use crate::domain::{CampaignStatus, Category, Currency, FundingModel, Money};

#[derive(Debug, Serialize, ToSchema)]
pub struct Owner {
    pub id: i64,
    #[schema(example = "Ana López")]
    pub display_name: String,
}

/// A campaign as lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignSummary {
    #[schema(example = 42)]
    pub id: i64,
    #[schema(example = "solar-bike-lamp")]
    pub slug: String,
    pub owner: Owner,
    #[schema(example = "Solar bike lamp")]
    pub title: String,
    #[schema(example = "A lamp that charges while you ride")]
    pub blurb: String,
    pub category: Option<Category>,
    pub currency: Currency,
    /// Decimal string in the campaign's currency; null until set on a draft.
    #[schema(example = "10000.00")]
    pub goal: Option<String>,
    #[schema(example = 30)]
    pub duration_days: Option<i32>,
    pub status: CampaignStatus,
    pub launched_at: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    /// Total of active pledges, or the total frozen at the deadline.
    #[schema(example = "5250.00")]
    pub pledged: String,
    #[schema(example = 87)]
    pub backer_count: i32,
    /// Whole percent of the goal pledged (can exceed 100).
    #[schema(example = 52)]
    pub percent_funded: i64,
    /// Seconds until the deadline while live; null otherwise.
    #[schema(example = 86400)]
    pub seconds_left: Option<i64>,
    pub cover_image: Option<ImageResponse>,
    /// A draft shown publicly as coming soon: it can be followed, not backed.
    pub prelaunch: bool,
    /// `flexible` campaigns are charged at their deadline whatever the total.
    pub funding_model: FundingModel,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CampaignSummary {
    pub fn new(
        row: &CampaignRow,
        owner_name: String,
        cover_image: Option<ImageResponse>,
        now: DateTime<Utc>,
    ) -> Self {
        let currency = row.currency;
        let status = row.status;
        let deadline = row.deadline.map(|d| d.and_utc());
        Self {
            id: row.id.0,
            slug: row.slug.clone(),
            owner: Owner {
                id: row.owner_id.0,
                display_name: owner_name,
            },
            title: row.title.clone(),
            blurb: row.blurb.clone(),
            category: row.category,
            currency,
            goal: row
                .goal_minor
                .map(|g| Money::from_minor(g, currency).to_decimal_string()),
            duration_days: row.duration_days,
            status,
            launched_at: row.launched_at.map(|t| t.and_utc()),
            deadline,
            pledged: Money::from_minor(row.pledged_minor, currency).to_decimal_string(),
            backer_count: row.backer_count,
            percent_funded: funded_bps(row.pledged_minor, row.goal_minor) / 100,
            seconds_left: match (status, deadline) {
                (CampaignStatus::Live, Some(deadline)) => Some((deadline - now).num_seconds().max(0)),
                _ => None,
            },
            cover_image,
            prelaunch: row.prelaunch,
            funding_model: row.funding_model,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}
