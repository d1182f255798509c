use actix_web::{HttpResponse, delete, web};

use crate::campaigns::addons;
use crate::domain::{AddonId, CampaignId};
use crate::http::{ApiError, AppState, AuthUser, NoBody};

/// Deletes an add-on nobody has bought (owner only).
#[utoipa::path(
    tag = "addons",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("addon_id" = i64, Path, description = "Add-on id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign or add-on"),
        (status = 409, description = "The add-on has been bought, or the campaign is past its deadline or closed"),
        (status = 422, description = "A body was sent: this route takes none (an empty object is accepted)"),
    )
)]
#[delete("/campaigns/{id}/addons/{addon_id}")]
#[tracing::instrument(skip_all, fields(campaign.id = %path.0, addon.id = %path.1))]
pub async fn delete(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<(CampaignId, AddonId)>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    let (id, addon_id) = path.into_inner();
    let now = state.clock.now();
    state
        .db
        .write(move |conn| addons::delete(conn, id, addon_id, &user, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
