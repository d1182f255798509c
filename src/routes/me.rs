use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::users::{self, UserRow};
use crate::domain::Role;
use crate::http::{ApiError, AppState, AuthUser};

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

impl From<UserRow> for UserResponse {
    fn from(row: UserRow) -> Self {
        Self {
            role: row.role,
            id: row.id.0,
            email: row.email,
            display_name: row.display_name,
            created_at: row.created_at.and_utc(),
        }
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
pub async fn me(state: web::Data<AppState>, AuthUser(user): AuthUser) -> Result<HttpResponse, ApiError> {
    let row = state
        .db
        .run(move |conn| {
            users::find(conn, user.id)?
                .ok_or_else(|| ApiError::Unauthorized("the account no longer exists".into()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(row)))
}
