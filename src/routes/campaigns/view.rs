//! What the API shows of campaigns and tiers.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::campaigns::late;
use crate::campaigns::tiers::stored_shipping;
pub use crate::campaigns::visibility::Viewer;
use crate::db::DbConn;
use crate::db::campaigns::{self, CampaignRow};
use crate::db::images as db_images;
use crate::db::tiers::{self, TierRow};
use crate::domain::{CampaignId, CoreError, Currency, ImageId, Money, Visibility};
use crate::media::MediaLinks;
use crate::routes::addons::list::seen_addons;
use crate::routes::addons::view::AddonResponse;
pub use crate::shapes::campaign::{CampaignSummary, Owner};
use crate::shapes::image::{self, ImageResponse};

/// A campaign's page: the summary, its description, its reward tiers and add-ons.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignResponse {
    #[serde(flatten)]
    pub summary: CampaignSummary,
    pub description: String,
    /// The gallery, in the creator's order.
    pub gallery: Vec<ImageResponse>,
    pub tiers: Vec<TierResponse>,
    /// Extra items a pledge may buy beside its reward.
    pub addons: Vec<AddonResponse>,
    pub followers_count: i64,
    /// Whether the caller follows it (false without a token).
    pub following: bool,
    /// Whether its creator lets backers pledge once it is successful (see `taking_late_pledges`).
    pub late_pledges: bool,
    /// When late pledges close (365 days after the deadline unless the creator chose sooner);
    /// null before launch.
    pub late_pledges_until: Option<DateTime<Utc>>,
    /// Whether a pledge made now is a late pledge, charged at once: successful, late pledges on
    /// and not yet closed.
    pub taking_late_pledges: bool,
}

/// One page of campaigns; pass `next_cursor` as `cursor` for the next (null: last page).
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignPage {
    pub items: Vec<CampaignSummary>,
    pub next_cursor: Option<String>,
}

/// The campaign page: summary, description and tiers, as `now` sees them.
pub fn full_view(
    conn: &mut DbConn,
    links: &MediaLinks,
    row: CampaignRow,
    viewer: Viewer<'_>,
    now: DateTime<Utc>,
) -> Result<CampaignResponse, CoreError> {
    let owner = campaigns::owner_name(conn, row.owner_id)?;
    let tier_rows = seen_tiers(conn, row.id, viewer)?;
    let used = tier_rows
        .iter()
        .filter_map(|t| t.image_id)
        .chain(row.cover_image_id);
    let images = image::by_id(conn, used, links)?;
    let tiers = tier_rows
        .iter()
        .map(|tier| TierResponse::new(tier, row.currency, pick(&images, tier.image_id), viewer, now))
        .collect::<Result<_, _>>()?;
    let gallery = db_images::gallery(conn, row.id)?
        .iter()
        .map(|r| ImageResponse::new(r, links))
        .collect();
    let addons = seen_addons(conn, &row, viewer, now)?;
    let late_pledges_until = late::closes_at(&row).map(|t| t.and_utc());
    let taking_late_pledges = late::takes_late_pledges(&row, now);
    Ok(CampaignResponse {
        late_pledges: row.late_pledges,
        late_pledges_until,
        taking_late_pledges,
        summary: CampaignSummary::new(&row, owner, pick(&images, row.cover_image_id), now),
        description: row.description,
        gallery,
        tiers,
        addons,
        followers_count: crate::db::follows::count(conn, row.id)?,
        following: false,
    })
}

/// The campaign's tiers `viewer` sees, cheapest first.
pub fn seen_tiers(conn: &mut DbConn, id: CampaignId, viewer: Viewer<'_>) -> Result<Vec<TierRow>, CoreError> {
    let mut rows = tiers::for_campaign(conn, id)?;
    rows.retain(|t| viewer.sees(t.visibility, t.secret_token.as_deref()));
    Ok(rows)
}

/// A prelaunch draft as everyone but its creator and admins sees it: title, blurb, category,
/// cover and creator, with no description, gallery or tiers.
pub fn coming_soon(mut view: CampaignResponse) -> CampaignResponse {
    view.description = String::new();
    view.gallery.clear();
    view.tiers.clear();
    view.addons.clear();
    view
}

/// The image `id` names among those loaded.
pub fn pick(images: &HashMap<ImageId, ImageResponse>, id: Option<ImageId>) -> Option<ImageResponse> {
    id.and_then(|id| images.get(&id).cloned())
}

/// A reward tier.
#[derive(Debug, Serialize, ToSchema)]
pub struct TierResponse {
    pub id: i64,
    #[schema(example = "Early bird")]
    pub title: String,
    pub description: String,
    /// Smallest pledge for this reward, shipping excluded.
    #[schema(example = "25.00")]
    pub min_amount: String,
    /// Smallest late pledge for it (after the campaign's success), shipping excluded; null:
    /// `min_amount`.
    #[schema(example = "30.00")]
    pub late_price: Option<String>,
    /// Units on offer; null for unlimited.
    #[schema(example = 100)]
    pub quantity: Option<i32>,
    /// Units held by backers.
    pub claimed: i32,
    /// Units left; null for unlimited.
    pub remaining: Option<i32>,
    /// `YYYY-MM`.
    #[schema(example = "2027-03")]
    pub estimated_delivery: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Fee by ISO country code, `*` for the rest of the world; null if nothing ships.
    #[schema(example = json!({"US": "5.00", "*": "15.00"}))]
    pub shipping: Option<BTreeMap<String, String>>,
    /// Inside its time window and not sold out.
    pub available: bool,
    pub image: Option<ImageResponse>,
    /// `secret`: left out of public listings; shown with `?secret=` and pledged on with
    /// `"secret"`, the token.
    pub visibility: Visibility,
    /// The token to share a secret tier with (its creator and admins only; else null).
    pub secret_token: Option<String>,
}

impl TierResponse {
    pub fn new(
        row: &TierRow,
        currency: Currency,
        image: Option<ImageResponse>,
        viewer: Viewer<'_>,
        now: DateTime<Utc>,
    ) -> Result<Self, CoreError> {
        let remaining = row.quantity.map(|q| (q - row.claimed).max(0));
        let now = now.naive_utc();
        let in_window = row.starts_at.is_none_or(|s| s <= now) && row.ends_at.is_none_or(|e| now < e);
        let shipping = stored_shipping(row)?.map(|s| s.to_decimal_table(currency));
        Ok(Self {
            id: row.id.0,
            title: row.title.clone(),
            description: row.description.clone(),
            min_amount: Money::from_minor(row.min_amount_minor, currency).to_decimal_string(),
            late_price: row
                .late_price_minor
                .map(|minor| Money::from_minor(minor, currency).to_decimal_string()),
            quantity: row.quantity,
            claimed: row.claimed,
            remaining,
            estimated_delivery: row.estimated_delivery.clone(),
            starts_at: row.starts_at.map(|t| t.and_utc()),
            ends_at: row.ends_at.map(|t| t.and_utc()),
            shipping,
            available: in_window && remaining != Some(0),
            image,
            visibility: row.visibility,
            secret_token: row.secret_token.clone().filter(|_| viewer.sees_tokens()),
        })
    }
}

/// For PATCH bodies: tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}
