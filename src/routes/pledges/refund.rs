use actix_web::{HttpResponse, post, web};

use super::view::{PledgeResponse, currency_of};
use crate::auth::AuthUser;
use crate::db::pledges::{self, NewPledgeEvent};
use crate::db::{campaigns, charge_attempts, settlement, write_transaction};
use crate::domain::Money;
use crate::error::ApiError;
use crate::ledger::{self, BACKERS, Posting};
use crate::payments::RefundRequest;
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
    let key = format!("refund-pledge-{}", pledge.id);
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
                let Some(refunded) = settlement::mark_refunded(conn, pledge.id, now.naive_utc())? else {
                    // Refunded meanwhile by a concurrent request with the same provider key.
                    let current = pledges::find(conn, pledge.id)?.ok_or(ApiError::NotFound)?;
                    return PledgeResponse::new(&current, currency, false);
                };
                pledges::append_event(
                    conn,
                    &NewPledgeEvent {
                        pledge_id: refunded.id,
                        actor_id: Some(user.id.0),
                        from_status: Some("collected"),
                        to_status: "refunded",
                        reason: "refunded",
                        amount_minor: refunded.amount_minor,
                        tier_id: refunded.tier_id,
                        created_at: now.naive_utc(),
                    },
                )?;
                let payable = ledger::creator_payable(campaign.id);
                let reference = format!("refund:{key}");
                ledger::post(
                    conn,
                    &Posting {
                        kind: "refund",
                        campaign_id: campaign.id,
                        pledge_id: Some(refunded.id),
                        currency: currency.code(),
                        reference: &reference,
                        entries: &[
                            (&payable, -refunded.amount_minor),
                            (BACKERS, refunded.amount_minor),
                        ],
                    },
                    now,
                )?;
                crate::mail::queue::refund_issued(conn, &campaign, &refunded, now)?;
                PledgeResponse::new(&refunded, currency, false)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
