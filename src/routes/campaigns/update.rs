use actix_web::{HttpResponse, patch, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::create::validate;
use super::view::{CampaignResponse, currency_of};
use crate::auth::AuthUser;
use crate::campaigns::{access, lifecycle};
use crate::db::campaigns::{self, CampaignChanges};
use crate::db::{tiers, write_transaction};
use crate::domain::{CampaignStatus, Category, Currency};
use crate::error::ApiError;
use crate::http::Json;
use crate::state::AppState;

/// Changes to a campaign; absent fields stay as they are. While live only `title`, `blurb`,
/// `description` and `category` can change; after the deadline nothing can.
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
        (status = 409, description = "The field is frozen in the campaign's status, or the slug is taken"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[patch("/campaigns/{id}")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    Json(body): Json<UpdateCampaignRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let response = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let row = access::owned_by(campaigns::find(conn, id)?, &user)?;
                let status = lifecycle::status_of(&row)?;
                let frozen: Vec<&str> = [
                    ("slug", body.slug.is_some()),
                    ("currency", body.currency.is_some()),
                    ("goal", body.goal.is_some()),
                    ("duration_days", body.duration_days.is_some()),
                ]
                .into_iter()
                .filter_map(|(name, present)| present.then_some(name))
                .collect();
                match status {
                    CampaignStatus::Draft => {}
                    CampaignStatus::Live if frozen.is_empty() => {}
                    CampaignStatus::Live => {
                        return Err(ApiError::Conflict(format!(
                            "{} cannot change once the campaign is live",
                            frozen.join(", ")
                        )));
                    }
                    other => {
                        return Err(ApiError::Conflict(format!(
                            "a {} campaign can no longer be edited",
                            other.as_str()
                        )));
                    }
                }
                let old_currency = currency_of(&row)?;
                let currency = body.currency.unwrap_or(old_currency);
                if currency != old_currency {
                    if tiers::count_for_campaign(conn, row.id)? > 0 {
                        return Err(ApiError::Conflict(
                            "the currency cannot change while the campaign has tiers".into(),
                        ));
                    }
                    if row.goal_minor.is_some() && body.goal.is_none() {
                        return Err(ApiError::field(
                            "goal",
                            "must be sent again when the currency changes",
                        ));
                    }
                }
                let fields = validate(
                    body.title.as_deref(),
                    body.slug.as_deref(),
                    body.blurb.as_deref(),
                    body.description.as_deref(),
                    body.goal.as_deref(),
                    body.duration_days,
                    currency,
                )?;
                if let Some(slug) = fields.slug.as_deref()
                    && slug != row.slug
                    && campaigns::slug_taken(conn, slug)?
                {
                    return Err(ApiError::Conflict(format!("the slug {slug:?} is taken")));
                }
                let changes = CampaignChanges {
                    slug: fields.slug,
                    title: body.title.is_some().then_some(fields.title),
                    blurb: fields.blurb,
                    description: fields.description,
                    category: body.category.map(|c| c.as_str().to_owned()),
                    currency: body.currency.map(|c| c.code().to_owned()),
                    goal_minor: fields.goal_minor,
                    duration_days: fields.duration_days,
                    updated_at: Some(now.naive_utc()),
                };
                let row = campaigns::update(conn, row.id, status.as_str(), &changes)?.ok_or_else(|| {
                    ApiError::Conflict("the campaign changed meanwhile; reload it and retry".into())
                })?;
                let owner = campaigns::owner_name(conn, row.owner_id)?;
                super::get::full_view(conn, row, owner, now)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
