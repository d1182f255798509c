use actix_web::{HttpResponse, get, web};

use crate::campaigns::access;
use crate::db::{campaigns, tiers};
use crate::domain::{CampaignId, CoreError};
use crate::http::{ApiError, AppState, MaybeAuthUser};
use crate::routes::campaigns::view::TierResponse;

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
    let response: Vec<TierResponse> = state
        .db
        .run(move |conn| {
            let campaign = access::visible(campaigns::find(conn, id)?, viewer.0.as_ref())?;
            tiers::for_campaign(conn, campaign.id)?
                .iter()
                .map(|tier| TierResponse::new(tier, campaign.currency, now))
                .collect::<Result<_, CoreError>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
