//! The JSON body extractor every route uses.
//!
//! Unlike `actix_web::web::Json` it answers problem+json, reports the JSON path of a field that
//! fails to deserialize (`serde_path_to_error`), and tells malformed JSON (400) from a
//! well-formed body with wrong, missing or unknown fields (422).

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::{ApiError, FieldError};

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON));
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType);
            }
            if declared_len.is_some_and(|len| len > BODY_LIMIT) {
                return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("cannot read body: {e}")))?;
                if body.len() + chunk.len() > BODY_LIMIT {
                    return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
                }
                body.extend_from_slice(&chunk);
            }
            parse(&body).map(Json)
        })
    }
}

/// Deserializes a body, naming the offending field on a data error.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            Category::Data => field_error(&path, &inner.to_string(), "body"),
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::BadRequest(format!("the body is not valid JSON: {inner}"))
            }
        }
    })
}

/// A 422 naming the field a deserialization error is about: the field in backticks for unknown
/// and missing fields (whose path is the parent object), else the path; `root` for the whole.
pub(crate) fn field_error(path: &str, message: &str, root: &str) -> ApiError {
    let message = data_error_message(message);
    let field = unknown_or_missing_field(&message).unwrap_or_else(|| path.to_owned());
    let field = if field == "." { root.to_owned() } else { field };
    ApiError::Validation(vec![FieldError::new(field, message)])
}

/// serde's message without the " at line 1 column 42" suffix, which means nothing to a client.
fn data_error_message(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// For "unknown field `x`" and "missing field `x`" the path points at the parent object;
/// the field a client needs to see is the one in backticks.
fn unknown_or_missing_field(message: &str) -> Option<String> {
    if !(message.starts_with("unknown field") || message.starts_with("missing field")) {
        return None;
    }
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
    }

    fn field_of(result: Result<Body, ApiError>) -> (String, String) {
        match result {
            Err(ApiError::Validation(errors)) => (errors[0].field.clone(), errors[0].message.clone()),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_field_is_named() {
        let (field, message) = field_of(parse(br#"{"name":"a","count":1,"role":"admin"}"#));
        assert_eq!(field, "role");
        assert!(message.starts_with("unknown field `role`"), "{message}");
    }

    #[test]
    fn missing_field_is_named() {
        assert_eq!(field_of(parse(br#"{"name":"a"}"#)).0, "count");
    }

    #[test]
    fn wrong_type_names_the_path() {
        let (field, message) = field_of(parse(br#"{"name":"a","count":"x"}"#));
        assert_eq!(field, "count");
        assert!(!message.contains("line"), "{message}");
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(
            parse::<Body>(b"{\"name\":"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(parse::<Body>(b"not json"), Err(ApiError::BadRequest(_))));
    }
}
