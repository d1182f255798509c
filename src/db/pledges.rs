use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::DbConn;
pub use super::pledge_events::{NewPledgeEvent, append_event, append_events};
use super::prepared::PreparedDsl;
use super::schema::pledges;
use crate::domain::pledge::sql_list;
use crate::domain::{CampaignId, FulfilmentStatus, PledgeId, PledgeStatus, TierId, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pledges)]
pub struct PledgeRow {
    pub id: PledgeId,
    pub campaign_id: CampaignId,
    pub backer_id: UserId,
    pub tier_id: Option<TierId>,
    pub amount_minor: i64,
    pub shipping_country: Option<String>,
    pub shipping_fee_minor: i64,
    pub status: PledgeStatus,
    pub payment_method: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub canceled_at: Option<NaiveDateTime>,
    pub released_at: Option<NaiveDateTime>,
    pub collected_at: Option<NaiveDateTime>,
    pub errored_at: Option<NaiveDateTime>,
    pub dropped_at: Option<NaiveDateTime>,
    pub refunded_at: Option<NaiveDateTime>,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub lease_until: Option<NaiveDateTime>,
    pub failure_code: Option<String>,
    pub fulfilment_status: FulfilmentStatus,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub shipped_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    /// The ref it came with: a referral tag's code, or `direct | search | embed | other`.
    pub referral: Option<String>,
    /// What it holds of add-ons: a `domain::addon::Holding` as JSON.
    pub addons: String,
    /// Made after the campaign's success, and charged at once.
    pub late: bool,
}

#[derive(Insertable)]
#[diesel(table_name = pledges)]
pub struct NewPledge<'a> {
    pub campaign_id: CampaignId,
    pub backer_id: UserId,
    pub tier_id: Option<TierId>,
    pub amount_minor: i64,
    pub shipping_country: Option<&'a str>,
    pub shipping_fee_minor: i64,
    pub payment_method: &'a str,
    pub referral: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub addons: &'a str,
    pub late: bool,
    /// A late pledge is inserted leased: its request charges it.
    pub lease_until: Option<NaiveDateTime>,
}

/// An active pledge's new terms.
#[derive(AsChangeset)]
#[diesel(table_name = pledges, treat_none_as_null = true)]
pub struct TermsChange<'a> {
    pub tier_id: Option<TierId>,
    pub amount_minor: i64,
    pub shipping_country: Option<&'a str>,
    pub shipping_fee_minor: i64,
    pub addons: &'a str,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: &NewPledge<'_>) -> QueryResult<PledgeRow> {
    diesel::insert_into(pledges::table)
        .values(new)
        .returning(pledges::all_columns)
        .prepared()
        .get_result(conn)
}

pub fn find(conn: &mut DbConn, id: PledgeId) -> QueryResult<Option<PledgeRow>> {
    pledges::table
        .find(id)
        .select(PledgeRow::as_select())
        .get_result(conn)
        .optional()
}

/// The condition "the backer's active pledge on the campaign", which `pledges_one_active_idx`
/// answers with one entry however many pledges the campaign has.
///
/// `'active'` is written into the SQL, not bound: a partial index serves only a query whose
/// text implies the index's `WHERE status = 'active'`. With the status bound, PostgreSQL's
/// generic plan for the kept prepared statement (used after five executions) could not prove
/// that, and read every active pledge of the campaign to find the backer's, a cost that grew
/// with each backer (tests/api/costs.rs checks the plan on both backends).
pub fn active_of(campaign_id: CampaignId, backer_id: UserId) -> ActiveOf {
    pledges::campaign_id
        .eq(campaign_id)
        .and(pledges::backer_id.eq(backer_id))
        .and(pledges::status.eq(dsl::sql::<Text>(&sql_list([PledgeStatus::Active]))))
}

pub type ActiveOf = dsl::And<
    dsl::And<dsl::Eq<pledges::campaign_id, CampaignId>, dsl::Eq<pledges::backer_id, UserId>>,
    dsl::Eq<pledges::status, SqlLiteral<Text>>,
>;

pub fn active_for(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    backer_id: UserId,
) -> QueryResult<Option<PledgeRow>> {
    // diesel keeps no statement holding a literal; this one's text never varies, so keep it.
    pledges::table
        .filter(active_of(campaign_id, backer_id))
        .select(PledgeRow::as_select())
        .prepared()
        .get_result(conn)
        .optional()
}

