//! The body of each webhook operation for a scope: the caller's own endpoints, or the platform's
//! (`routes::admin::webhooks`).

use actix_web::{HttpResponse, web};

use super::view::{
    DeliveryQuery, WebhookDelivery, WebhookDeliveryPage, WebhookEndpoint, WebhookEndpointList,
    WebhookEndpointRequest, WebhookEndpointWithSecret,
};
use crate::domain::{DeliveryId, EndpointId};
use crate::http::{ApiError, AppState, cursor};
use crate::webhooks::endpoints::{self, Scope, Settings};
use crate::webhooks::secrets::Sealer;

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
