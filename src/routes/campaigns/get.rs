use actix_web::{HttpResponse, get, web};

use super::view::{CampaignResponse, coming_soon, full_view};
use crate::campaigns::access;
use crate::db::DbConn;
use crate::db::campaigns::{self, CampaignRow};
use crate::domain::{CampaignId, CoreError};
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
/// creator, without description, gallery or tiers.
#[utoipa::path(
    tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id or slug")),
    responses(
        (status = 200, body = CampaignResponse),
        (status = 401, description = "An access token was sent but is invalid"),
        (status = 404, description = "No such campaign, or a draft that is not yours and not prelaunch"),
    )
)]
#[get("/campaigns/{id}")]
#[tracing::instrument(skip_all, fields(campaign = %path))]
pub async fn get(
    state: web::Data<AppState>,
    viewer: MaybeAuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let links = state.media.links.clone();
    let id_or_slug = path.into_inner();
    let response = state
        .db
        .run(move |conn| {
            let viewer = viewer.0.as_ref();
            let (row, reduced) = access::page(find_by_id_or_slug(conn, &id_or_slug)?, viewer)?;
            let following = crate::community::follows::follows_it(conn, &row, viewer)?;
            let mut view = full_view(conn, &links, row, now)?;
            view.following = following;
            Ok::<_, CoreError>(if reduced { coming_soon(view) } else { view })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
