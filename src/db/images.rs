//! Campaign images, the images embedded in updates, and the object keys awaiting collection.

use chrono::NaiveDateTime;
use diesel::dsl::exists;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{campaign_images, campaigns, media_pending, reward_tiers, update_images};
use crate::domain::{CampaignId, ImageId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = campaign_images)]
pub struct ImageRow {
    pub id: ImageId,
    pub campaign_id: CampaignId,
    pub alt: String,
    pub width: i32,
    pub height: i32,
    pub content_type: String,
    pub small_key: String,
    pub medium_key: String,
    pub large_key: String,
    pub gallery_position: Option<i32>,
    pub created_at: NaiveDateTime,
}

impl ImageRow {
    /// Its variants' keys; the same key can appear more than once (a narrow image).
    pub fn keys(&self) -> [&str; 3] {
        [&self.small_key, &self.medium_key, &self.large_key]
    }
}

#[derive(Insertable)]
#[diesel(table_name = campaign_images)]
pub struct NewImage<'a> {
    pub campaign_id: CampaignId,
    pub alt: &'a str,
    pub width: i32,
    pub height: i32,
    pub content_type: &'a str,
    pub small_key: &'a str,
    pub medium_key: &'a str,
    pub large_key: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: &NewImage<'_>) -> QueryResult<ImageRow> {
    diesel::insert_into(campaign_images::table)
        .values(new)
        .returning(campaign_images::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConn, id: ImageId) -> QueryResult<ImageRow> {
    campaign_images::table
        .find(id)
        .select(ImageRow::as_select())
        .first(conn)
}

