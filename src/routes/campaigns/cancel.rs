use actix_web::{HttpResponse, post, web};

use super::view::{CampaignResponse, Viewer, full_view};
use crate::domain::CampaignId;
use crate::http::{ApiError, AppState, AuthUser, NoBody};
use crate::settlement::close;

/// Cancels a live campaign (owner only). Nobody is charged.
#[utoipa::path(
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, body = CampaignResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign"),
        (status = 409, description = "Not live, or past its deadline"),
        (status = 422, description = "A body was sent: this route takes none (an empty object is accepted)"),
    )
)]
#[post("/campaigns/{id}/cancel")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn cancel(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let links = state.media.links.clone();
    let response = state
        .db
        .write(move |conn| {
            let row = close::cancel(conn, &links, id, &user, now)?;
            full_view(conn, &links, row, Viewer::Manager, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
