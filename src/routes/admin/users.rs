use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::accounts::admin;
use crate::db::users::UserRow;
use crate::domain::UserId;
use crate::http::{ApiError, AppState, AuthUser, NoBody, Query, cursor};
use crate::routes::UserResponse;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserSearch {
    /// Part of the email address (case-insensitive); all accounts when absent.
    #[param(max_length = 254)]
    pub q: Option<String>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An account as admins see it.
#[derive(Serialize, ToSchema)]
pub struct AdminUser {
    #[serde(flatten)]
    pub user: UserResponse,
    /// Set while the account is disabled.
    pub disabled_at: Option<DateTime<Utc>>,
}

impl From<UserRow> for AdminUser {
    fn from(row: UserRow) -> Self {
        Self {
            disabled_at: row.disabled_at.map(|at| at.and_utc()),
            user: UserResponse::from(row),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AdminUserPage {
    pub items: Vec<AdminUser>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// Finds accounts by email address, oldest first (admins only). Deleted accounts are left out.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(UserSearch),
    responses(
        (status = 200, body = AdminUserPage),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not an admin"),
        (status = 422, description = "A query parameter is invalid"),
    )
)]
#[get("/admin/users")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn search_users(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    Query(query): Query<UserSearch>,
) -> Result<HttpResponse, ApiError> {
    let limit = cursor::limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| cursor::decode("users", c))
        .transpose()?
        .map(|(_, id)| UserId(id));
    let q = query.q.unwrap_or_default().trim().to_lowercase();
    if q.chars().count() > 254 {
        return Err(ApiError::field("q", "must be at most 254 characters"));
    }
    let rows = state
        .db
        .run(move |conn| admin::search(conn, &user, &q, after, limit + 1))
        .await?;
    let has_more = rows.len() as i64 > limit;
    let rows: Vec<UserRow> = rows.into_iter().take(limit as usize).collect();
    let next_cursor = rows
        .last()
        .filter(|_| has_more)
        .map(|row| cursor::encode("users", 0, row.id.0));
    Ok(HttpResponse::Ok().json(AdminUserPage {
        items: rows.into_iter().map(AdminUser::from).collect(),
        next_cursor,
    }))
}

async fn set_disabled(
    state: web::Data<AppState>,
    admin_user: crate::domain::Actor,
    id: UserId,
    disabled: bool,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let row = state
        .db
        .write(move |conn| admin::set_disabled(conn, &admin_user, id, disabled, now))
        .await?;
    Ok(HttpResponse::Ok().json(AdminUser::from(row)))
}

/// Disables an account (admins only): it cannot log in or refresh, and its sessions end. Its
/// campaigns are not suspended by this. Idempotent.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, body = AdminUser),
        (status = 400, description = "A body was sent; this route takes none"),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such account"),
        (status = 409, description = "An admin's own account"),
    )
)]
#[post("/admin/users/{id}/disable")]
#[tracing::instrument(skip_all, fields(target.id = %path))]
pub async fn disable_user(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<UserId>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    set_disabled(state, user, path.into_inner(), true).await
}

/// Enables a disabled account again (admins only). Idempotent.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, body = AdminUser),
        (status = 400, description = "A body was sent; this route takes none"),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such account"),
    )
)]
#[post("/admin/users/{id}/enable")]
#[tracing::instrument(skip_all, fields(target.id = %path))]
pub async fn enable_user(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<UserId>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    set_disabled(state, user, path.into_inner(), false).await
}
