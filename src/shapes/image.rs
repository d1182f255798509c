//! An image as the API shows it: its variants' URLs under `MEDIA_PUBLIC_URL`.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConn;
use crate::db::images::{self, ImageRow};
use crate::domain::ImageId;
use crate::media::MediaLinks;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImageResponse {
    #[schema(example = 7)]
    pub id: i64,
    /// Alternative text for screen readers; empty for a decorative image.
    #[schema(example = "The lamp mounted on a handlebar")]
    pub alt: String,
    /// Of the image as uploaded (after its EXIF orientation).
    #[schema(example = 3000)]
    pub width: i32,
    #[schema(example = 2000)]
    pub height: i32,
    pub variants: ImageVariants,
}

/// Re-encoded copies, 400, 1 024 and 1 600 pixels wide (an image narrower than one keeps its
/// own width). Each URL is content-addressed: what it names never changes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImageVariants {
    #[schema(example = "https://media.example.com/5d41402abc4b2a76b9719d911017c592.jpg")]
    pub small: String,
    pub medium: String,
    pub large: String,
}

impl ImageResponse {
    pub fn new(row: &ImageRow, links: &MediaLinks) -> Self {
        Self {
            id: row.id.0,
            alt: row.alt.clone(),
            width: row.width,
            height: row.height,
            variants: ImageVariants {
                small: links.url(&row.small_key),
                medium: links.url(&row.medium_key),
                large: links.url(&row.large_key),
            },
        }
    }
}

/// The images with these ids, by id, in one query (the covers of a page of campaigns, the
/// images of a campaign's tiers).
pub fn by_id(
    conn: &mut DbConn,
    ids: impl IntoIterator<Item = ImageId>,
    links: &MediaLinks,
) -> diesel::QueryResult<HashMap<ImageId, ImageResponse>> {
    let mut wanted: Vec<ImageId> = ids.into_iter().collect();
    wanted.sort();
    wanted.dedup();
    Ok(images::by_ids(conn, &wanted)?
        .iter()
        .map(|row| (row.id, ImageResponse::new(row, links)))
        .collect())
}

/// One image, if `id` names one.
pub fn one(
    conn: &mut DbConn,
    id: Option<ImageId>,
    links: &MediaLinks,
) -> diesel::QueryResult<Option<ImageResponse>> {
    Ok(match id {
        Some(id) => by_id(conn, [id], links)?.remove(&id),
        None => None,
    })
}
