//! Reward tiers: validated fields and the rules that protect backers once a tier has them.

use std::collections::BTreeMap;

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, Utc};
use diesel::sql_types::{BigInt, Text};
use diesel::{AsExpression, FromSqlRow};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::error::FieldErrors;
use super::money::{Currency, Money};
use super::sql::{id_column, text_column};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, AsExpression, FromSqlRow,
)]
#[serde(transparent)]
#[diesel(sql_type = BigInt)]
pub struct TierId(pub i64);
id_column!(TierId);

/// Who sees a reward: everyone (`public`), or only its creator and whoever holds its secret
/// token (`secret`), for a community the creator shares the link with.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[serde(rename_all = "lowercase")]
#[diesel(sql_type = Text)]
pub enum Visibility {
    #[default]
    Public,
    Secret,
}

impl Visibility {
    pub const ALL: [Visibility; 2] = [Self::Public, Self::Secret];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Secret => "secret",
        }
    }
}

text_column!(Visibility);

impl FromStr for Visibility {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown visibility {s:?}"))
    }
}

/// A new secret reward's token: 128 random bits, URL-safe, to share as `?secret=`.
pub fn new_secret_token() -> String {
    let bytes: [u8; 16] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The token a reward of `visibility` keeps: the one it has (a link once shared keeps
/// working), else a new one if it is secret.
pub fn token_for(kept: Option<&str>, visibility: Visibility) -> Option<String> {
    match (kept, visibility) {
        (Some(kept), _) => Some(kept.to_owned()),
        (None, Visibility::Secret) => Some(new_secret_token()),
        (None, Visibility::Public) => None,
    }
}

/// Whether `offered` opens a reward of `visibility` whose token is `token`: a public reward
/// needs nothing. Compared in constant time, so timing tells nothing of the token.
pub fn opens(visibility: Visibility, token: Option<&str>, offered: Option<&str>) -> bool {
    match (visibility, token, offered) {
        (Visibility::Public, _, _) => true,
        (Visibility::Secret, Some(token), Some(offered)) => {
            bool::from(token.as_bytes().ct_eq(offered.as_bytes()))
        }
        (Visibility::Secret, _, _) => false,
    }
}

pub const MAX_QUANTITY: i64 = 1_000_000;

pub fn quantity(n: i64) -> Result<i32, String> {
    if (1..=MAX_QUANTITY).contains(&n) {
        Ok(n as i32)
    } else {
        Err(format!("must be from 1 to {MAX_QUANTITY}, or null for unlimited"))
    }
}

/// How far ahead a delivery may be promised.
pub const MAX_DELIVERY_YEARS: i32 = 10;

/// An estimated delivery month, `YYYY-MM`, from the current month to [`MAX_DELIVERY_YEARS`]
/// ahead.
pub fn estimated_delivery(raw: &str, now: DateTime<Utc>) -> Result<String, String> {
    let parsed = raw
        .split_once('-')
        .filter(|(y, m)| y.len() == 4 && m.len() == 2)
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
        .filter(|(_, m)| (1..=12).contains(m));
    let (year, month) = parsed.ok_or("must be a month such as 2027-03")?;
    if (year, month) < (now.year(), now.month()) {
        return Err("must not be in the past".into());
    }
    if (year, month) > (now.year() + MAX_DELIVERY_YEARS, now.month()) {
        return Err(format!("must be within {MAX_DELIVERY_YEARS} years"));
    }
    Ok(format!("{year:04}-{month:02}"))
}

/// Whether `code` is an assigned ISO 3166-1 alpha-2 code (`US`, not `XX` or `us`): the
/// `isocountry` table, kept to the standard by its maintainers.
pub fn is_country(code: &str) -> bool {
    isocountry::CountryCode::for_alpha2(code).is_ok()
}

/// Shipping fees by destination: ISO 3166-1 alpha-2 codes, and `*` for the rest of the world.
/// `None` means the tier ships nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipping(BTreeMap<String, i64>);

impl Shipping {
    /// Parses `{"US": "5.00", "*": "15.00"}`; errors name the offending key.
    pub fn parse(table: &BTreeMap<String, String>, currency: Currency) -> Result<Self, (String, String)> {
        if table.is_empty() {
            return Err((
                String::new(),
                "must list at least one destination, or be null".into(),
            ));
        }
        let mut fees = BTreeMap::new();
        for (country, fee) in table {
            let is_code = country == "*" || is_country(country);
            if !is_code {
                return Err((
                    country.clone(),
                    "destinations are assigned ISO 3166-1 alpha-2 codes (US, FR, ...) or *".into(),
                ));
            }
            let fee = Money::parse(fee, currency).map_err(|m| (country.clone(), m))?;
            fees.insert(country.clone(), fee.minor());
        }
        Ok(Self(fees))
    }

    /// The fee to ship to `country`, falling back to `*`; `None` where the tier does not ship.
    pub fn fee_for(&self, country: &str) -> Option<i64> {
        self.0.get(country).or_else(|| self.0.get("*")).copied()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".into())
    }

    pub fn from_json(stored: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(stored).map(Self)
    }

    pub fn entries(&self) -> impl Iterator<Item = (&String, &i64)> {
        self.0.iter()
    }

    /// The table as the API shows and takes it: decimal strings in `currency`.
    pub fn to_decimal_table(&self, currency: Currency) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(country, fee)| {
                (
                    country.clone(),
                    Money::from_minor(*fee, currency).to_decimal_string(),
                )
            })
            .collect()
    }

    /// [`Shipping::parse`] for a request's `shipping` field: an error is recorded under
    /// `shipping.{key}` (or `shipping`) in `errors`.
    pub fn parse_field(
        table: &BTreeMap<String, String>,
        currency: Currency,
        errors: &mut FieldErrors,
    ) -> Option<Self> {
        Self::parse(table, currency)
            .map_err(|(key, message)| {
                let field = if key.is_empty() {
                    "shipping".to_owned()
                } else {
                    format!("shipping.{key}")
                };
                errors.push(field, message);
            })
            .ok()
    }
}

