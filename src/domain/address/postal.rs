//! Each country's postal rules: the format of its postal codes, and the region codes its mail
//! needs.

use std::sync::LazyLock;

use regex::Regex;

/// What one country's post expects. Countries without a rule here take any short postal code
/// of letters, digits, spaces and hyphens, and any region name.
pub(super) enum Rule {
    Us,
    Ca,
    Gb,
    De,
    Fr,
    Jp,
    Au,
    Other,
}

const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
    "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
    // Territories and military post offices, which the USPS addresses with the same codes.
    "AS", "GU", "MP", "PR", "VI", "UM", "AA", "AE", "AP",
];
const CA_PROVINCES: &[&str] = &[
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
];
const AU_STATES: &[&str] = &["ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"];
/// In the order of their JIS codes (JP-01 … JP-47).
const JP_PREFECTURES: &[&str] = &[
    "Hokkaido",
    "Aomori",
    "Iwate",
    "Miyagi",
    "Akita",
    "Yamagata",
    "Fukushima",
    "Ibaraki",
    "Tochigi",
    "Gunma",
    "Saitama",
    "Chiba",
    "Tokyo",
    "Kanagawa",
    "Niigata",
    "Toyama",
    "Ishikawa",
    "Fukui",
    "Yamanashi",
    "Nagano",
    "Gifu",
    "Shizuoka",
    "Aichi",
    "Mie",
    "Shiga",
    "Kyoto",
    "Osaka",
    "Hyogo",
    "Nara",
    "Wakayama",
    "Tottori",
    "Shimane",
    "Okayama",
    "Hiroshima",
    "Yamaguchi",
    "Tokushima",
    "Kagawa",
    "Ehime",
    "Kochi",
    "Fukuoka",
    "Saga",
    "Nagasaki",
    "Kumamoto",
    "Oita",
    "Miyazaki",
    "Kagoshima",
    "Okinawa",
];

/// The code, upper-case, if it matches. A pattern that did not compile matches nothing (each
/// is exercised by the tests below).
fn pattern(re: &'static LazyLock<Option<Regex>>, raw: &str) -> Option<String> {
    let upper = raw.trim().to_ascii_uppercase();
    re.as_ref().is_some_and(|re| re.is_match(&upper)).then_some(upper)
}

/// `code` without spaces or hyphens, with `sep` put back after its first `at` characters.
fn regroup(code: &str, at: usize, sep: char) -> String {
    let compact: String = code.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let (head, tail) = compact.split_at(at.min(compact.len()));
    format!("{head}{sep}{tail}")
}

static US_ZIP: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^\d{5}(-\d{4})?$").ok());
static CA_POSTAL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^([ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]) ?(\d[ABCEGHJ-NPRSTV-Z]\d)$").ok()
});
static GB_POSTCODE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})$").ok());
static FIVE_DIGITS: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^\d{5}$").ok());
static JP_POSTAL: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^(\d{3})-?(\d{4})$").ok());
static AU_POSTCODE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^\d{4}$").ok());
static ANY_POSTAL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[A-Z0-9][A-Z0-9 -]{0,14}[A-Z0-9]?$").ok());

impl Rule {
    pub(super) fn of(country: &str) -> Self {
        match country {
            "US" => Self::Us,
            "CA" => Self::Ca,
            "GB" => Self::Gb,
            "DE" => Self::De,
            "FR" => Self::Fr,
            "JP" => Self::Jp,
            "AU" => Self::Au,
            _ => Self::Other,
        }
    }

    pub(super) fn needs_postal_code(&self) -> bool {
        !matches!(self, Self::Other)
    }

    pub(super) fn needs_region(&self) -> bool {
        matches!(self, Self::Us | Self::Ca | Self::Au | Self::Jp)
    }

    pub(super) fn postal_code(&self, raw: &str) -> Result<String, String> {
        let (found, example) = match self {
            Self::Us => (pattern(&US_ZIP, raw), "a ZIP code such as 94043 or 94043-1351"),
            Self::Ca => (
                pattern(&CA_POSTAL, raw).map(|c| regroup(&c, 3, ' ')),
                "a postal code such as K1A 0B1",
            ),
            Self::Gb => (
                pattern(&GB_POSTCODE, raw).map(|c| {
                    let outward = c.chars().filter(|c| *c != ' ').count().saturating_sub(3);
                    regroup(&c, outward, ' ')
                }),
                "a postcode such as SW1A 1AA",
            ),
            Self::De => (
                pattern(&FIVE_DIGITS, raw),
                "a Postleitzahl of 5 digits such as 10115",
            ),
            Self::Fr => (
                pattern(&FIVE_DIGITS, raw),
                "a code postal of 5 digits such as 75008",
            ),
            Self::Jp => (
                pattern(&JP_POSTAL, raw).map(|c| regroup(&c, 3, '-')),
                "a postal code such as 100-0001",
            ),
            Self::Au => (pattern(&AU_POSTCODE, raw), "a postcode of 4 digits such as 2000"),
            Self::Other => (
                pattern(&ANY_POSTAL, raw),
                "letters, digits, spaces and hyphens, at most 16",
            ),
        };
        found.ok_or_else(|| format!("must be {example}"))
    }

    pub(super) fn region(&self, raw: &str) -> Result<String, String> {
        let upper = raw.trim().to_ascii_uppercase();
        let code = |codes: &[&str], what: &str| {
            codes
                .iter()
                .find(|c| **c == upper)
                .map(|c| (*c).to_owned())
                .ok_or_else(|| format!("must be {what} ({})", codes.join(", ")))
        };
        match self {
            Self::Us => code(US_STATES, "a USPS state code"),
            Self::Ca => code(CA_PROVINCES, "a province or territory code"),
            Self::Au => code(AU_STATES, "a state or territory code"),
            Self::Jp => {
                let bare = upper
                    .trim_end_matches("-KEN")
                    .trim_end_matches("-TO")
                    .trim_end_matches("-FU");
                let by_code = bare
                    .strip_prefix("JP-")
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|i| JP_PREFECTURES.get(i));
                by_code
                    .or_else(|| JP_PREFECTURES.iter().find(|p| p.eq_ignore_ascii_case(bare)))
                    .map(|p| (*p).to_owned())
                    .ok_or_else(|| "must be a prefecture, such as Tokyo or JP-13".into())
            }
            Self::Gb | Self::De | Self::Fr | Self::Other => super::required(raw, 100),
        }
    }
}
