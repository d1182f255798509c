//! Answers anonymous callers may keep: a strong `ETag` over the body, `Cache-Control` that lets
//! browsers and shared caches reuse it for a few seconds, and `304 Not Modified` when the
//! caller already holds it. Also this instance's own copy of campaign views, which saves the
//! database its most frequent read.
//!
//! A kept view is dropped by every write this instance answers (so a caller sees its own change
//! at once) and after [`VIEW_MAX_AGE`] in any case (the bound on how long another instance's,
//! or the command line's, change can go unseen).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, CacheControl, CacheDirective, ETag, EntityTag, IfNoneMatch};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse, web};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::state::AppState;

/// How long browsers and shared caches may reuse a public answer, and serve it stale while
/// they revalidate it.
const MAX_AGE_SECONDS: u32 = 5;
const STALE_WHILE_REVALIDATE_SECONDS: u32 = 30;

/// The longest a kept campaign view is served: other instances' writes show within it.
pub const VIEW_MAX_AGE: Duration = Duration::from_secs(1);

/// Views kept at most (each a few kilobytes).
const VIEWS_KEPT: usize = 2048;

/// A body with its entity tag.
#[derive(Debug, Clone)]
pub struct Tagged {
    pub body: Bytes,
    pub etag: EntityTag,
}

impl Tagged {
    /// The tag is a digest of the bytes: equal tags mean equal answers.
    pub fn new(body: Bytes) -> Self {
        let digest = Sha256::digest(&body);
        let tag: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            body,
            etag: EntityTag::new_strong(tag),
        }
    }

    pub fn json<T: serde::Serialize>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_vec(value).map(|v| Self::new(Bytes::from(v)))
    }
}

/// Whether the request carries credentials: only answers to callers without are public.
pub fn is_anonymous(req: &HttpRequest) -> bool {
    !req.headers().contains_key(header::AUTHORIZATION)
}

/// A 200 with `body`, or a 304 when `If-None-Match` names its tag; both say how long it may
/// be kept, by anyone, and that an authenticated request may get another answer.
pub fn public(req: &HttpRequest, tagged: &Tagged) -> HttpResponse {
    let unchanged = match req.get_header::<IfNoneMatch>() {
        Some(IfNoneMatch::Any) => true,
        Some(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(&tagged.etag)),
        None => false,
    };
    let mut answer = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    answer
        .insert_header(ETag(tagged.etag.clone()))
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(MAX_AGE_SECONDS),
            CacheDirective::Extension(
                "stale-while-revalidate".into(),
                Some(STALE_WHILE_REVALIDATE_SECONDS.to_string()),
            ),
        ]))
        .insert_header((header::VARY, "Authorization"));
    if unchanged {
        answer.finish()
    } else {
        answer
            .content_type(mime::APPLICATION_JSON)
            .body(tagged.body.clone())
    }
}

struct Kept {
    view: Tagged,
    generation: u64,
    filled: Instant,
    /// The application clock's time the view was computed at (its deadlines are relative to it).
    at: DateTime<Utc>,
}

/// This instance's campaign views for anonymous callers, by the id or slug asked for.
pub struct Views {
    kept: quick_cache::sync::Cache<String, Arc<Kept>>,
    /// Raised by every write; a view filled under an older generation is not served.
    generation: AtomicU64,
}

impl Default for Views {
    fn default() -> Self {
        Self {
            kept: quick_cache::sync::Cache::new(VIEWS_KEPT),
            generation: AtomicU64::new(0),
        }
    }
}

impl Views {
    /// The kept view of `key`, unless a write, [`VIEW_MAX_AGE`] or the clock has passed it.
    pub fn get(&self, key: &str, now: DateTime<Utc>) -> Option<Tagged> {
        let kept = self.kept.get(key)?;
        let fresh = kept.generation == self.generation.load(Ordering::Acquire)
            && kept.filled.elapsed() < VIEW_MAX_AGE
            && (now - kept.at).abs() < chrono::Duration::from_std(VIEW_MAX_AGE).unwrap_or_default();
        fresh.then(|| kept.view.clone())
    }

    /// Read before the database is: a write that commits meanwhile makes the view filled
    /// under it stale at once.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn put(&self, key: String, view: Tagged, generation: u64, at: DateTime<Utc>) {
        self.kept.insert(
            key,
            Arc::new(Kept {
                view,
                generation,
                filled: Instant::now(),
                at,
            }),
        );
    }

    /// Every kept view is stale from now on.
    pub fn written(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// After each answered request that may have written (any method but GET, HEAD and OPTIONS),
/// drops this instance's kept views, before the caller sees the answer.
pub async fn forget_views_on_write(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let writes = !req.method().is_safe();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await;
    if writes && let Some(state) = state {
        state.views.written();
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_bodies_have_equal_strong_tags() {
        let a = Tagged::new(Bytes::from_static(b"{\"a\":1}"));
        let b = Tagged::new(Bytes::from_static(b"{\"a\":1}"));
        let c = Tagged::new(Bytes::from_static(b"{\"a\":2}"));
        assert!(a.etag.strong_eq(&b.etag));
        assert!(!a.etag.strong_eq(&c.etag));
        assert_eq!(a.etag.tag().len(), 32);
    }

    #[test]
    fn a_write_makes_kept_views_stale() {
        let views = Views::default();
        let now = Utc::now();
        let generation = views.generation();
        views.put(
            "7".into(),
            Tagged::new(Bytes::from_static(b"{}")),
            generation,
            now,
        );
        assert!(views.get("7", now).is_some());
        assert!(
            views.get("7", now + chrono::Duration::seconds(2)).is_none(),
            "the clock moved on"
        );
        views.written();
        assert!(views.get("7", now).is_none());
        // A view read before the write but stored after it is stale too.
        views.put(
            "7".into(),
            Tagged::new(Bytes::from_static(b"{}")),
            generation,
            now,
        );
        assert!(views.get("7", now).is_none());
    }
}
