//! A campaign's referral tags, and the pledges' refs counted.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::DbConn;
use super::schema::referral_tags;
use crate::domain::pledge::sql_list;
use crate::domain::{CampaignId, PledgeStatus};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = referral_tags)]
pub struct TagRow {
    pub id: i64,
    pub campaign_id: CampaignId,
    pub code: String,
    pub name: String,
    pub created_at: NaiveDateTime,
}

/// Inserts a tag; `None` when the campaign already has one of that name or the code is taken.
pub fn insert(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    code: &str,
    name: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<TagRow>> {
    let values = (
        referral_tags::campaign_id.eq(campaign_id),
        referral_tags::code.eq(code),
        referral_tags::name.eq(name),
        referral_tags::created_at.eq(now),
    );
    super::on_backend!(conn, |c| diesel::insert_into(referral_tags::table)
        .values(values)
        .on_conflict_do_nothing()
        .returning(referral_tags::all_columns)
        .get_result(c)
        .optional())
}

pub fn named(conn: &mut DbConn, campaign_id: CampaignId, name: &str) -> QueryResult<Option<TagRow>> {
    referral_tags::table
        .filter(referral_tags::campaign_id.eq(campaign_id))
        .filter(referral_tags::name.eq(name))
        .select(TagRow::as_select())
        .first(conn)
        .optional()
}

pub fn count(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<i64> {
    referral_tags::table
        .filter(referral_tags::campaign_id.eq(campaign_id))
        .count()
        .get_result(conn)
}

/// Whether `code` is one of the campaign's tags.
pub fn is_tag_of(conn: &mut DbConn, campaign_id: CampaignId, code: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        referral_tags::table
            .filter(referral_tags::campaign_id.eq(campaign_id))
            .filter(referral_tags::code.eq(code)),
    ))
    .get_result(conn)
}

pub fn for_campaign(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<Vec<TagRow>> {
    referral_tags::table
        .filter(referral_tags::campaign_id.eq(campaign_id))
        .order(referral_tags::id)
        .select(TagRow::as_select())
        .load(conn)
}

/// The campaign's pledges that count (active, collected, errored) by ref, with their amount
/// and the part of it collected.
#[derive(Debug, QueryableByName)]
pub struct RefTotal {
    #[diesel(sql_type = Nullable<Text>)]
    pub referral: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub pledges: i64,
    #[diesel(sql_type = BigInt)]
    pub amount_minor: i64,
    #[diesel(sql_type = BigInt)]
    pub collected_minor: i64,
}

pub fn totals(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<Vec<RefTotal>> {
    diesel::sql_query(format!(
        "SELECT referral, COUNT(*) AS pledges, CAST(SUM(amount_minor) AS BIGINT) AS amount_minor, \
         CAST(SUM(CASE WHEN status = '{}' THEN amount_minor ELSE 0 END) AS BIGINT) AS collected_minor \
         FROM pledges WHERE campaign_id = {campaign_id} AND status IN ({}) \
         GROUP BY referral ORDER BY referral",
        PledgeStatus::Collected.as_str(),
        sql_list(PledgeStatus::backing())
    ))
    .load(conn)
}
