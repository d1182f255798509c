use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::campaign_updates;
use crate::domain::{CampaignId, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = campaign_updates)]
pub struct UpdateRow {
    pub id: i64,
    pub campaign_id: CampaignId,
    pub author_id: UserId,
    pub title: String,
    pub body: String,
    pub backers_only: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = campaign_updates)]
pub struct NewUpdate<'a> {
    pub campaign_id: CampaignId,
    pub author_id: UserId,
    pub title: &'a str,
    pub body: &'a str,
    pub backers_only: bool,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: &NewUpdate<'_>) -> QueryResult<UpdateRow> {
    diesel::insert_into(campaign_updates::table)
        .values(new)
        .returning(campaign_updates::all_columns)
        .get_result(conn)
}

/// A campaign's updates, newest first.
pub fn for_campaign(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<UpdateRow>> {
    let mut query = campaign_updates::table
        .filter(campaign_updates::campaign_id.eq(campaign_id))
        .select(UpdateRow::as_select())
        .into_boxed();
    if let Some(id) = before_id {
        query = query.filter(campaign_updates::id.lt(id));
    }
    query.order(campaign_updates::id.desc()).limit(limit).load(conn)
}

/// Every update the user wrote, oldest first (the account's export).
pub fn by_author(conn: &mut DbConn, author_id: UserId) -> QueryResult<Vec<UpdateRow>> {
    campaign_updates::table
        .filter(campaign_updates::author_id.eq(author_id))
        .order(campaign_updates::id)
        .select(UpdateRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<UpdateRow>> {
    campaign_updates::table
        .find(id)
        .select(UpdateRow::as_select())
        .first(conn)
        .optional()
}