/// The user's pledge that counts as backing ([`PledgeStatus::backing`]), if any.
pub fn backing(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    backer_id: UserId,
) -> QueryResult<Option<PledgeId>> {
    let backing: Vec<PledgeStatus> = PledgeStatus::backing().collect();
    pledges::table
        .filter(pledges::campaign_id.eq(campaign_id))
        .filter(pledges::backer_id.eq(backer_id))
        .filter(pledges::status.eq_any(backing))
        .select(pledges::id)
        .first(conn)
        .optional()
}

/// Whether the user holds a pledge that counts as backing ([`PledgeStatus::backing`]).
pub fn has_backed(conn: &mut DbConn, campaign_id: CampaignId, backer_id: UserId) -> QueryResult<bool> {
    let backing: Vec<PledgeStatus> = PledgeStatus::backing().collect();
    diesel::select(diesel::dsl::exists(
        pledges::table
            .filter(pledges::campaign_id.eq(campaign_id))
            .filter(pledges::backer_id.eq(backer_id))
            .filter(pledges::status.eq_any(backing)),
    ))
    .get_result(conn)
}

/// The states of the user's pledges on the campaign.
pub fn statuses_of(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    backer_id: UserId,
) -> QueryResult<Vec<PledgeStatus>> {
    pledges::table
        .filter(pledges::campaign_id.eq(campaign_id))
        .filter(pledges::backer_id.eq(backer_id))
        .select(pledges::status)
        .load(conn)
}

/// Changes amount, tier and shipping of an active pledge.
pub fn change_terms(
    conn: &mut DbConn,
    id: PledgeId,
    change: &TermsChange<'_>,
) -> QueryResult<Option<PledgeRow>> {
    diesel::update(
        pledges::table
            .find(id)
            .filter(pledges::status.eq(PledgeStatus::Active)),
    )
    .set(change)
    .returning(pledges::all_columns)
    .get_result(conn)
    .optional()
}

/// Records the ref of a pledge that came without one: the first ref wins.
pub fn keep_first_referral(
    conn: &mut DbConn,
    id: PledgeId,
    referral: &str,
) -> QueryResult<Option<PledgeRow>> {
    diesel::update(pledges::table.find(id).filter(pledges::referral.is_null()))
        .set(pledges::referral.eq(referral))
        .returning(pledges::all_columns)
        .get_result(conn)
        .optional()
}

/// `from` → canceled, only while the pledge is still in `from`.
pub fn cancel(
    conn: &mut DbConn,
    id: PledgeId,
    from: PledgeStatus,
    now: NaiveDateTime,
) -> QueryResult<Option<PledgeRow>> {
    diesel::update(pledges::table.find(id).filter(pledges::status.eq(from)))
        .set((
            pledges::status.eq(PledgeStatus::Canceled),
            pledges::canceled_at.eq(now),
            pledges::updated_at.eq(now),
        ))
        .returning(pledges::all_columns)
        .get_result(conn)
        .optional()
}

