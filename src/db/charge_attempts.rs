//! Charge attempts: one row per attempt, written before the provider is called.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::DbConn;
use super::pledges::PledgeRow;
use super::schema::{charge_attempts, pledges};
use crate::domain::{ChargeStatus, Currency, PledgeId};

#[derive(Debug, Clone, Queryable)]
pub struct AttemptRow {
    pub id: i64,
    pub attempt: i32,
    pub idempotency_key: String,
    pub payment_method: String,
    pub amount_minor: i64,
    pub currency: Currency,
    /// While pending: the payment its backer is asked to confirm (a late pledge's), if any.
    pub provider_charge_id: Option<String>,
}

/// The columns of an [`AttemptRow`], in its order.
macro_rules! attempt_columns {
    () => {
        (
            charge_attempts::id,
            charge_attempts::attempt,
            charge_attempts::idempotency_key,
            charge_attempts::payment_method,
            charge_attempts::amount_minor,
            charge_attempts::currency,
            charge_attempts::provider_charge_id,
        )
    };
}

/// The pending attempts of these pledges, by pledge id (a pledge has at most one).
pub fn pending_attempts(
    conn: &mut DbConn,
    pledge_ids: &[PledgeId],
) -> QueryResult<HashMap<PledgeId, AttemptRow>> {
    let rows: Vec<(PledgeId, AttemptRow)> = charge_attempts::table
        .filter(charge_attempts::pledge_id.eq_any(pledge_ids))
        .filter(charge_attempts::status.eq(ChargeStatus::Pending))
        .select((charge_attempts::pledge_id, attempt_columns!()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// The next attempt to charge a pledge.
#[derive(Insertable)]
#[diesel(table_name = charge_attempts)]
pub struct NewAttempt<'a> {
    pub pledge_id: PledgeId,
    pub attempt: i32,
    pub idempotency_key: String,
    pub payment_method: &'a str,
    pub amount_minor: i64,
    pub currency: Currency,
    pub created_at: NaiveDateTime,
}

impl<'a> NewAttempt<'a> {
    /// Attempt `pledge.attempts + 1`, keyed `pledge-{id}-attempt-{n}`, for the pledge's amount
    /// and payment method as they are now.
    pub fn next(pledge: &'a PledgeRow, currency: Currency, now: NaiveDateTime) -> Self {
        let attempt = pledge.attempts + 1;
        Self {
            pledge_id: pledge.id,
            attempt,
            idempotency_key: format!("pledge-{}-attempt-{attempt}", pledge.id),
            payment_method: &pledge.payment_method,
            amount_minor: pledge.amount_minor,
            currency,
            created_at: now,
        }
    }
}

/// Writes attempts (one statement) and counts them on their pledges (another); returns them
/// by pledge id. The pledges must be leased, so that no one else counts their attempts.
pub fn insert_attempts(
    conn: &mut DbConn,
    rows: &[NewAttempt<'_>],
) -> QueryResult<HashMap<PledgeId, AttemptRow>> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<(PledgeId, i64)> =
        super::on_backend!(conn, |c| diesel::insert_into(charge_attempts::table)
            .values(rows)
            .returning((charge_attempts::pledge_id, charge_attempts::id))
            .get_results(c))?;
    let pledge_ids: Vec<PledgeId> = rows.iter().map(|r| r.pledge_id).collect();
    diesel::update(pledges::table.filter(pledges::id.eq_any(&pledge_ids)))
        .set(pledges::attempts.eq(pledges::attempts + 1))
        .execute(conn)?;
    let by_pledge: HashMap<PledgeId, &NewAttempt<'_>> = rows.iter().map(|r| (r.pledge_id, r)).collect();
    Ok(ids
        .into_iter()
        .map(|(pledge_id, id)| {
            let row = by_pledge[&pledge_id];
            let attempt = AttemptRow {
                id,
                attempt: row.attempt,
                idempotency_key: row.idempotency_key.clone(),
                payment_method: row.payment_method.to_owned(),
                amount_minor: row.amount_minor,
                currency: row.currency,
                provider_charge_id: None,
            };
            (pledge_id, attempt)
        })
        .collect())
}

/// Keeps, on a pending attempt, the payment its backer is asked to confirm: what a replay reads
/// instead of making the payment again.
pub fn await_confirmation(conn: &mut DbConn, id: i64, payment_id: &str) -> QueryResult<bool> {
    diesel::update(
        charge_attempts::table
            .find(id)
            .filter(charge_attempts::status.eq(ChargeStatus::Pending)),
    )
    .set(charge_attempts::provider_charge_id.eq(payment_id))
    .execute(conn)
    .map(|n| n == 1)
}

/// Records an attempt's outcome, once: returns false if it was already recorded.
pub fn finish_attempt(
    conn: &mut DbConn,
    id: i64,
    status: ChargeStatus,
    charge_id: Option<&str>,
    fee_minor: Option<i64>,
    failure_code: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        charge_attempts::table
            .find(id)
            .filter(charge_attempts::status.eq(ChargeStatus::Pending)),
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

#[derive(QueryableByName)]
struct Finished {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Records successes in one statement: `(attempt id, provider's charge id, fee)`. Returns the
/// ids of the attempts it finished; one already recorded is left alone, as [`finish_attempt`]
/// does.
pub fn finish_succeeded(
    conn: &mut DbConn,
    attempts: &[(i64, &str, i64)],
    now: NaiveDateTime,
) -> QueryResult<Vec<i64>> {
    if attempts.is_empty() {
        return Ok(Vec::new());
    }
    let cases = "WHEN ? THEN ? ".repeat(attempts.len());
    let ids = vec!["?"; attempts.len()].join(", ");
    let (succeeded, pending) = (ChargeStatus::Succeeded.as_str(), ChargeStatus::Pending.as_str());
    let sql = super::for_backend(
        conn,
        &format!(
            "UPDATE charge_attempts SET status = '{succeeded}', finished_at = ?, \
             provider_charge_id = CASE id {cases}END, fee_minor = CASE id {cases}END \
             WHERE status = '{pending}' AND id IN ({ids}) RETURNING id"
        ),
    );
    let finished: Vec<Finished> = super::on_backend!(conn, |c| {
        let mut query = diesel::sql_query(sql).into_boxed().bind::<Timestamp, _>(now);
        for (id, charge_id, _) in attempts {
            query = query.bind::<BigInt, _>(*id).bind::<Text, _>(*charge_id);
        }
        for (id, _, fee) in attempts {
            query = query.bind::<BigInt, _>(*id).bind::<BigInt, _>(*fee);
        }
        for (id, _, _) in attempts {
            query = query.bind::<BigInt, _>(*id);
        }
        query.load(c)
    })?;
    Ok(finished.into_iter().map(|f| f.id).collect())
}

/// The provider's charge id of a pledge's successful attempt.
pub fn succeeded_charge(conn: &mut DbConn, pledge_id: PledgeId) -> QueryResult<Option<String>> {
    charge_attempts::table
        .filter(charge_attempts::pledge_id.eq(pledge_id))
        .filter(charge_attempts::status.eq(ChargeStatus::Succeeded))
        .select(charge_attempts::provider_charge_id)
        .first::<Option<String>>(conn)
        .optional()
        .map(Option::flatten)
}

/// An attempt found from the provider's side: by its idempotency key or the provider's charge id.
#[derive(Debug, Clone)]
pub struct FoundAttempt {
    pub row: AttemptRow,
    pub pledge_id: PledgeId,
    pub status: ChargeStatus,
}

pub fn by_key(conn: &mut DbConn, key: &str) -> QueryResult<Option<FoundAttempt>> {
    charge_attempts::table
        .filter(charge_attempts::idempotency_key.eq(key))
        .select((
            attempt_columns!(),
            charge_attempts::pledge_id,
            charge_attempts::status,
        ))
        .get_result::<(AttemptRow, PledgeId, ChargeStatus)>(conn)
        .optional()
        .map(|o| {
            o.map(|(row, pledge_id, status)| FoundAttempt {
                row,
                pledge_id,
                status,
            })
        })
}

pub fn by_provider_charge(conn: &mut DbConn, charge_id: &str) -> QueryResult<Option<FoundAttempt>> {
    charge_attempts::table
        .filter(charge_attempts::provider_charge_id.eq(charge_id))
        .select((
            attempt_columns!(),
            charge_attempts::pledge_id,
            charge_attempts::status,
        ))
        .first::<(AttemptRow, PledgeId, ChargeStatus)>(conn)
        .optional()
        .map(|o| {
            o.map(|(row, pledge_id, status)| FoundAttempt {
                row,
                pledge_id,
                status,
            })
        })
}
