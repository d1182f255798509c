use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::DbConn;
use super::schema::{ledger_entries, ledger_transactions};

pub fn reference_exists(conn: &mut DbConn, reference: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        ledger_transactions::table.filter(ledger_transactions::reference.eq(reference)),
    ))
    .get_result(conn)
}

#[allow(clippy::too_many_arguments)]
pub fn insert_transaction(
    conn: &mut DbConn,
    kind: &str,
    campaign_id: i64,
    pledge_id: Option<i64>,
    currency: &str,
    reference: &str,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(ledger_transactions::table)
        .values((
            ledger_transactions::kind.eq(kind),
            ledger_transactions::campaign_id.eq(campaign_id),
            ledger_transactions::pledge_id.eq(pledge_id),
            ledger_transactions::currency.eq(currency),
            ledger_transactions::reference.eq(reference),
            ledger_transactions::created_at.eq(now),
        ))
        .returning(ledger_transactions::id)
        .get_result(conn)
}

pub fn insert_entry(
    conn: &mut DbConn,
    transaction_id: i64,
    account: &str,
    amount_minor: i64,
) -> QueryResult<usize> {
    diesel::insert_into(ledger_entries::table)
        .values((
            ledger_entries::transaction_id.eq(transaction_id),
            ledger_entries::account.eq(account),
            ledger_entries::amount_minor.eq(amount_minor),
        ))
        .execute(conn)
}

#[derive(Debug, QueryableByName)]
pub struct Unbalanced {
    #[diesel(sql_type = BigInt)]
    pub transaction_id: i64,
    #[diesel(sql_type = BigInt)]
    pub total: i64,
}

/// Transactions whose entries do not sum to zero.
pub fn unbalanced(conn: &mut DbConn) -> QueryResult<Vec<Unbalanced>> {
    diesel::sql_query(
        "SELECT transaction_id, CAST(SUM(amount_minor) AS BIGINT) AS total FROM ledger_entries \
         GROUP BY transaction_id HAVING SUM(amount_minor) <> 0",
    )
    .load(conn)
}

#[derive(Debug, QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Balance of a campaign's escrow account (only an integer is interpolated).
pub fn escrow_balance(conn: &mut DbConn, campaign_id: i64) -> QueryResult<i64> {
    diesel::sql_query(format!(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS total FROM ledger_entries \
         WHERE account = 'escrow:campaign:{campaign_id}'"
    ))
    .get_result::<Total>(conn)
    .map(|t| t.total)
}

/// What the ledger says was collected from backers for a campaign (charges minus refunds).
pub fn collected_in_ledger(conn: &mut DbConn, campaign_id: i64) -> QueryResult<i64> {
    diesel::sql_query(format!(
        "SELECT CAST(COALESCE(-SUM(e.amount_minor), 0) AS BIGINT) AS total FROM ledger_entries e \
         JOIN ledger_transactions t ON t.id = e.transaction_id \
         WHERE t.campaign_id = {campaign_id} AND e.account = 'backers'"
    ))
    .get_result::<Total>(conn)
    .map(|t| t.total)
}
