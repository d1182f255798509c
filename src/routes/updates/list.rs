use actix_web::{HttpResponse, get, web};

use super::{UpdatePage, UpdateResponse};
use crate::auth::MaybeAuthUser;
use crate::campaigns::access;
use crate::db::{campaign_updates, campaigns, pledges};
use crate::error::ApiError;
use crate::http::{Query, cursor};
use crate::routes::pledges::mine::PageQuery;
use crate::state::AppState;

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
    path: web::Path<i64>,
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
    let page = state
        .db
        .run(move |conn| {
            let viewer = viewer.0;
            let campaign = access::visible(campaigns::find(conn, id)?, viewer.as_ref())?;
            let may_read = match viewer {
                None => false,
                Some(user) if user.is_admin() || user.id.0 == campaign.owner_id => true,
                Some(user) => pledges::has_backed(conn, campaign.id, user.id.0)?,
            };
            let rows = campaign_updates::for_campaign(conn, campaign.id, before, limit + 1)?;
            let has_more = rows.len() as i64 > limit;
            let items: Vec<UpdateResponse> = rows
                .into_iter()
                .take(limit as usize)
                .map(|row| UpdateResponse::new(row, may_read))
                .collect();
            let next_cursor = items
                .last()
                .filter(|_| has_more)
                .map(|u| cursor::encode("updates", 0, u.id));
            Ok(UpdatePage { items, next_cursor })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
