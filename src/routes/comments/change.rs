use actix_web::{HttpResponse, delete, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::CommentResponse;
use crate::community::{comments, moderation};
use crate::domain::CommentId;
use crate::http::{ApiError, AppState, AuthUser, Json};

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditCommentRequest {
    /// Plain text, 1–5 000 characters.
    pub body: String,
}

/// Changes a comment's body: its author only, within 15 minutes of posting it.
#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Comment id")),
    request_body = EditCommentRequest,
    responses(
        (status = 200, body = CommentResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your comment"),
        (status = 404, description = "No such comment (or deleted)"),
        (status = 409, description = "More than 15 minutes since it was posted"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[patch("/comments/{id}")]
#[tracing::instrument(skip_all, fields(comment.id = %path))]
pub async fn edit_comment(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CommentId>,
    Json(body): Json<EditCommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let edited = state
        .db
        .write(move |conn| comments::edit(conn, id, &user, &body.body, now))
        .await?;
    Ok(HttpResponse::Ok().json(CommentResponse::new(edited, Vec::new())))
}

/// Deletes a comment: its author, the campaign's creator or an admin. A comment with replies
/// keeps its place, shown as deleted.
#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Comment id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your comment, nor your campaign"),
        (status = 404, description = "No such comment (or deleted already)"),
    )
)]
#[delete("/comments/{id}")]
#[tracing::instrument(skip_all, fields(comment.id = %path))]
pub async fn delete_comment(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CommentId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    state
        .db
        .write(move |conn| comments::delete(conn, id, &user, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportCommentRequest {
    /// Why it should be hidden: 1–1 000 characters.
    #[schema(example = "Spam")]
    pub reason: String,
}

/// Reports a comment to the admins, once per user per comment (not your own).
#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Comment id")),
    request_body = ReportCommentRequest,
    responses(
        (status = 204, description = "Reported"),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "A comment of a backers-only update you do not read"),
        (status = 404, description = "No such comment"),
        (status = 409, description = "Your own comment, or reported by you already"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[post("/comments/{id}/report")]
#[tracing::instrument(skip_all, fields(comment.id = %path))]
pub async fn report_comment(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CommentId>,
    Json(body): Json<ReportCommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    state
        .db
        .write(move |conn| moderation::report(conn, id, &user, &body.reason, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
