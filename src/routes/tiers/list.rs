use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::campaigns::access;
use crate::db::campaigns;
use crate::domain::{CampaignId, CoreError};
use crate::http::cache::{self, Tagged};
use crate::http::{ApiError, AppState, MaybeAuthUser, Query};
use crate::routes::campaigns::view::{TierResponse, Viewer, pick, seen_tiers};
use crate::shapes::image;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TierQuery {
    /// A secret tier's token: that tier is listed too. A token that opens nothing changes
    /// nothing.
    pub secret: Option<String>,
}

/// A campaign's reward tiers, cheapest first, with what remains of each: the public ones, and
/// a secret one with its token (its creator and admins see them all, with their tokens).
/// Without credentials, with a strong `ETag` and `Cache-Control` as the campaign's view has
/// (304 on `If-None-Match`).
#[utoipa::path(
    tag = "tiers",
    params(("id" = i64, Path, description = "Campaign id"), TierQuery),
    responses(
        (status = 200, body = Vec<TierResponse>),
        (status = 304, description = "Without credentials: `If-None-Match` names the current `ETag`"),
        (status = 401, description = "An access token was sent but is invalid"),
        (status = 404, description = "No such campaign, or a draft that is not yours"),
        (status = 422, description = "A query parameter is invalid or unknown; `errors` names it"),
    )
)]
#[get("/campaigns/{id}/tiers")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: MaybeAuthUser,
    path: web::Path<CampaignId>,
    Query(query): Query<TierQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let anonymous = viewer.0.is_none();
    let now = state.clock.now();
    let links = state.media.links.clone();
    let response: Vec<TierResponse> = state
        .db
        .run(move |conn| {
            let campaign = access::visible(campaigns::find(conn, id)?, viewer.0.as_ref())?;
            let seen_as = Viewer::of(&campaign, viewer.0.as_ref(), query.secret.as_deref());
            let rows = seen_tiers(conn, campaign.id, seen_as)?;
            let images = image::by_id(conn, rows.iter().filter_map(|t| t.image_id), &links)?;
            rows.iter()
                .map(|tier| {
                    let image = pick(&images, tier.image_id);
                    TierResponse::new(tier, campaign.currency, image, seen_as, now)
                })
                .collect::<Result<_, CoreError>>()
        })
        .await?;
    if !anonymous {
        return Ok(HttpResponse::Ok().json(response));
    }
    let tagged = Tagged::json(&response).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(cache::public(&req, &tagged))
}
