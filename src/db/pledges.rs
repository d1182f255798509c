use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::DbConn;
use super::prepared::PreparedDsl;
use super::schema::{pledge_events, pledges, reward_tiers, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pledges)]
pub struct PledgeRow {
    pub id: i64,
    pub campaign_id: i64,
    pub backer_id: i64,
    pub tier_id: Option<i64>,
    pub amount_minor: i64,
    pub shipping_country: Option<String>,
    pub shipping_fee_minor: i64,
    pub status: String,
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
}

#[derive(Insertable)]
#[diesel(table_name = pledges)]
pub struct NewPledge<'a> {
    pub campaign_id: i64,
    pub backer_id: i64,
    pub tier_id: Option<i64>,
    pub amount_minor: i64,
    pub shipping_country: Option<&'a str>,
    pub shipping_fee_minor: i64,
    pub payment_method: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = pledge_events)]
pub struct NewPledgeEvent<'a> {
    pub pledge_id: i64,
    pub actor_id: Option<i64>,
    pub from_status: Option<&'a str>,
    pub to_status: &'a str,
    pub reason: &'a str,
    pub amount_minor: i64,
    pub tier_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: &NewPledge<'_>) -> QueryResult<PledgeRow> {
    diesel::insert_into(pledges::table)
        .values(new)
        .returning(pledges::all_columns)
        .prepared()
        .get_result(conn)
}

/// Appends to the pledge's log; returns the event's id.
pub fn append_event(conn: &mut DbConn, event: &NewPledgeEvent<'_>) -> QueryResult<i64> {
    diesel::insert_into(pledge_events::table)
        .values(event)
        .returning(pledge_events::id)
        .prepared()
        .get_result(conn)
}

/// Appends many events in one statement.
pub fn append_events(conn: &mut DbConn, events: &[NewPledgeEvent<'_>]) -> QueryResult<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    super::on_backend!(conn, |c| diesel::insert_into(pledge_events::table)
        .values(events)
        .execute(c))
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<PledgeRow>> {
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
pub fn active_of(campaign_id: i64, backer_id: i64) -> ActiveOf {
    pledges::campaign_id
        .eq(campaign_id)
        .and(pledges::backer_id.eq(backer_id))
        .and(pledges::status.eq(dsl::sql::<Text>("'active'")))
}

pub type ActiveOf = dsl::And<
    dsl::And<dsl::Eq<pledges::campaign_id, i64>, dsl::Eq<pledges::backer_id, i64>>,
    dsl::Eq<pledges::status, SqlLiteral<Text>>,
>;

pub fn active_for(conn: &mut DbConn, campaign_id: i64, backer_id: i64) -> QueryResult<Option<PledgeRow>> {
    // diesel keeps no statement holding a literal; this one's text never varies, so keep it.
    pledges::table
        .filter(active_of(campaign_id, backer_id))
        .select(PledgeRow::as_select())
        .prepared()
        .get_result(conn)
        .optional()
}

/// Whether the user holds a pledge that counts as backing (active, collected or errored).
pub fn has_backed(conn: &mut DbConn, campaign_id: i64, backer_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        pledges::table
            .filter(pledges::campaign_id.eq(campaign_id))
            .filter(pledges::backer_id.eq(backer_id))
            .filter(pledges::status.eq_any(["active", "collected", "errored"])),
    ))
    .get_result(conn)
}

/// Changes amount, tier and shipping of an active pledge.
pub fn change_terms(
    conn: &mut DbConn,
    id: i64,
    tier_id: Option<i64>,
    amount_minor: i64,
    shipping_country: Option<&str>,
    shipping_fee_minor: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<PledgeRow>> {
    diesel::update(pledges::table.find(id).filter(pledges::status.eq("active")))
        .set((
            pledges::tier_id.eq(tier_id),
            pledges::amount_minor.eq(amount_minor),
            pledges::shipping_country.eq(shipping_country),
            pledges::shipping_fee_minor.eq(shipping_fee_minor),
            pledges::updated_at.eq(now),
        ))
        .returning(pledges::all_columns)
        .get_result(conn)
        .optional()
}

pub fn cancel(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<Option<PledgeRow>> {
    diesel::update(pledges::table.find(id).filter(pledges::status.eq("active")))
        .set((
            pledges::status.eq("canceled"),
            pledges::canceled_at.eq(now),
            pledges::updated_at.eq(now),
        ))
        .returning(pledges::all_columns)
        .get_result(conn)
        .optional()
}

pub fn set_payment_method(
    conn: &mut DbConn,
    id: i64,
    method: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<PledgeRow>> {
    // An errored pledge with a new method is retried by the next settlement pass.
    diesel::update(pledges::table.find(id).filter(pledges::status.eq("errored")))
        .set(pledges::next_attempt_at.eq(now))
        .execute(conn)?;
    diesel::update(
        pledges::table
            .find(id)
            .filter(pledges::status.eq_any(["active", "errored"])),
    )
    .set((pledges::payment_method.eq(method), pledges::updated_at.eq(now)))
    .returning(pledges::all_columns)
    .get_result(conn)
    .optional()
}

/// A backer's pledges, newest first.
pub fn for_backer(
    conn: &mut DbConn,
    backer_id: i64,
    after_id: Option<i64>,
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

/// One row of the creator's fulfilment view.
#[derive(Debug, Clone, Queryable)]
pub struct FulfilmentRow {
    pub pledge: PledgeRow,
    pub backer_name: String,
    pub backer_email: String,
    pub tier_title: Option<String>,
}

/// A campaign's pledges in id order, with backer and tier, for its creator.
pub fn for_campaign(
    conn: &mut DbConn,
    campaign_id: i64,
    after_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<FulfilmentRow>> {
    let mut query = pledges::table
        .inner_join(users::table)
        .left_join(reward_tiers::table)
        .filter(pledges::campaign_id.eq(campaign_id))
        .select((
            PledgeRow::as_select(),
            users::display_name,
            users::email,
            reward_tiers::title.nullable(),
        ))
        .into_boxed();
    if let Some(id) = after_id {
        query = query.filter(pledges::id.gt(id));
    }
    query.order(pledges::id.asc()).limit(limit).load(conn)
}

/// Releases every active pledge of a campaign; returns (id, amount, tier) of each.
pub fn release_active(
    conn: &mut DbConn,
    campaign_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Vec<(i64, i64, Option<i64>)>> {
    diesel::update(
        pledges::table
            .filter(pledges::campaign_id.eq(campaign_id))
            .filter(pledges::status.eq("active")),
    )
    .set((
        pledges::status.eq("released"),
        pledges::released_at.eq(now),
        pledges::updated_at.eq(now),
    ))
    .returning((pledges::id, pledges::amount_minor, pledges::tier_id))
    .get_results(conn)
}
