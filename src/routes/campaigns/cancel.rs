use actix_web::{HttpResponse, post, web};

use super::view::CampaignResponse;
use crate::auth::AuthUser;
use crate::campaigns::{access, lifecycle};
use crate::db::{campaigns, write_transaction};
use crate::domain::CampaignStatus;
use crate::error::ApiError;
use crate::state::AppState;

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
        (status = 409, description = "Not live"),
    )
)]
#[post("/campaigns/{id}/cancel")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn cancel(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let response = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let row = access::owned_by(campaigns::find(conn, id)?, &user)?;
                let row =
                    lifecycle::transition(conn, &row, CampaignStatus::Canceled, Some(user.id), None, now)?;
                let owner = campaigns::owner_name(conn, row.owner_id)?;
                super::get::full_view(conn, row, owner, now)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
