//! The rules of campaign images.
//!
//! Only the campaign's creator and admins upload to or delete from a campaign, while it is a
//! draft or live; a campaign holds at most [`MAX_PER_CAMPAIGN`] images. An image is used as
//! the campaign's cover, in its gallery, by a tier or embedded in an update, always of its own
//! campaign. The cover of a live campaign cannot be deleted (replace it first). An image
//! nothing uses a day after its upload is deleted by the settlement pass.
//!
//! Objects are collected through `media_pending` (see the migration): an upload notes its
//! keys before putting objects and settles them with its row; a deletion notes the keys of the
//! row it deletes. [`collect`] deletes a noted key's object only once no row stores it, under
//! the entry's lock, which an upload of the same content waits for before putting again.

use chrono::{DateTime, Duration, Utc};

use super::Media;
use super::process::{Kind, Processed};
use crate::campaigns::access;
use crate::db::campaigns::{self, CampaignRow};
use crate::db::images::{self, ImageRow, NewImage};
use crate::db::{Db, DbConn, write_transaction};
use crate::domain::image::{MAX_PER_CAMPAIGN, MAX_PER_UPDATE, distinct_ids};
use crate::domain::{Actor, CampaignId, CampaignStatus, CoreError, ImageId, Refusal};

/// How long a noted key is left alone: longer than any upload takes between noting its keys
/// and writing its row.
pub const GRACE: Duration = Duration::hours(1);
/// An image nothing uses this long after its upload is deleted.
pub const UNUSED_FOR: Duration = Duration::hours(24);

/// The campaign, if `actor` may upload to it now: checked before the body is read, and again
/// in the transaction that records the upload.
pub fn may_upload(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    actor: &Actor,
) -> Result<CampaignRow, CoreError> {
    let campaign = access::owned_or_admin(campaigns::find(conn, campaign_id)?, actor)?;
    if !matches!(campaign.status, CampaignStatus::Draft | CampaignStatus::Live) {
        return Err(Refusal::Conflict(format!(
            "images can be added to draft and live campaigns, not to a {} one",
            campaign.status.as_str()
        ))
        .into());
    }
    if images::count_for_campaign(conn, campaign_id)? >= MAX_PER_CAMPAIGN {
        return Err(Refusal::Conflict(format!(
            "a campaign holds at most {MAX_PER_CAMPAIGN} images; delete one first"
        ))
        .into());
    }
    Ok(campaign)
}

/// An upload as received: the bytes and the type they were sent as.
pub struct Upload {
    pub bytes: Vec<u8>,
    pub declared: Option<Kind>,
    pub alt: String,
}

/// Processes, stores and records an upload (the caller has checked [`may_upload`], so that
/// nothing is read or processed for a caller who may not). Nothing is stored for a file that
/// is refused.
pub async fn upload(
    db: &Db,
    media: &Media,
    campaign_id: CampaignId,
    actor: &Actor,
    upload: Upload,
    now: DateTime<Utc>,
) -> Result<ImageRow, CoreError> {
    let kind = super::process::sniff(&upload.bytes, upload.declared)?;
    let processed = media.process(upload.bytes, kind).await?;
    let keys: Vec<String> = distinct_keys(&processed);
    let held = keys.clone();
    db.write(move |conn| {
        let held: Vec<&str> = held.iter().map(String::as_str).collect();
        images::hold_keys(conn, &held, now.naive_utc()).map_err(CoreError::from)
    })
    .await?;
    for key in &keys {
        if let Some(variant) = processed.variants.iter().find(|v| &v.key == key) {
            media
                .store
                .put(key, variant.bytes.clone())
                .await
                .map_err(CoreError::Unavailable)?;
        }
    }
    // Settled with the row; if the row is refused now (another upload took the last place),
    // the noted keys are collected by the settlement pass once GRACE has passed.
    let who = *actor;
    db.write(move |conn| {
        campaigns::lock(conn, campaign_id)?;
        may_upload(conn, campaign_id, &who)?;
        let [small, medium, large] = &processed.variants;
        let row = images::insert(
            conn,
            &NewImage {
                campaign_id,
                alt: &upload.alt,
                width: processed.width as i32,
                height: processed.height as i32,
                content_type: processed.content_type,
                small_key: &small.key,
                medium_key: &medium.key,
                large_key: &large.key,
                created_at: now.naive_utc(),
            },
        )?;
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        images::settle_keys(conn, &keys)?;
        Ok(row)
    })
    .await
}

