use actix_web::{HttpResponse, delete, web};

use super::view::{PledgeResponse, currency_of};
use crate::auth::AuthUser;
use crate::db::write_transaction;
use crate::error::ApiError;
use crate::pledges::service;
use crate::state::AppState;

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
        (status = 409, description = "Not active, past the deadline, or the last-24-hours rule"),
    )
)]
#[delete("/pledges/{id}")]
#[tracing::instrument(skip_all, fields(pledge.id = %path))]
pub async fn cancel(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let response = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let (campaign, pledge) = service::cancel(conn, id, &user, now)?;
                PledgeResponse::new(&pledge, currency_of(&campaign)?, true)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
