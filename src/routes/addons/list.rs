use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::view::AddonResponse;
use crate::campaigns::access;
use crate::campaigns::visibility::Viewer;
use crate::db::{addons, campaigns};
use crate::domain::{CampaignId, CoreError};
use crate::http::cache::{self, Tagged};
use crate::http::{ApiError, AppState, MaybeAuthUser, Query};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AddonQuery {
    /// A secret add-on's token: that add-on is listed too. A token that opens nothing changes
    /// nothing.
    pub secret: Option<String>,
}

/// A campaign's add-ons, oldest first, with what remains of each: the public ones, and a
/// secret one with its token (its creator and admins see them all, with their tokens).
/// Without credentials, with a strong `ETag` and `Cache-Control` (304 on `If-None-Match`).
#[utoipa::path(
    tag = "addons",
    params(("id" = i64, Path, description = "Campaign id"), AddonQuery),
    responses(
        (status = 200, body = Vec<AddonResponse>),
        (status = 304, description = "Without credentials: `If-None-Match` names the current `ETag`"),
        (status = 401, description = "An access token was sent but is invalid"),
        (status = 404, description = "No such campaign, or a draft that is not yours"),
        (status = 422, description = "A query parameter is invalid or unknown; `errors` names it"),
    )
)]
#[get("/campaigns/{id}/addons")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: MaybeAuthUser,
    path: web::Path<CampaignId>,
    Query(query): Query<AddonQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let anonymous = viewer.0.is_none();
    let now = state.clock.now();
    let response: Vec<AddonResponse> = state
        .db
        .run(move |conn| {
            let campaign = access::visible(campaigns::find(conn, id)?, viewer.0.as_ref())?;
            let seen_as = Viewer::of(&campaign, viewer.0.as_ref(), query.secret.as_deref());
            seen_addons(conn, &campaign, seen_as, now)
        })
        .await?;
    if !anonymous {
        return Ok(HttpResponse::Ok().json(response));
    }
    let tagged = Tagged::json(&response).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(cache::public(&req, &tagged))
}

/// The campaign's add-ons `viewer` sees, as shown.
pub fn seen_addons(
    conn: &mut crate::db::DbConn,
    campaign: &crate::db::campaigns::CampaignRow,
    viewer: Viewer<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<AddonResponse>, CoreError> {
    addons::for_campaign(conn, campaign.id)?
        .iter()
        .filter(|a| viewer.sees(a.visibility, a.secret_token.as_deref()))
        .map(|a| AddonResponse::new(a, campaign.currency, viewer, now))
        .collect()
}
