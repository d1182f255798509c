use actix_web::{HttpResponse, delete, web};

use crate::domain::{CampaignId, CoreError, ImageId};
use crate::http::{ApiError, AppState, AuthUser, NoBody};
use crate::media::images::{self, GRACE};

/// Deletes an image of the campaign (creator or admin), from the store too; where it was used
/// (gallery, tier, update) it is no longer shown.
#[utoipa::path(
    tag = "media",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("image_id" = i64, Path, description = "Image id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign, or no such image of it"),
        (status = 409, description = "The image is the cover of a live campaign"),
        (status = 422, description = "A body was sent: this route takes none (an empty object is accepted)"),
    )
)]
#[delete("/campaigns/{id}/images/{image_id}")]
#[tracing::instrument(skip_all, fields(campaign.id = %path.0, image.id = %path.1))]
pub async fn delete(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<(CampaignId, ImageId)>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    let (id, image_id) = path.into_inner();
    let now = state.clock.now();
    let keys = state
        .db
        .write(move |conn| images::delete(conn, id, image_id, &user, now))
        .await?;
    collect_now(&state, keys).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes the objects of just-deleted images that no other image stores. A failure is only
/// logged: the keys stay noted and the settlement pass deletes them.
pub async fn collect_now(state: &web::Data<AppState>, keys: Vec<String>) {
    if keys.is_empty() {
        return;
    }
    let media = state.media.clone();
    let cutoff = state.clock.now() - GRACE;
    let collected = state
        .db
        .run(move |conn| images::collect(conn, &media, &keys, cutoff))
        .await;
    if let Err(e) = collected {
        let e: CoreError = e;
        tracing::warn!(error = %format!("{e:#}"), "media objects left for the settlement pass");
    }
}
