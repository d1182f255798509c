use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::community::moderation;
use crate::db::comments::{CommentRow, ReportRow};
use crate::domain::{Actor, CommentId};
use crate::http::{ApiError, AppState, AuthUser, NoBody, Query, cursor};
use crate::routes::comments::CommentResponse;
use crate::routes::pledges::mine::PageQuery;

/// A user's report of a comment.
#[derive(Serialize, ToSchema)]
pub struct ReportResponse {
    pub id: i64,
    pub comment_id: i64,
    pub campaign_id: i64,
    pub reporter_id: i64,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    /// Set once an admin hid or showed the comment (or it was deleted); null while open.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The comment's body as it is now (empty once deleted).
    pub comment_body: String,
    pub comment_hidden: bool,
}

impl ReportResponse {
    fn new(report: ReportRow, comment: CommentRow) -> Self {
        Self {
            id: report.id,
            comment_id: report.comment_id.0,
            campaign_id: comment.campaign_id.0,
            reporter_id: report.reporter_id.0,
            reason: report.reason,
            created_at: report.created_at.and_utc(),
            resolved_at: report.resolved_at.map(|t| t.and_utc()),
            comment_body: comment.body,
            comment_hidden: comment.hidden_at.is_some(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReportPage {
    pub items: Vec<ReportResponse>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// Reports of comments (admins only): open ones first, newest first within each.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = ReportPage),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not an admin"),
        (status = 422, description = "A query parameter is invalid"),
    )
)]
#[get("/admin/reports")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn reports(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = cursor::limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| cursor::decode("reports", c))
        .transpose()?
        .map(|(open, id)| (open == 1, id));
    let rows = state
        .db
        .run(move |conn| moderation::reports(conn, &user, after, limit + 1))
        .await?;
    let has_more = rows.len() as i64 > limit;
    let items: Vec<ReportResponse> = rows
        .into_iter()
        .take(limit as usize)
        .map(|(r, c)| ReportResponse::new(r, c))
        .collect();
    let next_cursor = items
        .last()
        .filter(|_| has_more)
        .map(|r| cursor::encode("reports", i64::from(r.resolved_at.is_none()), r.id));
    Ok(HttpResponse::Ok().json(ReportPage { items, next_cursor }))
}

async fn set_hidden(
    state: web::Data<AppState>,
    admin_user: Actor,
    id: CommentId,
    hidden: bool,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let row = state
        .db
        .write(move |conn| moderation::set_hidden(conn, id, &admin_user, hidden, now))
        .await?;
    Ok(HttpResponse::Ok().json(CommentResponse::new(row, Vec::new())))
}

/// Hides a comment (admins only): it is then absent for everyone but its author and admins.
/// Resolves its open reports. Idempotent.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Comment id")),
    responses(
        (status = 200, body = CommentResponse),
        (status = 400, description = "A body was sent; this route takes none"),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such comment (or deleted)"),
    )
)]
#[post("/admin/comments/{id}/hide")]
#[tracing::instrument(skip_all, fields(comment.id = %path))]
pub async fn hide_comment(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CommentId>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    set_hidden(state, user, path.into_inner(), true).await
}

/// Shows a hidden comment again (admins only). Resolves its open reports. Idempotent.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Comment id")),
    responses(
        (status = 200, body = CommentResponse),
        (status = 400, description = "A body was sent; this route takes none"),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such comment (or deleted)"),
    )
)]
#[post("/admin/comments/{id}/unhide")]
#[tracing::instrument(skip_all, fields(comment.id = %path))]
pub async fn unhide_comment(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CommentId>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    set_hidden(state, user, path.into_inner(), false).await
}
