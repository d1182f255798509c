//! The creator's posts to backers: who may publish, and who may read a backers-only one.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::access;
use crate::db::DbConn;
use crate::db::campaign_updates::{self, NewUpdate, UpdateRow};
use crate::db::campaigns::{self, CampaignRow};
use crate::db::images;
use crate::db::pledges;
use crate::domain::campaign::text;
use crate::domain::image::{MAX_PER_UPDATE, distinct_ids};
use crate::domain::{Actor, CampaignId, CampaignStatus, CoreError, FieldErrors, ImageId, Refusal};
use crate::mail::queue;
use crate::media::{self, MediaLinks};
use crate::shapes::image::ImageResponse;

/// A post, valid: a title of 1–120 characters and a body of up to 20 000.
pub struct Post {
    title: String,
    body: String,
    backers_only: bool,
    /// Of the campaign's images, in order, at most [`MAX_PER_UPDATE`].
    image_ids: Vec<ImageId>,
}

impl Post {
    pub fn parse(
        title: &str,
        body: &str,
        backers_only: bool,
        image_ids: Vec<ImageId>,
    ) -> Result<Self, CoreError> {
        let mut errors = FieldErrors::default();
        let title = errors.check("title", text(title, 1, 120, false));
        let body = errors.check("body", text(body, 1, 20_000, true));
        errors.check("image_ids", distinct_ids(&image_ids, MAX_PER_UPDATE));
        errors.finish()?;
        let (title, body) = title
            .zip(body)
            .ok_or_else(|| CoreError::unexpected("post fields passed validation without values"))?;
        Ok(Self {
            title,
            body,
            backers_only,
            image_ids,
        })
    }
}

/// Publishes a post on the owner's launched campaign (not a draft, not suspended) and queues
/// it to everyone who backs the campaign.
pub fn publish(
    conn: &mut DbConn,
    links: &MediaLinks,
    campaign_id: CampaignId,
    actor: &Actor,
    post: &Post,
    now: DateTime<Utc>,
) -> Result<(UpdateRow, Vec<ImageResponse>), CoreError> {
    let campaign = access::owned_by(campaigns::find(conn, campaign_id)?, actor)?;
    if matches!(campaign.status, CampaignStatus::Draft | CampaignStatus::Suspended) {
        return Err(Refusal::Conflict(format!(
            "a {} campaign cannot post updates",
            campaign.status.as_str()
        ))
        .into());
    }
    media::images::check_update_images(conn, campaign.id, &post.image_ids)?;
    let row = campaign_updates::insert(
        conn,
        &NewUpdate {
            campaign_id: campaign.id,
            author_id: actor.id,
            title: &post.title,
            body: &post.body,
            backers_only: post.backers_only,
            created_at: now.naive_utc(),
        },
    )?;
    images::set_update_images(conn, row.id, &post.image_ids)?;
    let shown = images_of(conn, links, &[row.id])?
        .remove(&row.id)
        .unwrap_or_default();
    crate::webhooks::events::update(conn, &campaign, &row, shown.clone(), now)?;
    queue::campaign_update(
        conn,
        &campaign,
        &queue::Update {
            id: row.id,
            title: &row.title,
            body: &row.body,
        },
        now,
    )?;
    Ok((row, shown))
}

/// The images of these updates, by update, in their order.
pub fn images_of(
    conn: &mut DbConn,
    links: &MediaLinks,
    update_ids: &[i64],
) -> Result<HashMap<i64, Vec<ImageResponse>>, CoreError> {
    let mut by_update: HashMap<i64, Vec<ImageResponse>> = HashMap::new();
    for (update_id, image) in images::for_updates(conn, update_ids)? {
        by_update
            .entry(update_id)
            .or_default()
            .push(ImageResponse::new(&image, links));
    }
    Ok(by_update)
}

/// Whether `viewer` reads the body of a backers-only post: the creator, admins, and those
/// who back the campaign.
pub fn may_read_backers_only(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    viewer: Option<&Actor>,
) -> Result<bool, CoreError> {
    Ok(match viewer {
        None => false,
        Some(user) if user.is_admin() || user.id == campaign.owner_id => true,
        Some(user) => pledges::has_backed(conn, campaign.id, user.id)?,
    })
}

/// A campaign's posts as `viewer` may see them, newest first, with whether they read
/// backers-only bodies.
pub fn page(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    viewer: Option<&Actor>,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<UpdateRow>, bool), CoreError> {
    let campaign = access::visible(campaigns::find(conn, campaign_id)?, viewer)?;
    let may_read = may_read_backers_only(conn, &campaign, viewer)?;
    Ok((
        campaign_updates::for_campaign(conn, campaign.id, before, limit)?,
        may_read,
    ))
}
