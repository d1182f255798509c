use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, put, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::PledgeSurveyResponse;
use crate::domain::PledgeId;
use crate::http::{ApiError, AppState, AuthUser, Json};
use crate::surveys;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswersRequest {
    /// Keyed by question id; replaces earlier answers. A `shipping_address` answer is
    /// `{name, line1, line2?, city, region?, postal_code, country, phone?}` with the pledge's
    /// `shipping_country`.
    #[schema(value_type = Object, example = json!({"size": "M", "address": {
        "name": "Ana López", "line1": "1600 Amphitheatre Pkwy", "city": "Mountain View",
        "region": "CA", "postal_code": "94043", "country": "US"}}))]
    pub answers: BTreeMap<String, serde_json::Value>,
}

/// A collected pledge's survey (its backer, the campaign's creator and admins): the questions
/// it is asked and its answers. 404 for anyone else, before the survey is sent, and for
/// pledges that were not collected.
#[utoipa::path(
    tag = "surveys",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Pledge id")),
    responses(
        (status = 200, body = PledgeSurveyResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 404, description = "No such pledge or survey, or not yours to see"),
    )
)]
#[get("/pledges/{id}/survey")]
#[tracing::instrument(skip_all, fields(pledge.id = %path))]
pub async fn get_answers(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<PledgeId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let survey = state
        .db
        .run(move |conn| surveys::for_pledge(conn, id, &user, now))
        .await?;
    Ok(HttpResponse::Ok().json(PledgeSurveyResponse::from(survey)))
}

/// Answers the pledge's survey (its backer), replacing earlier answers, until it locks.
#[utoipa::path(
    tag = "surveys",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Pledge id")),
    request_body = AnswersRequest,
    responses(
        (status = 200, body = PledgeSurveyResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "The campaign's creator or an admin: only the backer answers"),
        (status = 404, description = "No such pledge or survey, or not yours to see"),
        (status = 409, description = "The survey is locked"),
        (status = 422, description = "An answer is invalid; `errors` names it (`answers.address.postal_code`)"),
    )
)]
#[put("/pledges/{id}/survey")]
#[tracing::instrument(skip_all, fields(pledge.id = %path))]
pub async fn put_answers(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<PledgeId>,
    Json(body): Json<AnswersRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let survey = state
        .db
        .write(move |conn| surveys::answer(conn, id, &user, body.answers, now))
        .await?;
    Ok(HttpResponse::Ok().json(PledgeSurveyResponse::from(survey)))
}
