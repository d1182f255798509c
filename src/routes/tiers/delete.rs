use actix_web::{HttpResponse, delete, web};

use crate::campaigns::tiers;
use crate::domain::{CampaignId, TierId};
use crate::http::{ApiError, AppState, AuthUser, NoBody};

/// Deletes a tier nobody has pledged for (owner only).
#[utoipa::path(
    tag = "tiers",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("tier_id" = i64, Path, description = "Tier id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign or tier"),
        (status = 409, description = "The tier has backers, or the campaign is past its deadline or closed"),
        (status = 422, description = "A body was sent: this route takes none (an empty object is accepted)"),
    )
)]
#[delete("/campaigns/{id}/tiers/{tier_id}")]
#[tracing::instrument(skip_all, fields(campaign.id = %path.0, tier.id = %path.1))]
pub async fn delete(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<(CampaignId, TierId)>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    let (id, tier_id) = path.into_inner();
    let now = state.clock.now();
    state
        .db
        .write(move |conn| tiers::delete(conn, id, tier_id, &user, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
