//! `/api/v1/auth`: register, login, refresh, logout. Rate-limited per client IP.

pub mod login;
pub mod logout;
pub mod refresh;
pub mod register;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::session::REFRESH_TOKEN_TTL_DAYS;
use crate::db::users::UserRow;
use crate::error::ApiError;
use crate::routes::UserResponse;
use crate::state::AppState;

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
    /// Single use: exchange it at `/auth/refresh` for a new pair. Keep it secret.
    pub refresh_token: String,
    /// Seconds until the refresh token expires if it is not used.
    #[schema(example = 2_592_000)]
    pub refresh_token_expires_in: i64,
    pub user: UserResponse,
}

impl SessionResponse {
    pub fn new(
        state: &AppState,
        user: UserRow,
        refresh_token: String,
        now: DateTime<Utc>,
    ) -> Result<Self, ApiError> {
        let user = UserResponse::try_from(user)?;
        let (access_token, expires_in) = state.jwt.issue(crate::domain::UserId(user.id), user.role, now)?;
        Ok(Self {
            access_token,
            token_type: "Bearer",
            expires_in,
            refresh_token,
            refresh_token_expires_in: REFRESH_TOKEN_TTL_DAYS * 24 * 3600,
            user,
        })
    }
}
