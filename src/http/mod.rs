//! HTTP plumbing shared by every route: the JSON extractor, middleware, and error handlers
//! for actix's own extractors.

pub mod json;
pub mod metrics;
pub mod middleware;
pub mod rate_limit;

pub use json::Json;

use actix_web::error::{PathError, QueryPayloadError};
use actix_web::{HttpRequest, web};

use crate::error::ApiError;

/// Query strings that fail to parse are a 422 naming the parameter when serde says which.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req: &HttpRequest| {
        let message = err.to_string();
        let field = message
            .split('`')
            .nth(1)
            .map_or_else(|| "query".to_owned(), ToOwned::to_owned);
        ApiError::field(field, message.replace("Query deserialize error: ", "")).into()
    })
}

/// A path segment of the wrong type (`/campaigns/abc`) is a 404: no such resource.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_err: PathError, _req: &HttpRequest| ApiError::NotFound.into())
}

/// Answer for any path no route matches.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}