pub fn count_for_campaign(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<i64> {
    campaign_images::table
        .filter(campaign_images::campaign_id.eq(campaign_id))
        .count()
        .get_result(conn)
}

/// A campaign's images, oldest first.
pub fn for_campaign(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<Vec<ImageRow>> {
    campaign_images::table
        .filter(campaign_images::campaign_id.eq(campaign_id))
        .order(campaign_images::id)
        .select(ImageRow::as_select())
        .load(conn)
}

/// The images with these ids (any order; absent ids are skipped).
pub fn by_ids(conn: &mut DbConn, ids: &[ImageId]) -> QueryResult<Vec<ImageRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    campaign_images::table
        .filter(campaign_images::id.eq_any(ids))
        .select(ImageRow::as_select())
        .load(conn)
}

/// The campaign's gallery, in order.
pub fn gallery(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<Vec<ImageRow>> {
    campaign_images::table
        .filter(campaign_images::campaign_id.eq(campaign_id))
        .filter(campaign_images::gallery_position.is_not_null())
        .order(campaign_images::gallery_position)
        .select(ImageRow::as_select())
        .load(conn)
}

/// Makes `ids` (the campaign's own images) its gallery, in that order.
pub fn set_gallery(conn: &mut DbConn, campaign_id: CampaignId, ids: &[ImageId]) -> QueryResult<()> {
    diesel::update(campaign_images::table.filter(campaign_images::campaign_id.eq(campaign_id)))
        .set(campaign_images::gallery_position.eq(None::<i32>))
        .execute(conn)?;
    for (position, id) in ids.iter().enumerate() {
        diesel::update(
            campaign_images::table
                .find(*id)
                .filter(campaign_images::campaign_id.eq(campaign_id)),
        )
        .set(campaign_images::gallery_position.eq(Some(position as i32)))
        .execute(conn)?;
    }
    Ok(())
}

pub fn delete(conn: &mut DbConn, id: ImageId) -> QueryResult<usize> {
    diesel::delete(campaign_images::table.find(id)).execute(conn)
}

/// Whether any image row still stores a variant under `key`.
pub fn key_in_use(conn: &mut DbConn, key: &str) -> QueryResult<bool> {
    diesel::select(exists(
        campaign_images::table.filter(
            campaign_images::small_key
                .eq(key)
                .or(campaign_images::medium_key.eq(key))
                .or(campaign_images::large_key.eq(key)),
        ),
    ))
    .get_result(conn)
}

/// Images nothing uses: no campaign's cover, no gallery, no tier, no update.
fn unused() -> campaign_images::BoxedQuery<'static, super::multi_connection_impl::MultiBackend> {
    campaign_images::table
        .filter(campaign_images::gallery_position.is_null())
        .filter(diesel::dsl::not(exists(campaigns::table.filter(
            campaigns::cover_image_id.eq(campaign_images::id.nullable()),
        ))))
        .filter(diesel::dsl::not(exists(
            reward_tiers::table.filter(reward_tiers::image_id.eq(campaign_images::id.nullable())),
        )))
        .filter(diesel::dsl::not(exists(
            update_images::table.filter(update_images::image_id.eq(campaign_images::id)),
        )))
        .into_boxed()
}

/// Images uploaded before `cutoff` that nothing uses.
pub fn unused_since(conn: &mut DbConn, cutoff: NaiveDateTime, limit: i64) -> QueryResult<Vec<ImageRow>> {
    unused()
        .filter(campaign_images::created_at.lt(cutoff))
        .order(campaign_images::id)
        .limit(limit)
        .select(ImageRow::as_select())
        .load(conn)
}

pub fn is_unused(conn: &mut DbConn, id: ImageId) -> QueryResult<bool> {
    let found: Option<ImageId> = unused()
        .filter(campaign_images::id.eq(id))
        .select(campaign_images::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Embeds `ids` in an update, in order.
pub fn set_update_images(conn: &mut DbConn, update_id: i64, ids: &[ImageId]) -> QueryResult<()> {
    diesel::delete(update_images::table.filter(update_images::update_id.eq(update_id))).execute(conn)?;
    for (position, id) in ids.iter().enumerate() {
        diesel::insert_into(update_images::table)
            .values((
                update_images::update_id.eq(update_id),
                update_images::image_id.eq(*id),
                update_images::position.eq(position as i32),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The images of these updates, each with its update's id, in their order.
pub fn for_updates(conn: &mut DbConn, update_ids: &[i64]) -> QueryResult<Vec<(i64, ImageRow)>> {
    if update_ids.is_empty() {
        return Ok(Vec::new());
    }
    update_images::table
        .inner_join(campaign_images::table)
        .filter(update_images::update_id.eq_any(update_ids))
        .order((update_images::update_id, update_images::position))
        .select((update_images::update_id, ImageRow::as_select()))
        .load(conn)
}

/// Notes that an upload is about to put objects under `keys`: the entry protects them from
/// collection until the upload's row exists, and lets the pass collect them if it never does.
/// An entry being collected is locked by the collector, so this waits for it to finish.
pub fn hold_keys(conn: &mut DbConn, keys: &[&str], now: NaiveDateTime) -> QueryResult<()> {
    for key in keys {
        super::on_backend!(conn, |c| diesel::insert_into(media_pending::table)
            .values((media_pending::object_key.eq(*key), media_pending::since.eq(now)))
            .on_conflict(media_pending::object_key)
            .do_update()
            .set(media_pending::since.eq(now))
            .execute(c))?;
    }
    Ok(())
}

/// Notes that the objects under `keys` may have lost their last row. An entry already there
/// (an upload in flight) keeps its time.
pub fn release_keys(conn: &mut DbConn, keys: &[&str], since: NaiveDateTime) -> QueryResult<()> {
    for key in keys {
        super::on_backend!(conn, |c| diesel::insert_into(media_pending::table)
            .values((media_pending::object_key.eq(*key), media_pending::since.eq(since)))
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// Drops the entries of keys an image row now stores.
pub fn settle_keys(conn: &mut DbConn, keys: &[&str]) -> QueryResult<()> {
    diesel::delete(media_pending::table.filter(media_pending::object_key.eq_any(keys))).execute(conn)?;
    Ok(())
}

/// Keys noted before `cutoff`, oldest first.
pub fn pending_before(conn: &mut DbConn, cutoff: NaiveDateTime, limit: i64) -> QueryResult<Vec<String>> {
    media_pending::table
        .filter(media_pending::since.le(cutoff))
        .order(media_pending::since)
        .limit(limit)
        .select(media_pending::object_key)
        .load(conn)
}

/// Locks `key`'s entry if it is still older than `cutoff` (an upload may have renewed it):
/// the row lock on PostgreSQL, the write lock on SQLite, held to the end of the transaction.
pub fn lock_pending(conn: &mut DbConn, key: &str, cutoff: NaiveDateTime) -> QueryResult<bool> {
    let locked = diesel::update(
        media_pending::table
            .filter(media_pending::object_key.eq(key))
            .filter(media_pending::since.le(cutoff)),
    )
    .set(media_pending::since.eq(media_pending::since))
    .execute(conn)?;
    Ok(locked == 1)
}

pub fn drop_pending(conn: &mut DbConn, key: &str) -> QueryResult<()> {
    diesel::delete(media_pending::table.find(key)).execute(conn)?;
    Ok(())
}
