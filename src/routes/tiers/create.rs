use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::campaigns::access;
use crate::db::campaigns;
use crate::db::tiers::{self, NewTier};
use crate::domain::campaign::text;
use crate::domain::tier::{estimated_delivery, quantity};
use crate::domain::{Currency, Money, Shipping};
use crate::error::{ApiError, FieldErrors};
use crate::http::{Json, idempotency};
use crate::routes::campaigns::view::{TierResponse, currency_of};
use crate::state::AppState;

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
}

/// Validated tier fields, shared with the update route.
pub struct TierFields {
    pub title: String,
    pub description: String,
    pub min_amount_minor: i64,
    pub quantity: Option<i32>,
    pub estimated_delivery: String,
    pub shipping: Option<Shipping>,
}

/// A tier's fields as sent (or, for an update, as merged with the current tier).
pub struct TierInput<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub min_amount: &'a str,
    pub quantity: Option<i64>,
    pub estimated_delivery: &'a str,
    pub shipping: Option<&'a BTreeMap<String, String>>,
}

pub fn validate_fields(
    input: TierInput<'_>,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<TierFields, ApiError> {
    let TierInput {
        title,
        description,
        min_amount,
        quantity: qty,
        estimated_delivery: delivery,
        shipping,
    } = input;
    let mut errors = FieldErrors::default();
    let title = errors.check("title", text(title, 1, 80, false));
    let description = errors.check("description", text(description, 0, 2_000, true));
    let min_amount = errors.check("min_amount", Money::parse_positive(min_amount, currency));
    let quantity = qty.map(|q| errors.check("quantity", quantity(q)));
    let delivery = errors.check("estimated_delivery", estimated_delivery(delivery, now));
    let shipping = shipping.map(|table| {
        Shipping::parse(table, currency)
            .map_err(|(key, message)| {
                let field = if key.is_empty() {
                    "shipping".to_owned()
                } else {
                    format!("shipping.{key}")
                };
                errors.push(field, message);
            })
            .ok()
    });
    errors.finish()?;
    match (title, description, min_amount, delivery) {
        (Some(title), Some(description), Some(min), Some(delivery)) => Ok(TierFields {
            title,
            description,
            min_amount_minor: min.minor(),
            quantity: quantity.flatten(),
            estimated_delivery: delivery,
            shipping: shipping.flatten(),
        }),
        _ => Err(ApiError::Internal(anyhow::anyhow!(
            "validation passed without values"
        ))),
    }
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
        (status = 409, description = "The campaign has ended"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[post("/campaigns/{id}/tiers")]
#[tracing::instrument(skip_all, fields(campaign.id = %path))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<i64>,
    Json(body): Json<CreateTierRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    super::check_window(body.starts_at, body.ends_at)?;
    let key = idempotency::key_from(&req, &user, &body)?;
    idempotency::create(&state, key, move |conn| {
        let campaign = access::owned_by(campaigns::find(conn, id)?, &user)?;
        super::require_editable(&campaign)?;
        let currency = currency_of(&campaign)?;
        let fields = validate_fields(
            TierInput {
                title: &body.title,
                description: body.description.as_deref().unwrap_or_default(),
                min_amount: &body.min_amount,
                quantity: body.quantity,
                estimated_delivery: &body.estimated_delivery,
                shipping: body.shipping.as_ref(),
            },
            currency,
            now,
        )?;
        let shipping = fields.shipping.as_ref().map(Shipping::to_json);
        let row = tiers::insert(
            conn,
            &NewTier {
                campaign_id: campaign.id,
                title: &fields.title,
                description: &fields.description,
                min_amount_minor: fields.min_amount_minor,
                quantity: fields.quantity,
                estimated_delivery: &fields.estimated_delivery,
                starts_at: body.starts_at.map(|t| t.trunc_subsecs(6).naive_utc()),
                ends_at: body.ends_at.map(|t| t.trunc_subsecs(6).naive_utc()),
                shipping: shipping.as_deref(),
                created_at: now.naive_utc(),
                updated_at: now.naive_utc(),
            },
        )?;
        let location = format!("/api/v1/campaigns/{}/tiers/{}", campaign.id, row.id);
        Ok((TierResponse::new(&row, currency, now)?, location))
    })
    .await
}
