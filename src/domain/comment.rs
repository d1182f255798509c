//! Comments: their id, and the rules of a body, a report and the edit window.

use chrono::{Duration, NaiveDateTime};
use diesel::sql_types::BigInt;
use diesel::{AsExpression, FromSqlRow};
use serde::{Deserialize, Serialize};

use super::campaign::text;
use super::sql::id_column;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, AsExpression, FromSqlRow,
)]
#[serde(transparent)]
#[diesel(sql_type = BigInt)]
pub struct CommentId(pub i64);
id_column!(CommentId);

/// Characters of a comment's body.
pub const MAX_BODY_CHARS: usize = 5_000;
/// Characters of a report's reason.
pub const MAX_REASON_CHARS: usize = 1_000;
/// Comments one user may post per [`RATE_WINDOW_SECS`].
pub const RATE_LIMIT: i64 = 10;
pub const RATE_WINDOW_SECS: i64 = 60;

/// How long after posting its author may still edit a comment.
pub fn edit_window() -> Duration {
    Duration::minutes(15)
}

/// The last instant a comment posted at `created_at` may be edited.
pub fn editable_until(created_at: NaiveDateTime) -> NaiveDateTime {
    created_at + edit_window()
}

/// A body: plain text of 1–5 000 characters (trimmed), line breaks allowed. Clients render it
/// as text; it is never HTML.
pub fn body(raw: &str) -> Result<String, String> {
    text(raw, 1, MAX_BODY_CHARS, true)
}

/// Why a comment is reported: 1–1 000 characters.
pub fn reason(raw: &str) -> Result<String, String> {
    text(raw, 1, MAX_REASON_CHARS, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_plain_text_of_bounded_length() {
        assert_eq!(body("  hello\nthere "), Ok("hello\nthere".to_owned()));
        assert!(body("   ").is_err());
        assert!(body(&"x".repeat(MAX_BODY_CHARS)).is_ok());
        assert!(body(&"x".repeat(MAX_BODY_CHARS + 1)).is_err());
        assert!(body("nul\0byte").is_err());
    }

    #[test]
    fn the_edit_window_is_fifteen_minutes() {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc();
        assert_eq!(editable_until(at) - at, Duration::minutes(15));
    }
}
