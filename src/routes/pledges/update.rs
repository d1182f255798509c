use actix_web::{HttpResponse, patch, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::view::{PledgeResponse, currency_of};
use crate::auth::AuthUser;
use crate::db::write_transaction;
use crate::error::ApiError;
use crate::http::Json;
use crate::pledges::service;
use crate::routes::campaigns::view::double_option;
use crate::state::AppState;

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
}

/// Changes amount, reward or shipping (the backer, until the deadline). In the last 24 hours a
/// campaign that has reached its goal cannot be taken below it (409).
#[utoipa::path(
    tag = "pledges",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Pledge id")),
    request_body = UpdatePledgeRequest,
    responses(
        (status = 200, body = PledgeResponse),
        (status = 401, description = "Missing or invalid access token"),
        (status = 404, description = "No such pledge of yours"),
        (status = 409, description = "Not active, past the deadline, tier sold out, or the last-24-hours rule"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[patch("/pledges/{id}")]
#[tracing::instrument(skip_all, fields(pledge.id = %path))]
pub async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    Json(body): Json<UpdatePledgeRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    let response = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let (campaign, pledge) = service::change(
                    conn,
                    id,
                    &user,
                    body.tier_id,
                    body.amount.as_deref(),
                    body.shipping_country.as_ref().map(Option::as_deref),
                    now,
                )?;
                PledgeResponse::new(&pledge, currency_of(&campaign)?, true)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