/// Whether going from `old` to `new` units on offer (`None`: unlimited) lowers the stock, which
/// a reward or add-on backers hold may not do.
pub fn lowers_quantity(old: Option<i32>, new: Option<i32>) -> bool {
    match (old, new) {
        (None, Some(_)) => true,
        (Some(old), Some(new)) => new < old,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn delivery_months() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
        assert_eq!(estimated_delivery("2026-11", now).unwrap(), "2026-11");
        assert_eq!(estimated_delivery("2027-03", now).unwrap(), "2027-03");
        assert_eq!(estimated_delivery("2036-11", now).unwrap(), "2036-11");
        for bad in [
            "2026-10", "2036-12", "9999-12", "2027-13", "2027-3", "27-03", "March", "2027-00", "2027/03",
        ] {
            assert!(estimated_delivery(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn shipping_table() {
        let table: BTreeMap<String, String> =
            [("US".into(), "5.00".into()), ("*".into(), "15.00".into())].into();
        let shipping = Shipping::parse(&table, Currency::USD).unwrap();
        assert_eq!(shipping.fee_for("US"), Some(500));
        assert_eq!(shipping.fee_for("FR"), Some(1500));
        assert_eq!(Shipping::from_json(&shipping.to_json()).unwrap(), shipping);

        let domestic: BTreeMap<String, String> = [("JP".into(), "500".into())].into();
        let domestic = Shipping::parse(&domestic, Currency::JPY).unwrap();
        assert_eq!(domestic.fee_for("US"), None, "no * entry: does not ship there");

        for unassigned in ["XX", "ZZ", "AA"] {
            let bad: BTreeMap<String, String> = [(unassigned.into(), "5.00".into())].into();
            assert_eq!(Shipping::parse(&bad, Currency::USD).unwrap_err().0, unassigned);
        }
        let bad: BTreeMap<String, String> = [("usa".into(), "5.00".into())].into();
        assert_eq!(Shipping::parse(&bad, Currency::USD).unwrap_err().0, "usa");
        let bad: BTreeMap<String, String> = [("US".into(), "5.001".into())].into();
        assert_eq!(Shipping::parse(&bad, Currency::USD).unwrap_err().0, "US");
        assert!(Shipping::parse(&BTreeMap::new(), Currency::USD).is_err());
    }

    #[test]
    fn secret_rewards_open_with_their_token_only() {
        let token = new_secret_token();
        assert_eq!(token.len(), 22);
        assert_ne!(token, new_secret_token());
        assert!(opens(Visibility::Public, None, None));
        assert!(opens(Visibility::Secret, Some(&token), Some(&token)));
        assert!(!opens(Visibility::Secret, Some(&token), None));
        assert!(!opens(Visibility::Secret, Some(&token), Some(&token[..21])));
        assert!(!opens(Visibility::Secret, None, Some("")));
        assert_eq!(
            token_for(Some(&token), Visibility::Public).as_deref(),
            Some(token.as_str())
        );
        assert_eq!(token_for(None, Visibility::Public), None);
        assert!(token_for(None, Visibility::Secret).is_some_and(|t| t != token));
        for v in Visibility::ALL {
            assert_eq!(v.as_str().parse::<Visibility>(), Ok(v));
        }
    }

    #[test]
    fn quantities() {
        assert!(quantity(0).is_err() && quantity(1).is_ok() && quantity(MAX_QUANTITY + 1).is_err());
    }
}
