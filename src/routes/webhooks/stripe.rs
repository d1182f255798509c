use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::config::PaymentProviderKind;
use crate::db::charge_attempts::{self, FoundAttempt};
use crate::db::{campaigns, pledges, stripe as stripe_db, write_transaction};
use crate::domain::Money;
use crate::error::ApiError;
use crate::payments::{ChargeOutcome, ChargeRequest, stripe_signature};
use crate::settlement::record_outcome;
use crate::state::AppState;

/// What happened to an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAnswer {
    /// `applied`, `duplicate` (applied before, by event id) or `ignored` (not about our charges).
    pub result: &'static str,
}

fn answer(result: &'static str) -> HttpResponse {
    HttpResponse::Ok().json(WebhookAnswer { result })
}

/// Stripe's notifications. The `Stripe-Signature` header must sign the raw body with
/// `STRIPE_WEBHOOK_SECRET` within 300 seconds (400 otherwise). Each event is applied once (by
/// its id), in the same transaction as its effect:
///
/// - `payment_intent.succeeded`, `payment_intent.payment_failed`: settle a charge attempt still
///   pending (the process died before recording Stripe's answer) by replaying its idempotency
///   key, exactly as the next settlement pass would; an attempt already recorded is left alone.
/// - `charge.refunded`: a full refund made outside the API (the Stripe dashboard) refunds the
///   pledge, as `POST /pledges/{id}/refund` does.
/// - `charge.dispute.created`: logged on the pledge's event log.
///
/// An event about a charge whose attempt is still being recorded answers 409, so Stripe
/// delivers it again later: the result is the same whatever the order of arrival.
#[utoipa::path(
    tag = "payments",
    request_body(content = Object, description = "A Stripe event", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix time>,v1=<HMAC-SHA256>")),
    responses(
        (status = 200, body = WebhookAnswer),
        (status = 400, description = "Missing, stale or wrong signature, or not a Stripe event"),
        (status = 404, description = "PAYMENT_PROVIDER is not stripe (a request with a signature)"),
        (status = 409, description = "The event is about a charge still being recorded: Stripe retries it"),
        (status = 503, description = "Stripe could not be reached to settle the attempt: Stripe retries it"),
    )
)]
#[post("/webhooks/stripe")]
pub async fn stripe(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // Without its signature a request is malformed whichever provider is configured.
    let header = req
        .headers()
        .get("Stripe-Signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::BadRequest("the Stripe-Signature header is required".into()))?;
    let PaymentProviderKind::Stripe(settings) = &state.settings.payment_provider else {
        return Err(ApiError::NotFound);
    };
    stripe_signature::verify(
        header,
        &body,
        settings.webhook_secret.expose(),
        state.clock.now().timestamp(),
    )
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let event: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("not JSON: {e}")))?;
    let (Some(id), Some(kind)) = (event["id"].as_str(), event["type"].as_str()) else {
        return Err(ApiError::BadRequest("not a Stripe event (no id or type)".into()));
    };
    let (id, kind) = (id.to_owned(), kind.to_owned());
    let object = event["data"]["object"].clone();
    match kind.as_str() {
        "payment_intent.succeeded" | "payment_intent.payment_failed" => {
            payment_intent(&state, id, kind, &object).await
        }
        "charge.refunded" | "charge.dispute.created" => charge_event(&state, id, kind, object).await,
        _ => Ok(answer("ignored")),
    }
}

