use actix_web::{HttpResponse, post, web};

use super::view::{CampaignResponse, Viewer, full_view};
use crate::campaigns::lifecycle;
use crate::domain::CampaignId;
use crate::http::{ApiError, AppState, AuthUser, NoBody};

/// Launches a draft (owner only): it goes live now and its deadline is now + `duration_days`.
/// Needs a description, a category, a goal and a duration (422 names what is missing).
#[utoipa::path(
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, body = CampaignResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign"),
        (status = 409, description = "Not a draft"),
        (status = 422, description = "A field needed to launch is missing; `errors` names each"),
    )
)]
#[post("/campaigns/{id}/launch")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn launch(
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
            let row = lifecycle::launch(conn, &links, id, &user, now)?;
            full_view(conn, &links, row, Viewer::Manager, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
