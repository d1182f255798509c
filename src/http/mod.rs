//! HTTP plumbing shared by every route: the error answered as problem+json, the extractors
//! (JSON body, query, the authenticated actor), middleware, the application state, and the
//! idempotency of creations.

pub mod auth;
pub mod cache;
pub mod cursor;
pub mod error;
pub mod fallback;
pub mod idempotency;
pub mod json;
pub mod metrics;
pub mod middleware;
pub mod query;
pub mod rate_limit;
pub mod state;
pub mod wire;

pub use auth::{AuthUser, MaybeAuthUser};
pub use error::{ApiError, Problem};
pub use json::{Json, NoBody};
pub use query::Query;
pub use state::AppState;

use actix_web::error::PathError;
use actix_web::{HttpRequest, web};

/// A path segment of the wrong type (`/campaigns/abc`) is a 404: no such resource.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_err: PathError, _req: &HttpRequest| ApiError::NotFound.into())
}
