use actix_web::{HttpResponse, post, web};

use super::view::PledgeResponse;
use crate::domain::PledgeId;
use crate::http::{ApiError, AppState, AuthUser, NoBody};
use crate::pledges::refund as refunds;

/// Refunds a collected pledge of a successful campaign in full (the campaign's creator or an
/// admin). The refund goes through the provider with the key `refund-pledge-{id}`, so a retry
/// never refunds twice, and comes out of the creator's payout in the ledger. The processing
/// fee is not returned by the provider and stays a cost of the campaign.
#[utoipa::path(
    tag = "pledges",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Pledge id")),
    responses(
        (status = 200, body = PledgeResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not the campaign's creator or an admin"),
        (status = 404, description = "No such pledge"),
        (status = 409, description = "Not a collected pledge of a successful campaign"),
        (status = 422, description = "A body was sent: this route takes none (an empty object is accepted)"),
        (status = 503, description = "The payment provider could not be reached; retry"),
    )
)]
#[post("/pledges/{id}/refund")]
#[tracing::instrument(skip_all, fields(pledge.id = %path))]
pub async fn refund(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<PledgeId>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (campaign, pledge) =
        refunds::refund(&state.db, state.payments.clone(), &state.clock, id, user).await?;
    Ok(HttpResponse::Ok().json(PledgeResponse::new(&pledge, campaign.currency, false)))
}
