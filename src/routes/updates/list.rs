use actix_web::{HttpResponse, get, web};

use super::{UpdatePage, UpdateResponse};
use crate::campaigns::updates;
use crate::domain::CampaignId;
use crate::http::{ApiError, AppState, MaybeAuthUser, Query, cursor};
use crate::routes::pledges::mine::PageQuery;

/// A campaign's updates, newest first. The body of a `backers_only` update is shown only to
/// its backers (pledges active, collected or errored), the creator and admins.
#[utoipa::path(
    tag = "updates",
    params(("id" = i64, Path, description = "Campaign id"), PageQuery),
    responses(
        (status = 200, body = UpdatePage),
        (status = 401, description = "An access token was sent but is invalid"),
        (status = 404, description = "No such campaign, or a draft that is not yours"),
        (status = 422, description = "A query parameter is invalid"),
    )
)]
#[get("/campaigns/{id}/updates")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn list(
    state: web::Data<AppState>,
    viewer: MaybeAuthUser,
    path: web::Path<CampaignId>,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let limit = cursor::limit(query.limit)?;
    let before = query
        .cursor
        .as_deref()
        .map(|c| cursor::decode("updates", c))
        .transpose()?
        .map(|(_, id)| id);
    let links = state.media.links.clone();
    let (rows, may_read, mut images) = state
        .db
        .run(move |conn| {
            let (rows, may_read) = updates::page(conn, id, viewer.0.as_ref(), before, limit + 1)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let images = updates::images_of(conn, &links, &ids)?;
            Ok::<_, crate::domain::CoreError>((rows, may_read, images))
        })
        .await?;
    let has_more = rows.len() as i64 > limit;
    let items: Vec<UpdateResponse> = rows
        .into_iter()
        .take(limit as usize)
        .map(|row| {
            let shown = images.remove(&row.id).unwrap_or_default();
            UpdateResponse::new(row, shown, may_read)
        })
        .collect();
    let next_cursor = items
        .last()
        .filter(|_| has_more)
        .map(|u| cursor::encode("updates", 0, u.id));
    Ok(HttpResponse::Ok().json(UpdatePage { items, next_cursor }))
}
