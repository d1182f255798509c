//! Referral tracking: the channels a client may name, the tags a creator makes, and their codes.

use rand::Rng;

use super::campaign::text;

/// Refs a client sets without a tag: how the backer came, as the client knows it.
pub const CHANNELS: [&str; 4] = ["direct", "search", "embed", "other"];

/// Characters of a tag's code: lowercase letters and digits without the ones read alike
/// (0/o, 1/l/i), so a code survives being typed from print.
const CODE_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
pub const CODE_LEN: usize = 8;
/// Tags one campaign may have.
pub const MAX_TAGS: i64 = 100;

/// A fresh random code.
pub fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect()
}

/// A tag's name as the creator sees it: 1–80 characters on one line.
pub fn name(raw: &str) -> Result<String, String> {
    text(raw, 1, 80, false)
}

/// What a pledge's `ref` names, before the campaign's tags are consulted.
#[derive(Debug, PartialEq, Eq)]
pub enum Ref {
    Channel(&'static str),
    /// Looks like a tag's code; whether it is one of the campaign's is for the caller to see.
    Code(String),
}

/// `ref` as sent: a channel, or something shaped like a code (case does not matter).
pub fn parse(raw: &str) -> Result<Ref, String> {
    let value = raw.trim().to_ascii_lowercase();
    if let Some(channel) = CHANNELS.iter().find(|c| **c == value) {
        return Ok(Ref::Channel(channel));
    }
    if value.len() == CODE_LEN && value.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
        return Ok(Ref::Code(value));
    }
    Err(unknown())
}

pub fn unknown() -> String {
    format!(
        "must be one of this campaign's referral codes or one of {}",
        CHANNELS.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_channels_or_code_shaped() {
        assert_eq!(parse(" Search "), Ok(Ref::Channel("search")));
        let code = new_code();
        assert_eq!(code.len(), CODE_LEN);
        assert_eq!(parse(&code.to_uppercase()), Ok(Ref::Code(code)));
        assert!(parse("newsletter").is_err());
        assert!(parse("abcd'efg").is_err());
        assert!(parse("").is_err());
    }
}
