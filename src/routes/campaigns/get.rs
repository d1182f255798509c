use actix_web::{HttpRequest, HttpResponse, get, web};

use super::view::{CampaignResponse, Viewer, coming_soon, full_view};
use crate::campaigns::access;
use crate::db::DbConn;
use crate::db::campaigns::{self, CampaignRow};
use crate::domain::{CampaignId, CoreError};
use crate::http::cache::{self, Tagged};
use crate::http::{ApiError, AppState, MaybeAuthUser};

/// Finds a campaign by numeric id or by slug.
pub fn find_by_id_or_slug(conn: &mut DbConn, id_or_slug: &str) -> Result<Option<CampaignRow>, CoreError> {
    Ok(match id_or_slug.parse::<i64>() {
        Ok(id) => campaigns::find(conn, CampaignId(id))?,
        Err(_) => campaigns::find_by_slug(conn, id_or_slug)?,
    })
}

/// A campaign by id or slug. Drafts are visible only to their owner and admins, except a
/// `prelaunch` draft, which everyone sees as coming soon: title, blurb, category, cover and
/// creator, without description, gallery or tiers. Without credentials the answer has a
/// strong `ETag` and may be kept for a few seconds by anyone (`Cache-Control`), and a request
/// whose `If-None-Match` names the current tag is answered 304; it reflects other servers'
/// changes within a second.
#[utoipa::path(
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id or slug")),
    responses(
        (status = 200, body = CampaignResponse),
        (status = 304, description = "Without credentials: `If-None-Match` names the current `ETag`"),
        (status = 401, description = "An access token was sent but is invalid"),
        (status = 404, description = "No such campaign, or a draft that is not yours and not prelaunch"),
    )
)]
#[get("/campaigns/{id}")]
#[tracing::instrument(skip_all, fields(campaign = %path))]
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: MaybeAuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let links = state.media.links.clone();
    let id_or_slug = path.into_inner();
    let anonymous = viewer.0.is_none();
    if anonymous && let Some(kept) = state.views.get(&id_or_slug, now) {
        return Ok(cache::public(&req, &kept));
    }
    let generation = state.views.generation();
    let key = id_or_slug.clone();
    let response = state
        .db
        .run(move |conn| {
            let viewer = viewer.0.as_ref();
            let (row, reduced) = access::page(find_by_id_or_slug(conn, &id_or_slug)?, viewer)?;
            let following = crate::community::follows::follows_it(conn, &row, viewer)?;
            let seen_as = Viewer::of(&row, viewer, None);
            let mut view = full_view(conn, &links, row, seen_as, now)?;
            view.following = following;
            Ok::<_, CoreError>(if reduced { coming_soon(view) } else { view })
        })
        .await?;
    if !anonymous {
        return Ok(HttpResponse::Ok().json(response));
    }
    let tagged = Tagged::json(&response).map_err(|e| ApiError::Internal(e.into()))?;
    state.views.put(key, tagged.clone(), generation, now);
    Ok(cache::public(&req, &tagged))
}
