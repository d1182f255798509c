use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::PaymentProviderKind;
use crate::http::{ApiError, AppState};
use crate::payments::stripe_signature;
use crate::settlement::provider_events::{self, Event};

/// What happened to an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAnswer {
    /// `applied`, `duplicate` (applied before, by event id) or `ignored` (not about our charges).
    pub result: &'static str,
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
    let event = Event::parse(&body).map_err(ApiError::BadRequest)?;
    let fees = crate::settlement::Config::from_settings(&state.settings);
    let applied =
        provider_events::apply(&state.db, state.payments.clone(), &state.clock, &fees, event).await?;
    Ok(HttpResponse::Ok().json(WebhookAnswer {
        result: applied.as_str(),
    }))
}
