//! Campaigns: their states, the one table of allowed transitions, and their validated fields.

use std::str::FromStr;

use diesel::sql_types::{BigInt, Text};
use diesel::{AsExpression, FromSqlRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::money::{Currency, Money};
use super::sql::{id_column, text_column};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, AsExpression, FromSqlRow,
)]
#[serde(transparent)]
#[diesel(sql_type = BigInt)]
pub struct CampaignId(pub i64);
id_column!(CampaignId);

/// Where a campaign is in its life (see the state diagram in the README).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, AsExpression, FromSqlRow,
)]
#[serde(rename_all = "lowercase")]
#[diesel(sql_type = Text)]
pub enum CampaignStatus {
    Draft,
    Live,
    Funded,
    Successful,
    Failed,
    Canceled,
    Suspended,
}

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 7] = [
        Self::Draft,
        Self::Live,
        Self::Funded,
        Self::Successful,
        Self::Failed,
        Self::Canceled,
        Self::Suspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Live => "live",
            Self::Funded => "funded",
            Self::Successful => "successful",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::Suspended => "suspended",
        }
    }

    /// The only place that says which transitions exist.
    pub fn can_transition(self, to: CampaignStatus) -> bool {
        use CampaignStatus::*;
        matches!(
            (self, to),
            (Draft, Live)
                | (Live, Funded)
                | (Live, Failed)
                | (Live, Canceled)
                | (Live, Suspended)
                | (Funded, Successful)
        )
    }

    /// Drafts and live campaigns can still be edited (within the rules of each).
    pub fn is_editable(self) -> bool {
        matches!(self, Self::Draft | Self::Live)
    }

    /// A campaign that ends here charges nobody: its active pledges are released.
    pub fn releases_pledges(self) -> bool {
        matches!(self, Self::Failed | Self::Canceled | Self::Suspended)
    }
}

text_column!(CampaignStatus);

impl FromStr for CampaignStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown campaign status {s:?}"))
    }
}

/// The fixed list of categories.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, AsExpression, FromSqlRow,
)]
#[serde(rename_all = "lowercase")]
#[diesel(sql_type = Text)]
pub enum Category {
    Art,
    Comics,
    Crafts,
    Dance,
    Design,
    Fashion,
    Film,
    Food,
    Games,
    Journalism,
    Music,
    Photography,
    Publishing,
    Technology,
    Theater,
}

impl Category {
    pub const ALL: [Category; 15] = [
        Self::Art,
        Self::Comics,
        Self::Crafts,
        Self::Dance,
        Self::Design,
        Self::Fashion,
        Self::Film,
        Self::Food,
        Self::Games,
        Self::Journalism,
        Self::Music,
        Self::Photography,
        Self::Publishing,
        Self::Technology,
        Self::Theater,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Art => "art",
            Self::Comics => "comics",
            Self::Crafts => "crafts",
            Self::Dance => "dance",
            Self::Design => "design",
            Self::Fashion => "fashion",
            Self::Film => "film",
            Self::Food => "food",
            Self::Games => "games",
            Self::Journalism => "journalism",
            Self::Music => "music",
            Self::Photography => "photography",
            Self::Publishing => "publishing",
            Self::Technology => "technology",
            Self::Theater => "theater",
        }
    }
}

text_column!(Category);

impl FromStr for Category {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown category {s:?}"))
    }
}

/// Text fields: trimmed, bounded in characters, free of the characters [`super::text`]
/// refuses (newlines and tabs are allowed where `multiline`; a one-line field, a title, also
/// refuses zero-width characters).
pub fn text(raw: &str, min: usize, max: usize, multiline: bool) -> Result<String, String> {
    let value = raw.trim();
    let chars = value.chars().count();
    if chars < min {
        return Err(if min == 1 {
            "is required".into()
        } else {
            format!("must be at least {min} characters")
        });
    }
    if chars > max {
        return Err(format!("must be at most {max} characters"));
    }
    if multiline {
        super::text::check(value, true)?;
    } else {
        super::text::check_name(value)?;
    }
    Ok(value.to_owned())
}

