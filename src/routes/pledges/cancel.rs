use actix_web::{HttpResponse, delete, web};

use super::view::PledgeResponse;
use crate::domain::PledgeId;
use crate::http::{ApiError, AppState, AuthUser, NoBody};
use crate::pledges::service;

/// Cancels a pledge (the backer, until the deadline); its reward unit goes back on offer.
/// In the last 24 hours a campaign that has reached its goal cannot be taken below it (409).
#[utoipa::path(
    tag = "pledges",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Pledge id")),
    responses(
        (status = 200, body = PledgeResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 404, description = "No such pledge of yours"),
        (status = 429, description = "Too many pledge changes by this user this minute; see Retry-After"),
        (status = 409, description = "Not active, past the deadline, or the last-24-hours rule"),
        (status = 422, description = "A body was sent: this route takes none (an empty object is accepted)"),
    )
)]
#[delete("/pledges/{id}")]
#[tracing::instrument(skip_all, fields(pledge.id = %path))]
pub async fn cancel(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<PledgeId>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    state.pledge_change_allowed(user.id)?;
    let id = path.into_inner();
    let now = state.clock.now();
    let (campaign, pledge) = state
        .db
        .write(move |conn| service::cancel(conn, id, &user, now))
        .await?;
    Ok(HttpResponse::Ok().json(PledgeResponse::new(&pledge, campaign.currency, true)))
}
