use actix_web::{HttpResponse, delete, web};

use crate::campaigns::edit;
use crate::domain::CampaignId;
use crate::http::{ApiError, AppState, AuthUser, NoBody};

/// Deletes a draft with its tiers (owner only). A launched campaign is canceled instead.
#[utoipa::path(
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign"),
        (status = 409, description = "Not a draft"),
        (status = 422, description = "A body was sent: this route takes none (an empty object is accepted)"),
    )
)]
#[delete("/campaigns/{id}")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn delete(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let keys = state
        .db
        .write(move |conn| edit::delete(conn, id, &user, now))
        .await?;
    crate::routes::images::delete::collect_now(&state, keys).await;
    Ok(HttpResponse::NoContent().finish())
}
