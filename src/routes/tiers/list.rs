use actix_web::{HttpResponse, get, web};

use crate::auth::MaybeAuthUser;
use crate::campaigns::access;
use crate::db::{campaigns, tiers};
use crate::error::ApiError;
use crate::routes::campaigns::view::{TierResponse, currency_of};
use crate::state::AppState;

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
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let response: Vec<TierResponse> = state
        .db
        .run(move |conn| {
            let campaign = access::visible(campaigns::find(conn, id)?, viewer.0.as_ref())?;
            let currency = currency_of(&campaign)?;
            tiers::for_campaign(conn, campaign.id)?
                .iter()
                .map(|tier| TierResponse::new(tier, currency, now))
                .collect()
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
