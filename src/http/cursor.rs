//! Opaque pagination cursors: `base64url("<kind>:<key>:<id>")`. The kind ties a cursor to the
//! sort order that produced it, so a cursor from one listing cannot be replayed on another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::ApiError;

pub fn encode(kind: &str, key: i64, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{key}:{id}"))
}

/// `(key, id)` of a cursor made by [`encode`] with the same `kind`; 422 on `cursor` otherwise.
pub fn decode(kind: &str, cursor: &str) -> Result<(i64, i64), ApiError> {
    let invalid = || ApiError::field("cursor", "is not a cursor from this listing; start without one");
    let text = URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(invalid)?;
    let mut parts = text.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(k), Some(key), Some(id)) if k == kind => Ok((
            key.parse().map_err(|_| invalid())?,
            id.parse().map_err(|_| invalid())?,
        )),
        _ => Err(invalid()),
    }
}

/// `limit` query parameter: 1–100, default 20.
pub fn limit(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(20),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field("limit", "must be from 1 to 100")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_foreign_cursors() {
        let c = encode("newest", -5, 42);
        assert_eq!(decode("newest", &c).unwrap(), (-5, 42));
        assert!(decode("most_backed", &c).is_err());
        assert!(decode("newest", "garbage!").is_err());
        assert!(decode("newest", &URL_SAFE_NO_PAD.encode("newest:x:1")).is_err());
    }
}
