use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};

use super::DbConn;
use super::prepared::PreparedDsl;
use super::schema::{campaigns, users};
use crate::domain::{CampaignId, CampaignStatus, Category, Currency, FundingModel, ImageId, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = campaigns)]
pub struct CampaignRow {
    pub id: CampaignId,
    pub owner_id: UserId,
    pub slug: String,
    pub title: String,
    pub blurb: String,
    pub description: String,
    pub category: Option<Category>,
    pub currency: Currency,
    pub goal_minor: Option<i64>,
    pub duration_days: Option<i32>,
    pub status: CampaignStatus,
    pub launched_at: Option<NaiveDateTime>,
    pub deadline: Option<NaiveDateTime>,
    pub pledged_minor: i64,
    pub backer_count: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub final_pledged_minor: Option<i64>,
    pub final_backer_count: Option<i32>,
    pub closed_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    pub ending_notice_at: Option<NaiveDateTime>,
    /// What the "most funded" and "most backed" listings sort by: the totals as of their last
    /// move by [`RANK_STEP`] or more, exact once the campaign has closed.
    pub ranked_pledged_minor: i64,
    pub ranked_backer_count: i32,
    pub cover_image_id: Option<ImageId>,
    /// A draft shown to everyone as coming soon (no tiers, no pledges).
    pub prelaunch: bool,
    pub funding_model: FundingModel,
    /// Takes late pledges once successful (see `campaigns::late`).
    pub late_pledges: bool,
    /// When late pledges close; `None`: a year after the deadline.
    pub late_pledges_until: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = campaigns)]
pub struct NewCampaign<'a> {
    pub owner_id: UserId,
    pub slug: &'a str,
    pub title: &'a str,
    pub blurb: &'a str,
    pub description: &'a str,
    pub category: Option<Category>,
    pub currency: Currency,
    pub goal_minor: Option<i64>,
    pub duration_days: Option<i32>,
    pub funding_model: FundingModel,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Fields an owner may change; `None` leaves a column as it is.