pub fn title(raw: &str) -> Result<String, String> {
    text(raw, 3, 120, false)
}

pub fn blurb(raw: &str) -> Result<String, String> {
    text(raw, 0, 300, false)
}

pub fn description(raw: &str) -> Result<String, String> {
    text(raw, 0, 50_000, true)
}

pub const MIN_DURATION_DAYS: i64 = 1;
pub const MAX_DURATION_DAYS: i64 = 60;
pub const MAX_GOAL_MAJOR: i64 = 100_000_000;

pub fn duration_days(days: i64) -> Result<i32, String> {
    if (MIN_DURATION_DAYS..=MAX_DURATION_DAYS).contains(&days) {
        Ok(days as i32)
    } else {
        Err(format!(
            "must be from {MIN_DURATION_DAYS} to {MAX_DURATION_DAYS} days"
        ))
    }
}

/// A goal: at least one major unit, at most 100 000 000.
pub fn goal(raw: &str, currency: Currency) -> Result<Money, String> {
    let money = Money::parse(raw, currency)?;
    let per_major = currency.minor_per_major();
    if money.minor() < per_major {
        return Err(format!("must be at least 1 {currency}"));
    }
    if money.minor() > MAX_GOAL_MAJOR * per_major {
        return Err(format!("must be at most {MAX_GOAL_MAJOR} {currency}"));
    }
    Ok(money)
}

/// A URL name: 3–80 of `a-z 0-9 -`, with a letter (an all-digit slug would read as an id).
pub fn slug(raw: &str) -> Result<String, String> {
    let ok = (3..=80).contains(&raw.len())
        && raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && raw.chars().any(|c| c.is_ascii_lowercase())
        && !raw.starts_with('-')
        && !raw.ends_with('-')
        && !raw.contains("--");
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("must be 3 to 80 lowercase letters, digits and single hyphens, with at least one letter".into())
    }
}

/// A slug made from a title: `"The Fox & Hound!"` → `the-fox-hound`.
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 60 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.chars().any(|c| c.is_ascii_lowercase()) && slug.len() >= 3 {
        slug
    } else {
        format!("campaign-{slug}").trim_end_matches('-').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_state_diagram() {
        use CampaignStatus::*;
        let allowed: Vec<_> = CampaignStatus::ALL
            .iter()
            .flat_map(|from| CampaignStatus::ALL.iter().map(move |to| (*from, *to)))
            .filter(|(from, to)| from.can_transition(*to))
            .collect();
        assert_eq!(
            allowed,
            [
                (Draft, Live),
                (Live, Funded),
                (Live, Failed),
                (Live, Canceled),
                (Live, Suspended),
                (Funded, Successful)
            ]
        );
    }

    #[test]
    fn status_and_category_round_trip() {
        for s in CampaignStatus::ALL {
            assert_eq!(s.as_str().parse::<CampaignStatus>(), Ok(s));
        }
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>(), Ok(c));
        }
    }

    #[test]
    fn field_bounds() {
        assert!(title("ab").is_err());
        assert_eq!(title("  A bike  ").unwrap(), "A bike");
        assert!(title(&"x".repeat(121)).is_err());
        assert!(blurb(&"x".repeat(301)).is_err());
        assert!(description("line one\nline two").is_ok());
        assert!(title("a\nb c").is_err());
        assert!(duration_days(0).is_err() && duration_days(61).is_err() && duration_days(60).is_ok());
        assert!(goal("0.99", Currency::USD).is_err());
        assert!(goal("1", Currency::JPY).is_ok());
        assert!(goal("100000000.01", Currency::USD).is_err());
        assert_eq!(goal("100000000", Currency::EUR).unwrap().minor(), 10_000_000_000);
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("The Fox & Hound!"), "the-fox-hound");
        assert_eq!(slugify("2049"), "campaign-2049");
        assert!(slug(&slugify("Ça va — très bien")).is_ok());
        assert!(slug("1234").is_err());
        assert!(slug("a--b").is_err());
        assert!(slug("Bike").is_err());
        assert!(slug("bike-2").is_ok());
    }
}
