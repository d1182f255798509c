//! Campaign media: images uploaded by creators, re-encoded into variants and kept in an object
//! store (the local disk by default, S3-compatible storage in production).
//!
//! - [`process`] turns an upload into variants, refusing what is not a plain image.
//! - [`store`] keeps the variants under content-addressed keys.
//! - [`images`] holds the rules: who may upload, where an image may be used, what deleting
//!   one does, and the cleanup the settlement pass runs.

pub mod images;
pub mod process;
pub mod store;

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::config::{MediaSettings, MediaStoreUrl};
use crate::domain::{CoreError, Refusal};
pub use store::Store;

/// Where clients load variants from: `MEDIA_PUBLIC_URL`, or its default.
#[derive(Debug, Clone)]
pub struct MediaLinks(Arc<str>);

impl MediaLinks {
    pub fn new(base: impl Into<String>) -> Self {
        Self(Arc::from(base.into().trim_end_matches('/')))
    }

    /// `MEDIA_PUBLIC_URL`, else this server's `/media` at `served_at` (file store) or the
    /// bucket's own address (S3, path-style under `S3_ENDPOINT`).
    pub fn from_settings(settings: &MediaSettings, served_at: &str) -> Self {
        if let Some(url) = &settings.public_url {
            return Self::new(url.clone());
        }
        match &settings.store {
            MediaStoreUrl::File(_) => Self::new(format!("{served_at}/media")),
            MediaStoreUrl::S3 { bucket, prefix } => {
                let bucket_url = match &settings.s3.endpoint {
                    Some(endpoint) => format!("{endpoint}/{bucket}"),
                    None => format!("https://{bucket}.s3.{}.amazonaws.com", settings.s3.region),
                };
                if prefix.is_empty() {
                    Self::new(bucket_url)
                } else {
                    Self::new(format!("{bucket_url}/{prefix}"))
                }
            }
        }
    }

    pub fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.0)
    }
}

/// The media service an application holds: its store, its links, and the turns for the
/// CPU- and memory-heavy processing of uploads.
pub struct Media {
    pub store: Store,
    pub links: MediaLinks,
    pub max_pixels: u64,
    processing: Semaphore,
}

impl Media {
    pub fn new(settings: &MediaSettings, links: MediaLinks) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            store: Store::open(settings)?,
            links,
            max_pixels: u64::from(settings.max_pixels),
            processing: Semaphore::new(settings.processing_concurrency as usize),
        }))
    }

    /// Processes an upload on the blocking pool, a bounded number at once.
    pub async fn process(
        &self,
        bytes: Vec<u8>,
        kind: process::Kind,
    ) -> Result<process::Processed, CoreError> {
        let _turn = self
            .processing
            .acquire()
            .await
            .map_err(|e| CoreError::Unexpected(e.into()))?;
        let max_pixels = self.max_pixels;
        tokio::task::spawn_blocking(move || process::process(&bytes, kind, max_pixels))
            .await
            .map_err(|e| CoreError::Unexpected(e.into()))?
            .map_err(CoreError::from)
    }
}

/// The refusal for a body past [`process::MAX_BYTES`].
pub fn too_large() -> Refusal {
    Refusal::TooLarge(format!("an image may have at most {} bytes", process::MAX_BYTES))
}
