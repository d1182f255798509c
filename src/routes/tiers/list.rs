use actix_web::{HttpResponse, get, web};

use crate::campaigns::access;
use crate::db::{campaigns, tiers};
use crate::domain::{CampaignId, CoreError};
use crate::http::{ApiError, AppState, MaybeAuthUser};
use crate::routes::campaigns::view::TierResponse;
use crate::routes::campaigns::view::pick;
use crate::shapes::image;

/// A campaign's reward tiers, cheapest first, with what remains of each.
#[utoipa::path(
    tag = "tiers",
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, body = Vec<TierResponse>),
        (status = 401, description = "An access token was sent but is invalid"),
        (status = 404, description = "No such campaign, or a draft that is not yours"),
    )
)]
#[get("/campaigns/{id}/tiers")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn list(
    state: web::Data<AppState>,
    viewer: MaybeAuthUser,
    path: web::Path<CampaignId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
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
    Ok(HttpResponse::Ok().json(response))
}
