use actix_web::{HttpResponse, put, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::view::PledgeResponse;
use crate::domain::PledgeId;
use crate::http::{ApiError, AppState, AuthUser, Json};
use crate::pledges::{payment, service};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodRequest {
    #[schema(example = "pm_card_visa")]
    pub payment_method: String,
}

/// Replaces the payment method of an active or errored pledge (the backer only). An errored
/// pledge is then retried at the next settlement run.
#[utoipa::path(
    tag = "pledges",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Pledge id")),
    request_body = PaymentMethodRequest,
    responses(
        (status = 200, body = PledgeResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 404, description = "No such pledge of yours"),
        (status = 429, description = "Too many pledge changes by this user this minute; see Retry-After"),
        (status = 409, description = "The pledge is neither active nor errored"),
        (status = 422, description = "The payment method was refused"),
    )
)]
#[put("/pledges/{id}/payment-method")]
#[tracing::instrument(skip_all, fields(pledge.id = %path))]
pub async fn replace(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<PledgeId>,
    Json(body): Json<PaymentMethodRequest>,
) -> Result<HttpResponse, ApiError> {
    state.pledge_change_allowed(user.id)?;
    let id = path.into_inner();
    // Ownership first, so nobody can probe other pledges through the provider.
    state
        .db
        .run(move |conn| service::own(conn, id, &user).map(drop))
        .await?;
    let saved = payment::save(state.payments.clone(), user.id, body.payment_method).await?;
    let now = state.clock.now();
    let reference = saved.reference;
    let (campaign, pledge) = state
        .db
        .write(move |conn| service::replace_payment_method(conn, id, &user, &reference, now))
        .await?;
    let mut response = PledgeResponse::new(&pledge, campaign.currency, true);
    response.setup_intent_client_secret = saved.client_secret;
    Ok(HttpResponse::Ok().json(response))
}
