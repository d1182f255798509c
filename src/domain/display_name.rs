/// The name shown for a user: 1–80 characters after trimming, none that `text::check_name`
/// refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

pub const MAX_DISPLAY_NAME_CHARS: usize = 80;

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("is required");
        }
        if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err("must be at most 80 characters");
        }
        super::text::check_name(name)?;
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::DisplayName;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(DisplayName::parse("  Ana  ").unwrap().as_str(), "Ana");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"é".repeat(80)).is_ok());
        assert!(DisplayName::parse(&"é".repeat(81)).is_err());
        assert!(DisplayName::parse("Ana\u{0}").is_err());
        assert!(DisplayName::parse("An\u{200B}a").is_err());
        assert!(DisplayName::parse("\u{202E}anA").is_err());
    }
}
