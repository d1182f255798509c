//! HTTP plumbing shared by every route: the JSON extractor, middleware, and error handlers
//! for actix's own extractors.

pub mod cursor;
pub mod fallback;
pub mod idempotency;
pub mod json;
pub mod metrics;
pub mod middleware;
pub mod query;
pub mod rate_limit;

pub use json::Json;
pub use query::Query;

use actix_web::error::PathError;
use actix_web::{HttpRequest, web};

use crate::error::ApiError;

/// A path segment of the wrong type (`/campaigns/abc`) is a 404: no such resource.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_err: PathError, _req: &HttpRequest| ApiError::NotFound.into())
}
