//! A late pledge's request (see `pledges::late`): written, charged at once, recorded.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};

use super::create::{CreatePledgeRequest, terms};
use super::view::PledgeResponse;
use crate::domain::{Actor, CampaignId, CoreError, Money};
use crate::http::{ApiError, AppState, idempotency};
use crate::payments::{ChargeRequest, OnSession};
use crate::pledges::{late, payment};
use crate::settlement::Config;

/// Makes, charges and records a late pledge, honouring `Idempotency-Key` as a live pledge does:
/// a collected pledge's answer is replayed; a decline stores nothing (the dropped pledge stays
/// in the backer's history) and a retry pledges again.
pub(super) async fn pledge(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    user: Actor,
    campaign_id: CampaignId,
    body: Arc<CreatePledgeRequest>,
) -> Result<HttpResponse, ApiError> {
    let creation = match idempotency::start(state, req, &user, body.as_ref()).await? {
        idempotency::Start::Run(creation) => creation,
        idempotency::Start::Replayed(response) => return Ok(response),
    };
    let saved = match payment::save(state.payments.clone(), user.id, body.payment_method.clone()).await {
        Ok(method) => method,
        Err(e) => {
            creation.abandon(state).await?;
            return Err(e.into());
        }
    };
    let now = state.clock.now();
    let reference = saved.reference.clone();
    let started = state
        .db
        .write(move |conn| late::start(conn, campaign_id, &user, &terms(&body), &reference, now))
        .await;
    let started = match started {
        Ok(started) => started,
        Err(e) => {
            creation.abandon(state).await?;
            return Err(e.into());
        }
    };
    let provider = state.payments.clone();
    let attempt = started.attempt.clone();
    let currency = started.campaign.currency;
    let answered = tokio::task::spawn_blocking(move || {
        provider.charge_on_session(&ChargeRequest {
            idempotency_key: &attempt.idempotency_key,
            payment_method: &attempt.payment_method,
            amount: Money::from_minor(attempt.amount_minor, currency),
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let location = format!("/api/v1/pledges/{}", started.pledge.id);
    let now = state.clock.now();
    match answered {
        Err(e) => {
            // The attempt stays pending under its lease; the next settlement pass after the
            // lease replays its key and records what the provider did.
            tracing::warn!(pledge.id = %started.pledge.id, error = %e, "late charge outcome unknown; settlement replays it");
            creation.abandon(state).await?;
            Err(CoreError::Unavailable(e.context("charging a late pledge")).into())
        }
        Ok(OnSession::RequiresAction {
            payment_id,
            client_secret,
        }) => {
            creation
                .commit(state, move |conn| {
                    late::wait_for_backer(conn, &started, &payment_id, now)?;
                    let mut response = PledgeResponse::new(&started.pledge, currency, true);
                    response.setup_intent_client_secret = saved.client_secret;
                    response.payment_intent_client_secret = Some(client_secret);
                    Ok((response, location))
                })
                .await
        }
        Ok(OnSession::Done(outcome)) => {
            let fees = Config::from_settings(&state.settings);
            creation
                .commit_or_refuse(state, move |conn| {
                    Ok(match late::finish(conn, &started, &outcome, &fees, now)? {
                        Ok(pledge) => {
                            let mut response = PledgeResponse::new(&pledge, currency, true);
                            response.setup_intent_client_secret = saved.client_secret;
                            Ok((response, location))
                        }
                        Err(refusal) => Err(refusal.into()),
                    })
                })
                .await
        }
    }
}
