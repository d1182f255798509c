//! Queries of outbound webhooks: endpoints and the events written beside each change. Their
//! deliveries are in `webhook_deliveries`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{webhook_endpoints, webhook_events};
pub use super::webhook_deliveries::{
    DeliveryRow, Outcome, claim, deliveries_page, find_delivery, insert_delivery, record, restart,
};
use crate::domain::{CampaignId, EndpointId, EventType, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointRow {
    pub id: EndpointId,
    pub owner_id: UserId,
    pub platform: bool,
    pub url: String,
    pub events: String,
    pub campaign_ids: Option<String>,
    pub enabled: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub failing_since: Option<NaiveDateTime>,
    pub disabled_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct NewEndpoint<'a> {
    pub owner_id: UserId,
    pub platform: bool,
    pub url: &'a str,
    pub events: &'a str,
    pub campaign_ids: Option<&'a str>,
    pub enabled: bool,
    pub secret: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A change of an endpoint's settings; `None` leaves a column as it is.
#[derive(AsChangeset, Default)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub events: Option<String>,
    pub campaign_ids: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub failing_since: Option<Option<NaiveDateTime>>,
    pub disabled_reason: Option<Option<String>>,
    pub secret: Option<String>,
    pub previous_secret: Option<Option<String>>,
    pub previous_secret_until: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_events)]
pub struct EventRow {
    pub id: i64,
    pub event_type: EventType,
    pub campaign_id: Option<CampaignId>,
    pub creator_id: Option<UserId>,
    pub endpoint_id: Option<EndpointId>,
    pub payload: String,
    pub created_at: NaiveDateTime,
    pub fanned_out_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = webhook_events)]
pub struct NewEvent {
    pub event_type: EventType,
    pub campaign_id: Option<CampaignId>,
    pub creator_id: Option<UserId>,
    pub endpoint_id: Option<EndpointId>,
    pub payload: String,
    pub created_at: NaiveDateTime,
    pub fanned_out_at: Option<NaiveDateTime>,
}

pub fn insert_endpoint(conn: &mut DbConn, new: &NewEndpoint<'_>) -> QueryResult<EndpointRow> {
    diesel::insert_into(webhook_endpoints::table)
        .values(new)
        .returning(webhook_endpoints::all_columns)
        .get_result(conn)
}

pub fn find_endpoint(conn: &mut DbConn, id: EndpointId) -> QueryResult<Option<EndpointRow>> {
    webhook_endpoints::table
        .find(id)
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()
}

/// The owner's endpoints (`platform` false), or the platform-wide ones (`owner` ignored).
pub fn list_endpoints(conn: &mut DbConn, owner: UserId, platform: bool) -> QueryResult<Vec<EndpointRow>> {
    let query = webhook_endpoints::table
        .filter(webhook_endpoints::platform.eq(platform))
        .order(webhook_endpoints::id)
        .select(EndpointRow::as_select());
    if platform {
        query.load(conn)
    } else {
        query.filter(webhook_endpoints::owner_id.eq(owner)).load(conn)
    }
}

pub fn update_endpoint(
    conn: &mut DbConn,
    id: EndpointId,
    changes: &EndpointChanges,
) -> QueryResult<Option<EndpointRow>> {
    diesel::update(webhook_endpoints::table.find(id))
        .set(changes)
        .returning(webhook_endpoints::all_columns)
        .get_result(conn)
        .optional()
}

pub fn delete_endpoint(conn: &mut DbConn, id: EndpointId) -> QueryResult<usize> {
    diesel::delete(webhook_endpoints::table.find(id)).execute(conn)
}

/// Every endpoint the account registered, its own and (an admin's) platform-wide ones.
pub fn owned_by(conn: &mut DbConn, owner: UserId) -> QueryResult<Vec<EndpointRow>> {
    webhook_endpoints::table
        .filter(webhook_endpoints::owner_id.eq(owner))
        .order(webhook_endpoints::id)
        .select(EndpointRow::as_select())
        .load(conn)
}

/// An account's endpoints go with it (their deliveries cascade).
pub fn delete_for_owner(conn: &mut DbConn, owner: UserId) -> QueryResult<usize> {
    diesel::delete(webhook_endpoints::table.filter(webhook_endpoints::owner_id.eq(owner))).execute(conn)
}

pub fn enabled_endpoints(conn: &mut DbConn) -> QueryResult<Vec<EndpointRow>> {
    webhook_endpoints::table
        .filter(webhook_endpoints::enabled.eq(true))
        .order(webhook_endpoints::id)
        .select(EndpointRow::as_select())
        .load(conn)
}

pub fn endpoints_by_ids(conn: &mut DbConn, ids: &[EndpointId]) -> QueryResult<Vec<EndpointRow>> {
    webhook_endpoints::table
        .filter(webhook_endpoints::id.eq_any(ids))
        .select(EndpointRow::as_select())
        .load(conn)
}

/// Appends events in as few statements as their number allows.
pub fn insert_events(conn: &mut DbConn, events: &[NewEvent]) -> QueryResult<usize> {
    let mut inserted = 0;
    for chunk in events.chunks(500) {
        inserted += super::on_backend!(conn, |c| diesel::insert_into(webhook_events::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(inserted)
}

pub fn insert_event(conn: &mut DbConn, event: &NewEvent) -> QueryResult<i64> {
    diesel::insert_into(webhook_events::table)
        .values(event)
        .returning(webhook_events::id)
        .get_result(conn)
}

/// Events not fanned out yet, oldest first.
pub fn unfanned(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<EventRow>> {
    webhook_events::table
        .filter(webhook_events::fanned_out_at.is_null())
        .order(webhook_events::id)
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
}

pub fn mark_fanned_out(conn: &mut DbConn, ids: &[i64], now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(webhook_events::table.filter(webhook_events::id.eq_any(ids)))
        .set(webhook_events::fanned_out_at.eq(now))
        .execute(conn)
}

pub fn events_by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<EventRow>> {
    webhook_events::table
        .filter(webhook_events::id.eq_any(ids))
        .select(EventRow::as_select())
        .load(conn)
}
