//! `/api/v1/auth`: register, login, refresh, logout, email verification and password reset.
//! Rate-limited per client IP.

pub mod login;
pub mod logout;
pub mod password_reset;
pub mod refresh;
pub mod register;
pub mod verify_email;

use actix_web::HttpResponse;
use actix_web::http::header;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::cookie;

use crate::auth::session::{REFRESH_TOKEN_TTL_DAYS, Session};
use crate::db::users::UserRow;
use crate::http::{ApiError, AppState};
use crate::routes::UserResponse;

/// A new session: a short-lived access token and the refresh token that renews it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: i64,
    /// Single use: exchange it at `/auth/refresh` for a new pair. Keep it secret. Absent when the
    /// session keeps it in the `crowdfund_refresh` cookie instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds until the refresh token expires if it is not used.
    #[schema(example = 2_592_000)]
    pub refresh_token_expires_in: i64,
    pub user: UserResponse,
}

impl SessionResponse {
    pub fn new(
        state: &AppState,
        user: UserRow,
        session: Session,
        now: DateTime<Utc>,
    ) -> Result<Self, ApiError> {
        let (access_token, expires_in) =
            state
                .jwt
                .issue_in(user.id, user.role, Some(&session.family), now)?;
        let refresh_token = session.refresh_token;
        let user = UserResponse::from(user);
        Ok(Self {
            access_token,
            token_type: "Bearer",
            expires_in,
            refresh_token: Some(refresh_token),
            refresh_token_expires_in: REFRESH_TOKEN_TTL_DAYS * 24 * 3600,
            user,
        })
    }
}

/// Where a new session's refresh token goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RefreshTokenTransport {
    /// In the JSON answer (API clients, mobile apps).
    #[default]
    Body,
    /// In an `HttpOnly; Secure; SameSite=Strict` cookie scoped to `/api/v1/auth` (browsers):
    /// scripts never see it; `/auth/refresh` and `/auth/logout` read it when the body has none.
    Cookie,
}

/// Answers with `session`, its refresh token in the body or in the cookie.
pub fn session_answer(
    mut response: actix_web::HttpResponseBuilder,
    mut session: SessionResponse,
    transport: RefreshTokenTransport,
) -> HttpResponse {
    if transport == RefreshTokenTransport::Cookie
        && let Some(token) = session.refresh_token.take()
    {
        response.insert_header((header::SET_COOKIE, cookie::set(&token)));
    }
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    response.json(session)
}
