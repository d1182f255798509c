//! Queries of webhook deliveries: one per event and endpoint, made by the worker's fan-out and
//! claimed with a lease, as the email outbox's rows are.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};

use super::DbConn;
use super::schema::{webhook_deliveries, webhook_endpoints, webhook_events};
use crate::domain::{DeliveryId, DeliveryStatus, EndpointId, EventType};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: DeliveryId,
    pub event_id: i64,
    pub endpoint_id: EndpointId,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_until: Option<NaiveDateTime>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

/// One delivery of an event to an endpoint, due at once; nothing if it exists (another
/// worker fanned the event out too). Returns its id when this call made it.
pub fn insert_delivery(
    conn: &mut DbConn,
    event_id: i64,
    endpoint_id: EndpointId,
    now: NaiveDateTime,
) -> QueryResult<Option<DeliveryId>> {
    #[derive(QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let sql = super::for_backend(
        conn,
        "INSERT INTO webhook_deliveries (event_id, endpoint_id, status, attempts, next_attempt_at, created_at) \
         VALUES (?, ?, 'pending', 0, ?, ?) \
         ON CONFLICT (event_id, endpoint_id) DO NOTHING RETURNING id",
    );
    let rows: Vec<Inserted> = diesel::sql_query(sql)
        .bind::<BigInt, _>(event_id)
        .bind::<BigInt, _>(endpoint_id)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now)
        .load(conn)?;
    Ok(rows.first().map(|r| DeliveryId(r.id)))
}

/// Leases due deliveries of enabled endpoints, the oldest events first, at most `per_endpoint`
/// in flight for any endpoint (those leased already count), counting an attempt on each. On
/// PostgreSQL the endpoints' rows are locked first, so two workers claiming at once cannot both
/// fill the same endpoint's allowance; SQLite runs one writer at a time anyway.
/// `sending` are the deliveries this worker is sending now, left alone whatever their lease says
/// (a clock that jumps ahead, as tests move theirs, must not make a worker send one twice).
pub fn claim(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    per_endpoint: i64,
    limit: i64,
    sending: &[DeliveryId],
) -> QueryResult<Vec<DeliveryRow>> {
    // Pending, due, and not leased: asked of the candidates, then again as they are leased.
    let due = || {
        webhook_deliveries::status
            .eq(DeliveryStatus::Pending)
            .and(webhook_deliveries::next_attempt_at.le(now))
            .and(
                webhook_deliveries::lease_until
                    .is_null()
                    .or(webhook_deliveries::lease_until.lt(now)),
            )
    };
    let candidates: Vec<(DeliveryId, EndpointId)> = webhook_deliveries::table
        .inner_join(webhook_endpoints::table)
        .filter(webhook_endpoints::enabled.eq(true))
        .filter(due())
        .filter(webhook_deliveries::id.ne_all(sending))
        .order((webhook_deliveries::event_id, webhook_deliveries::id))
        .limit(limit)
        .select((webhook_deliveries::id, webhook_deliveries::endpoint_id))
        .load(conn)?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let mut endpoints: Vec<EndpointId> = candidates.iter().map(|(_, e)| *e).collect();
    endpoints.sort();
    endpoints.dedup();
    if let DbConn::Pg(c) = conn {
        webhook_endpoints::table
            .filter(webhook_endpoints::id.eq_any(&endpoints))
            .order(webhook_endpoints::id)
            .select(webhook_endpoints::id)
            .for_update()
            .load::<EndpointId>(c)?;
    }
    let in_flight: HashMap<EndpointId, i64> = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq_any(&endpoints))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
        .filter(webhook_deliveries::lease_until.ge(now))
        .group_by(webhook_deliveries::endpoint_id)
        .select((webhook_deliveries::endpoint_id, diesel::dsl::count_star()))
        .load::<(EndpointId, i64)>(conn)?
        .into_iter()
        .collect();
    let mut room: HashMap<EndpointId, i64> = endpoints
        .iter()
        .map(|e| (*e, per_endpoint - in_flight.get(e).copied().unwrap_or(0)))
        .collect();
    let picked: Vec<DeliveryId> = candidates
        .into_iter()
        .filter(|(_, endpoint)| match room.get_mut(endpoint) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        })
        .map(|(id, _)| id)
        .collect();
    if picked.is_empty() {
        return Ok(Vec::new());
    }
    // The conditions again: a worker that claimed a delivery first makes this one skip it.
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq_any(&picked))
            .filter(due()),
    )
    .set((
        webhook_deliveries::lease_until.eq(lease_until),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        webhook_deliveries::last_attempt_at.eq(now),
    ))
    .returning(webhook_deliveries::all_columns)
    .get_results(conn)
    .map(|mut rows: Vec<DeliveryRow>| {
        rows.sort_by_key(|r| (r.event_id, r.id));
        rows
    })
}

