use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::session;
use crate::db::write_transaction;
use crate::error::ApiError;
use crate::http::Json;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    pub refresh_token: String,
}

/// Ends the session the refresh token belongs to: it and every token rotated from the same
/// login stop working. Access tokens already issued expire on their own within 15 minutes.
/// Answers 204 whether or not the token was known, so it reveals nothing.
#[utoipa::path(
    tag = "auth",
    request_body = LogoutRequest,
    responses(
        (status = 204, description = "Logged out"),
        (status = 400, description = "Malformed JSON"),
        (status = 422, description = "refresh_token is missing"),
        (status = 429, description = "Too many attempts from this address; see Retry-After"),
    )
)]
#[post("/logout")]
#[tracing::instrument(skip_all)]
pub async fn logout(
    state: web::Data<AppState>,
    Json(body): Json<LogoutRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    state
        .db
        .run(move |conn| write_transaction(conn, |conn| Ok(session::revoke(conn, &body.refresh_token, now)?)))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
