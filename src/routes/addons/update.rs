use std::collections::BTreeMap;

use actix_web::{HttpResponse, patch, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::view::AddonResponse;
use crate::campaigns::addons::{self, Patch};
use crate::campaigns::visibility::Viewer;
use crate::domain::{AddonId, CampaignId, TierId, Visibility};
use crate::http::{ApiError, AppState, AuthUser, Json};
use crate::routes::campaigns::view::double_option;

/// Changes to an add-on; absent fields stay, `null` clears the nullable ones. Once bought its
/// `price` and `shipping` are frozen and `quantity` can only be raised.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAddonRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    #[schema(example = "14.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub price: Option<String>,
    /// 1–1 000 000; `null`: unlimited.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity: Option<Option<i64>>,
    #[schema(minimum = 1, maximum = 1_000)]
    pub max_per_pledge: Option<i64>,
    /// `null`: ships nothing.
    #[serde(default, deserialize_with = "double_option")]
    pub shipping: Option<Option<BTreeMap<String, String>>>,
    /// The whole new list; `[]`: any pledge.
    #[schema(value_type = Option<Vec<i64>>)]
    pub tiers: Option<Vec<TierId>>,
    #[serde(default, deserialize_with = "double_option")]
    pub starts_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "double_option")]
    pub ends_at: Option<Option<DateTime<Utc>>>,
    /// `public` or `secret`; an add-on keeps its `secret_token` once it has one.
    pub visibility: Option<Visibility>,
}

/// Edits an add-on (owner only).
#[utoipa::path(
    tag = "addons",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Campaign id"),
        ("addon_id" = i64, Path, description = "Add-on id"),
    ),
    request_body = UpdateAddonRequest,
    responses(
        (status = 200, body = AddonResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 403, description = "Not your campaign"),
        (status = 404, description = "No such campaign or add-on"),
        (status = 409, description = "The change is frozen because the add-on has been bought, or the campaign is past its deadline or closed"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[patch("/campaigns/{id}/addons/{addon_id}")]
#[tracing::instrument(skip_all, fields(campaign.id = %path.0, addon.id = %path.1))]
pub async fn update(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<(CampaignId, AddonId)>,
    Json(body): Json<UpdateAddonRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, addon_id) = path.into_inner();
    let now = state.clock.now();
    let response = state
        .db
        .write(move |conn| {
            let patch = Patch {
                title: body.title.as_deref(),
                description: body.description.as_deref(),
                price: body.price.as_deref(),
                quantity: body.quantity,
                max_per_pledge: body.max_per_pledge,
                shipping: body.shipping.as_ref().map(Option::as_ref),
                tiers: body.tiers.as_deref(),
                starts_at: body.starts_at,
                ends_at: body.ends_at,
                visibility: body.visibility,
            };
            let (row, currency) = addons::update(conn, id, addon_id, &user, &patch, now)?;
            AddonResponse::new(&row, currency, Viewer::Manager, now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
