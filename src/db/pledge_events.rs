//! A pledge's event log: appended to with each change (in the caller's transaction), and read.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::prepared::PreparedDsl;
use super::schema::pledge_events;
use crate::domain::{PledgeId, PledgeStatus, TierId, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pledge_events)]
pub struct PledgeEventRow {
    pub id: i64,
    pub pledge_id: PledgeId,
    pub actor_id: Option<UserId>,
    pub from_status: Option<PledgeStatus>,
    pub to_status: PledgeStatus,
    pub reason: String,
    pub amount_minor: i64,
    pub tier_id: Option<TierId>,
    pub created_at: NaiveDateTime,
    /// The add-on list a creation or a backer's change set (JSON), else null.
    pub addons: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = pledge_events)]
pub struct NewPledgeEvent<'a> {
    pub pledge_id: PledgeId,
    pub actor_id: Option<UserId>,
    pub from_status: Option<PledgeStatus>,
    pub to_status: PledgeStatus,
    pub reason: &'a str,
    pub amount_minor: i64,
    pub tier_id: Option<TierId>,
    pub created_at: NaiveDateTime,
    /// The add-ons the change set, for the events that set them (creation, a backer's change).
    pub addons: Option<&'a str>,
}

/// Appends to the pledge's log; returns the event's id.
pub fn append_event(conn: &mut DbConn, event: &NewPledgeEvent<'_>) -> QueryResult<i64> {
    diesel::insert_into(pledge_events::table)
        .values(event)
        .returning(pledge_events::id)
        .prepared()
        .get_result(conn)
}

/// Appends many events, in one statement per thousand (both databases bound the parameters
/// of a statement).
pub fn append_events(conn: &mut DbConn, events: &[NewPledgeEvent<'_>]) -> QueryResult<usize> {
    let mut appended = 0;
    for chunk in events.chunks(1_000) {
        appended += super::on_backend!(conn, |c| diesel::insert_into(pledge_events::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(appended)
}

/// The events of these pledges, in order.
pub fn events_of(conn: &mut DbConn, ids: &[PledgeId]) -> QueryResult<Vec<PledgeEventRow>> {
    pledge_events::table
        .filter(pledge_events::pledge_id.eq_any(ids))
        .order(pledge_events::id)
        .select(PledgeEventRow::as_select())
        .load(conn)
}
