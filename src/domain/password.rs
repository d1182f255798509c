/// A password a user is choosing, checked against a policy in the spirit of NIST SP 800-63B:
/// a length floor and ceiling, and a refusal of the most common choices. No composition rules.
pub struct NewPassword(String);

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Passwords that top every breach list (compared case-insensitively).
const COMMON: &[&str] = &[
    "1234567890",
    "12345678910",
    "0123456789",
    "1111111111",
    "qwertyuiop",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "iloveyou12",
    "letmein123",
    "welcome123",
    "qwerty1234",
    "qwerty12345",
    "abcdefghij",
    "abc1234567",
    "aaaaaaaaaa",
    "1q2w3e4r5t",
    "football123",
    "monkey1234",
    "dragon1234",
    "sunshine12",
    "princess12",
    "admin12345",
    "changeme123",
    "crowdfund1",
    "crowdfunding",
];

impl NewPassword {
    /// `email` is the account's address: a password equal to it (or its local part) is refused.
    pub fn parse(raw: &str, email: Option<&str>) -> Result<Self, &'static str> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err("must be at least 10 characters");
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err("must be at most 128 characters");
        }
        let lower = raw.to_lowercase();
        if COMMON.contains(&lower.as_str()) {
            return Err("is too common; choose another");
        }
        if let Some(email) = email {
            let local = email.split('@').next().unwrap_or_default();
            if lower == email.to_lowercase() || lower == local.to_lowercase() {
                return Err("must not be your email address");
            }
        }
        if raw.chars().all(|c| raw.starts_with(c)) {
            return Err("must not repeat a single character");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::NewPassword;

    #[test]
    fn accepts_a_long_passphrase() {
        assert!(NewPassword::parse("correct horse battery staple", Some("a@b.co")).is_ok());
    }

    #[test]
    fn rejects_weak_choices() {
        assert!(NewPassword::parse("short", None).is_err());
        assert!(NewPassword::parse("Password123", None).is_err());
        assert!(NewPassword::parse("zzzzzzzzzzzz", None).is_err());
        assert!(NewPassword::parse("ana.lopez.99", Some("ana.lopez.99@example.com")).is_err());
        assert!(NewPassword::parse(&"x".repeat(129), None).is_err());
    }

    #[test]
    fn never_prints_the_password() {
        let p = NewPassword::parse("correct horse battery staple", None).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
