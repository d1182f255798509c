use actix_web::{HttpResponse, get, web};

use super::{CommentPage, CommentResponse};
use crate::community::comments;
use crate::domain::{Actor, CampaignId, CommentId, CoreError};
use crate::http::{ApiError, AppState, MaybeAuthUser, Query, cursor};
use crate::routes::pledges::mine::PageQuery;

async fn page(
    state: web::Data<AppState>,
    viewer: Option<Actor>,
    campaign_id: CampaignId,
    update_id: Option<i64>,
    query: PageQuery,
) -> Result<HttpResponse, ApiError> {
    let limit = cursor::limit(query.limit)?;
    let before = query
        .cursor
        .as_deref()
        .map(|c| cursor::decode("comments", c))
        .transpose()?
        .map(|(_, id)| CommentId(id));
    let rows = state
        .db
        .run(move |conn| {
            let (_, thread) = comments::thread(conn, campaign_id, update_id, viewer.as_ref())?;
            comments::page(conn, thread, viewer.as_ref(), before, limit + 1)
        })
        .await
        .map_err(|e: CoreError| ApiError::from(e))?;
    let has_more = rows.len() as i64 > limit;
    let items: Vec<CommentResponse> = rows
        .into_iter()
        .take(limit as usize)
        .map(CommentResponse::from)
        .collect();
    let next_cursor = items
        .last()
        .filter(|_| has_more)
        .map(|c| cursor::encode("comments", 0, c.id));
    Ok(HttpResponse::Ok().json(CommentPage { items, next_cursor }))
}

/// A campaign's comments, newest first, each with its replies (oldest first). Hidden comments
/// are shown only to their author and admins; a deleted comment stays, as deleted, while it
/// has replies.
#[utoipa::path(
    tag = "comments",
    params(("id" = i64, Path, description = "Campaign id"), PageQuery),
    responses(
        (status = 200, body = CommentPage),
        (status = 401, description = "An access token was sent but is invalid"),
        (status = 404, description = "No such campaign, or a draft that is not yours"),
        (status = 422, description = "A query parameter is invalid"),
    )
)]
#[get("/campaigns/{id}/comments")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn campaign_comments(
    state: web::Data<AppState>,
    viewer: MaybeAuthUser,
    path: web::Path<CampaignId>,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    page(state, viewer.0, path.into_inner(), None, query).await
}

/// An update's comments, as [`campaign_comments`]. Those of a backers-only update are for the
/// update's readers: its backers, the creator and admins.
#[utoipa::path(
    tag = "comments",
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("update_id" = i64, Path, description = "Update id"),
        PageQuery,
    ),
    responses(
        (status = 200, body = CommentPage),
        (status = 401, description = "An access token was sent but is invalid"),
        (status = 403, description = "A backers-only update, and you do not back the campaign"),
        (status = 404, description = "No such campaign or update"),
        (status = 422, description = "A query parameter is invalid"),
    )
)]
#[get("/campaigns/{id}/updates/{update_id}/comments")]
#[tracing::instrument(skip_all, fields(campaign.id = %path.0, update.id = %path.1))]
pub async fn update_comments(
    state: web::Data<AppState>,
    viewer: MaybeAuthUser,
    path: web::Path<(CampaignId, i64)>,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (campaign_id, update_id) = path.into_inner();
    page(state, viewer.0, campaign_id, Some(update_id), query).await
}
