use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{cookie, session};
use crate::domain::CoreError;
use crate::http::{ApiError, AppState, Json};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// Omit it (send `{}`) to end a browser session kept in the `crowdfund_refresh` cookie.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub refresh_token: Option<String>,
}

/// Ends the session the refresh token belongs to: it and every token rotated from the same
/// login stop working. Access tokens already issued expire on their own within 15 minutes.
/// Answers 204 whether or not the token was known, so it reveals nothing, and clears the
/// refresh cookie.
#[utoipa::path(
    tag = "auth",
    request_body = LogoutRequest,
    responses(
        (status = 204, description = "Logged out"),
        (status = 400, description = "Malformed JSON"),
        (status = 422, description = "refresh_token is empty, or missing from both the body and the cookie"),
        (status = 429, description = "Too many attempts from this address; see Retry-After"),
    )
)]
#[post("/logout")]
#[tracing::instrument(skip_all)]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(body): Json<LogoutRequest>,
) -> Result<HttpResponse, ApiError> {
    let (token, _) = super::refresh::presented(body.refresh_token, &req)?;
    let now = state.clock.now();
    state
        .db
        .write(move |conn| Ok::<_, CoreError>(session::revoke(conn, &token, now)?))
        .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::SET_COOKIE, cookie::clear()))
        .finish())
}
