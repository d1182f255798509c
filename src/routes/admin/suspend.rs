use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::campaigns::{access, lifecycle};
use crate::db::{campaigns, write_transaction};
use crate::domain::CampaignStatus;
use crate::domain::campaign::text;
use crate::error::ApiError;
use crate::http::Json;
use crate::routes::campaigns::get::full_view;
use crate::routes::campaigns::view::CampaignResponse;
use crate::state::AppState;

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
    user: AuthUser,
    path: web::Path<i64>,
    Json(body): Json<SuspendRequest>,
) -> Result<HttpResponse, ApiError> {
    if !user.is_admin() {
        return Err(ApiError::Forbidden("only admins can suspend campaigns".into()));
    }
    let reason = text(&body.reason, 1, 500, true).map_err(|m| ApiError::field("reason", m))?;
    let id = path.into_inner();
    let now = state.clock.now();
    let response = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let row = access::visible(campaigns::find(conn, id)?, Some(&user))?;
                let row = lifecycle::transition(
                    conn,
                    &row,
                    CampaignStatus::Suspended,
                    Some(user.id),
                    Some(&reason),
                    now,
                )?;
                let owner = campaigns::owner_name(conn, row.owner_id)?;
                full_view(conn, row, owner, now)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
