use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::view::AddonResponse;
use crate::campaigns::addons::{self, Input};
use crate::campaigns::visibility::Viewer;
use crate::domain::addon::DEFAULT_MAX_PER_PLEDGE;
use crate::domain::{CampaignId, TierId, Visibility};
use crate::http::{ApiError, AppState, AuthUser, Json, idempotency};

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAddonRequest {
    /// 1–80 characters.
    #[schema(example = "Sticker pack")]
    pub title: String,
    /// Up to 2 000 characters.
    pub description: Option<String>,
    /// Each; decimal string.
    #[schema(example = "12.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub price: String,
    /// Units on offer (1–1 000 000); absent or null for unlimited.
    #[schema(example = 200, minimum = 1, maximum = 1_000_000)]
    pub quantity: Option<i64>,
    /// Most units one pledge may hold (1–1 000, default 10).
    #[schema(example = 10, minimum = 1, maximum = 1_000)]
    pub max_per_pledge: Option<i64>,
    /// Fee per unit by ISO 3166-1 alpha-2 country code, `*` for everywhere else; absent or
    /// null if it ships nothing.
    #[schema(example = json!({"US": "2.00", "*": "5.00"}))]
    pub shipping: Option<BTreeMap<String, String>>,
    /// Ids of the campaign's tiers it may be added to; absent or empty: any pledge, with or
    /// without a reward.
    #[schema(value_type = Option<Vec<i64>>)]
    pub tiers: Option<Vec<TierId>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// `public` (the default) or `secret`, as for tiers.
    pub visibility: Option<Visibility>,
}

/// Adds an add-on to a draft or live campaign (owner only). Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "addons",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the first answer"),
    ),
    request_body = CreateAddonRequest,
    responses(
        (status = 201, body = AddonResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign"),
        (status = 409, description = "The campaign is past its deadline or closed"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[post("/campaigns/{id}/addons")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    Json(body): Json<CreateAddonRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let key = idempotency::key_from(&req, &user, &body)?;
    idempotency::create(&state, key, move |conn| {
        let input = Input {
            title: &body.title,
            description: body.description.as_deref().unwrap_or_default(),
            price: &body.price,
            quantity: body.quantity,
            max_per_pledge: body.max_per_pledge.unwrap_or(DEFAULT_MAX_PER_PLEDGE),
            shipping: body.shipping.as_ref(),
            tiers: body.tiers.as_deref().unwrap_or_default(),
            starts_at: body.starts_at,
            ends_at: body.ends_at,
            visibility: body.visibility.unwrap_or_default(),
        };
        let (row, currency) = addons::create(conn, id, &user, input, now)?;
        let location = format!("/api/v1/campaigns/{}/addons/{}", row.campaign_id, row.id);
        Ok((
            AddonResponse::new(&row, currency, Viewer::Manager, now)?,
            location,
        ))
    })
    .await
}
