use actix_web::{HttpResponse, put, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::view::{PledgeResponse, currency_of};
use crate::auth::AuthUser;
use crate::db::{pledges, write_transaction};
use crate::error::ApiError;
use crate::http::Json;
use crate::pledges::service;
use crate::state::AppState;

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
        (status = 409, description = "The pledge is neither active nor errored"),
        (status = 422, description = "The payment method was refused"),
    )
)]
#[put("/pledges/{id}/payment-method")]
#[tracing::instrument(skip_all, fields(pledge.id = %path))]
pub async fn replace(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    Json(body): Json<PaymentMethodRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    // Ownership first, so nobody can probe other pledges through the provider.
    state
        .db
        .run(move |conn| service::own(conn, id, &user).map(|_| ()))
        .await?;
    let saved = super::save_payment_method(&state, user.id.0, body.payment_method).await?;
    let now = state.clock.now();
    let response = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let (campaign, _) = service::own(conn, id, &user)?;
                let pledge = pledges::set_payment_method(conn, id, &saved.reference, now.naive_utc())?
                    .ok_or_else(|| {
                        ApiError::Conflict(
                            "only an active or errored pledge takes a new payment method".into(),
                        )
                    })?;
                let mut response = PledgeResponse::new(&pledge, currency_of(&campaign)?, true)?;
                response.setup_intent_client_secret = saved.client_secret;
                Ok(response)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
