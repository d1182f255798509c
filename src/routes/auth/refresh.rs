use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{RefreshTokenTransport, SessionResponse, session_answer};
use crate::auth::cookie;
use crate::auth::session::{self, Rotation};
use crate::db::users;
use crate::domain::{CoreError, Refusal};
use crate::http::{ApiError, AppState, Json};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token; omit it (send `{}`) when the session keeps it in the
    /// `crowdfund_refresh` cookie, which is then read and replaced.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub refresh_token: Option<String>,
}

/// The token to use and where the new one goes: the body's, or else the cookie's.
pub fn presented(
    body: Option<String>,
    req: &HttpRequest,
) -> Result<(String, RefreshTokenTransport), ApiError> {
    match (body, cookie::read(req)) {
        (Some(token), _) if token.is_empty() => Err(ApiError::field("refresh_token", "must not be empty")),
        (Some(token), _) => Ok((token, RefreshTokenTransport::Body)),
        (None, Some(token)) => Ok((token, RefreshTokenTransport::Cookie)),
        (None, None) => Err(ApiError::field(
            "refresh_token",
            "is required (in the body, or as the crowdfund_refresh cookie)",
        )),
    }
}

/// Exchanges a refresh token for a new session. Each refresh token works once: presenting a
/// used one again revokes every token of its session, and the user must log in again. A
/// browser session sends `{}` with its cookie and gets the new refresh token as a cookie.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = SessionResponse),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Unknown, expired, revoked or already used refresh token, or the account is disabled"),
        (status = 422, description = "refresh_token is empty, or missing from both the body and the cookie"),
        (status = 429, description = "Too many attempts from this address; see Retry-After"),
    )
)]
#[post("/refresh")]
#[tracing::instrument(skip_all)]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(body): Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let (token, transport) = presented(body.refresh_token, &req)?;
    let now = state.clock.now();
    let rotated = state
        .db
        .write(move |conn| {
            match session::rotate(conn, &token, now)? {
                Rotation::Rotated { user, session } => {
                    let row = users::find(conn, user)?.ok_or(Refusal::NotFound)?;
                    if row.disabled_at.is_some() || row.deleted_at.is_some() {
                        // Disabling revoked these already; this covers a rotation racing it.
                        session::revoke(conn, &session.refresh_token, now)?;
                        return Ok(None);
                    }
                    Ok::<_, CoreError>(Some((row, session)))
                }
                // Commit: a detected reuse has just revoked the family.
                Rotation::Refused => Ok(None),
            }
        })
        .await?;
    let Some((user, session)) = rotated else {
        let refused = ApiError::Unauthorized("the refresh token is invalid, expired or already used".into());
        let mut response = actix_web::ResponseError::error_response(&refused);
        if transport == RefreshTokenTransport::Cookie
            && let Ok(value) = actix_web::http::header::HeaderValue::from_str(&cookie::clear())
        {
            // A dead cookie is removed so the browser stops sending it.
            response
                .headers_mut()
                .insert(actix_web::http::header::SET_COOKIE, value);
        }
        return Ok(response);
    };
    Ok(session_answer(
        HttpResponse::Ok(),
        SessionResponse::new(&state, user, session, now)?,
        transport,
    ))
}
