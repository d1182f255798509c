use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::UpdateResponse;
use crate::auth::AuthUser;
use crate::campaigns::{access, lifecycle};
use crate::db::campaign_updates::{self, NewUpdate};
use crate::db::campaigns;
use crate::domain::CampaignStatus;
use crate::domain::campaign::text;
use crate::error::{ApiError, FieldErrors};
use crate::http::{Json, idempotency};
use crate::state::AppState;

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
    user: AuthUser,
    path: web::Path<i64>,
    Json(body): Json<CreateUpdateRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let title = errors.check("title", text(&body.title, 1, 120, false));
    let text_body = errors.check("body", text(&body.body, 1, 20_000, true));
    errors.finish()?;
    let (title, text_body) = title
        .zip(text_body)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("checked")))?;
    let id = path.into_inner();
    let now = state.clock.now();
    let key = idempotency::key_from(&req, &user, &body)?;
    idempotency::create(&state, key, move |conn| {
        let campaign = access::owned_by(campaigns::find(conn, id)?, &user)?;
        let status = lifecycle::status_of(&campaign)?;
        if matches!(status, CampaignStatus::Draft | CampaignStatus::Suspended) {
            return Err(ApiError::Conflict(format!(
                "a {} campaign cannot post updates",
                status.as_str()
            )));
        }
        let row = campaign_updates::insert(
            conn,
            &NewUpdate {
                campaign_id: campaign.id,
                author_id: user.id.0,
                title: &title,
                body: &text_body,
                backers_only: body.backers_only,
                created_at: now.naive_utc(),
            },
        )?;
        crate::mail::queue::campaign_update(
            conn,
            &campaign,
            &crate::mail::queue::Update {
                id: row.id,
                title: &row.title,
                body: &row.body,
            },
            now,
        )?;
        let location = format!("/api/v1/campaigns/{}/updates", campaign.id);
        Ok((UpdateResponse::new(row, true), location))
    })
    .await
}
