use actix_web::{HttpResponse, post, web};

use super::view::{PledgeResponse, currency_of};
use crate::auth::AuthUser;
use crate::db::pledges;
use crate::db::{campaigns, charge_attempts, write_transaction};
use crate::domain::Money;
use crate::error::ApiError;
use crate::payments::RefundRequest;
use crate::pledges::refund as refunds;
use crate::state::AppState;

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
        (status = 503, description = "The payment provider could not be reached; retry"),
    )
)]
#[post("/pledges/{id}/refund")]
#[tracing::instrument(skip_all, fields(pledge.id = %path))]
pub async fn refund(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (campaign, pledge, charge_id) = state
        .db
        .run(move |conn| {
            let pledge = pledges::find(conn, id)?.ok_or(ApiError::NotFound)?;
            let campaign = campaigns::find(conn, pledge.campaign_id)?.ok_or(ApiError::NotFound)?;
            let is_owner = campaign.owner_id == user.id.0;
            if !is_owner && !user.is_admin() {
                return Err(if pledge.backer_id == user.id.0 {
                    ApiError::Forbidden("refunds are made by the campaign's creator or an admin".into())
                } else {
                    ApiError::NotFound
                });
            }
            if campaign.status != "successful" || pledge.status != "collected" {
                return Err(ApiError::Conflict(format!(
                    "only a collected pledge of a successful campaign can be refunded (this one is {})",
                    pledge.status
                )));
            }
            let charge = charge_attempts::succeeded_charge(conn, pledge.id)?.ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("collected pledge {} has no charge", pledge.id))
            })?;
            Ok((campaign, pledge, charge))
        })
        .await?;
    let currency = currency_of(&campaign)?;
    let key = refunds::key(pledge.id);
    let provider = state.payments.clone();
    let amount = Money::from_minor(pledge.amount_minor, currency);
    let provider_key = key.clone();
    web::block(move || {
        provider.refund(&RefundRequest {
            idempotency_key: &provider_key,
            charge_id: &charge_id,
            amount,
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(|e| ApiError::Unavailable(format!("refund failed at the provider: {e:#}")))?;
    let now = state.clock.now();
    let response = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let pledge = match refunds::record(conn, &campaign, pledge.id, Some(user.id.0), now)? {
                    Some(refunded) => refunded,
                    // Refunded meanwhile by a concurrent request with the same provider key.
                    None => pledges::find(conn, pledge.id)?.ok_or(ApiError::NotFound)?,
                };
                PledgeResponse::new(&pledge, currency, false)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
