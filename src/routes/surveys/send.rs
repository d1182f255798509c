use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::SurveyResponse;
use crate::domain::CampaignId;
use crate::http::{ApiError, AppState, AuthUser, Json};
use crate::surveys;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendSurveyRequest {
    /// When answers lock: from 1 to 365 days ahead.
    pub lock_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct SentSurvey {
    pub survey: SurveyResponse,
    /// Collected pledges emailed now; pledges collected later are emailed as they are.
    pub invited: usize,
}

/// Sends the survey (creator only, once): every collected pledge gets a `survey` email with
/// its link; unanswered ones are reminded every 7 days, 3 times at most, by the settlement
/// pass. The campaign must be funded or successful.
#[utoipa::path(
    tag = "surveys",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    request_body = SendSurveyRequest,
    responses(
        (status = 200, body = SentSurvey),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "An admin: only the creator sends it"),
        (status = 404, description = "No such campaign, or not yours"),
        (status = 409, description = "Sent already, no survey defined, or the campaign has not collected"),
        (status = 422, description = "`lock_at` is out of range"),
    )
)]
#[post("/campaigns/{id}/survey/send")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn send_survey(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    Json(body): Json<SendSurveyRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let (survey, invited) = state
        .db
        .write(move |conn| surveys::send(conn, id, &user, body.lock_at, now))
        .await?;
    Ok(HttpResponse::Ok().json(SentSurvey {
        survey: survey.into(),
        invited,
    }))
}
