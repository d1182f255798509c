use actix_web::{HttpResponse, patch, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::view::PledgeResponse;
use crate::domain::{PledgeId, TierId};
use crate::http::{ApiError, AppState, AuthUser, Json};
use crate::pledges::service::{self, TermsPatch};
use crate::pledges::terms::AddonAsk;
use crate::routes::campaigns::view::double_option;

/// Changes to a pledge; absent fields stay. The whole result is checked as a new pledge would be.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePledgeRequest {
    /// `null` to keep pledging without a reward.
    #[serde(default, deserialize_with = "double_option")]
    pub tier_id: Option<Option<i64>>,
    #[schema(example = "75.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub amount: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub shipping_country: Option<Option<String>>,
    /// As when pledging; kept only if the pledge came without one (the first ref wins).
    #[serde(rename = "ref")]
    pub referral: Option<String>,
    /// The token of the secret tier `tier_id` names, or of a secret add-on (not needed to keep
    /// what the pledge holds).
    pub secret: Option<String>,
    /// The whole new list of add-ons (`[]` for none); absent keeps those the pledge holds.
    /// Units given up go back on sale.
    pub addons: Option<Vec<AddonAsk>>,
}

/// Changes amount, reward or shipping (the backer, until the deadline). In the last 24 hours an
/// all-or-nothing campaign that has reached its goal cannot be taken below it (409).
#[utoipa::path(
    tag = "pledges",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Pledge id")),
    request_body = UpdatePledgeRequest,
    responses(
        (status = 200, body = PledgeResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 404, description = "No such pledge of yours, or `tier_id` names no tier you can see"),
        (status = 429, description = "Too many pledge changes by this user this minute; see Retry-After"),
        (status = 409, description = "Not active, past the deadline, tier sold out, or the last-24-hours rule"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[patch("/pledges/{id}")]
#[tracing::instrument(skip_all, fields(pledge.id = %path))]
pub async fn update(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<PledgeId>,
    Json(body): Json<UpdatePledgeRequest>,
) -> Result<HttpResponse, ApiError> {
    state.pledge_change_allowed(user.id)?;
    let id = path.into_inner();
    let now = state.clock.now();
    let (campaign, pledge) = state
        .db
        .write(move |conn| {
            let patch = TermsPatch {
                tier_id: body.tier_id.map(|tier| tier.map(TierId)),
                amount: body.amount.as_deref(),
                shipping_country: body.shipping_country.as_ref().map(Option::as_deref),
                referral: body.referral.as_deref(),
                secret: body.secret.as_deref(),
                addons: body.addons.as_deref(),
            };
            service::change(conn, id, &user, &patch, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PledgeResponse::new(&pledge, campaign.currency, true)))
}
