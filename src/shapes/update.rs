//! A campaign update as the API, and webhook payloads, show it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::image::ImageResponse;
use crate::db::campaign_updates::UpdateRow;

/// A post. For a `backers_only` post seen by someone who has not backed the campaign, `body`
/// is null and `locked` is true.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateResponse {
    pub id: i64,
    pub campaign_id: i64,
    #[schema(example = "We reached our goal!")]
    pub title: String,
    pub body: Option<String>,
    pub backers_only: bool,
    pub locked: bool,
    /// Images embedded in the post, in order (empty while `locked`).
    pub images: Vec<ImageResponse>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpdatePage {
    pub items: Vec<UpdateResponse>,
    pub next_cursor: Option<String>,
}

impl UpdateResponse {
    pub fn new(row: UpdateRow, images: Vec<ImageResponse>, may_read: bool) -> Self {
        let locked = row.backers_only && !may_read;
        Self {
            id: row.id,
            campaign_id: row.campaign_id.0,
            title: row.title,
            body: (!locked).then_some(row.body),
            backers_only: row.backers_only,
            locked,
            images: if locked { Vec::new() } else { images },
            created_at: row.created_at.and_utc(),
        }
    }
}
