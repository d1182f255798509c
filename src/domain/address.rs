//! A postal address as a backer gives it in a survey, checked against the rules of the country
//! it ships to: the postal code's format and, where mail needs one, the region's code.

mod postal;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::FieldErrors;
use super::text::check_name;
use postal::Rule;

/// A shipping address, normalised (trimmed; postal codes and region codes upper-case in the
/// form the country's post uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[schema(example = "Ana López")]
    pub name: String,
    #[schema(example = "1600 Amphitheatre Pkwy")]
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[schema(example = "Mountain View")]
    pub city: String,
    /// Required for US, CA and AU (the state or province code) and JP (the prefecture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "CA")]
    pub region: Option<String>,
    /// Required where the country has postal codes checked here (US, CA, GB, DE, FR, JP, AU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "94043")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2; must be the pledge's `shipping_country`.
    #[schema(example = "US")]
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "+1 650 253 0000")]
    pub phone: Option<String>,
}

/// The fields of an address, in the order exports list them.
pub const FIELDS: [&str; 8] = [
    "name",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
];

impl Address {
    /// The value of one of [`FIELDS`].
    pub fn field(&self, name: &str) -> Option<&str> {
        match name {
            "name" => Some(&self.name),
            "line1" => Some(&self.line1),
            "line2" => self.line2.as_deref(),
            "city" => Some(&self.city),
            "region" => self.region.as_deref(),
            "postal_code" => self.postal_code.as_deref(),
            "country" => Some(&self.country),
            "phone" => self.phone.as_deref(),
            _ => None,
        }
    }

    /// Checks and normalises the address for a parcel to `ships_to`; errors are recorded under
    /// `{at}.{field}`.
    pub fn check(self, ships_to: Option<&str>, at: &str, errors: &mut FieldErrors) -> Option<Self> {
        let before = errors.len();
        let mut line = |field: &str, value: &str, max: usize| {
            errors.check(&format!("{at}.{field}"), required(value, max))
        };
        let name = line("name", &self.name, 200);
        let line1 = line("line1", &self.line1, 200);
        let city = line("city", &self.city, 100);
        let line2 = optional(self.line2.as_deref())
            .map(|v| errors.check(&format!("{at}.line2"), required(v, 200)))
            .unwrap_or(Some(String::new()));
        let country = self.country.trim().to_ascii_uppercase();
        match ships_to {
            Some(ships_to) if ships_to == country => {}
            Some(ships_to) => errors.push(
                format!("{at}.country"),
                format!("must be {ships_to}, the country the pledge's shipping was paid for"),
            ),
            None => errors.push(format!("{at}.country"), "the pledge ships nothing"),
        }
        let rule = Rule::of(&country);
        let postal_code = match optional(self.postal_code.as_deref()) {
            Some(code) => errors.check(&format!("{at}.postal_code"), rule.postal_code(code)),
            None if rule.needs_postal_code() => {
                errors.push(format!("{at}.postal_code"), format!("is required in {country}"));
                None
            }
            None => Some(String::new()),
        };
        let region = match optional(self.region.as_deref()) {
            Some(region) => errors.check(&format!("{at}.region"), rule.region(region)),
            None if rule.needs_region() => {
                errors.push(format!("{at}.region"), format!("is required in {country}"));
                None
            }
            None => Some(String::new()),
        };
        let phone = match optional(self.phone.as_deref()) {
            Some(phone) => errors.check(&format!("{at}.phone"), self::phone(phone)),
            None => Some(String::new()),
        };
        if errors.len() > before {
            return None;
        }
        let non_empty = |v: Option<String>| v.filter(|v| !v.is_empty());
        Some(Self {
            name: name?,
            line1: line1?,
            line2: non_empty(line2),
            city: city?,
            region: non_empty(region),
            postal_code: non_empty(postal_code),
            country,
            phone: non_empty(phone),
        })
    }
}

