use actix_web::{HttpResponse, get, web};

use crate::domain::CampaignId;
use crate::http::{ApiError, AppState, AuthUser};
use crate::media::images;
use crate::shapes::image::ImageResponse;

/// The campaign's images, used or not, oldest first (creator or admin). An image nothing uses
/// (cover, gallery, tier, update) a day after its upload is deleted.
#[utoipa::path(
    tag = "media",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, body = Vec<ImageResponse>),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign"),
    )
)]
#[get("/campaigns/{id}/images")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn list(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let rows = state.db.run(move |conn| images::list(conn, id, &user)).await?;
    let links = &state.media.links;
    let body: Vec<ImageResponse> = rows.iter().map(|row| ImageResponse::new(row, links)).collect();
    Ok(HttpResponse::Ok().json(body))
}