/// Replaces the payment method of a pledge still being charged or retried (in flight).
pub fn set_payment_method(
    conn: &mut DbConn,
    id: PledgeId,
    method: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<PledgeRow>> {
    // An errored pledge with a new method is retried by the next settlement pass.
    diesel::update(
        pledges::table
            .find(id)
            .filter(pledges::status.eq(PledgeStatus::Errored)),
    )
    .set(pledges::next_attempt_at.eq(now))
    .execute(conn)?;
    let in_flight: Vec<PledgeStatus> = PledgeStatus::ALL.into_iter().filter(|s| s.in_flight()).collect();
    diesel::update(pledges::table.find(id).filter(pledges::status.eq_any(in_flight)))
        .set((pledges::payment_method.eq(method), pledges::updated_at.eq(now)))
        .returning(pledges::all_columns)
        .get_result(conn)
        .optional()
}

/// A backer's pledges, newest first.
pub fn for_backer(
    conn: &mut DbConn,
    backer_id: UserId,
    after_id: Option<PledgeId>,
    limit: i64,
) -> QueryResult<Vec<PledgeRow>> {
    let mut query = pledges::table
        .filter(pledges::backer_id.eq(backer_id))
        .select(PledgeRow::as_select())
        .into_boxed();
    if let Some(id) = after_id {
        query = query.filter(pledges::id.lt(id));
    }
    query.order(pledges::id.desc()).limit(limit).load(conn)
}

/// A released pledge: (id, amount, tier, add-ons held as JSON).
pub type Released = (PledgeId, i64, Option<TierId>, String);

/// Releases every pledge of a campaign still in `from`; returns what each gives back.
pub fn release_all(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    from: PledgeStatus,
    now: NaiveDateTime,
) -> QueryResult<Vec<Released>> {
    diesel::update(
        pledges::table
            .filter(pledges::campaign_id.eq(campaign_id))
            .filter(pledges::status.eq(from)),
    )
    .set((
        pledges::status.eq(PledgeStatus::Released),
        pledges::released_at.eq(now),
        pledges::updated_at.eq(now),
    ))
    .returning((
        pledges::id,
        pledges::amount_minor,
        pledges::tier_id,
        pledges::addons,
    ))
    .get_results(conn)
}

/// → collected, for those of the pledges still in `from`; returns them as they are now.
pub fn mark_collected(
    conn: &mut DbConn,
    pledge_ids: &[PledgeId],
    from: &[PledgeStatus],
    now: NaiveDateTime,
) -> QueryResult<Vec<PledgeRow>> {
    diesel::update(
        pledges::table
            .filter(pledges::id.eq_any(pledge_ids))
            .filter(pledges::status.eq_any(from)),
    )
    .set((
        pledges::status.eq(PledgeStatus::Collected),
        pledges::collected_at.eq(now),
        pledges::updated_at.eq(now),
        pledges::lease_until.eq(None::<NaiveDateTime>),
        pledges::next_attempt_at.eq(None::<NaiveDateTime>),
    ))
    .returning(pledges::all_columns)
    .get_results(conn)
}

/// → errored (or errored again), while still in `from`: the failure, and when to retry. The
/// first failure's time is kept, since the pledge is dropped a fixed time after it.
pub fn mark_errored(
    conn: &mut DbConn,
    pledge: &PledgeRow,
    from: &[PledgeStatus],
    code: &str,
    retry_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<Option<PledgeRow>> {
    diesel::update(
        pledges::table
            .find(pledge.id)
            .filter(pledges::status.eq_any(from)),
    )
    .set((
        pledges::status.eq(PledgeStatus::Errored),
        pledges::errored_at.eq(pledge.errored_at.unwrap_or(now)),
        pledges::failure_code.eq(code),
        pledges::next_attempt_at.eq(retry_at),
        pledges::updated_at.eq(now),
        pledges::lease_until.eq(None::<NaiveDateTime>),
    ))
    .returning(pledges::all_columns)
    .get_result(conn)
    .optional()
}

/// `from` → dropped.
pub fn mark_dropped(
    conn: &mut DbConn,
    pledge_id: PledgeId,
    from: PledgeStatus,
    now: NaiveDateTime,
) -> QueryResult<Option<PledgeRow>> {
    diesel::update(pledges::table.find(pledge_id).filter(pledges::status.eq(from)))
        .set((
            pledges::status.eq(PledgeStatus::Dropped),
            pledges::dropped_at.eq(now),
            pledges::updated_at.eq(now),
            pledges::next_attempt_at.eq(None::<NaiveDateTime>),
        ))
        .returning(pledges::all_columns)
        .get_result(conn)
        .optional()
}

/// `from` → refunded.
pub fn mark_refunded(
    conn: &mut DbConn,
    pledge_id: PledgeId,
    from: PledgeStatus,
    now: NaiveDateTime,
) -> QueryResult<Option<PledgeRow>> {
    diesel::update(pledges::table.find(pledge_id).filter(pledges::status.eq(from)))
        .set((
            pledges::status.eq(PledgeStatus::Refunded),
            pledges::refunded_at.eq(now),
            pledges::updated_at.eq(now),
        ))
        .returning(pledges::all_columns)
        .get_result(conn)
        .optional()
}

/// How many of the backer's pledges are in one of `statuses`.
pub fn count_for_backer(conn: &mut DbConn, backer_id: UserId, statuses: &[PledgeStatus]) -> QueryResult<i64> {
    pledges::table
        .filter(pledges::backer_id.eq(backer_id))
        .filter(pledges::status.eq_any(statuses))
        .count()
        .get_result(conn)
}

/// Every pledge of the backer, oldest first (the account's export).
pub fn all_for_backer(conn: &mut DbConn, backer_id: UserId) -> QueryResult<Vec<PledgeRow>> {
    pledges::table
        .filter(pledges::backer_id.eq(backer_id))
        .order(pledges::id)
        .select(PledgeRow::as_select())
        .load(conn)
}