/// Settles a pending attempt by replaying its key (no second charge: Stripe answers with the
/// first PaymentIntent), then records the outcome and the event together.
async fn payment_intent(
    state: &web::Data<AppState>,
    id: String,
    kind: String,
    intent: &Value,
) -> Result<HttpResponse, ApiError> {
    let Some(key) = intent["metadata"]["idempotency_key"].as_str().map(str::to_owned) else {
        return Ok(answer("ignored"));
    };
    let Some(found) = state
        .db
        .run(move |conn| Ok(charge_attempts::by_key(conn, &key)?))
        .await?
    else {
        return Ok(answer("ignored"));
    };
    let now = state.clock.now();
    if found.status != "pending" {
        let applied = state
            .db
            .run(move |conn| Ok(stripe_db::remember_event(conn, &id, &kind, now.naive_utc())?))
            .await?;
        return Ok(answer(if applied { "applied" } else { "duplicate" }));
    }
    let currency = found
        .row
        .currency
        .parse::<crate::domain::Currency>()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?;
    let provider = state.payments.clone();
    let attempt = found.row.clone();
    let outcome = web::block(move || {
        provider.charge(&ChargeRequest {
            idempotency_key: &attempt.idempotency_key,
            payment_method: &attempt.payment_method,
            amount: Money::from_minor(attempt.amount_minor, currency),
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(|e| ApiError::Unavailable(format!("replaying the charge at Stripe: {e:#}")))?;
    let applied = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                if !stripe_db::remember_event(conn, &id, &kind, now.naive_utc())? {
                    return Ok(false);
                }
                record(conn, &found, &outcome, now)?;
                Ok(true)
            })
        })
        .await?;
    Ok(answer(if applied { "applied" } else { "duplicate" }))
}

fn record(
    conn: &mut crate::db::DbConn,
    found: &FoundAttempt,
    outcome: &ChargeOutcome,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    let pledge = pledges::find(conn, found.pledge_id)?.ok_or(ApiError::NotFound)?;
    let campaign = campaigns::find(conn, pledge.campaign_id)?.ok_or(ApiError::NotFound)?;
    record_outcome(conn, &campaign, &pledge, &found.row, outcome, now)?;
    Ok(())
}

/// `charge.refunded` and `charge.dispute.created`, found by the PaymentIntent they belong to.
async fn charge_event(
    state: &web::Data<AppState>,
    id: String,
    kind: String,
    object: Value,
) -> Result<HttpResponse, ApiError> {
    let Some(intent) = object["payment_intent"].as_str().map(str::to_owned) else {
        return Ok(answer("ignored"));
    };
    let key = object["metadata"]["idempotency_key"].as_str().map(str::to_owned);
    let now = state.clock.now();
    let result = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let found = match charge_attempts::by_provider_charge(conn, &intent)? {
                    Some(found) => found,
                    // Not recorded yet: ours if it carries one of our attempt keys.
                    None => match key.as_deref() {
                        Some(key) => match charge_attempts::by_key(conn, key)? {
                            Some(found) if found.status == "pending" => {
                                return Err(ApiError::Conflict(
                                    "the charge is still being recorded; deliver the event again later"
                                        .into(),
                                ));
                            }
                            Some(found) => found,
                            None => return Ok("ignored"),
                        },
                        None => return Ok("ignored"),
                    },
                };
                if !stripe_db::remember_event(conn, &id, &kind, now.naive_utc())? {
                    return Ok("duplicate");
                }
                let pledge = pledges::find(conn, found.pledge_id)?.ok_or(ApiError::NotFound)?;
                let campaign = campaigns::find(conn, pledge.campaign_id)?.ok_or(ApiError::NotFound)?;
                if kind == "charge.refunded" {
                    let full = object["amount_refunded"].as_i64() >= object["amount"].as_i64()
                        && object["amount"].as_i64().is_some();
                    if !full {
                        tracing::warn!(
                            pledge.id = pledge.id,
                            "partial refund made in Stripe; not reflected"
                        );
                        return Ok("ignored");
                    }
                    if pledge.status == "collected" {
                        crate::pledges::refund::record(conn, &campaign, pledge.id, None, now)?;
                    }
                } else {
                    let reason = object["reason"].as_str().unwrap_or("unspecified");
                    tracing::warn!(pledge.id = pledge.id, reason, "a backer disputed a charge");
                    pledges::append_event(
                        conn,
                        &pledges::NewPledgeEvent {
                            pledge_id: pledge.id,
                            actor_id: None,
                            from_status: Some(&pledge.status),
                            to_status: &pledge.status,
                            reason: &format!("dispute opened at Stripe: {reason}"),
                            amount_minor: pledge.amount_minor,
                            tier_id: pledge.tier_id,
                            created_at: now.naive_utc(),
                        },
                    )?;
                }
                Ok("applied")
            })
        })
        .await?;
    Ok(answer(result))
}
