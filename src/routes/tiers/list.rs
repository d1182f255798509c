use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::campaigns::access;
use crate::db::{campaigns, tiers};
use crate::domain::{CampaignId, CoreError};
use crate::http::cache::{self, Tagged};
use crate::http::{ApiError, AppState, MaybeAuthUser};
use crate::routes::campaigns::view::TierResponse;
use crate::routes::campaigns::view::pick;
use crate::shapes::image;

/// A campaign's reward tiers, cheapest first, with what remains of each. Without credentials,
/// with a strong `ETag` and `Cache-Control` as the campaign's view has (304 on `If-None-Match`).
#[utoipa::path(
    tag = "tiers",
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, body = Vec<TierResponse>),
        (status = 304, description = "Without credentials: `If-None-Match` names the current `ETag`"),
        (status = 401, description = "An access token was sent but is invalid"),
        (status = 404, description = "No such campaign, or a draft that is not yours"),
    )
)]
#[get("/campaigns/{id}/tiers")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: MaybeAuthUser,
    path: web::Path<CampaignId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let anonymous = viewer.0.is_none();
    let now = state.clock.now();
    let links = state.media.links.clone();
    let response: Vec<TierResponse> = state
        .db
        .run(move |conn| {
            let campaign = access::visible(campaigns::find(conn, id)?, viewer.0.as_ref())?;
            let rows = tiers::for_campaign(conn, campaign.id)?;
            let images = image::by_id(conn, rows.iter().filter_map(|t| t.image_id), &links)?;
            rows.iter()
                .map(|tier| TierResponse::new(tier, campaign.currency, pick(&images, tier.image_id), now))
                .collect::<Result<_, CoreError>>()
        })
        .await?;
    if !anonymous {
        return Ok(HttpResponse::Ok().json(response));
    }
    let tagged = Tagged::json(&response).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(cache::public(&req, &tagged))
}
