//! Reading a pledge's event log (it is appended to in `pledges`, with each change).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
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
}

/// The events of these pledges, in order.
pub fn events_of(conn: &mut DbConn, ids: &[PledgeId]) -> QueryResult<Vec<PledgeEventRow>> {
    pledge_events::table
        .filter(pledge_events::pledge_id.eq_any(ids))
        .order(pledge_events::id)
        .select(PledgeEventRow::as_select())
        .load(conn)
}
