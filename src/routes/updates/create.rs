use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::UpdateResponse;
use crate::campaigns::updates::{self, Post};
use crate::domain::{CampaignId, ImageId};
use crate::http::{ApiError, AppState, AuthUser, Json, idempotency};

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUpdateRequest {
    /// 1–120 characters.
    #[schema(example = "We reached our goal!")]
    pub title: String,
    /// Up to 20 000 characters.
    pub body: String,
    /// Only backers read the body; everyone else sees the title. Default false.
    #[serde(default)]
    pub backers_only: bool,
    /// Images of the campaign shown with the post, in order (at most 10).
    #[serde(default)]
    #[schema(value_type = Vec<i64>)]
    pub image_ids: Vec<ImageId>,
}

/// Publishes an update (owner only) on a launched campaign that is not suspended.
/// Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "updates",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the first answer"),
    ),
    request_body = CreateUpdateRequest,
    responses(
        (status = 201, body = UpdateResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign"),
        (status = 409, description = "The campaign is a draft or suspended"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[post("/campaigns/{id}/updates")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    Json(body): Json<CreateUpdateRequest>,
) -> Result<HttpResponse, ApiError> {
    let post = Post::parse(&body.title, &body.body, body.backers_only, body.image_ids.clone())?;
    let id = path.into_inner();
    let now = state.clock.now();
    let links = state.media.links.clone();
    let key = idempotency::key_from(&req, &user, &body)?;
    idempotency::create(&state, key, move |conn| {
        let (row, images) = updates::publish(conn, &links, id, &user, &post, now)?;
        let location = format!("/api/v1/campaigns/{}/updates", row.campaign_id);
        Ok((UpdateResponse::new(row, images, true), location))
    })
    .await
}
