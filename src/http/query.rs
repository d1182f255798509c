//! The query-string extractor every route uses: like `actix_web::web::Query`, but a bad
//! parameter is a 422 naming the parameter (`serde_path_to_error`), not the offending value.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::json::field_error;
use crate::domain::text;

pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Query))
    }
}

/// Every value holds only what one-line text may (`domain::text`): `q=%00` is a 422 naming
/// `q`, not a pattern cut short at the NUL.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    for (key, value) in form_urlencoded_parse(query) {
        text::check(&value, false).map_err(|m| ApiError::field(key.into_owned(), m))?;
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        field_error(&path, &err.into_inner().to_string(), "query")
    })
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Params {
        limit: Option<i64>,
        sort: Option<Sort>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Sort {
        Newest,
    }

    fn field(query: &str) -> String {
        match parse::<Params>(query) {
            Err(ApiError::Validation(errors)) => errors[0].field.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_the_parameter() {
        assert!(parse::<Params>("limit=5&sort=newest").is_ok());
        assert_eq!(field("limit=abc"), "limit");
        assert_eq!(field("sort=bogus"), "sort");
        assert_eq!(field("other=1"), "other");
    }
}
