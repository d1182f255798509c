//! Queries of the settlement pass. Work is claimed with a lease (`pledges.lease_until`) set by
//! one conditional UPDATE, so concurrent runs — on several instances sharing one database —
//! never work on the same pledge at once; a run that dies leaves leases that simply expire.
//! Also the figures of a closed campaign, for its settlement view and the audit.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::DbConn;
use super::campaigns::CampaignRow;
use super::pledges::PledgeRow;
use super::schema::{campaigns, ledger_transactions, pledges};
use crate::domain::pledge::sql_list;
use crate::domain::{CampaignId, CampaignStatus, ChargeStatus, PledgeId, PledgeStatus};

/// Live campaigns whose deadline has passed, oldest deadline first.
pub fn past_deadline(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<CampaignRow>> {
    campaigns::table
        .filter(campaigns::status.eq(CampaignStatus::Live))
        .filter(campaigns::deadline.le(now))
        .order((campaigns::deadline, campaigns::id))
        .limit(limit)
        .select(CampaignRow::as_select())
        .load(conn)
}

/// Live campaigns ending by `until` whose creator has not had the "48 hours left" email, and
/// that ran for more than two days.
pub fn ending_soon(
    conn: &mut DbConn,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<CampaignRow>> {
    campaigns::table
        .filter(campaigns::status.eq(CampaignStatus::Live))
        .filter(campaigns::deadline.gt(now))
        .filter(campaigns::deadline.le(until))
        .filter(campaigns::duration_days.gt(2))
        .filter(campaigns::ending_notice_at.is_null())
        .order((campaigns::deadline, campaigns::id))
        .limit(limit)
        .select(CampaignRow::as_select())
        .load(conn)
}

/// Claims the "48 hours left" email of a campaign; false if it was already claimed.
pub fn mark_ending_noticed(conn: &mut DbConn, id: CampaignId, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        campaigns::table
            .find(id)
            .filter(campaigns::ending_notice_at.is_null()),
    )
    .set(campaigns::ending_notice_at.eq(now))
    .execute(conn)
    .map(|n| n > 0)
}

/// Freezes the outcome figures of a campaign that has just closed.
pub fn freeze(conn: &mut DbConn, id: CampaignId, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(campaigns::table.find(id).filter(campaigns::closed_at.is_null()))
        .set((
            campaigns::final_pledged_minor.eq(campaigns::pledged_minor.nullable()),
            campaigns::final_backer_count.eq(campaigns::backer_count.nullable()),
            // The listings' ranked copies, exact from now on (see `campaigns::RANK_STEP`).
            campaigns::ranked_pledged_minor.eq(campaigns::pledged_minor),
            campaigns::ranked_backer_count.eq(campaigns::backer_count),
            campaigns::closed_at.eq(now),
        ))
        .execute(conn)
}

pub fn mark_completed(conn: &mut DbConn, id: CampaignId, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(campaigns::table.find(id))
        .set(campaigns::completed_at.eq(now))
        .execute(conn)
}

/// Leases up to `limit` pledges with ids above `after` that need a charge now: active pledges
/// of funded campaigns and late ones whose request's lease has expired, and errored ones whose
/// retry is due, lowest ids first. Returns the
/// leased pledges. The lookup walks the primary key from `after`: from 0 it passes every
/// pledge already charged, which a pass does once instead of at every batch.
pub fn lease_chargeable(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    after: PledgeId,
    limit: i64,
) -> QueryResult<Vec<PledgeRow>> {
    let funded = campaigns::table
        .filter(campaigns::status.eq(CampaignStatus::Funded))
        .select(campaigns::id);
    let candidates = pledges::table
        .filter(pledges::id.gt(after))
        // A late pledge whose request left its charge unknown has its attempt replayed.
        .filter(pledges::campaign_id.eq_any(funded).or(pledges::late.eq(true)))
        .filter(
            pledges::status.eq(PledgeStatus::Active).or(pledges::status
                .eq(PledgeStatus::Errored)
                .and(pledges::next_attempt_at.le(now))),
        )
        .filter(pledges::lease_until.is_null().or(pledges::lease_until.lt(now)))
        .order(pledges::id)
        .limit(limit)
        .select(pledges::id)
        .load::<PledgeId>(conn)?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    // The same conditions again on the UPDATE: a concurrent run that leased a row first makes
    // this one skip it (PostgreSQL re-checks them after waiting for the row lock).
    diesel::update(
        pledges::table
            .filter(pledges::id.eq_any(&candidates))
            .filter(
                pledges::status
                    .eq(PledgeStatus::Active)
                    .or(pledges::status.eq(PledgeStatus::Errored)),
            )
            .filter(pledges::lease_until.is_null().or(pledges::lease_until.lt(now))),
    )
    .set(pledges::lease_until.eq(lease_until))
    .returning(pledges::all_columns)
    .get_results(conn)
}

/// Holds a pledge's lease until `until` (a late pledge waiting for its backer to confirm).
pub fn hold_lease(conn: &mut DbConn, pledge_id: PledgeId, until: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(pledges::table.find(pledge_id))
        .set(pledges::lease_until.eq(until))
        .execute(conn)
}

pub fn release_lease(conn: &mut DbConn, pledge_id: PledgeId) -> QueryResult<usize> {
    diesel::update(pledges::table.find(pledge_id))
        .set(pledges::lease_until.eq(None::<NaiveDateTime>))
        .execute(conn)
}

/// Errored pledges whose first failure is older than `errored_before`, not leased.
pub fn droppable(
    conn: &mut DbConn,
    now: NaiveDateTime,
    errored_before: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<PledgeRow>> {
    pledges::table
        .filter(pledges::status.eq(PledgeStatus::Errored))
        .filter(pledges::errored_at.le(errored_before))
        .filter(pledges::lease_until.is_null().or(pledges::lease_until.lt(now)))
        .order(pledges::id)
        .limit(limit)
        .select(PledgeRow::as_select())
        .load(conn)
}

/// Funded campaigns with no pledge left in flight (active or errored).
pub fn completable(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<CampaignRow>> {
    let in_flight = pledges::table
        .filter(
            pledges::status
                .eq(PledgeStatus::Active)
                .or(pledges::status.eq(PledgeStatus::Errored)),
        )
        .select(pledges::campaign_id);
    campaigns::table
        .filter(campaigns::status.eq(CampaignStatus::Funded))
        .filter(campaigns::id.ne_all(in_flight))
        .order(campaigns::id)
        .limit(limit)
        .select(CampaignRow::as_select())
        .load(conn)
}

#[derive(Debug, QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Sum of collected pledges' amounts (only an integer and a status name are interpolated).
pub fn collected_pledges_total(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<i64> {
    let collected = sql_list([PledgeStatus::Collected]);
    diesel::sql_query(format!(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS total FROM pledges \
         WHERE campaign_id = {campaign_id} AND status = {collected}"
    ))
    .get_result::<Total>(conn)
    .map(|t| t.total)
}

/// Processing fees of a campaign's successful charges, of its late pledges or of the others.
pub fn fees_total(conn: &mut DbConn, campaign_id: CampaignId, late: bool) -> QueryResult<i64> {
    let succeeded = ChargeStatus::Succeeded.as_str();
    let late = if late { "p.late" } else { "NOT p.late" };
    diesel::sql_query(format!(
        "SELECT CAST(COALESCE(SUM(a.fee_minor), 0) AS BIGINT) AS total FROM charge_attempts a \
         JOIN pledges p ON p.id = a.pledge_id WHERE p.campaign_id = {campaign_id} AND a.status = '{succeeded}' \
         AND {late}"
    ))
    .get_result::<Total>(conn)
    .map(|t| t.total)
}

pub struct MoneyCampaign {
    pub id: CampaignId,
    pub completed: bool,
}

/// Campaigns the ledger may have touched (closed ones).
pub fn campaigns_with_money(conn: &mut DbConn) -> QueryResult<Vec<MoneyCampaign>> {
    let rows: Vec<(CampaignId, CampaignStatus)> = campaigns::table
        .filter(campaigns::closed_at.is_not_null())
        .select((campaigns::id, campaigns::status))
        .order(campaigns::id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, status)| MoneyCampaign {
            id,
            completed: status == CampaignStatus::Successful,
        })
        .collect())
}

pub fn ledger_transaction_count(conn: &mut DbConn) -> QueryResult<i64> {
    ledger_transactions::table.count().get_result(conn)
}

/// Counts for a dry run.
pub fn count_chargeable(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<(i64, i64)> {
    let funded = campaigns::table
        .filter(campaigns::status.eq(CampaignStatus::Funded))
        .select(campaigns::id);
    let active: i64 = pledges::table
        .filter(pledges::campaign_id.eq_any(funded))
        .filter(pledges::status.eq(PledgeStatus::Active))
        .count()
        .get_result(conn)?;
    let retries: i64 = pledges::table
        .filter(pledges::status.eq(PledgeStatus::Errored))
        .filter(pledges::next_attempt_at.le(now))
        .count()
        .get_result(conn)?;
    Ok((active, retries))
}

pub fn count_droppable(conn: &mut DbConn, errored_before: NaiveDateTime) -> QueryResult<i64> {
    pledges::table
        .filter(pledges::status.eq(PledgeStatus::Errored))
        .filter(pledges::errored_at.le(errored_before))
        .count()
        .get_result(conn)
}

/// A campaign's pledges in one status: how many, and their total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusTotal {
    pub status: PledgeStatus,
    pub pledges: i64,
    pub amount_minor: i64,
}

/// Pledges of a campaign by status: its late pledges, or the others.
pub fn totals_by_status(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    late: bool,
) -> QueryResult<Vec<StatusTotal>> {
    let rows: Vec<(PledgeStatus, i64, Option<i64>)> = pledges::table
        .filter(pledges::campaign_id.eq(campaign_id))
        .filter(pledges::late.eq(late))
        .group_by(pledges::status)
        .select((
            pledges::status,
            diesel::dsl::count_star(),
            diesel::dsl::sql::<diesel::sql_types::Nullable<BigInt>>("CAST(SUM(amount_minor) AS BIGINT)"),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(status, pledges, amount)| StatusTotal {
            status,
            pledges,
            amount_minor: amount.unwrap_or_default(),
        })
        .collect())
}

/// Sum of a campaign's ledger entries on one account kind: the campaign's own platform fee and
/// payout (posted at its completion, for no pledge), or its late pledges' (posted per pledge).
/// Only integers and fixed names are interpolated.
pub fn ledger_kind_total(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    kind: LedgerKind,
    late: bool,
) -> QueryResult<i64> {
    let per_pledge = if late { "IS NOT NULL" } else { "IS NULL" };
    let (tx_kind, account) = match kind {
        LedgerKind::PlatformFee => ("platform_fee", "platform_revenue".to_owned()),
        LedgerKind::Payout => ("payout", format!("creator_payable:campaign:{campaign_id}")),
    };
    diesel::sql_query(format!(
        "SELECT CAST(COALESCE(SUM(e.amount_minor), 0) AS BIGINT) AS total FROM ledger_entries e \
         JOIN ledger_transactions t ON t.id = e.transaction_id \
         WHERE t.campaign_id = {campaign_id} AND t.kind = '{tx_kind}' AND e.account = '{account}' \
         AND t.pledge_id {per_pledge}"
    ))
    .get_result::<Total>(conn)
    .map(|t| t.total)
}

#[derive(Debug, Clone, Copy)]
pub enum LedgerKind {
    PlatformFee,
    Payout,
}
