//! The JSON body extractor every route uses.
//!
//! Unlike `actix_web::web::Json` it answers problem+json, reports the JSON path of a field that
//! fails to deserialize (`serde_path_to_error`), and tells malformed JSON (400) from a
//! well-formed body with wrong, missing, unknown or repeated fields (422). [`NoBody`] is the
//! extractor of a route that takes no body: it refuses one rather than ignore it.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

mod no_body;
mod unique;

pub use no_body::NoBody;
use unique::{DUPLICATE, Unique};

use super::error::ApiError;
use crate::domain::{FieldError, text};

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
                return Err(ApiError::UnsupportedMediaType(
                    "the request body must be application/json".into(),
                ));
            }
            if declared_len.is_some_and(|len| len > BODY_LIMIT) {
                return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
            }
            parse(&read_body(&mut payload).await?).map(Json)
        })
    }
}

/// The whole body, refused past [`BODY_LIMIT`].
async fn read_body(payload: &mut Payload) -> Result<BytesMut, ApiError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("cannot read body: {e}")))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Deserializes a body, naming the offending field on a data error.
///
/// The body must be an object, and no object in it may repeat a key: a parser that keeps the
/// first of two (a proxy, a firewall) would read another request than the one served. A number with no fractional part is an integer whatever its
/// spelling (`3.0`, `3e0`), as in JSON Schema, so `"quantity": 3.0` is read as 3; `3.5` for an
/// integer field is still a 422.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut value = parse_value(body)?;
    // serde would also fill a struct from an array of its fields in order (`[null, "5.00"]`);
    // every body of this API is an object.
    if !value.is_object() {
        return Err(ApiError::field("body", "must be a JSON object"));
    }
    check_strings(&value, "")?;
    integral_numbers_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        field_error(&path, &err.into_inner().to_string(), "body")
    })
}

/// The body as a JSON value: 400 unless it is JSON, 422 naming a repeated key.
fn parse_value(body: &[u8]) -> Result<Value, ApiError> {
    let malformed =
        |inner: serde_json::Error| ApiError::BadRequest(format!("the body is not valid JSON: {inner}"));
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = match serde_path_to_error::deserialize::<_, Unique>(&mut deserializer) {
        Ok(Unique(value)) => value,
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let message = data_error_message(&inner.to_string());
            return match message
                .strip_prefix(DUPLICATE)
                .and_then(|key| key.strip_suffix('`'))
            {
                Some(key) => {
                    let field = if path == "." {
                        key.to_owned()
                    } else {
                        format!("{path}.{key}")
                    };
                    Err(ApiError::field(field, "appears more than once"))
                }
                None => Err(malformed(inner)),
            };
        }
    };
    deserializer.end().map_err(malformed)?;
    Ok(value)
}

/// Every string in the body holds only what text may (`domain::text`): a NUL or a bidi
/// override is refused wherever it is, naming where. Line breaks pass here; one-line fields
/// refuse them when they are read.
fn check_strings(value: &Value, path: &str) -> Result<(), ApiError> {
    let at = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) => {
            text::check(s, true).map_err(|m| ApiError::field(if path.is_empty() { "body" } else { path }, m))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check_strings(item, &format!("{path}[{i}]"))),
        Value::Object(fields) => fields
            .iter()
            .try_for_each(|(key, item)| check_strings(item, &at(key))),
        _ => Ok(()),
    }
}

fn integral_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            // Exactly representable, and inside i64: ±2^63 is the first value outside it.
            const LIMIT: f64 = 9_223_372_036_854_775_808.0;
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < LIMIT
            {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

/// A 422 naming the field a deserialization error is about: the path, and for a missing field
/// (whose path is the parent object) the field in backticks under it (`addons[0].quantity`);
/// `root` for the whole.
pub(crate) fn field_error(path: &str, message: &str, root: &str) -> ApiError {
    let message = data_error_message(message);
    let field = match unknown_or_missing_field(&message) {
        Some(name) if path == "." => name,
        // An unknown field's path already ends with it.
        Some(name) if path == name || path.ends_with(&format!(".{name}")) => path.to_owned(),
        Some(name) => format!("{path}.{name}"),
        None => path.to_owned(),
    };
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
    struct Body {
        #[allow(dead_code)]
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
    fn integral_numbers_are_integers() {
        let body: Body = parse(br#"{"name":"a","count":3.0}"#).expect("3.0 is an integer");
        assert_eq!(body.count, 3);
        let body: Body = parse(br#"{"name":"a","count":2e1}"#).expect("2e1 is an integer");
        assert_eq!(body.count, 20);
        assert_eq!(field_of(parse(br#"{"name":"a","count":3.5}"#)).0, "count");
        assert_eq!(field_of(parse(br#"{"name":"a","count":-1.0}"#)).0, "count");
        assert_eq!(field_of(parse(br#"{"name":"a","count":1e300}"#)).0, "count");
    }

    #[test]
    fn a_body_is_an_object_not_an_array_of_fields() {
        assert_eq!(field_of(parse(br#"["a", 1]"#)).0, "body");
        assert_eq!(field_of(parse(b"null")).0, "body");
    }

    #[test]
    fn a_repeated_key_is_named() {
        let (field, message) = field_of(parse(br#"{"name":"a","count":1,"count":2}"#));
        assert_eq!(field, "count");
        assert_eq!(message, "appears more than once");
        let nested: Result<Value, _> = parse(br#"{"shipping":{"US":"1.00","US":"2.00"}}"#);
        match nested {
            Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "shipping.US"),
            other => panic!("expected a validation error, got {other:?}"),
        }
        // The same key in two objects is not a repeat.
        let fine: Value = parse(br#"{"a":{"k":1},"b":{"k":2}}"#).expect("distinct objects");
        assert_eq!(fine["b"]["k"], 2);
    }

    #[test]
    fn control_and_override_characters_are_named_wherever_they_are() {
        let (field, message) = field_of(parse(b"{\"name\":\"a\\u0000b\",\"count\":1}"));
        assert_eq!(
            (field.as_str(), message.as_str()),
            ("name", "must not contain control characters")
        );
        let nested: Result<Value, _> = parse("{\"shipping\":{\"US\":\"\u{202E}1.00\"}}".as_bytes());
        match nested {
            Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "shipping.US"),
            other => panic!("expected a validation error, got {other:?}"),
        }
        let fine: Value = parse(b"{\"text\":\"two\\nlines\"}").expect("line breaks pass");
        assert_eq!(fine["text"], "two\nlines");
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
