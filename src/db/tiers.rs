use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::prepared::PreparedDsl;
use super::schema::reward_tiers;
use crate::domain::{CampaignId, ImageId, TierId, Visibility};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reward_tiers)]
pub struct TierRow {
    pub id: TierId,
    pub campaign_id: CampaignId,
    pub title: String,
    pub description: String,
    pub min_amount_minor: i64,
    pub quantity: Option<i32>,
    pub claimed: i32,
    pub estimated_delivery: String,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub shipping: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub image_id: Option<ImageId>,
    pub visibility: Visibility,
    /// Set once the tier has been secret; kept if it is made public again.
    pub secret_token: Option<String>,
    /// What a late pledge pays for it at least; `None`: its minimum.
    pub late_price_minor: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = reward_tiers)]
pub struct NewTier<'a> {
    pub campaign_id: CampaignId,
    pub title: &'a str,
    pub description: &'a str,
    pub min_amount_minor: i64,
    pub quantity: Option<i32>,
    pub estimated_delivery: &'a str,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub shipping: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub image_id: Option<ImageId>,
    pub visibility: Visibility,
    pub secret_token: Option<&'a str>,
    pub late_price_minor: Option<i64>,
}

/// A tier's full new state (the caller merges the PATCH into the current row).
#[derive(AsChangeset)]
#[diesel(table_name = reward_tiers, treat_none_as_null = true)]
pub struct TierUpdate {
    pub title: String,
    pub description: String,
    pub min_amount_minor: i64,
    pub quantity: Option<i32>,
    pub estimated_delivery: String,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub shipping: Option<String>,
    pub updated_at: NaiveDateTime,
    pub image_id: Option<ImageId>,
    pub visibility: Visibility,
    pub secret_token: Option<String>,
    pub late_price_minor: Option<i64>,
}

pub fn insert(conn: &mut DbConn, new: &NewTier<'_>) -> QueryResult<TierRow> {
    diesel::insert_into(reward_tiers::table)
        .values(new)
        .returning(reward_tiers::all_columns)
        .get_result(conn)
}

pub fn for_campaign(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<Vec<TierRow>> {
    reward_tiers::table
        .filter(reward_tiers::campaign_id.eq(campaign_id))
        .order((reward_tiers::min_amount_minor, reward_tiers::id))
        .select(TierRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConn, campaign_id: CampaignId, id: TierId) -> QueryResult<Option<TierRow>> {
    reward_tiers::table
        .find(id)
        .filter(reward_tiers::campaign_id.eq(campaign_id))
        .select(TierRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn count_for_campaign(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<i64> {
    reward_tiers::table
        .filter(reward_tiers::campaign_id.eq(campaign_id))
        .count()
        .get_result(conn)
}

/// Writes the new state only if `claimed` is still what the caller's rule checks assumed,
/// so a pledge that claims a unit meanwhile makes this return `None` rather than slip past
/// the frozen-price rule.
pub fn update_if_claimed(
    conn: &mut DbConn,
    id: TierId,
    expected_claimed: i32,
    update: &TierUpdate,
) -> QueryResult<Option<TierRow>> {
    diesel::update(
        reward_tiers::table
            .find(id)
            .filter(reward_tiers::claimed.eq(expected_claimed)),
    )
    .set(update)
    .returning(reward_tiers::all_columns)
    .get_result(conn)
    .optional()
}

/// Sets a tier's late price, only if its minimum is still `expected_min` (the price was checked
/// against it).
pub fn set_late_price(
    conn: &mut DbConn,
    id: TierId,
    expected_min: i64,
    late_price_minor: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<Option<TierRow>> {
    diesel::update(
        reward_tiers::table
            .find(id)
            .filter(reward_tiers::min_amount_minor.eq(expected_min)),
    )
    .set((
        reward_tiers::late_price_minor.eq(late_price_minor),
        reward_tiers::updated_at.eq(now),
    ))
    .returning(reward_tiers::all_columns)
    .get_result(conn)
    .optional()
}

/// Deletes a tier nobody holds; returns whether it did.
pub fn delete_unclaimed(conn: &mut DbConn, id: TierId) -> QueryResult<bool> {
    let deleted =
        diesel::delete(reward_tiers::table.find(id).filter(reward_tiers::claimed.eq(0))).execute(conn)?;
    Ok(deleted == 1)
}

/// Takes one unit if any is left: the conditional UPDATE that makes overselling impossible
/// (with the CHECK constraint behind it). Returns whether a unit was taken.
pub fn claim(conn: &mut DbConn, id: TierId, now: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        reward_tiers::table.find(id).filter(
            reward_tiers::quantity
                .is_null()
                .or(reward_tiers::claimed.nullable().lt(reward_tiers::quantity)),
        ),
    )
    .set((
        reward_tiers::claimed.eq(reward_tiers::claimed + 1),
        reward_tiers::updated_at.eq(now),
    ))
    .returning(reward_tiers::id)
    .prepared()
    .affected(conn)?;
    Ok(updated == 1)
}

/// Gives a unit back (a pledge canceled, released, dropped or moved to another tier).
pub fn release(conn: &mut DbConn, id: TierId, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(reward_tiers::table.find(id).filter(reward_tiers::claimed.gt(0)))
        .set((
            reward_tiers::claimed.eq(reward_tiers::claimed - 1),
            reward_tiers::updated_at.eq(now),
        ))
        .returning(reward_tiers::id)
        .prepared()
        .affected(conn)?;
    Ok(())
}

/// Gives back `units` at once (a campaign's pledges released together).
pub fn release_many(conn: &mut DbConn, id: TierId, units: i32, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        reward_tiers::table
            .find(id)
            .filter(reward_tiers::claimed.ge(units)),
    )
    .set((
        reward_tiers::claimed.eq(reward_tiers::claimed - units),
        reward_tiers::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}