fn optional(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn required(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    check_name(value)?;
    Ok(value.to_owned())
}

fn phone(raw: &str) -> Result<String, String> {
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    let allowed = raw.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if !allowed || !(5..=20).contains(&digits) || raw.len() > 32 {
        return Err("must be a phone number: 5 to 20 digits, with + - ( ) . or spaces".into());
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(country: &str, region: Option<&str>, postal: Option<&str>) -> Address {
        Address {
            name: " Ana ".into(),
            line1: "1 Main St".into(),
            line2: Some("  ".into()),
            city: "Springfield".into(),
            region: region.map(Into::into),
            postal_code: postal.map(Into::into),
            country: country.into(),
            phone: None,
        }
    }

    fn check(a: Address) -> Result<Address, Vec<String>> {
        let country = a.country.to_ascii_uppercase();
        let mut errors = FieldErrors::default();
        match a.check(Some(&country), "a", &mut errors) {
            Some(a) => Ok(a),
            None => Err(errors.fields()),
        }
    }

    #[test]
    fn country_rules() {
        let ok = [
            ("US", Some("ca"), Some("94043")),
            ("US", Some("NY"), Some("10001-1234")),
            ("CA", Some("ON"), Some("k1a0b1")),
            ("GB", None, Some("sw1a1aa")),
            ("GB", Some("Kent"), Some("CT1 2EH")),
            ("DE", None, Some("10115")),
            ("FR", None, Some("75008")),
            ("JP", Some("tokyo"), Some("1000001")),
            ("JP", Some("JP-27"), Some("530-0001")),
            ("AU", Some("nsw"), Some("2000")),
            ("NZ", None, None),
            ("NL", None, Some("1012 AB")),
        ];
        for (country, region, postal) in ok {
            assert!(
                check(address(country, region, postal)).is_ok(),
                "{country} {region:?} {postal:?}"
            );
        }
        let normalised = check(address("CA", Some("on"), Some("k1a0b1"))).unwrap();
        assert_eq!(normalised.postal_code.as_deref(), Some("K1A 0B1"));
        assert_eq!(normalised.region.as_deref(), Some("ON"));
        assert_eq!(normalised.name, "Ana");
        assert_eq!(normalised.line2, None);
        let gb = check(address("GB", None, Some("sw1a1aa"))).unwrap();
        assert_eq!(gb.postal_code.as_deref(), Some("SW1A 1AA"));
        let jp = check(address("JP", Some("JP-27"), Some("5300001"))).unwrap();
        assert_eq!(
            (jp.region.as_deref(), jp.postal_code.as_deref()),
            (Some("Osaka"), Some("530-0001"))
        );

        let bad = [
            ("US", Some("CA"), Some("9404"), "a.postal_code"),
            ("US", Some("ZZ"), Some("94043"), "a.region"),
            ("US", None, Some("94043"), "a.region"),
            ("US", Some("CA"), None, "a.postal_code"),
            ("CA", Some("ON"), Some("D1A 0B1"), "a.postal_code"),
            ("CA", Some("XX"), Some("K1A 0B1"), "a.region"),
            ("GB", None, Some("12345"), "a.postal_code"),
            ("DE", None, Some("1011"), "a.postal_code"),
            ("FR", None, Some("750080"), "a.postal_code"),
            ("JP", Some("Narnia"), Some("100-0001"), "a.region"),
            ("JP", Some("Tokyo"), Some("10-00001"), "a.postal_code"),
            ("AU", Some("NSW"), Some("200"), "a.postal_code"),
            ("AU", Some("Sydney"), Some("2000"), "a.region"),
        ];
        for (country, region, postal, field) in bad {
            assert_eq!(
                check(address(country, region, postal)),
                Err(vec![field.to_owned()]),
                "{country} {region:?} {postal:?}"
            );
        }
    }

    #[test]
    fn country_must_be_the_one_paid_for() {
        let mut errors = FieldErrors::default();
        assert!(
            address("FR", None, Some("75008"))
                .check(Some("US"), "answers.addr", &mut errors)
                .is_none()
        );
        assert_eq!(errors.fields(), vec!["answers.addr.country"]);
    }

    #[test]
    fn lines_and_phone_are_checked() {
        let mut a = address("DE", None, Some("10115"));
        a.name = "   ".into();
        a.phone = Some("call me".into());
        let mut errors = FieldErrors::default();
        assert!(a.check(Some("DE"), "a", &mut errors).is_none());
        assert_eq!(errors.fields(), vec!["a.name", "a.phone"]);
    }
}
