use std::collections::BTreeMap;

use actix_web::{HttpResponse, patch, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::campaigns::tiers::{self, Patch};
use crate::domain::{CampaignId, ImageId, TierId, Visibility};
use crate::http::{ApiError, AppState, AuthUser, Json};
use crate::routes::campaigns::view::{TierResponse, Viewer, double_option};
use crate::shapes::image;

/// Changes to a tier; absent fields stay, `null` clears the nullable ones. Once a tier has
/// backers its `min_amount` and `shipping` are frozen and `quantity` can only be raised. Past
/// the deadline only `late_price` changes, sent alone.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTierRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    #[schema(example = "30.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub min_amount: Option<String>,
    /// 1–1 000 000; `null`: unlimited.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity: Option<Option<i64>>,
    pub estimated_delivery: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub starts_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "double_option")]
    pub ends_at: Option<Option<DateTime<Utc>>>,
    /// `null`: ships nothing.
    #[serde(default, deserialize_with = "double_option")]
    pub shipping: Option<Option<BTreeMap<String, String>>>,
    /// One of the campaign's images; null removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub image_id: Option<Option<ImageId>>,
    /// `public` or `secret`; a tier keeps its `secret_token` once it has one.
    pub visibility: Option<Visibility>,
    /// What a late pledge pays for it at least (at least `min_amount`); null: `min_amount`.
    /// Sent alone, it also changes on a funded or successful campaign and past the deadline.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "30.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub late_price: Option<Option<String>>,
}

/// Edits a tier (owner only).
#[utoipa::path(
    tag = "tiers",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("tier_id" = i64, Path, description = "Tier id"),
    ),
    request_body = UpdateTierRequest,
    responses(
        (status = 200, body = TierResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign or tier"),
        (status = 409, description = "The change is frozen because the tier has backers, or the campaign is past its deadline or closed"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[patch("/campaigns/{id}/tiers/{tier_id}")]
#[tracing::instrument(skip_all, fields(campaign.id = %path.0, tier.id = %path.1))]
pub async fn update(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<(CampaignId, TierId)>,
    Json(body): Json<UpdateTierRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, tier_id) = path.into_inner();
    let now = state.clock.now();
    let links = state.media.links.clone();
    let response = state
        .db
        .write(move |conn| {
            let patch = Patch {
                title: body.title.as_deref(),
                description: body.description.as_deref(),
                min_amount: body.min_amount.as_deref(),
                quantity: body.quantity,
                estimated_delivery: body.estimated_delivery.as_deref(),
                starts_at: body.starts_at,
                ends_at: body.ends_at,
                shipping: body.shipping.as_ref().map(Option::as_ref),
                image_id: body.image_id,
                visibility: body.visibility,
                late_price: body.late_price.as_ref().map(Option::as_deref),
            };
            let (row, currency) = tiers::update(conn, id, tier_id, &user, &patch, now)?;
            let image = image::one(conn, row.image_id, &links)?;
            TierResponse::new(&row, currency, image, Viewer::Manager, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
