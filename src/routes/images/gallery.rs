use actix_web::{HttpResponse, put, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::{CampaignId, ImageId};
use crate::http::{ApiError, AppState, AuthUser, Json};
use crate::media::images;
use crate::shapes::image::ImageResponse;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GalleryRequest {
    /// The campaign's images, in the order shown; `[]` empties the gallery.
    #[schema(value_type = Vec<i64>, example = json!([7, 9, 8]))]
    pub image_ids: Vec<ImageId>,
}

/// Sets the campaign's gallery (creator or admin; draft, or live before the deadline).
#[utoipa::path(
    tag = "media",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    request_body = GalleryRequest,
    responses(
        (status = 200, body = Vec<ImageResponse>, description = "The gallery, in order"),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign"),
        (status = 409, description = "The campaign can no longer change"),
        (status = 422, description = "An id is not one of the campaign's images, or is repeated"),
    )
)]
#[put("/campaigns/{id}/gallery")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn set_gallery(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    Json(body): Json<GalleryRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let rows = state
        .db
        .write(move |conn| images::set_gallery(conn, id, &user, &body.image_ids, now))
        .await?;
    let links = &state.media.links;
    let gallery: Vec<ImageResponse> = rows.iter().map(|row| ImageResponse::new(row, links)).collect();
    Ok(HttpResponse::Ok().json(gallery))
}
