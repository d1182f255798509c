//! The object store behind the media: a directory on the local disk, or a bucket on any
//! S3-compatible service, through `object_store`. Its I/O runs on a runtime of its own, so
//! that request handlers (on actix's runtimes) and the settlement pass (on a blocking thread,
//! in the server or the CLI) share one client and its connection pool.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use anyhow::Context;
use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions};

use crate::config::{MediaSettings, MediaStoreUrl};

/// How long a variant may be cached: for ever, since its key is its content's hash.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The type a variant's key names (`.jpg` or `.webp`).
pub fn content_type(key: &str) -> &'static str {
    if key.ends_with(".webp") {
        "image/webp"
    } else {
        "image/jpeg"
    }
}

pub struct Store {
    backend: Backend,
    runtime: IoRuntime,
}

enum Backend {
    /// Opened on first use: the directory is created then, not at start-up.
    File {
        root: PathBuf,
        opened: OnceLock<Arc<dyn ObjectStore>>,
    },
    S3(Arc<dyn ObjectStore>),
}

/// A stored variant as `GET /media/{key}` serves it.
pub struct Object {
    pub bytes: Bytes,
    pub e_tag: Option<String>,
}

impl Store {
    pub fn open(settings: &MediaSettings) -> anyhow::Result<Self> {
        let backend = match &settings.store {
            MediaStoreUrl::File(root) => Backend::File {
                root: root.clone(),
                opened: OnceLock::new(),
            },
            MediaStoreUrl::S3 { bucket, prefix } => {
                let s3 = &settings.s3;
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(&s3.region);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(id) = &s3.access_key_id {
                    builder = builder.with_access_key_id(id);
                }
                if let Some(secret) = &s3.secret_access_key {
                    builder = builder.with_secret_access_key(String::from_utf8_lossy(secret.expose()));
                }
                let store = builder
                    .build()
                    .context("MEDIA_STORE: cannot configure the S3 client")?;
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(store)
                } else {
                    Arc::new(PrefixStore::new(store, prefix.as_str()))
                };
                Backend::S3(store)
            }
        };
        Ok(Self {
            backend,
            runtime: IoRuntime::start()?,
        })
    }

    fn inner(&self) -> anyhow::Result<Arc<dyn ObjectStore>> {
        match &self.backend {
            Backend::S3(store) => Ok(store.clone()),
            Backend::File { root, opened } => {
                if let Some(store) = opened.get() {
                    return Ok(store.clone());
                }
                std::fs::create_dir_all(root)
                    .with_context(|| format!("cannot create the media directory {}", root.display()))?;
                let store = LocalFileSystem::new_with_prefix(root)
                    .with_context(|| format!("cannot open the media directory {}", root.display()))?;
                Ok(opened.get_or_init(|| Arc::new(store)).clone())
            }
        }
    }

    /// Runs `op` against the store on the store's runtime.
    async fn run<T, F, Fut>(&self, op: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<dyn ObjectStore>) -> Fut,
        Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
    {
        let store = self.inner()?;
        self.runtime
            .handle()?
            .spawn(op(store))
            .await
            .context("media store task")?
    }

    /// Stores a variant. On S3 the object carries the headers a bucket serves it with (its type,
    /// a year of caching, inline); the file store's are set by `GET /media/{key}`.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        let path = Path::from(key);
        let mut options = PutOptions::default();
        if matches!(self.backend, Backend::S3(_)) {
            options.attributes = Attributes::from_iter([
                (Attribute::ContentType, content_type(key)),
                (Attribute::CacheControl, IMMUTABLE),
                (Attribute::ContentDisposition, "inline"),
            ]);
        }
        self.run(move |store| async move {
            store
                .put_opts(&path, Bytes::from(bytes).into(), options)
                .await
                .with_context(|| format!("cannot store {path}"))?;
            Ok(())
        })
        .await
    }

    /// The object under `key`; `None` when there is none.
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<Object>> {
        let path = Path::from(key);
        self.run(move |store| async move {
            match store.get(&path).await {
                Ok(found) => {
                    let e_tag = found.meta.e_tag.clone();
                    let bytes = found
                        .bytes()
                        .await
                        .with_context(|| format!("cannot read {path}"))?;
                    Ok(Some(Object { bytes, e_tag }))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(anyhow::Error::new(e).context(format!("cannot read {path}"))),
            }
        })
        .await
    }

    /// Deletes the object under `key`, if there is one. Blocking: for the settlement pass and
    /// other callers on a blocking thread.
    pub fn delete_blocking(&self, key: &str) -> anyhow::Result<()> {
        let path = Path::from(key);
        let store = self.inner()?;
        let handle = self.runtime.handle()?;
        let task = handle.spawn(async move {
            match store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(anyhow::Error::new(e).context(format!("cannot delete {path}"))),
            }
        });
        handle.block_on(task).context("media store task")?
    }

    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::File { root, .. } => format!("file://{}", root.display()),
            Backend::S3(store) => store.to_string(),
        }
    }
}

/// A one-thread runtime for the store's I/O, shut down without waiting when dropped (a test's
/// application is dropped inside another runtime, where waiting is not allowed).
struct IoRuntime(Option<tokio::runtime::Runtime>);

impl IoRuntime {
    fn start() -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("media-io")
            .enable_all()
            .build()
            .context("cannot start the media store's runtime")?;
        Ok(Self(Some(runtime)))
    }

    fn handle(&self) -> anyhow::Result<&tokio::runtime::Handle> {
        self.0
            .as_ref()
            .map(tokio::runtime::Runtime::handle)
            .context("the media store's runtime has stopped")
    }
}

impl Drop for IoRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
