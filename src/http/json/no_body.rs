//! The extractor of a route that takes no body.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use serde_json::Value;

use super::read_body;
use crate::domain::FieldError;
use crate::http::error::ApiError;

/// The body of a route that takes none: nothing, or an empty JSON object (what many clients
/// send with every POST). Anything else is 422 rather than silently ignored, so a client that
/// believes it sent an option (`{"amount": ...}` to a full refund) learns it was not taken.
pub struct NoBody;

impl FromRequest for NoBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(_req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mut payload = payload.take();
        Box::pin(async move { no_body(&read_body(&mut payload).await?).map(|()| NoBody) })
    }
}

fn no_body(body: &[u8]) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) if fields.is_empty() => Ok(()),
        Ok(Value::Object(fields)) => Err(ApiError::Validation(
            fields
                .keys()
                .map(|key| FieldError::new(key.clone(), "unknown field: this route takes no body"))
                .collect(),
        )),
        _ => Err(ApiError::field("body", "this route takes no body")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_without_a_body_refuses_one() {
        assert!(no_body(b"").is_ok() && no_body(b" {} ").is_ok());
        match no_body(br#"{"amount":"1000000.00"}"#) {
            Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "amount"),
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert!(matches!(no_body(b"amount=1"), Err(ApiError::Validation(_))));
    }
}
