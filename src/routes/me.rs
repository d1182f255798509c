use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::db::users::{self, UserRow};
use crate::domain::Role;
use crate::error::ApiError;
use crate::state::AppState;

/// An account as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    #[schema(example = 42)]
    pub id: i64,
    #[schema(example = "ana@example.com")]
    pub email: String,
    #[schema(example = "Ana López")]
    pub display_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for UserResponse {
    type Error = ApiError;

    fn try_from(row: UserRow) -> Result<Self, ApiError> {
        Ok(Self {
            role: row
                .role
                .parse()
                .map_err(|e: String| ApiError::Internal(anyhow::anyhow!(e)))?,
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            created_at: row.created_at.and_utc(),
        })
    }
}

/// The account the access token belongs to.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserResponse),
        (status = 401, description = "Missing, invalid or expired access token"),
    )
)]
#[get("/me")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn me(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let row = state
        .db
        .run(move |conn| {
            users::find(conn, user.id.0)?
                .ok_or_else(|| ApiError::Unauthorized("the account no longer exists".into()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserResponse::try_from(row)?))
}
