use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::CommentResponse;
use crate::community::comments::{self, Post};
use crate::domain::{Actor, CampaignId, CommentId};
use crate::http::{ApiError, AppState, AuthUser, Json, idempotency};

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCommentRequest {
    /// Plain text, 1–5 000 characters.
    #[schema(example = "Will the lamp work on 110 V?")]
    pub body: String,
    /// A top-level comment of the same thread to reply to.
    #[schema(value_type = Option<i64>)]
    pub parent_id: Option<CommentId>,
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Actor,
    campaign_id: CampaignId,
    update_id: Option<i64>,
    body: CreateCommentRequest,
) -> Result<HttpResponse, ApiError> {
    let post = Post::parse(&body.body, body.parent_id)?;
    let now = state.clock.now();
    let key = idempotency::key_from(&req, &user, &body)?;
    idempotency::create(&state, key, move |conn| {
        let posted = comments::post(conn, campaign_id, update_id, &user, &post, now)?;
        let location = format!("/api/v1/comments/{}", posted.0.id);
        Ok((CommentResponse::new(posted, Vec::new()), location))
    })
    .await
}

/// Comments on a campaign: its creator, or a backer whose pledge is not released or canceled.
/// At most 10 comments a minute per user. Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the first answer"),
    ),
    request_body = CreateCommentRequest,
    responses(
        (status = 201, body = CommentResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Neither the creator nor a backer of the campaign"),
        (status = 404, description = "No such campaign"),
        (status = 409, description = "The campaign is a draft or suspended"),
        (status = 422, description = "A field is invalid; `errors` names it"),
        (status = 429, description = "More than 10 comments in a minute; `Retry-After` says when"),
    )
)]
#[post("/campaigns/{id}/comments")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn comment_on_campaign(
    state: web::Data<AppState>,
    req: HttpRequest,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    Json(body): Json<CreateCommentRequest>,
) -> Result<HttpResponse, ApiError> {
    create(state, req, user, path.into_inner(), None, body).await
}

/// Comments on an update, as [`comment_on_campaign`]; on a backers-only update, only those who
/// read it may.
#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("update_id" = i64, Path, description = "Update id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the first answer"),
    ),
    request_body = CreateCommentRequest,
    responses(
        (status = 201, body = CommentResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Neither the creator nor a backer of the campaign"),
        (status = 404, description = "No such campaign or update"),
        (status = 409, description = "The campaign is a draft or suspended"),
        (status = 422, description = "A field is invalid; `errors` names it"),
        (status = 429, description = "More than 10 comments in a minute; `Retry-After` says when"),
    )
)]
#[post("/campaigns/{id}/updates/{update_id}/comments")]
#[tracing::instrument(skip_all, fields(campaign.id = %path.0, update.id = %path.1))]
pub async fn comment_on_update(
    state: web::Data<AppState>,
    req: HttpRequest,
    AuthUser(user): AuthUser,
    path: web::Path<(CampaignId, i64)>,
    Json(body): Json<CreateCommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let (campaign_id, update_id) = path.into_inner();
    create(state, req, user, campaign_id, Some(update_id), body).await
}
