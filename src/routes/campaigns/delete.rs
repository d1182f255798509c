use actix_web::{HttpResponse, delete, web};

use crate::auth::AuthUser;
use crate::campaigns::access;
use crate::db::{campaigns, write_transaction};
use crate::error::ApiError;
use crate::state::AppState;

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
    )
)]
#[delete("/campaigns/{id}")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn delete(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let row = access::owned_by(campaigns::find(conn, id)?, &user)?;
                if campaigns::delete_draft(conn, row.id)? {
                    Ok(())
                } else {
                    Err(ApiError::Conflict(
                        "only drafts can be deleted; cancel a live campaign instead".into(),
                    ))
                }
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
