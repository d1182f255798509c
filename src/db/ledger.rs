use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::DbConn;
use super::schema::{ledger_entries, ledger_transactions};
use crate::domain::{CampaignId, Currency, PledgeId};

/// A ledger transaction to write; its entries follow once it has an id.
#[derive(Insertable)]
#[diesel(table_name = ledger_transactions)]
pub struct NewTransaction<'a> {
    pub kind: &'a str,
    pub campaign_id: CampaignId,
    pub pledge_id: Option<PledgeId>,
    pub currency: Currency,
    pub reference: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = ledger_entries)]
pub struct NewEntry<'a> {
    pub transaction_id: i64,
    pub account: &'a str,
    pub amount_minor: i64,
}

/// Inserts, in one statement, the transactions whose reference is not in the ledger yet;
/// returns `(id, reference)` of those it inserted.
pub fn insert_new_transactions(
    conn: &mut DbConn,
    rows: &[NewTransaction<'_>],
) -> QueryResult<Vec<(i64, String)>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    super::on_backend!(conn, |c| diesel::insert_into(ledger_transactions::table)
        .values(rows)
        .on_conflict(ledger_transactions::reference)
        .do_nothing()
        .returning((ledger_transactions::id, ledger_transactions::reference))
        .get_results(c))
}

/// Inserts entries in one statement.
pub fn insert_entries(conn: &mut DbConn, rows: &[NewEntry<'_>]) -> QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    super::on_backend!(conn, |c| diesel::insert_into(ledger_entries::table)
        .values(rows)
        .execute(c))
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

/// Balance of a campaign's escrow account.
pub fn escrow_balance(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<i64> {
    balance(conn, "escrow", campaign_id)
}

/// Balance of a campaign's creator account: the payout less what refunds took back since.
pub fn creator_balance(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<i64> {
    balance(conn, "creator_payable", campaign_id)
}

/// Balance of the account `{kind}:campaign:{id}` (only a constant and an integer are
/// interpolated).
fn balance(conn: &mut DbConn, kind: &'static str, campaign_id: CampaignId) -> QueryResult<i64> {
    diesel::sql_query(format!(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS total FROM ledger_entries \
         WHERE account = '{kind}:campaign:{campaign_id}'"
    ))
    .get_result::<Total>(conn)
    .map(|t| t.total)
}

/// What the ledger says was collected from backers for a campaign (charges minus refunds).
pub fn collected_in_ledger(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<i64> {
    diesel::sql_query(format!(
        "SELECT CAST(COALESCE(-SUM(e.amount_minor), 0) AS BIGINT) AS total FROM ledger_entries e \
         JOIN ledger_transactions t ON t.id = e.transaction_id \
         WHERE t.campaign_id = {campaign_id} AND e.account = 'backers'"
    ))
    .get_result::<Total>(conn)
    .map(|t| t.total)
}
