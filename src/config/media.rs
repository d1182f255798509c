//! Media settings: where images are stored and where clients load them from.

use std::path::PathBuf;

use super::values::parse_number;
use super::{AppEnv, Secret};

/// Where the image variants live (`MEDIA_STORE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaStoreUrl {
    /// `file://PATH` (relative to the working directory, created on first use).
    File(PathBuf),
    /// `s3://BUCKET/PREFIX` on any S3-compatible service.
    S3 { bucket: String, prefix: String },
}

impl MediaStoreUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if let Some(path) = raw.strip_prefix("file://") {
            if path.is_empty() {
                return Err("file:// needs a directory, e.g. file://./media".into());
            }
            return Ok(Self::File(PathBuf::from(path)));
        }
        if let Some(rest) = raw.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("s3:// needs a bucket, e.g. s3://bucket/prefix".into());
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        Err(format!("expected file://PATH or s3://BUCKET/PREFIX, got {raw:?}"))
    }
}

/// How to reach an S3-compatible service (`S3_ENDPOINT`, `S3_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`).
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// None: AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct MediaSettings {
    pub store: MediaStoreUrl,
    pub s3: S3Settings,
    /// The base URL clients load variants from (`MEDIA_PUBLIC_URL`). Unset: this server's
    /// `/media` for the file store, the bucket's own URL for S3.
    pub public_url: Option<String>,
    /// Uploads one user may make an hour (`MEDIA_UPLOADS_PER_HOUR`, 60).
    pub uploads_per_hour: u32,
    /// Decoded pixels an image may have (`MEDIA_MAX_PIXELS`, 40 000 000): with the dimension
    /// limit, what bounds the memory one decode takes.
    pub max_pixels: u32,
    /// Images decoded and re-encoded at once (`MEDIA_PROCESSING_CONCURRENCY`, 2); each takes
    /// up to about 5 bytes per pixel of `MEDIA_MAX_PIXELS`.
    pub processing_concurrency: u32,
}

pub(super) fn media_settings(
    get: &impl Fn(&str) -> Option<String>,
    app_env: AppEnv,
    errors: &mut Vec<String>,
) -> MediaSettings {
    let store = match MediaStoreUrl::parse(get("MEDIA_STORE").as_deref().unwrap_or("file://./media")) {
        Ok(store) => store,
        Err(e) => {
            errors.push(format!("MEDIA_STORE: {e}"));
            MediaStoreUrl::File(PathBuf::from("./media"))
        }
    };
    let public_url = get("MEDIA_PUBLIC_URL").map(|raw| raw.trim_end_matches('/').to_owned());
    match &public_url {
        Some(url) if !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) => {
            errors.push(format!(
                "MEDIA_PUBLIC_URL: expected an absolute http(s) URL, got {url:?}"
            ));
        }
        None if app_env == AppEnv::Production && matches!(store, MediaStoreUrl::File(_)) => {
            errors.push(
                "MEDIA_PUBLIC_URL: required when APP_ENV=production with a file:// store (the \
                 public address of this server's /media, or of a CDN in front of it)"
                    .into(),
            );
        }
        _ => {}
    }
    let endpoint = get("S3_ENDPOINT").map(|raw| raw.trim_end_matches('/').to_owned());
    if let Some(endpoint) = &endpoint
        && !url::Url::parse(endpoint).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    {
        errors.push(format!(
            "S3_ENDPOINT: expected an absolute http(s) URL, got {endpoint:?}"
        ));
    }
    let s3 = S3Settings {
        endpoint,
        region: get("S3_REGION").unwrap_or_else(|| "us-east-1".into()),
        access_key_id: get("AWS_ACCESS_KEY_ID"),
        secret_access_key: get("AWS_SECRET_ACCESS_KEY").map(Secret::new),
    };
    MediaSettings {
        store,
        s3,
        public_url,
        uploads_per_hour: parse_number(get, "MEDIA_UPLOADS_PER_HOUR", 60, 1..=100_000, errors),
        max_pixels: parse_number(get, "MEDIA_MAX_PIXELS", 40_000_000, 1..=64_000_000, errors),
        processing_concurrency: parse_number(get, "MEDIA_PROCESSING_CONCURRENCY", 2, 1..=64, errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_parse() {
        assert_eq!(
            MediaStoreUrl::parse("file://./media"),
            Ok(MediaStoreUrl::File("./media".into()))
        );
        assert_eq!(
            MediaStoreUrl::parse("s3://bucket/some/prefix/"),
            Ok(MediaStoreUrl::S3 {
                bucket: "bucket".into(),
                prefix: "some/prefix".into()
            })
        );
        assert_eq!(
            MediaStoreUrl::parse("s3://bucket"),
            Ok(MediaStoreUrl::S3 {
                bucket: "bucket".into(),
                prefix: String::new()
            })
        );
        assert!(MediaStoreUrl::parse("s3:///x").is_err());
        assert!(MediaStoreUrl::parse("ftp://x").is_err());
        assert!(MediaStoreUrl::parse("file://").is_err());
    }
}
