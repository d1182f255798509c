use actix_web::{HttpResponse, patch, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::{FulfilmentStatus, PledgeId};
use crate::fulfilment::{self, Change};
use crate::http::{ApiError, AppState, AuthUser, Json};
use crate::shapes::pledge::PledgeResponse;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilmentRequest {
    /// `shipped` or `delivered`.
    pub status: FulfilmentStatus,
    /// Kept from before when omitted.
    #[schema(example = "La Poste")]
    pub carrier: Option<String>,
    #[schema(example = "6A12345678901")]
    pub tracking_number: Option<String>,
}

/// Marks a collected pledge's reward shipped (the backer is emailed `reward_shipped` with the
/// tracking number) or delivered; a shipped pledge may be shipped again to correct its
/// tracking. The campaign's creator only.
#[utoipa::path(
    tag = "fulfilment",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Pledge id")),
    request_body = FulfilmentRequest,
    responses(
        (status = 200, body = PledgeResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not the campaign's creator"),
        (status = 404, description = "No such pledge, or not yours to see"),
        (status = 409, description = "Not collected, ships nothing, or the status cannot move back"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[patch("/pledges/{id}/fulfilment")]
#[tracing::instrument(skip_all, fields(pledge.id = %path))]
pub async fn set_fulfilment(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<PledgeId>,
    Json(body): Json<FulfilmentRequest>,
) -> Result<HttpResponse, ApiError> {
    let change = Change::parse(
        body.status,
        body.carrier.as_deref(),
        body.tracking_number.as_deref(),
        "status",
    )?;
    let id = path.into_inner();
    let now = state.clock.now();
    let (pledge, currency) = state
        .db
        .write(move |conn| fulfilment::set(conn, id, &user, &change, now))
        .await?;
    Ok(HttpResponse::Ok().json(PledgeResponse::new(&pledge, currency, false)))
}
