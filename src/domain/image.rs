//! Campaign images: their id, the limits an upload must meet, and the text beside it.

use diesel::sql_types::BigInt;
use diesel::{AsExpression, FromSqlRow};
use serde::{Deserialize, Serialize};

use super::sql::id_column;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, AsExpression, FromSqlRow,
)]
#[serde(transparent)]
#[diesel(sql_type = BigInt)]
pub struct ImageId(pub i64);
id_column!(ImageId);

/// Images one campaign may hold, used or not.
pub const MAX_PER_CAMPAIGN: i64 = 30;
/// Images one update may embed.
pub const MAX_PER_UPDATE: usize = 10;
/// Characters of alternative text.
pub const MAX_ALT_CHARS: usize = 300;

/// Alternative text, trimmed; empty is allowed (a decorative image).
pub fn alt(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > MAX_ALT_CHARS {
        return Err(format!("must be at most {MAX_ALT_CHARS} characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_owned())
}

/// A list of image ids with no repeats, at most `max` long.
pub fn distinct_ids(ids: &[ImageId], max: usize) -> Result<(), String> {
    if ids.len() > max {
        return Err(format!("must list at most {max} images"));
    }
    let mut seen = std::collections::HashSet::new();
    match ids.iter().find(|id| !seen.insert(**id)) {
        Some(repeat) => Err(format!("lists image {repeat} twice")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alt_text_is_bounded_and_trimmed() {
        assert_eq!(alt("  A red lamp "), Ok("A red lamp".into()));
        assert_eq!(alt(""), Ok(String::new()));
        assert!(alt(&"é".repeat(300)).is_ok());
        assert!(alt(&"é".repeat(301)).is_err());
        assert!(alt("line\u{0}break").is_err());
    }

    #[test]
    fn id_lists_refuse_repeats_and_length() {
        assert!(distinct_ids(&[ImageId(1), ImageId(2)], 2).is_ok());
        assert!(distinct_ids(&[ImageId(1), ImageId(1)], 5).is_err());
        assert!(distinct_ids(&[ImageId(1), ImageId(2), ImageId(3)], 2).is_err());
    }
}
