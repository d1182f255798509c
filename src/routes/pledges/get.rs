use actix_web::{HttpResponse, get, web};

use super::view::PledgeResponse;
use crate::domain::PledgeId;
use crate::http::{ApiError, AppState, AuthUser};
use crate::pledges::service;

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
    AuthUser(user): AuthUser,
    path: web::Path<PledgeId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (campaign, pledge, is_backer) = state.db.run(move |conn| service::view(conn, id, &user)).await?;
    Ok(HttpResponse::Ok().json(PledgeResponse::new(&pledge, campaign.currency, is_backer)))
}
