use std::collections::BTreeMap;

use actix_web::{HttpResponse, patch, web};
use chrono::{DateTime, SubsecRound, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::create::{TierInput, validate_fields};
use crate::auth::AuthUser;
use crate::campaigns::access;
use crate::db::tiers::{self, TierUpdate};
use crate::db::{campaigns, write_transaction};
use crate::domain::{Money, Shipping};
use crate::error::ApiError;
use crate::http::Json;
use crate::routes::campaigns::view::{TierResponse, currency_of, double_option};
use crate::state::AppState;

/// Changes to a tier; absent fields stay, `null` clears the nullable ones. Once a tier has
/// backers its `min_amount` and `shipping` are frozen and `quantity` can only be raised.
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
        (status = 409, description = "The change is frozen because the tier has backers, or the campaign has ended"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[patch("/campaigns/{id}/tiers/{tier_id}")]
#[tracing::instrument(skip_all, fields(campaign.id = %path.0, tier.id = %path.1))]
pub async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(i64, i64)>,
    Json(body): Json<UpdateTierRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, tier_id) = path.into_inner();
    let now = state.clock.now();
    let response = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let campaign = access::owned_by(campaigns::find(conn, id)?, &user)?;
                super::require_editable(&campaign)?;
                let currency = currency_of(&campaign)?;
                let tier = tiers::find(conn, campaign.id, tier_id)?.ok_or(ApiError::NotFound)?;

                // Merge the request into the current tier, then validate the whole result.
                let current_min = Money::from_minor(tier.min_amount_minor, currency).to_decimal_string();
                let current_shipping: Option<BTreeMap<String, String>> = tier
                    .shipping
                    .as_deref()
                    .map(Shipping::from_json)
                    .transpose()
                    .map_err(|e| ApiError::Internal(e.into()))?
                    .map(|s| {
                        s.entries()
                            .map(|(k, v)| (k.clone(), Money::from_minor(*v, currency).to_decimal_string()))
                            .collect()
                    });
                let quantity = body.quantity.unwrap_or(tier.quantity.map(i64::from));
                let shipping = body.shipping.clone().unwrap_or(current_shipping);
                let fields = validate_fields(
                    TierInput {
                        title: body.title.as_deref().unwrap_or(&tier.title),
                        description: body.description.as_deref().unwrap_or(&tier.description),
                        min_amount: body.min_amount.as_deref().unwrap_or(&current_min),
                        quantity,
                        estimated_delivery: body
                            .estimated_delivery
                            .as_deref()
                            .unwrap_or(&tier.estimated_delivery),
                        shipping: shipping.as_ref(),
                    },
                    currency,
                    now,
                )?;
                let starts_at = body
                    .starts_at
                    .unwrap_or(tier.starts_at.map(|t| t.and_utc()))
                    .map(|t| t.trunc_subsecs(6));
                let ends_at = body
                    .ends_at
                    .unwrap_or(tier.ends_at.map(|t| t.and_utc()))
                    .map(|t| t.trunc_subsecs(6));
                super::check_window(starts_at, ends_at)?;

                let new_shipping = fields.shipping.as_ref().map(Shipping::to_json);
                if tier.claimed > 0 {
                    if fields.min_amount_minor != tier.min_amount_minor {
                        return Err(ApiError::Conflict(
                            "min_amount is frozen once a tier has backers".into(),
                        ));
                    }
                    let old_shipping = tier.shipping.as_deref().map(Shipping::from_json).transpose();
                    if old_shipping.ok().flatten() != fields.shipping {
                        return Err(ApiError::Conflict(
                            "shipping is frozen once a tier has backers".into(),
                        ));
                    }
                    let lowered = match (tier.quantity, fields.quantity) {
                        (None, Some(_)) => true,
                        (Some(old), Some(new)) => new < old,
                        _ => false,
                    };
                    if lowered {
                        return Err(ApiError::Conflict(
                            "quantity can only be raised once a tier has backers".into(),
                        ));
                    }
                }
                let row = tiers::update_if_claimed(
                    conn,
                    tier.id,
                    tier.claimed,
                    &TierUpdate {
                        title: fields.title,
                        description: fields.description,
                        min_amount_minor: fields.min_amount_minor,
                        quantity: fields.quantity,
                        estimated_delivery: fields.estimated_delivery,
                        starts_at: starts_at.map(|t| t.naive_utc()),
                        ends_at: ends_at.map(|t| t.naive_utc()),
                        shipping: new_shipping,
                        updated_at: now.naive_utc(),
                    },
                )?
                .ok_or_else(|| {
                    ApiError::Conflict("the tier changed meanwhile; reload it and retry".into())
                })?;
                TierResponse::new(&row, currency, now)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
