use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::SessionResponse;
use crate::auth::session::{self, Rotation};
use crate::db::{users, write_transaction};
use crate::error::ApiError;
use crate::http::Json;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchanges a refresh token for a new session. Each refresh token works once: presenting a
/// used one again revokes every token of its session, and the user must log in again.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = SessionResponse),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Unknown, expired, revoked or already used refresh token"),
        (status = 422, description = "refresh_token is missing"),
        (status = 429, description = "Too many attempts from this address; see Retry-After"),
    )
)]
#[post("/refresh")]
#[tracing::instrument(skip_all)]
pub async fn refresh(
    state: web::Data<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let rotated = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                match session::rotate(conn, &body.refresh_token, now)? {
                    Rotation::Rotated { user, refresh_token } => {
                        let row = users::find(conn, user.0)?.ok_or(ApiError::NotFound)?;
                        Ok(Some((row, refresh_token)))
                    }
                    // Commit: a detected reuse has just revoked the family.
                    Rotation::Refused => Ok(None),
                }
            })
        })
        .await?;
    let (user, refresh_token) = rotated.ok_or_else(|| {
        ApiError::Unauthorized("the refresh token is invalid, expired or already used".into())
    })?;
    Ok(HttpResponse::Ok().json(SessionResponse::new(&state, user, refresh_token, now)?))
}
