//! Money: an integer count of a currency's minor unit. Floating point never touches it.
//!
//! In JSON an amount is a decimal string with at most the currency's number of decimals
//! (`"25.00"` or `"25"` USD, `"2500"` JPY), parsed and formatted with `rust_decimal`; out it is
//! always written with exactly that many decimals.

use std::fmt;
use std::str::FromStr;

use diesel::sql_types::Text;
use diesel::{AsExpression, FromSqlRow};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sql::text_column;

/// The currencies a campaign can be run in (ISO 4217).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, AsExpression, FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub enum Currency {
    USD,
    EUR,
    GBP,
    CAD,
    AUD,
    CHF,
    SEK,
    NOK,
    DKK,
    JPY,
}

impl Currency {
    pub const ALL: [Currency; 10] = [
        Self::USD,
        Self::EUR,
        Self::GBP,
        Self::CAD,
        Self::AUD,
        Self::CHF,
        Self::SEK,
        Self::NOK,
        Self::DKK,
        Self::JPY,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::USD => "USD",
            Self::EUR => "EUR",
            Self::GBP => "GBP",
            Self::CAD => "CAD",
            Self::AUD => "AUD",
            Self::CHF => "CHF",
            Self::SEK => "SEK",
            Self::NOK => "NOK",
            Self::DKK => "DKK",
            Self::JPY => "JPY",
        }
    }

    /// Decimal places of the minor unit (ISO 4217 exponent).
    pub fn exponent(self) -> u32 {
        match self {
            Self::JPY => 0,
            _ => 2,
        }
    }

    /// Minor units in one major unit (100 cents, 1 yen).
    pub fn minor_per_major(self) -> i64 {
        10_i64.pow(self.exponent())
    }
}

text_column!(Currency, code);

impl FromStr for Currency {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or("must be one of USD, EUR, GBP, CAD, AUD, CHF, SEK, NOK, DKK, JPY")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The largest amount accepted anywhere: 10^12 major units. Sums of many amounts stay far from
/// `i64::MAX` (≈ 9.2 × 10^18 minor units).
pub const MAX_MAJOR: i64 = 1_000_000_000_000;

/// The syntax of an amount in a request, as the OpenAPI document states it: digits, then
/// optionally a point and digits. How many decimals, and how large, depend on the currency.
pub const AMOUNT_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?$";

/// An amount in a currency, valid by construction (never negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    pub fn minor(self) -> i64 {
        self.minor
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    /// Parses a strictly positive decimal string such as `"25.00"`.
    pub fn parse_positive(raw: &str, currency: Currency) -> Result<Self, String> {
        let money = Self::parse(raw, currency)?;
        if money.minor == 0 {
            return Err("must be greater than zero".into());
        }
        Ok(money)
    }

    /// Parses a non-negative decimal string (`"0"` allowed: a free shipping zone). The syntax is
    /// [`AMOUNT_PATTERN`]; a leading `-` is named as a negative amount, even `-0`.
    pub fn parse(raw: &str, currency: Currency) -> Result<Self, String> {
        if raw.starts_with('-') {
            return Err("must not be negative".into());
        }
        let well_formed = !raw.is_empty()
            && raw.chars().all(|c| c.is_ascii_digit() || c == '.')
            && raw.chars().next().is_some_and(|c| c.is_ascii_digit())
            && !raw.ends_with('.');
        let value = if well_formed {
            Decimal::from_str(raw).ok()
        } else {
            None
        }
        .ok_or_else(|| format!("must be a decimal amount such as \"{}\"", example(currency)))?;
        let exponent = currency.exponent();
        if value.scale() > exponent {
            return Err(match exponent {
                0 => format!("{currency} has no decimals"),
                n => format!("{currency} allows at most {n} decimals"),
            });
        }
        if value > Decimal::from(MAX_MAJOR) {
            return Err(format!("must be at most {MAX_MAJOR}"));
        }
        let minor = (value * Decimal::from(currency.minor_per_major()))
            .trunc()
            .to_string()
            .parse::<i64>()
            .map_err(|_| "is out of range".to_owned())?;
        Ok(Self { minor, currency })
    }

    /// The amount with exactly the currency's decimals: `"25.00"`, `"2500"`.
    pub fn to_decimal_string(self) -> String {
        Decimal::new(self.minor, self.currency.exponent()).to_string()
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        (self.currency == other.currency).then_some(())?;
        Some(Self {
            minor: self.minor.checked_add(other.minor)?,
            currency: self.currency,
        })
    }
}

