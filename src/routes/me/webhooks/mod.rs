//! `/api/v1/me/webhooks`: the caller's endpoints, told of the events of their campaigns. The
//! same operations serve admins' platform-wide endpoints (`routes::admin::webhooks`), through the
//! bodies in `scoped`.

mod scoped;
mod view;

use actix_web::{HttpResponse, delete, get, patch, post, web};

use crate::domain::{DeliveryId, EndpointId};
use crate::http::{ApiError, AppState, AuthUser, Json, NoBody, Query};
use crate::webhooks::endpoints::Scope;
pub(crate) use scoped::{
    create_in, delete_in, deliveries_in, get_in, list_in, ping_in, redeliver_in, rotate_in, update_in,
};
pub use view::{
    DeliveryQuery, WebhookDelivery, WebhookDeliveryPage, WebhookEndpoint, WebhookEndpointList,
    WebhookEndpointRequest, WebhookEndpointWithSecret,
};

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
