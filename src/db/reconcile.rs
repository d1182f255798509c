//! Our side of a reconciliation: the charge attempts, and what the ledger says was charged and
//! refunded. Plain SQL both backends run alike; nothing from the caller is interpolated.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::DbConn;
use super::schema::charge_attempts;
use crate::domain::{ChargeStatus, Currency, PledgeId};

/// A charge attempt as reconciliation compares it.
#[derive(Debug, Clone, Queryable)]
pub struct Attempt {
    pub pledge_id: PledgeId,
    pub idempotency_key: String,
    pub status: ChargeStatus,
    pub provider_charge_id: Option<String>,
    pub amount_minor: i64,
    pub currency: Currency,
    pub created_at: NaiveDateTime,
}

/// Every charge attempt, by idempotency key.
pub fn attempts(conn: &mut DbConn) -> QueryResult<HashMap<String, Attempt>> {
    let rows: Vec<Attempt> = charge_attempts::table
        .select((
            charge_attempts::pledge_id,
            charge_attempts::idempotency_key,
            charge_attempts::status,
            charge_attempts::provider_charge_id,
            charge_attempts::amount_minor,
            charge_attempts::currency,
            charge_attempts::created_at,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(|a| (a.idempotency_key.clone(), a)).collect())
}

#[derive(QueryableByName)]
struct Charged {
    #[diesel(sql_type = Text)]
    reference: String,
    #[diesel(sql_type = BigInt)]
    amount: i64,
}

/// What each charge posting took from the backers, by its reference (`charge:{key}`).
pub fn charged(conn: &mut DbConn) -> QueryResult<HashMap<String, i64>> {
    let rows: Vec<Charged> = diesel::sql_query(
        "SELECT t.reference AS reference, CAST(-SUM(e.amount_minor) AS BIGINT) AS amount \
         FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id \
         WHERE t.kind = 'charge' AND e.account = 'backers' GROUP BY t.reference",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.reference, r.amount)).collect())
}

#[derive(QueryableByName)]
struct Refunded {
    #[diesel(sql_type = Nullable<BigInt>)]
    pledge_id: Option<PledgeId>,
    #[diesel(sql_type = BigInt)]
    amount: i64,
}

/// What the ledger gave back to the backers of each pledge.
pub fn refunded(conn: &mut DbConn) -> QueryResult<HashMap<PledgeId, i64>> {
    let rows: Vec<Refunded> = diesel::sql_query(
        "SELECT t.pledge_id AS pledge_id, CAST(SUM(e.amount_minor) AS BIGINT) AS amount \
         FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id \
         WHERE t.kind = 'refund' AND e.account = 'backers' GROUP BY t.pledge_id",
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.pledge_id?, r.amount)))
        .collect())
}
