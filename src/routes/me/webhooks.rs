//! `/api/v1/me/webhooks`: the caller's endpoints, told of the events of their campaigns. The
//! same operations serve admins' platform-wide endpoints (`routes::admin::webhooks`): each
//! handler here is the body of both, for the scope it is given.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::webhooks::{DeliveryRow, EndpointRow};
use crate::domain::{DeliveryId, DeliveryStatus, EndpointId, EventType};
use crate::http::{ApiError, AppState, AuthUser, Json, NoBody, Query, cursor};
use crate::routes::campaigns::view::double_option;
use crate::webhooks::delivery::webhook_id;
use crate::webhooks::endpoints::{self, Created, Events, Scope, Settings};
use crate::webhooks::secrets::Sealer;

/// An endpoint's settings. On creation `url` and `events` are required; on a change, what is
/// absent stays as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointRequest {
    /// `https://`; `http://` only for loopback, with `WEBHOOK_ALLOW_PRIVATE` on (development).
    #[schema(example = "https://shop.example.com/hooks/crowdfund", max_length = 2048)]
    pub url: Option<String>,
    /// Event types, or `["*"]` for all of them (`webhook.ping` always comes).
    #[schema(example = json!(["pledge.created", "pledge.collected"]))]
    pub events: Option<Vec<String>>,
    /// Only these campaigns (yours); null for all of them.
    #[serde(default, deserialize_with = "double_option")]
    pub campaign_ids: Option<Option<Vec<i64>>>,
    /// Enabling an endpoint disabled after failures starts its count of failures afresh.
    pub enabled: Option<bool>,
}

