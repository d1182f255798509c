use actix_web::{HttpResponse, delete, web};

use crate::auth::AuthUser;
use crate::campaigns::access;
use crate::db::{campaigns, tiers, write_transaction};
use crate::error::ApiError;
use crate::state::AppState;

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
        (status = 409, description = "The tier has backers, or the campaign has ended"),
    )
)]
#[delete("/campaigns/{id}/tiers/{tier_id}")]
#[tracing::instrument(skip_all, fields(campaign.id = %path.0, tier.id = %path.1))]
pub async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, tier_id) = path.into_inner();
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let campaign = access::owned_by(campaigns::find(conn, id)?, &user)?;
                super::require_editable(&campaign)?;
                let tier = tiers::find(conn, campaign.id, tier_id)?.ok_or(ApiError::NotFound)?;
                if tiers::delete_unclaimed(conn, tier.id)? {
                    Ok(())
                } else {
                    Err(ApiError::Conflict("a tier with backers cannot be deleted".into()))
                }
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
