use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::view::PledgeResponse;
use crate::db::DbConn;
use crate::db::campaigns::CampaignRow;
use crate::db::idempotency::Stored;
use crate::db::pledges::PledgeRow;
use crate::domain::{Actor, CampaignId, CoreError, TierId};
use crate::http::{ApiError, AppState, AuthUser, Json, idempotency};
use crate::payments::SavedMethod;
use crate::pledges::service::{self, NewTerms};
use crate::pledges::terms::AddonAsk;
use crate::pledges::{late, one_statement, payment};

#[derive(Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePledgeRequest {
    /// The reward; absent or null to pledge without one.
    pub tier_id: Option<i64>,
    /// Total, shipping included: at least the tier's minimum plus the shipping fee to
    /// `shipping_country` (at least 1 without a tier).
    #[schema(example = "60.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub amount: String,
    /// ISO 3166-1 alpha-2; required when the tier ships.
    #[schema(example = "FR")]
    pub shipping_country: Option<String>,
    /// A payment method token from the provider (sandbox: `pm_card_visa`, ...).
    #[schema(example = "pm_card_visa")]
    pub payment_method: String,
    /// Which link brought you: one of the campaign's referral codes (`?ref=` of its share
    /// link), or `direct`, `search`, `embed` or `other`.
    #[serde(rename = "ref")]
    #[schema(example = "direct")]
    pub referral: Option<String>,
    /// The token of a secret tier (its share link's `?secret=`): without it a secret tier is
    /// not found.
    pub secret: Option<String>,
    /// Add-ons bought beside the reward, each at most once; the amount must cover them and
    /// their shipping.
    #[serde(default)]
    pub addons: Vec<AddonAsk>,
}

/// Backs a live campaign. Nothing is charged now: the payment method is charged at the
/// deadline if the campaign reaches its goal (whatever the total if it is `flexible`).
/// A successful campaign taking late pledges (`taking_late_pledges`) is backed with a late
/// pledge instead, at its tiers' `late_price`, charged at once: `collected` (201), declined
/// (402, the provider's reason in `decline_code`), or, when the card needs the backer, `active`
/// with `payment_intent_client_secret` (201). Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "pledges",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the first answer"),
    ),
    request_body = CreatePledgeRequest,
    responses(
        (status = 201, body = PledgeResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 402, description = "A late pledge's charge was declined: `decline_code` says why; the pledge (`existing`) is dropped"),
        (status = 403, description = "Creators cannot back their own campaign"),
        (status = 404, description = "No such campaign, or `tier_id` names no tier of it that you can see (a secret one needs `secret`)"),
        (status = 409, description = "Not live, past the deadline, tier sold out or outside its window, already backed (`existing` points at that pledge), or the same Idempotency-Key is still being processed"),
        (status = 422, description = "A field is invalid (amount below the minimum, unknown payment method, ...), or the Idempotency-Key was used with another body"),
        (status = 503, description = "A late pledge's charge has no answer yet: the pledge is settled by the next settlement pass"),
    )
)]
#[post("/campaigns/{id}/pledges")]
#[tracing::instrument(skip_all, fields(campaign.id = %path, user.id = %user.id))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    Json(body): Json<CreatePledgeRequest>,
) -> Result<HttpResponse, ApiError> {
    let campaign_id = path.into_inner();
    // One copy of the request, shared by whichever path makes the pledge.
    let body = Arc::new(body);
    match live(&state, &req, user, campaign_id, Arc::clone(&body)).await {
        // Not live: a successful campaign may take it as a late pledge.
        Err(ApiError::Conflict(reason)) => {
            let now = state.clock.now();
            if state
                .db
                .run(move |conn| late::applies(conn, campaign_id, now))
                .await?
            {
                return super::late::pledge(&state, &req, user, campaign_id, body).await;
            }
            Err(ApiError::Conflict(reason))
        }
        other => other,
    }
}

/// A pledge on a live campaign.
async fn live(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    user: Actor,
    campaign_id: CampaignId,
    body: Arc<CreatePledgeRequest>,
) -> Result<HttpResponse, ApiError> {
    let provider = state.payments.clone();
    if provider.saves_without_io() {
        // The provider answers at once and keeps nothing (the sandbox), so there is nothing to
        // wait for between the key's reservation and the pledge: the key is reserved in the
        // pledge's own transaction (two statements on PostgreSQL, a shared commit on SQLite).
        let key = idempotency::key_from(req, &user, body.as_ref())?;
        let saved = payment::saved(provider.save_payment_method(user.id, &body.payment_method))?;
        let now = state.clock.now();
        let (quick_user, quick_body, quick_saved) = (user, Arc::clone(&body), saved.clone());
        return idempotency::create_grouped(
            state,
            key,
            move |conn, key| {
                Ok(in_one_statement(
                    conn,
                    campaign_id,
                    &quick_user,
                    &quick_body,
                    quick_saved.clone(),
                    key,
                    now,
                )?)
            },
            move |conn| Ok(pledge(conn, campaign_id, &user, &body, saved.clone(), now)?),
        )
        .await;
    }
    let creation = match idempotency::start(state, req, &user, body.as_ref()).await? {
        idempotency::Start::Run(creation) => creation,
        idempotency::Start::Replayed(response) => return Ok(response),
    };
    let saved = match payment::save(provider, user.id, body.payment_method.clone()).await {
        Ok(method) => method,
        Err(e) => {
            creation.abandon(state).await?;
            return Err(e.into());
        }
    };
    // After the provider's answer, which may take a while: the deadline is checked against it.
    let now = state.clock.now();
    creation
        .commit(state, move |conn| {
            Ok(pledge(conn, campaign_id, &user, &body, saved, now)?)
        })
        .await
}

pub(super) fn terms(body: &CreatePledgeRequest) -> NewTerms<'_> {
    NewTerms {
        tier_id: body.tier_id.map(TierId),
        amount: &body.amount,
        shipping_country: body.shipping_country.as_deref(),
        referral: body.referral.as_deref(),
        secret: body.secret.as_deref(),
        addons: &body.addons,
    }
}

fn answer(campaign: &CampaignRow, pledge: &PledgeRow, saved: SavedMethod) -> (PledgeResponse, String) {
    let mut response = PledgeResponse::new(pledge, campaign.currency, true);
    response.setup_intent_client_secret = saved.client_secret;
    (response, format!("/api/v1/pledges/{}", pledge.id))
}

/// The pledge in two round trips on PostgreSQL, if it goes through that way.
fn in_one_statement(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    user: &Actor,
    body: &CreatePledgeRequest,
    saved: SavedMethod,
    key: Option<&Stored<'_>>,
    now: DateTime<Utc>,
) -> Result<Option<(String, String)>, CoreError> {
    let reference = saved.reference.clone();
    one_statement::create(
        conn,
        campaign_id,
        user,
        &terms(body),
        &reference,
        key,
        |campaign, pledge| answer(campaign, pledge, saved),
        now,
    )
}

/// The pledge's transaction: the pledge and the answer to send.
fn pledge(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    user: &Actor,
    body: &CreatePledgeRequest,
    saved: SavedMethod,
    now: DateTime<Utc>,
) -> Result<(PledgeResponse, String), CoreError> {
    let (campaign, pledge) = service::create(conn, campaign_id, user, &terms(body), &saved.reference, now)?;
    Ok(answer(&campaign, &pledge, saved))
}