impl From<WebhookEndpointRequest> for Settings {
    fn from(body: WebhookEndpointRequest) -> Self {
        Self {
            url: body.url,
            events: body.events,
            campaign_ids: body.campaign_ids,
            enabled: body.enabled,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpoint {
    #[schema(example = 4)]
    pub id: i64,
    pub url: String,
    #[schema(example = json!(["*"]))]
    pub events: Vec<String>,
    pub campaign_ids: Option<Vec<i64>>,
    pub enabled: bool,
    /// Registered by an admin; receives every event.
    pub platform: bool,
    /// Why it was disabled, when the platform disabled it after 5 days of failures.
    pub disabled_reason: Option<String>,
    /// The first failed delivery since the last success.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until then deliveries also carry a signature with the secret that was rotated out.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<EndpointRow> for WebhookEndpoint {
    fn from(row: EndpointRow) -> Self {
        Self {
            id: row.id.0,
            events: Events::parse_stored(&row.events).names(),
            campaign_ids: endpoints::campaign_ids(&row).map(|ids| ids.into_iter().map(|c| c.0).collect()),
            url: row.url,
            enabled: row.enabled,
            platform: row.platform,
            disabled_reason: row.disabled_reason,
            failing_since: row.failing_since.map(|t| t.and_utc()),
            previous_secret_valid_until: row.previous_secret_until.map(|t| t.and_utc()),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

/// A new endpoint, or a new secret: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_` + base64 of the key: verify `webhook-signature` with it (README, "Webhooks").
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

impl From<Created> for WebhookEndpointWithSecret {
    fn from(created: Created) -> Self {
        Self {
            endpoint: created.endpoint.into(),
            secret: created.secret,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointList {
    pub items: Vec<WebhookEndpoint>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDelivery {
    #[schema(example = 91)]
    pub id: i64,
    pub event_id: i64,
    pub event_type: EventType,
    /// The `webhook-id` header: the same for every attempt, the receiver's deduplication key.
    #[schema(example = "msg_1207_4")]
    pub webhook_id: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The receiver's last HTTP status, if it answered.
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl WebhookDelivery {
    fn new(row: DeliveryRow, kind: EventType) -> Self {
        Self {
            id: row.id.0,
            event_id: row.event_id,
            event_type: kind,
            webhook_id: webhook_id(&row),
            status: row.status,
            attempts: row.attempts,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            next_attempt_at: (row.status == DeliveryStatus::Pending).then(|| row.next_attempt_at.and_utc()),
            last_attempt_at: row.last_attempt_at.map(|t| t.and_utc()),
            delivered_at: row.delivered_at.map(|t| t.and_utc()),
            created_at: row.created_at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryPage {
    pub items: Vec<WebhookDelivery>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn sealer(state: &AppState) -> Sealer {
    Sealer::new(&state.settings.webhooks.secrets_key)
}

pub(crate) async fn create_in(
    state: web::Data<AppState>,
    scope: Scope,
    body: WebhookEndpointRequest,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let sealer = sealer(&state);
    let allow_private = state.settings.webhooks.allow_private;
    let settings = Settings::from(body);
    let created = state
        .db
        .write(move |conn| endpoints::create(conn, &sealer, scope, &settings, allow_private, now))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(WebhookEndpointWithSecret::from(created)))
}

pub(crate) async fn list_in(state: web::Data<AppState>, scope: Scope) -> Result<HttpResponse, ApiError> {
    let rows = state.db.run(move |conn| endpoints::list(conn, scope)).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointList {
        items: rows.into_iter().map(WebhookEndpoint::from).collect(),
    }))
}

pub(crate) async fn get_in(
    state: web::Data<AppState>,
    scope: Scope,
    id: EndpointId,
) -> Result<HttpResponse, ApiError> {
    let row = state.db.run(move |conn| endpoints::get(conn, scope, id)).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpoint::from(row)))
}

pub(crate) async fn update_in(
    state: web::Data<AppState>,
    scope: Scope,
    id: EndpointId,
    body: WebhookEndpointRequest,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let allow_private = state.settings.webhooks.allow_private;
    let settings = Settings::from(body);
    let row = state
        .db
        .write(move |conn| endpoints::update(conn, scope, id, &settings, allow_private, now))
        .await?;
    Ok(HttpResponse::Ok().json(WebhookEndpoint::from(row)))
}

pub(crate) async fn delete_in(
    state: web::Data<AppState>,
    scope: Scope,
    id: EndpointId,
) -> Result<HttpResponse, ApiError> {
    state
        .db
        .write(move |conn| endpoints::delete(conn, scope, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub(crate) async fn rotate_in(
    state: web::Data<AppState>,
    scope: Scope,
    id: EndpointId,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let sealer = sealer(&state);
    let created = state
        .db
        .write(move |conn| endpoints::rotate(conn, &sealer, scope, id, now))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(WebhookEndpointWithSecret::from(created)))
}

pub(crate) async fn deliveries_in(
    state: web::Data<AppState>,
    scope: Scope,
    id: EndpointId,
    query: DeliveryQuery,
) -> Result<HttpResponse, ApiError> {
    let limit = cursor::limit(query.limit)?;
    let before = query
        .cursor
        .as_deref()
        .map(|c| cursor::decode("deliveries", c))
        .transpose()?
        .map(|(_, id)| DeliveryId(id));
    let rows = state
        .db
        .run(move |conn| endpoints::deliveries(conn, scope, id, before, limit + 1))
        .await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<WebhookDelivery> = rows
        .into_iter()
        .take(limit as usize)
        .map(|(row, kind)| WebhookDelivery::new(row, kind))
        .collect();
    let next_cursor = more
        .then(|| items.last().map(|d| cursor::encode("deliveries", 0, d.id)))
        .flatten();
    Ok(HttpResponse::Ok().json(WebhookDeliveryPage { items, next_cursor }))
}

pub(crate) async fn redeliver_in(
    state: web::Data<AppState>,
    scope: Scope,
    id: EndpointId,
    delivery: DeliveryId,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let (row, kind) = state
        .db
        .write(move |conn| endpoints::redeliver(conn, scope, id, delivery, now))
        .await?;
    Ok(HttpResponse::Accepted().json(WebhookDelivery::new(row, kind)))
}

pub(crate) async fn ping_in(
    state: web::Data<AppState>,
    scope: Scope,
    id: EndpointId,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let (row, kind) = state
        .db
        .write(move |conn| endpoints::ping(conn, scope, id, now))
        .await?;
    Ok(HttpResponse::Accepted().json(WebhookDelivery::new(row, kind)))
}

/// Registers an endpoint for events of your campaigns; answers its signing secret, once.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    request_body = WebhookEndpointRequest,
    responses(
        (status = 201, body = WebhookEndpointWithSecret),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 409, description = "The account has the most endpoints it may have"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[post("/me/webhooks")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<WebhookEndpointRequest>,
) -> Result<HttpResponse, ApiError> {
    create_in(state, Scope::Own(user), body).await
}

/// Your endpoints, oldest first.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    responses(
        (status = 200, body = WebhookEndpointList),
        (status = 401, description = "Missing, invalid or expired access token"),
    )
)]
#[get("/me/webhooks")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list(state: web::Data<AppState>, AuthUser(user): AuthUser) -> Result<HttpResponse, ApiError> {
    list_in(state, Scope::Own(user)).await
}

/// One of your endpoints.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 200, body = WebhookEndpoint),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 404, description = "No such endpoint of yours"),
    )
)]
#[get("/me/webhooks/{id}")]
#[tracing::instrument(skip_all, fields(user.id = %user.id, endpoint.id = %id))]
pub async fn get(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<EndpointId>,
) -> Result<HttpResponse, ApiError> {
    get_in(state, Scope::Own(user), id.into_inner()).await
}

/// Changes an endpoint's URL, events, campaigns or whether it is enabled.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id")),
    request_body = WebhookEndpointRequest,
    responses(
        (status = 200, body = WebhookEndpoint),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 404, description = "No such endpoint of yours"),
        (status = 422, description = "A field is invalid; `errors` names it"),
    )
)]
#[patch("/me/webhooks/{id}")]
#[tracing::instrument(skip_all, fields(user.id = %user.id, endpoint.id = %id))]
pub async fn update(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<EndpointId>,
    Json(body): Json<WebhookEndpointRequest>,
) -> Result<HttpResponse, ApiError> {
    update_in(state, Scope::Own(user), id.into_inner(), body).await
}

/// Deletes an endpoint; its pending deliveries are dropped.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 404, description = "No such endpoint of yours"),
    )
)]
#[delete("/me/webhooks/{id}")]
#[tracing::instrument(skip_all, fields(user.id = %user.id, endpoint.id = %id))]
pub async fn remove(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<EndpointId>,
) -> Result<HttpResponse, ApiError> {
    delete_in(state, Scope::Own(user), id.into_inner()).await
}

