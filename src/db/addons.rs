use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::prepared::PreparedDsl;
use super::schema::addons;
use crate::domain::{AddonId, CampaignId, Visibility};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = addons)]
pub struct AddonRow {
    pub id: AddonId,
    pub campaign_id: CampaignId,
    pub title: String,
    pub description: String,
    pub price_minor: i64,
    pub quantity: Option<i32>,
    pub claimed: i32,
    pub max_per_pledge: i32,
    pub shipping: Option<String>,
    /// JSON array of tier ids; `[]`: any pledge.
    pub tier_ids: String,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub visibility: Visibility,
    pub secret_token: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// An add-on's full state, new or changed (the caller merges a PATCH into the current row).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = addons, treat_none_as_null = true)]
pub struct AddonFields<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub price_minor: i64,
    pub quantity: Option<i32>,
    pub max_per_pledge: i32,
    pub shipping: Option<&'a str>,
    pub tier_ids: &'a str,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub visibility: Visibility,
    pub secret_token: Option<&'a str>,
    pub updated_at: NaiveDateTime,
}

pub fn insert(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    fields: &AddonFields<'_>,
    now: NaiveDateTime,
) -> QueryResult<AddonRow> {
    diesel::insert_into(addons::table)
        .values((
            fields,
            addons::campaign_id.eq(campaign_id),
            addons::created_at.eq(now),
        ))
        .returning(addons::all_columns)
        .get_result(conn)
}

pub fn for_campaign(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<Vec<AddonRow>> {
    addons::table
        .filter(addons::campaign_id.eq(campaign_id))
        .order(addons::id)
        .select(AddonRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConn, campaign_id: CampaignId, id: AddonId) -> QueryResult<Option<AddonRow>> {
    addons::table
        .find(id)
        .filter(addons::campaign_id.eq(campaign_id))
        .select(AddonRow::as_select())
        .get_result(conn)
        .optional()
}

/// The campaign's add-ons among `ids`, by id.
pub fn find_many(conn: &mut DbConn, campaign_id: CampaignId, ids: &[AddonId]) -> QueryResult<Vec<AddonRow>> {
    addons::table
        .filter(addons::campaign_id.eq(campaign_id))
        .filter(addons::id.eq_any(ids))
        .order(addons::id)
        .select(AddonRow::as_select())
        .load(conn)
}

/// Writes the new state only if `claimed` is still what the caller's rule checks assumed, so
/// a pledge that buys a unit meanwhile makes this return `None` rather than slip past the
/// frozen-price rule.
pub fn update_if_claimed(
    conn: &mut DbConn,
    id: AddonId,
    expected_claimed: i32,
    fields: &AddonFields<'_>,
) -> QueryResult<Option<AddonRow>> {
    diesel::update(
        addons::table
            .find(id)
            .filter(addons::claimed.eq(expected_claimed)),
    )
    .set(fields)
    .returning(addons::all_columns)
    .get_result(conn)
    .optional()
}

/// Deletes an add-on nobody holds; returns whether it did.
pub fn delete_unclaimed(conn: &mut DbConn, id: AddonId) -> QueryResult<bool> {
    let deleted = diesel::delete(addons::table.find(id).filter(addons::claimed.eq(0))).execute(conn)?;
    Ok(deleted == 1)
}

/// Takes `units` if that many are left: the conditional UPDATE that makes overselling
/// impossible (with the CHECK constraint behind it). Returns whether they were taken.
pub fn claim(conn: &mut DbConn, id: AddonId, units: i32, now: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        addons::table.find(id).filter(
            addons::quantity
                .is_null()
                .or((addons::claimed + units).nullable().le(addons::quantity)),
        ),
    )
    .set((
        addons::claimed.eq(addons::claimed + units),
        addons::updated_at.eq(now),
    ))
    .returning(addons::id)
    .prepared()
    .affected(conn)?;
    Ok(updated == 1)
}

/// Gives `units` back (a pledge that holds fewer, or none: changed, canceled, released,
/// dropped).
pub fn release(conn: &mut DbConn, id: AddonId, units: i32, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(addons::table.find(id).filter(addons::claimed.ge(units)))
        .set((
            addons::claimed.eq(addons::claimed - units),
            addons::updated_at.eq(now),
        ))
        .returning(addons::id)
        .prepared()
        .affected(conn)?;
    Ok(())
}
