use actix_web::{HttpResponse, get, put, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::SurveyResponse;
use crate::domain::CampaignId;
use crate::domain::survey::Question;
use crate::http::{ApiError, AppState, AuthUser, Json};
use crate::surveys;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyRequest {
    /// 1–50 questions, in the order backers see them.
    pub questions: Vec<Question>,
}

/// Writes the campaign's backer survey (creator only), replacing its questions; until it is
/// sent. A `shipping_address` question is asked of pledges whose tier ships, and required.
#[utoipa::path(
    tag = "surveys",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    request_body = SurveyRequest,
    responses(
        (status = 200, body = SurveyResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "An admin: only the creator changes it"),
        (status = 404, description = "No such campaign, or not yours"),
        (status = 409, description = "The survey has been sent, or the campaign ended without collecting"),
        (status = 422, description = "A question is invalid; `errors` names it"),
    )
)]
#[put("/campaigns/{id}/survey")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn put_survey(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    Json(body): Json<SurveyRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let survey = state
        .db
        .write(move |conn| surveys::define(conn, id, &user, body.questions, now))
        .await?;
    Ok(HttpResponse::Ok().json(SurveyResponse::from(survey)))
}

/// The campaign's backer survey (creator and admins).
#[utoipa::path(
    tag = "surveys",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, body = SurveyResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 404, description = "No such campaign or survey, or not yours"),
    )
)]
#[get("/campaigns/{id}/survey")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn get_survey(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let survey = state
        .db
        .run(move |conn| surveys::for_creator(conn, id, &user))
        .await?;
    Ok(HttpResponse::Ok().json(SurveyResponse::from(survey)))
}
