use actix_web::{HttpResponse, patch, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::view::{CampaignResponse, Viewer, full_view};
use crate::campaigns::{edit, late};
use crate::domain::{CampaignId, Category, Currency, FundingModel, ImageId};
use crate::http::{ApiError, AppState, AuthUser, Json};

/// Changes to a campaign; absent fields stay as they are. While live only `title`, `blurb`,
/// `description` and `category` can change; after the deadline only the late-pledge settings.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCampaignRequest {
    pub title: Option<String>,
    pub blurb: Option<String>,
    pub description: Option<String>,
    pub category: Option<Category>,
    /// Draft only.
    pub slug: Option<String>,
    /// Draft only, and only while the draft has no tiers; a goal already set must be sent again.
    pub currency: Option<Currency>,
    /// Draft only.
    #[schema(example = "12000.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub goal: Option<String>,
    /// Draft only; 1–60.
    #[schema(minimum = 1, maximum = 60)]
    pub duration_days: Option<i64>,
    /// One of the campaign's images (`POST /campaigns/{id}/images`); null removes the cover
    /// (not while live).
    #[serde(default, deserialize_with = "super::view::double_option")]
    #[schema(value_type = Option<i64>)]
    pub cover_image_id: Option<Option<ImageId>>,
    /// Draft only: true makes the draft public as coming soon (title, blurb, category, cover
    /// and creator; no tiers, no pledges) for people to follow until it launches.
    pub prelaunch: Option<bool>,
    /// Draft only: `all_or_nothing` or `flexible` (charged at the deadline whatever the total).
    pub funding_model: Option<FundingModel>,
    /// True lets backers pledge after the campaign completes as successful, each pledge charged
    /// at once; false closes late pledges. Settable on a draft, live, funded or successful
    /// campaign, even past the deadline (alone, or with `late_pledges_until`).
    pub late_pledges: Option<bool>,
    /// When late pledges close: after now and the deadline, at most 365 days after the deadline
    /// (not on a draft). Null, or never set: 365 days after the deadline.
    #[serde(default, deserialize_with = "super::view::double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub late_pledges_until: Option<Option<DateTime<Utc>>>,
}

/// Edits a campaign (owner only).
#[utoipa::path(
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    request_body = UpdateCampaignRequest,
    responses(
        (status = 200, body = CampaignResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign"),
        (status = 409, description = "The field is frozen in the campaign's status, the deadline has passed, or the slug is taken"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[patch("/campaigns/{id}")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn update(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    Json(body): Json<UpdateCampaignRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let links = state.media.links.clone();
    let response = state
        .db
        .write(move |conn| {
            let input = edit::Input {
                title: body.title.as_deref(),
                slug: body.slug.as_deref(),
                blurb: body.blurb.as_deref(),
                description: body.description.as_deref(),
                category: body.category,
                currency: body.currency,
                goal: body.goal.as_deref(),
                duration_days: body.duration_days,
                cover_image_id: body.cover_image_id,
                prelaunch: body.prelaunch,
                funding_model: body.funding_model,
                late: late::Settings {
                    enabled: body.late_pledges,
                    until: body.late_pledges_until,
                },
            };
            let row = edit::update(conn, id, &user, &input, now)?;
            full_view(conn, &links, row, Viewer::Manager, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
