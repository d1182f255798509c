use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::community::referrals;
use crate::db::campaigns::CampaignRow;
use crate::db::referrals::{RefTotal, TagRow};
use crate::domain::{CampaignId, Money};
use crate::http::{ApiError, AppState, AuthUser, Json, idempotency};

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReferralRequest {
    /// What the link is for, as you will recognise it: 1–80 characters, once per campaign.
    #[schema(example = "Newsletter, December")]
    pub name: String,
}

/// A referral tag and the pledges that came through it.
#[derive(Serialize, ToSchema)]
pub struct ReferralResponse {
    pub id: i64,
    /// What a pledge sends as `ref`; also the `?ref=` of the share link.
    #[schema(example = "k7pm3xq2")]
    pub code: String,
    pub name: String,
    /// The campaign's share page with this code, on this server.
    #[schema(example = "/c/night-lamp?ref=k7pm3xq2")]
    pub share_path: String,
    pub created_at: DateTime<Utc>,
    /// Pledges that count (active, collected, errored) with this ref.
    pub pledges: i64,
    pub amount: String,
    pub collected: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReferralList {
    pub items: Vec<ReferralResponse>,
}

fn response(campaign: &CampaignRow, tag: TagRow, totals: &[RefTotal]) -> ReferralResponse {
    let money = |minor| Money::from_minor(minor, campaign.currency).to_decimal_string();
    let total = totals.iter().find(|t| t.referral.as_deref() == Some(&tag.code));
    ReferralResponse {
        id: tag.id,
        share_path: format!("/c/{}?ref={}", campaign.slug, tag.code),
        code: tag.code,
        name: tag.name,
        created_at: tag.created_at.and_utc(),
        pledges: total.map_or(0, |t| t.pledges),
        amount: money(total.map_or(0, |t| t.amount_minor)),
        collected: money(total.map_or(0, |t| t.collected_minor)),
    }
}

/// Makes a referral tag (owner only): a short code to put in the links you share, so that
/// stats can say which link brought which pledge. Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "campaigns",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the first answer"),
    ),
    request_body = CreateReferralRequest,
    responses(
        (status = 201, body = ReferralResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign"),
        (status = 409, description = "A tag of that name exists (`existing`), or the campaign has 100 tags"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[post("/campaigns/{id}/referrals")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn create_referral(
    state: web::Data<AppState>,
    req: HttpRequest,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    Json(body): Json<CreateReferralRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let key = idempotency::key_from(&req, &user, &body)?;
    idempotency::create(&state, key, move |conn| {
        let (campaign, tag) = referrals::create(conn, id, &user, &body.name, now)?;
        let location = format!("/api/v1/campaigns/{}/referrals", campaign.id);
        Ok((response(&campaign, tag, &[]), location))
    })
    .await
}

/// The campaign's referral tags, oldest first, with the pledges each brought (owner and
/// admins). `GET /campaigns/{id}/stats` has every ref, channels included, in `by_referral`.
#[utoipa::path(
    tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Campaign id")),
    responses(
        (status = 200, body = ReferralList),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not the campaign's creator or an admin"),
        (status = 404, description = "No such campaign"),
    )
)]
#[get("/campaigns/{id}/referrals")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn list_referrals(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (campaign, tags, totals) = state.db.run(move |conn| referrals::list(conn, id, &user)).await?;
    let items = tags
        .into_iter()
        .map(|tag| response(&campaign, tag, &totals))
        .collect();
    Ok(HttpResponse::Ok().json(ReferralList { items }))
}