/// How an attempt ended.
pub struct Outcome {
    pub status_code: Option<i32>,
    pub error: Option<String>,
    /// `Succeeded`, `Failed` (given up) or `Pending` (retried at `retry_at`).
    pub status: DeliveryStatus,
    pub retry_at: Option<NaiveDateTime>,
}

/// Records the attempt the worker made, if the delivery is still the one it claimed (same
/// attempt, still pending): a worker whose lease ran out does not overwrite a newer attempt.
pub fn record(
    conn: &mut DbConn,
    delivery: &DeliveryRow,
    outcome: &Outcome,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let target = webhook_deliveries::table
        .find(delivery.id)
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending))
        .filter(webhook_deliveries::attempts.eq(delivery.attempts));
    let delivered_at = (outcome.status == DeliveryStatus::Succeeded).then_some(now);
    diesel::update(target)
        .set((
            webhook_deliveries::status.eq(outcome.status),
            webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::last_status_code.eq(outcome.status_code),
            webhook_deliveries::last_error.eq(outcome.error.as_deref()),
            webhook_deliveries::next_attempt_at.eq(outcome.retry_at.unwrap_or(delivery.next_attempt_at)),
            webhook_deliveries::delivered_at.eq(delivered_at),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// A delivery of the endpoint with its event's type.
pub fn find_delivery(
    conn: &mut DbConn,
    endpoint: EndpointId,
    id: DeliveryId,
) -> QueryResult<Option<(DeliveryRow, EventType)>> {
    webhook_deliveries::table
        .inner_join(webhook_events::table)
        .filter(webhook_deliveries::id.eq(id))
        .filter(webhook_deliveries::endpoint_id.eq(endpoint))
        .select((DeliveryRow::as_select(), webhook_events::event_type))
        .first(conn)
        .optional()
}

/// The endpoint's deliveries, newest first, after the cursor's id.
pub fn deliveries_page(
    conn: &mut DbConn,
    endpoint: EndpointId,
    before: Option<DeliveryId>,
    limit: i64,
) -> QueryResult<Vec<(DeliveryRow, EventType)>> {
    let mut query = webhook_deliveries::table
        .inner_join(webhook_events::table)
        .filter(webhook_deliveries::endpoint_id.eq(endpoint))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select((DeliveryRow::as_select(), webhook_events::event_type))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    query.load(conn)
}

/// Sends a delivery again from the start of the schedule. `None` while an attempt is in flight.
pub fn restart(conn: &mut DbConn, id: DeliveryId, now: NaiveDateTime) -> QueryResult<Option<DeliveryRow>> {
    diesel::update(
        webhook_deliveries::table.find(id).filter(
            webhook_deliveries::lease_until
                .is_null()
                .or(webhook_deliveries::lease_until.lt(now)),
        ),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Pending),
        webhook_deliveries::attempts.eq(0),
        webhook_deliveries::next_attempt_at.eq(now),
        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
    ))
    .returning(webhook_deliveries::all_columns)
    .get_result(conn)
    .optional()
}
