use actix_web::{HttpResponse, get, web};

use super::view::{PledgeResponse, currency_of};
use crate::auth::AuthUser;
use crate::db::{campaigns, pledges};
use crate::error::ApiError;
use crate::state::AppState;

/// A pledge, for its backer, the campaign's creator or an admin (the last two do not see the
/// payment method, as in the fulfilment list they can already read). Anyone else gets 404.
#[utoipa::path(
    tag = "pledges",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Pledge id")),
    responses(
        (status = 200, body = PledgeResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 404, description = "No such pledge, or not yours to see"),
    )
)]
#[get("/pledges/{id}")]
#[tracing::instrument(skip_all, fields(pledge.id = %path))]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let response = state
        .db
        .run(move |conn| {
            let pledge = pledges::find(conn, id)?.ok_or(ApiError::NotFound)?;
            let campaign = campaigns::find(conn, pledge.campaign_id)?.ok_or(ApiError::NotFound)?;
            let is_backer = pledge.backer_id == user.id.0;
            if !is_backer && campaign.owner_id != user.id.0 && !user.is_admin() {
                return Err(ApiError::NotFound);
            }
            PledgeResponse::new(&pledge, currency_of(&campaign)?, is_backer)
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
