use actix_web::{HttpResponse, post, web};

use super::view::CampaignResponse;
use crate::auth::AuthUser;
use crate::campaigns::{access, lifecycle};
use crate::db::{campaigns, write_transaction};
use crate::domain::CampaignStatus;
use crate::error::ApiError;
use crate::state::AppState;

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
                if lifecycle::status_of(&row)? == CampaignStatus::Draft {
                    lifecycle::check_ready_to_launch(&row)?;
                }
                let row = lifecycle::transition(conn, &row, CampaignStatus::Live, Some(user.id), None, now)?;
                let owner = campaigns::owner_name(conn, row.owner_id)?;
                super::get::full_view(conn, row, owner, now)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