fn distinct_keys(processed: &Processed) -> Vec<String> {
    let mut keys: Vec<String> = processed.variants.iter().map(|v| v.key.clone()).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The campaign's images, for its creator and admins.
pub fn list(conn: &mut DbConn, campaign_id: CampaignId, actor: &Actor) -> Result<Vec<ImageRow>, CoreError> {
    let campaign = access::owned_or_admin(campaigns::find(conn, campaign_id)?, actor)?;
    Ok(images::for_campaign(conn, campaign.id)?)
}

/// Deletes an image of the campaign and notes its keys; the caller then runs [`collect`] on
/// them. Refused while the image is the cover of a live campaign.
pub fn delete(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    image_id: ImageId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<String>, CoreError> {
    let campaign = access::owned_or_admin(campaigns::find(conn, campaign_id)?, actor)?;
    let image = of_campaign(conn, &campaign, image_id)?;
    if campaign.cover_image_id == Some(image.id) && campaign.status == CampaignStatus::Live {
        return Err(
            Refusal::conflict("this image is the cover of a live campaign: set another cover first").into(),
        );
    }
    Ok(remove(conn, &image, now)?)
}

/// Deletes every image of a campaign (a draft being deleted), noting their keys.
pub fn delete_all(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    now: DateTime<Utc>,
) -> Result<Vec<String>, CoreError> {
    let mut keys = Vec::new();
    for image in images::for_campaign(conn, campaign_id)? {
        keys.extend(remove(conn, &image, now)?);
    }
    Ok(keys)
}

fn remove(conn: &mut DbConn, image: &ImageRow, now: DateTime<Utc>) -> diesel::QueryResult<Vec<String>> {
    let keys = image.keys();
    images::release_keys(conn, &keys, (now - GRACE).naive_utc())?;
    images::delete(conn, image.id)?;
    Ok(keys.iter().map(|k| (*k).to_owned()).collect())
}

/// The image, if it belongs to `campaign` (else not found: another campaign's image does not
/// exist for this one).
pub fn of_campaign(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    image_id: ImageId,
) -> Result<ImageRow, CoreError> {
    match images::find(conn, image_id) {
        Ok(image) if image.campaign_id == campaign.id => Ok(image),
        Ok(_) | Err(diesel::result::Error::NotFound) => Err(Refusal::NotFound.into()),
        Err(e) => Err(e.into()),
    }
}

/// Checks that `field` names one of the campaign's images (for covers and tiers).
pub fn check_usable(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    field: &str,
    image_id: ImageId,
) -> Result<(), CoreError> {
    match images::find(conn, image_id) {
        Ok(image) if image.campaign_id == campaign_id => Ok(()),
        Ok(_) | Err(diesel::result::Error::NotFound) => Err(Refusal::field(
            field,
            format!("image {image_id} is not one of this campaign's images"),
        )
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// Checks a list of the campaign's images (a gallery, an update's images).
pub fn check_all_usable(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    field: &str,
    ids: &[ImageId],
    max: usize,
) -> Result<(), CoreError> {
    distinct_ids(ids, max).map_err(|e| Refusal::field(field, e))?;
    let found = images::by_ids(conn, ids)?;
    if let Some(missing) = ids.iter().find(|id| {
        !found
            .iter()
            .any(|image| image.id == **id && image.campaign_id == campaign_id)
    }) {
        return Err(Refusal::field(
            field,
            format!("image {missing} is not one of this campaign's images"),
        )
        .into());
    }
    Ok(())
}

/// Sets the campaign's gallery (creator or admin; draft or live, before the deadline).
pub fn set_gallery(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    actor: &Actor,
    ids: &[ImageId],
    now: DateTime<Utc>,
) -> Result<Vec<ImageRow>, CoreError> {
    let campaign = access::owned_or_admin(campaigns::find(conn, campaign_id)?, actor)?;
    if !matches!(campaign.status, CampaignStatus::Draft | CampaignStatus::Live) {
        return Err(Refusal::Conflict(format!(
            "a {} campaign's gallery can no longer change",
            campaign.status.as_str()
        ))
        .into());
    }
    crate::campaigns::check_before_deadline(&campaign, now)?;
    campaigns::lock(conn, campaign_id)?;
    check_all_usable(conn, campaign_id, "image_ids", ids, MAX_PER_CAMPAIGN as usize)?;
    images::set_gallery(conn, campaign_id, ids)?;
    Ok(images::gallery(conn, campaign_id)?)
}

/// Checks the images an update embeds.
pub fn check_update_images(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    ids: &[ImageId],
) -> Result<(), CoreError> {
    check_all_usable(conn, campaign_id, "image_ids", ids, MAX_PER_UPDATE)
}

/// Deletes the objects of noted keys older than `cutoff` that no image row stores, each under
/// its entry's lock. Returns how many objects were deleted.
pub fn collect(
    conn: &mut DbConn,
    media: &Media,
    keys: &[String],
    cutoff: DateTime<Utc>,
) -> Result<u64, CoreError> {
    let mut deleted = 0;
    for key in keys {
        let gone = write_transaction(conn, |conn| {
            if !images::lock_pending(conn, key, cutoff.naive_utc())? {
                return Ok::<_, CoreError>(false);
            }
            let in_use = images::key_in_use(conn, key)?;
            if !in_use {
                media.store.delete_blocking(key).map_err(CoreError::Unavailable)?;
            }
            images::drop_pending(conn, key)?;
            Ok(!in_use)
        })?;
        deleted += u64::from(gone);
    }
    Ok(deleted)
}

/// One batch of the settlement pass's cleanup: images unused a day after upload, then noted
/// keys past their grace. Returns what it deleted (images, objects) and whether a batch was
/// full.
pub fn cleanup_batch(
    conn: &mut DbConn,
    media: &Media,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<(u64, u64, bool), CoreError> {
    let unused = images::unused_since(conn, (now - UNUSED_FOR).naive_utc(), limit)?;
    let mut removed = 0;
    for image in &unused {
        removed += write_transaction(conn, |conn| {
            campaigns::lock(conn, image.campaign_id)?;
            // Still unused once the campaign is locked (nobody set it as a cover meanwhile).
            let still = images::is_unused(conn, image.id)?;
            if still {
                remove(conn, image, now)?;
            }
            Ok::<_, CoreError>(u64::from(still))
        })?;
    }
    let due = images::pending_before(conn, (now - GRACE).naive_utc(), limit)?;
    let objects = collect(conn, media, &due, now - GRACE)?;
    Ok((
        removed,
        objects,
        unused.len() as i64 == limit || due.len() as i64 == limit,
    ))
}
