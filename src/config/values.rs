//! Reading one value, and the error that lists every bad one.

use std::fmt;

pub(crate) fn parse_number(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
    errors: &mut Vec<String>,
) -> u32 {
    match get(key) {
        None => default,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                errors.push(format!(
                    "{key}: expected a whole number from {} to {}, got {raw:?}",
                    range.start(),
                    range.end()
                ));
                default
            }
        },
    }
}

/// Every configuration problem found, one per line.
#[derive(Debug)]
pub struct ConfigError(pub Vec<String>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}