#[derive(AsChangeset, Default)]
#[diesel(table_name = campaigns)]
pub struct CampaignChanges {
    pub slug: Option<String>,
    pub title: Option<String>,
    pub blurb: Option<String>,
    pub description: Option<String>,
    pub category: Option<Category>,
    pub currency: Option<Currency>,
    pub goal_minor: Option<i64>,
    pub duration_days: Option<i32>,
    /// `Some(None)` removes the cover.
    pub cover_image_id: Option<Option<ImageId>>,
    pub prelaunch: Option<bool>,
    pub funding_model: Option<FundingModel>,
    pub late_pledges: Option<bool>,
    /// `Some(None)`: a year after the deadline.
    pub late_pledges_until: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConn, new: &NewCampaign<'_>) -> QueryResult<CampaignRow> {
    diesel::insert_into(campaigns::table)
        .values(new)
        .returning(campaigns::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConn, id: CampaignId) -> QueryResult<Option<CampaignRow>> {
    campaigns::table
        .find(id)
        .select(CampaignRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<CampaignRow>> {
    campaigns::table
        .filter(campaigns::slug.eq(slug))
        .select(CampaignRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn slug_taken(conn: &mut DbConn, slug: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        campaigns::table.filter(campaigns::slug.eq(slug)),
    ))
    .get_result(conn)
}

pub fn owner_name(conn: &mut DbConn, owner_id: UserId) -> QueryResult<String> {
    users::table
        .find(owner_id)
        .select(users::display_name)
        .get_result(conn)
}

/// Applies owner edits, only while the campaign is still in `expected_status`.
pub fn update(
    conn: &mut DbConn,
    id: CampaignId,
    expected_status: CampaignStatus,
    changes: &CampaignChanges,
) -> QueryResult<Option<CampaignRow>> {
    diesel::update(
        campaigns::table
            .find(id)
            .filter(campaigns::status.eq(expected_status)),
    )
    .set(changes)
    .returning(campaigns::all_columns)
    .get_result(conn)
    .optional()
}

/// Moves a campaign from one status to another if nobody moved it first.
pub fn set_status(
    conn: &mut DbConn,
    id: CampaignId,
    from: CampaignStatus,
    to: CampaignStatus,
    now: NaiveDateTime,
) -> QueryResult<Option<CampaignRow>> {
    diesel::update(campaigns::table.find(id).filter(campaigns::status.eq(from)))
        .set((campaigns::status.eq(to), campaigns::updated_at.eq(now)))
        .returning(campaigns::all_columns)
        .get_result(conn)
        .optional()
}

/// `draft` → `live`, fixing the launch instant and the deadline.
pub fn launch(
    conn: &mut DbConn,
    id: CampaignId,
    now: NaiveDateTime,
    deadline: NaiveDateTime,
) -> QueryResult<Option<CampaignRow>> {
    diesel::update(
        campaigns::table
            .find(id)
            .filter(campaigns::status.eq(CampaignStatus::Draft)),
    )
    .set((
        campaigns::status.eq(CampaignStatus::Live),
        campaigns::launched_at.eq(now),
        campaigns::deadline.eq(deadline),
        campaigns::updated_at.eq(now),
    ))
    .returning(campaigns::all_columns)
    .get_result(conn)
    .optional()
}

/// Deletes a campaign only while it is a draft; returns whether it did.
/// Holds the campaign's row until the transaction ends: on PostgreSQL its row lock, which
/// every change of the campaign also takes; on SQLite the writer lock is already held.
pub fn lock(conn: &mut DbConn, id: CampaignId) -> QueryResult<()> {
    diesel::update(campaigns::table.find(id))
        .set(campaigns::updated_at.eq(campaigns::updated_at))
        .execute(conn)
        .map(drop)
}

pub fn delete_draft(conn: &mut DbConn, id: CampaignId) -> QueryResult<bool> {
    let deleted = diesel::delete(
        campaigns::table
            .find(id)
            .filter(campaigns::status.eq(CampaignStatus::Draft)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

/// The ranked copy of a total is refreshed when the total has moved by 1/`RANK_STEP` of the copy
/// or more: 1 %, so at every change while the copy is at most `RANK_STEP` changes (up to 100
/// backers). Most pledges to a busy campaign then change no column the listings' indexes hold,
/// and PostgreSQL updates its row in place (HOT) instead of adding an entry to every index of
/// the table (migration 000009). A listing sorted by amount or backers may therefore order two
/// live campaigns whose totals are within 1 % of each other by their earlier figures; closed
/// campaigns sort exactly ([`super::settlement::freeze`]).
pub const RANK_STEP: i64 = 100;

/// `CASE WHEN <total + change moved enough from its ranked copy> THEN total + change ELSE the
/// copy END`, in three pieces around the two places the change is bound.
fn ranked(total: &str) -> [String; 3] {
    [
        format!("CASE WHEN abs({total} - ranked_{total} + "),
        format!(") * {RANK_STEP} >= ranked_{total} THEN {total} + "),
        format!(" ELSE ranked_{total} END"),
    ]
}

/// [`adjust_totals`]'s changes as raw SQL (`SET` list, no `updated_at`), for a statement that
/// moves the totals among other writes: placeholders for the amount, the backers, the amount
/// twice and the backers twice, in that order.
pub(super) fn moved_totals_sql() -> String {
    let (pledged, backed) = (ranked("pledged_minor"), ranked("backer_count"));
    format!(
        "pledged_minor = pledged_minor + ?, backer_count = backer_count + ?, \
         ranked_pledged_minor = {}?{}?{}, ranked_backer_count = {}?{}?{}",
        pledged[0], pledged[1], pledged[2], backed[0], backed[1], backed[2]
    )
}

/// Moves the running totals of a live campaign by `amount` and `backers`, atomically checking
/// the rules that depend on them: the campaign is live and before its deadline, and a decrease
/// inside the last 24 hours does not take a campaign that has reached its goal below it (a
/// flexible campaign is charged whatever its total, so the rule has nothing to protect).
/// Returns `false` (and changes nothing) if a rule refuses.
pub fn adjust_totals(
    conn: &mut DbConn,
    id: CampaignId,
    amount: i64,
    backers: i32,
    now: NaiveDateTime,
    last_day_starts: NaiveDateTime,
) -> QueryResult<bool> {
    let live = campaigns::table
        .find(id)
        .filter(campaigns::status.eq(CampaignStatus::Live))
        .filter(campaigns::deadline.gt(now));
    let (pledged, backed) = (ranked("pledged_minor"), ranked("backer_count"));
    let changes = (
        campaigns::pledged_minor.eq(campaigns::pledged_minor + amount),
        campaigns::backer_count.eq(campaigns::backer_count + backers),
        campaigns::ranked_pledged_minor.eq(sql::<BigInt>(&pledged[0])
            .bind::<BigInt, _>(amount)
            .sql(&pledged[1])
            .bind::<BigInt, _>(amount)
            .sql(&pledged[2])),
        campaigns::ranked_backer_count.eq(sql::<Integer>(&backed[0])
            .bind::<Integer, _>(backers)
            .sql(&backed[1])
            .bind::<Integer, _>(backers)
            .sql(&backed[2])),
        campaigns::updated_at.eq(now),
    );
    let updated = if amount >= 0 {
        diesel::update(live)
            .set(changes)
            .returning(campaigns::id)
            .prepared()
            .affected(conn)?
    } else {
        diesel::update(
            live.filter(
                campaigns::deadline
                    .gt(last_day_starts)
                    .or(campaigns::funding_model.eq(FundingModel::Flexible))
                    .or(campaigns::pledged_minor.nullable().lt(campaigns::goal_minor))
                    .or(campaigns::goal_minor.le((campaigns::pledged_minor + amount).nullable())),
            ),
        )
        .set(changes)
        .returning(campaigns::id)
        .prepared()
        .affected(conn)?
    };
    Ok(updated == 1)
}

/// Every campaign the user owns, oldest first (deletion's check, the account's export).
pub fn owned_by(conn: &mut DbConn, owner_id: UserId) -> QueryResult<Vec<CampaignRow>> {
    campaigns::table
        .filter(campaigns::owner_id.eq(owner_id))
        .order(campaigns::id)
        .select(CampaignRow::as_select())
        .load(conn)
}
