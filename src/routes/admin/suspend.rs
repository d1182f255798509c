use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::CampaignId;
use crate::http::{ApiError, AppState, AuthUser, Json};
use crate::routes::campaigns::view::{CampaignResponse, Viewer, full_view};
use crate::settlement::close;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendRequest {
    /// Why, for the record (1–500 characters); kept in the campaign's event log.
    #[schema(
        example = "Reported as fraudulent; under review",
        min_length = 1,
        max_length = 500
    )]
    pub reason: String,
}

/// Suspends a live campaign (admins only). Nobody is charged.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    request_body = SuspendRequest,
    responses(
        (status = 200, body = CampaignResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such campaign"),
        (status = 409, description = "Not live"),
        (status = 422, description = "reason is missing or too long"),
    )
)]
#[post("/admin/campaigns/{id}/suspend")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn suspend(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    Json(body): Json<SuspendRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let links = state.media.links.clone();
    let response = state
        .db
        .write(move |conn| {
            let row = close::suspend(conn, &links, id, &user, &body.reason, now)?;
            full_view(conn, &links, row, Viewer::Manager, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