/// A new signing secret, shown once; for 24 hours deliveries carry signatures from both.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 200, body = WebhookEndpointWithSecret),
        (status = 400, description = "A body was sent; this route takes none"),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 404, description = "No such endpoint of yours"),
    )
)]
#[post("/me/webhooks/{id}/rotate-secret")]
#[tracing::instrument(skip_all, fields(user.id = %user.id, endpoint.id = %id))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<EndpointId>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    rotate_in(state, Scope::Own(user), id.into_inner()).await
}

/// The endpoint's deliveries, newest first.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id"), DeliveryQuery),
    responses(
        (status = 200, body = WebhookDeliveryPage),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 404, description = "No such endpoint of yours"),
        (status = 422, description = "A query parameter is invalid"),
    )
)]
#[get("/me/webhooks/{id}/deliveries")]
#[tracing::instrument(skip_all, fields(user.id = %user.id, endpoint.id = %id))]
pub async fn deliveries(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<EndpointId>,
    Query(query): Query<DeliveryQuery>,
) -> Result<HttpResponse, ApiError> {
    deliveries_in(state, Scope::Own(user), id.into_inner(), query).await
}

/// Sends a delivery again now, from the start of the retry schedule, with the same `webhook-id`.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Endpoint id"),
        ("delivery_id" = i64, Path, description = "Delivery id"),
    ),
    responses(
        (status = 202, body = WebhookDelivery),
        (status = 400, description = "A body was sent; this route takes none"),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 404, description = "No such endpoint of yours, or no such delivery of it"),
        (status = 409, description = "The endpoint is disabled, or an attempt is in flight"),
    )
)]
#[post("/me/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
#[tracing::instrument(skip_all, fields(user.id = %user.id, endpoint.id = %path.0, delivery.id = %path.1))]
pub async fn redeliver(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    path: web::Path<(EndpointId, DeliveryId)>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery) = path.into_inner();
    redeliver_in(state, Scope::Own(user), id, delivery).await
}

/// Sends the endpoint a `webhook.ping` event.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Endpoint id")),
    responses(
        (status = 202, body = WebhookDelivery),
        (status = 400, description = "A body was sent; this route takes none"),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 404, description = "No such endpoint of yours"),
        (status = 409, description = "The endpoint is disabled"),
    )
)]
#[post("/me/webhooks/{id}/ping")]
#[tracing::instrument(skip_all, fields(user.id = %user.id, endpoint.id = %id))]
pub async fn ping(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<EndpointId>,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    ping_in(state, Scope::Own(user), id.into_inner()).await
}
