use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::view::CampaignSummary;
use crate::community::follows;
use crate::db::follows as follows_db;
use crate::domain::{CampaignId, CoreError};
use crate::http::{ApiError, AppState, AuthUser, NoBody, Query, cursor};
use crate::routes::pledges::mine::PageQuery;
use crate::shapes::image;

#[derive(Serialize, ToSchema)]
pub struct FollowResponse {
    pub following: bool,
    pub followers_count: i64,
}

/// Follows a prelaunch or live campaign (not your own): you are emailed when it launches and,
/// unless you back it, when it has 48 hours left. Following again changes nothing.
#[utoipa::path(
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, body = FollowResponse),
        (status = 400, description = "A body was sent; this route takes none"),
        (status = 401, description = "Missing or invalid access token"),
        (status = 404, description = "No such campaign, or a draft that is not prelaunch"),
        (status = 409, description = "Your own campaign, or one that has ended"),
    )
)]
#[post("/campaigns/{id}/follow")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn follow(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let followers_count = state
        .db
        .write(move |conn| follows::follow(conn, id, &user, now))
        .await?;
    Ok(HttpResponse::Ok().json(FollowResponse {
        following: true,
        followers_count,
    }))
}

/// Stops following a campaign. Idempotent.
#[utoipa::path(
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, body = FollowResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 404, description = "No such campaign, or a draft that is not prelaunch"),
    )
)]
#[delete("/campaigns/{id}/follow")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn unfollow(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let followers_count = state
        .db
        .write(move |conn| follows::unfollow(conn, id, &user))
        .await?;
    Ok(HttpResponse::Ok().json(FollowResponse {
        following: false,
        followers_count,
    }))
}

/// A campaign you follow.
#[derive(Serialize, ToSchema)]
pub struct FollowedCampaign {
    #[serde(flatten)]
    pub campaign: CampaignSummary,
    pub followed_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct FollowedPage {
    pub items: Vec<FollowedCampaign>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// The campaigns you follow, newest campaign first (a draft whose creator took it out of
/// prelaunch is left out until it launches).
#[utoipa::path(
    tag = "campaigns",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = FollowedPage),
        (status = 401, description = "Missing or invalid access token"),
        (status = 422, description = "A query parameter is invalid"),
    )
)]
#[get("/me/following")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn following(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = cursor::limit(query.limit)?;
    let before = query
        .cursor
        .as_deref()
        .map(|c| cursor::decode("following", c))
        .transpose()?
        .map(|(_, id)| CampaignId(id));
    let links = state.media.links.clone();
    let now = state.clock.now();
    let (rows, covers) = state
        .db
        .run(move |conn| {
            let rows = follows_db::followed_by(conn, user.id, before, limit + 1)?;
            let covers = image::by_id(conn, rows.iter().filter_map(|(c, ..)| c.cover_image_id), &links)?;
            Ok::<_, CoreError>((rows, covers))
        })
        .await?;
    let has_more = rows.len() as i64 > limit;
    let items: Vec<FollowedCampaign> = rows
        .into_iter()
        .take(limit as usize)
        .map(|(row, owner, at)| FollowedCampaign {
            campaign: CampaignSummary::new(&row, owner, super::view::pick(&covers, row.cover_image_id), now),
            followed_at: at.and_utc(),
        })
        .collect();
    let next_cursor = items
        .last()
        .filter(|_| has_more)
        .map(|f| cursor::encode("following", 0, f.campaign.id));
    Ok(HttpResponse::Ok().json(FollowedPage { items, next_cursor }))
}
