use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::campaigns::tiers::{self, Input};
use crate::domain::{CampaignId, ImageId, Visibility};
use crate::http::{ApiError, AppState, AuthUser, Json, idempotency};
use crate::routes::campaigns::view::{TierResponse, Viewer};
use crate::shapes::image;

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTierRequest {
    /// 1–80 characters.
    #[schema(example = "Early bird")]
    pub title: String,
    /// Up to 2 000 characters.
    pub description: Option<String>,
    /// Smallest pledge for the reward, shipping excluded; decimal string.
    #[schema(example = "25.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub min_amount: String,
    /// Units on offer (1–1 000 000); absent or null for unlimited.
    #[schema(example = 100, minimum = 1, maximum = 1_000_000)]
    pub quantity: Option<i64>,
    /// `YYYY-MM`, not in the past.
    #[schema(example = "2027-03")]
    pub estimated_delivery: String,
    /// Optional availability window (early-bird tiers).
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Fee by ISO 3166-1 alpha-2 country code, `*` for everywhere else; absent or null if
    /// nothing ships.
    #[schema(example = json!({"US": "5.00", "*": "15.00"}))]
    pub shipping: Option<BTreeMap<String, String>>,
    /// One of the campaign's images, shown with the tier.
    #[schema(value_type = Option<i64>)]
    pub image_id: Option<ImageId>,
    /// `public` (the default) or `secret`: left out of listings and the campaign page; the
    /// answer carries the `secret_token` to share.
    pub visibility: Option<Visibility>,
    /// What a late pledge pays for it at least, once the campaign is successful (at least
    /// `min_amount`); absent: `min_amount`.
    #[schema(example = "30.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub late_price: Option<String>,
}

/// Adds a reward tier to a draft or live campaign (owner only). Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "tiers",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the first answer"),
    ),
    request_body = CreateTierRequest,
    responses(
        (status = 201, body = TierResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign"),
        (status = 409, description = "The campaign is past its deadline or closed"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[post("/campaigns/{id}/tiers")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    AuthUser(user): AuthUser,
    path: web::Path<CampaignId>,
    Json(body): Json<CreateTierRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let links = state.media.links.clone();
    tiers::check_window(body.starts_at, body.ends_at)?;
    let key = idempotency::key_from(&req, &user, &body)?;
    idempotency::create(&state, key, move |conn| {
        let input = Input {
            title: &body.title,
            description: body.description.as_deref().unwrap_or_default(),
            min_amount: &body.min_amount,
            quantity: body.quantity,
            estimated_delivery: &body.estimated_delivery,
            starts_at: body.starts_at,
            ends_at: body.ends_at,
            shipping: body.shipping.as_ref(),
            image_id: body.image_id,
            visibility: body.visibility.unwrap_or_default(),
            late_price: body.late_price.as_deref(),
        };
        let (row, currency) = tiers::create(conn, id, &user, input, now)?;
        let location = format!("/api/v1/campaigns/{}/tiers/{}", row.campaign_id, row.id);
        let image = image::one(conn, row.image_id, &links)?;
        Ok((
            TierResponse::new(&row, currency, image, Viewer::Manager, now)?,
            location,
        ))
    })
    .await
}