/// `amount × bps / 10 000`, rounded half-even to the minor unit (fees).
pub fn basis_points_half_even(amount_minor: i64, bps: i64) -> i64 {
    let product = i128::from(amount_minor) * i128::from(bps);
    let (quotient, remainder) = (product / 10_000, product % 10_000);
    let rounded = match (remainder * 2).cmp(&10_000) {
        std::cmp::Ordering::Greater => quotient + 1,
        std::cmp::Ordering::Equal if quotient % 2 == 1 => quotient + 1,
        _ => quotient,
    };
    i64::try_from(rounded).unwrap_or(i64::MAX)
}

fn example(currency: Currency) -> &'static str {
    match currency.exponent() {
        0 => "2500",
        _ => "25.00",
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_to_minor_units() {
        assert_eq!(Money::parse("25.00", Currency::USD).unwrap().minor(), 2500);
        assert_eq!(Money::parse("25", Currency::USD).unwrap().minor(), 2500);
        assert_eq!(Money::parse("25.5", Currency::EUR).unwrap().minor(), 2550);
        assert_eq!(Money::parse("0.01", Currency::GBP).unwrap().minor(), 1);
        assert_eq!(Money::parse("2500", Currency::JPY).unwrap().minor(), 2500);
    }

    #[test]
    fn rejects_what_the_contract_rejects() {
        for (raw, currency) in [
            ("10.001", Currency::USD),
            ("10.5", Currency::JPY),
            ("-5", Currency::USD),
            ("-0", Currency::USD),
            ("1..5", Currency::USD),
            ("abc", Currency::USD),
            ("", Currency::USD),
            ("1e3", Currency::USD),
            (" 5", Currency::USD),
            ("+5", Currency::USD),
            ("5.", Currency::USD),
            (".5", Currency::USD),
            ("NaN", Currency::USD),
            ("1000000000000.01", Currency::USD),
        ] {
            assert!(
                Money::parse(raw, currency).is_err(),
                "{raw:?} {currency} accepted"
            );
        }
        assert!(Money::parse_positive("0.00", Currency::USD).is_err());
        assert!(Money::parse("0", Currency::USD).is_ok());
    }

    #[test]
    fn formats_with_the_currency_exponent() {
        assert_eq!(
            Money::from_minor(2500, Currency::USD).to_decimal_string(),
            "25.00"
        );
        assert_eq!(Money::from_minor(5, Currency::EUR).to_decimal_string(), "0.05");
        assert_eq!(Money::from_minor(2500, Currency::JPY).to_decimal_string(), "2500");
        assert_eq!(Money::from_minor(0, Currency::CHF).to_decimal_string(), "0.00");
    }

    #[test]
    fn adds_only_within_a_currency() {
        let a = Money::from_minor(100, Currency::USD);
        assert_eq!(a.checked_add(a).unwrap().minor(), 200);
        assert!(a.checked_add(Money::from_minor(100, Currency::EUR)).is_none());
    }

    #[test]
    fn fees_round_half_even() {
        assert_eq!(basis_points_half_even(10_000, 500), 500);
        assert_eq!(basis_points_half_even(10, 500), 0, "0.5 rounds to even 0");
        assert_eq!(basis_points_half_even(30, 500), 2, "1.5 rounds to even 2");
        assert_eq!(basis_points_half_even(50, 500), 2, "2.5 rounds to even 2");
        assert_eq!(basis_points_half_even(51, 500), 3, "2.55 rounds up");
        assert_eq!(basis_points_half_even(1_234, 290), 36, "35.786");
    }

    fn currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(Currency::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(minor in 0..=MAX_MAJOR, currency in currency()) {
            let minor = minor.min(MAX_MAJOR * currency.minor_per_major());
            let money = Money::from_minor(minor, currency);
            prop_assert_eq!(Money::parse(&money.to_decimal_string(), currency), Ok(money));
        }

        #[test]
        fn parse_then_format_is_canonical(major in 0..1_000_000_i64, cents in 0..100_i64, currency in currency()) {
            let raw = if currency.exponent() == 0 { major.to_string() } else { format!("{major}.{cents:02}") };
            let money = Money::parse(&raw, currency).unwrap();
            prop_assert_eq!(money.to_decimal_string(), raw);
        }

        #[test]
        fn too_many_decimals_never_parse(major in 0..1_000_000_i64, extra in 1..10_u32, currency in currency()) {
            let raw = format!("{major}.{}", "1".repeat((currency.exponent() + extra) as usize));
            prop_assert!(Money::parse(&raw, currency).is_err());
        }

        #[test]
        fn half_even_is_within_half_a_unit(amount in 0..1_000_000_000_i64, bps in 0..10_000_i64) {
            let exact = amount as f64 * bps as f64 / 10_000.0;
            let rounded = basis_points_half_even(amount, bps) as f64;
            prop_assert!((rounded - exact).abs() <= 0.5 + 1e-6);
        }

        #[test]
        fn arbitrary_strings_never_panic(raw in ".{0,30}", currency in currency()) {
            let _ = Money::parse(&raw, currency);
        }
    }
}
