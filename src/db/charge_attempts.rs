//! Charge attempts: one row per attempt, written before the provider is called.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::pledges::PledgeRow;
use super::schema::{charge_attempts, pledges};

#[derive(Debug, Clone, Queryable)]
pub struct AttemptRow {
    pub id: i64,
    pub attempt: i32,
    pub idempotency_key: String,
    pub payment_method: String,
    pub amount_minor: i64,
    pub currency: String,
}

pub fn pending_attempt(conn: &mut DbConn, pledge_id: i64) -> QueryResult<Option<AttemptRow>> {
    charge_attempts::table
        .filter(charge_attempts::pledge_id.eq(pledge_id))
        .filter(charge_attempts::status.eq("pending"))
        .select((
            charge_attempts::id,
            charge_attempts::attempt,
            charge_attempts::idempotency_key,
            charge_attempts::payment_method,
            charge_attempts::amount_minor,
            charge_attempts::currency,
        ))
        .first(conn)
        .optional()
}

pub fn insert_attempt(
    conn: &mut DbConn,
    pledge: &PledgeRow,
    attempt: i32,
    key: &str,
    currency: &str,
    now: NaiveDateTime,
) -> QueryResult<AttemptRow> {
    let id: i64 = diesel::insert_into(charge_attempts::table)
        .values((
            charge_attempts::pledge_id.eq(pledge.id),
            charge_attempts::attempt.eq(attempt),
            charge_attempts::idempotency_key.eq(key),
            charge_attempts::payment_method.eq(&pledge.payment_method),
            charge_attempts::amount_minor.eq(pledge.amount_minor),
            charge_attempts::currency.eq(currency),
            charge_attempts::created_at.eq(now),
        ))
        .returning(charge_attempts::id)
        .get_result(conn)?;
    diesel::update(pledges::table.find(pledge.id))
        .set(pledges::attempts.eq(attempt))
        .execute(conn)?;
    Ok(AttemptRow {
        id,
        attempt,
        idempotency_key: key.to_owned(),
        payment_method: pledge.payment_method.clone(),
        amount_minor: pledge.amount_minor,
        currency: currency.to_owned(),
    })
}

/// Records an attempt's outcome, once: returns false if it was already recorded.
pub fn finish_attempt(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    charge_id: Option<&str>,
    fee_minor: Option<i64>,
    failure_code: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        charge_attempts::table
            .find(id)
            .filter(charge_attempts::status.eq("pending")),
    )
    .set((
        charge_attempts::status.eq(status),
        charge_attempts::provider_charge_id.eq(charge_id),
        charge_attempts::fee_minor.eq(fee_minor),
        charge_attempts::failure_code.eq(failure_code),
        charge_attempts::finished_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The provider's charge id of a pledge's successful attempt.
pub fn succeeded_charge(conn: &mut DbConn, pledge_id: i64) -> QueryResult<Option<String>> {
    charge_attempts::table
        .filter(charge_attempts::pledge_id.eq(pledge_id))
        .filter(charge_attempts::status.eq("succeeded"))
        .select(charge_attempts::provider_charge_id)
        .first::<Option<String>>(conn)
        .optional()
        .map(Option::flatten)
}

/// An attempt found from the provider's side: by its idempotency key or the provider's charge id.
#[derive(Debug, Clone)]
pub struct FoundAttempt {
    pub row: AttemptRow,
    pub pledge_id: i64,
    pub status: String,
}

type FoundColumns = (i64, i32, String, String, i64, String, i64, String);

fn found(columns: FoundColumns) -> FoundAttempt {
    let (id, attempt, idempotency_key, payment_method, amount_minor, currency, pledge_id, status) = columns;
    FoundAttempt {
        row: AttemptRow {
            id,
            attempt,
            idempotency_key,
            payment_method,
            amount_minor,
            currency,
        },
        pledge_id,
        status,
    }
}

macro_rules! found_columns {
    () => {
        (
            charge_attempts::id,
            charge_attempts::attempt,
            charge_attempts::idempotency_key,
            charge_attempts::payment_method,
            charge_attempts::amount_minor,
            charge_attempts::currency,
            charge_attempts::pledge_id,
            charge_attempts::status,
        )
    };
}

pub fn by_key(conn: &mut DbConn, key: &str) -> QueryResult<Option<FoundAttempt>> {
    charge_attempts::table
        .filter(charge_attempts::idempotency_key.eq(key))
        .select(found_columns!())
        .first::<FoundColumns>(conn)
        .optional()
        .map(|o| o.map(found))
}

pub fn by_provider_charge(conn: &mut DbConn, charge_id: &str) -> QueryResult<Option<FoundAttempt>> {
    charge_attempts::table
        .filter(charge_attempts::provider_charge_id.eq(charge_id))
        .select(found_columns!())
        .first::<FoundColumns>(conn)
        .optional()
        .map(|o| o.map(found))
}
