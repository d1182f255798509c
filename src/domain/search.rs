//! What a campaign search asks for: the words of the user's text, the last one matched as a
//! prefix (the user may still be typing it). Words are runs of letters and digits; everything
//! else, `%`, `_`, quotes and the full-text engines' own operators included, only separates
//! words, so no input can change the shape of the query.

/// At most this many words are searched; the rest of the text is ignored.
pub const MAX_WORDS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    words: Vec<String>,
}

impl SearchQuery {
    /// `None` when the text has no letter or digit: nothing can match it.
    pub fn parse(text: &str) -> Option<Self> {
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(MAX_WORDS)
            .map(ToOwned::to_owned)
            .collect();
        (!words.is_empty()).then_some(Self { words })
    }

    /// Every word but the last, which must match whole.
    pub fn exact(&self) -> &[String] {
        &self.words[..self.words.len() - 1]
    }

    /// The last word, which matches any word it begins.
    pub fn prefix(&self) -> &str {
        &self.words[self.words.len() - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_letters_and_digits() {
        let q = SearchQuery::parse("  Solar\"lamp  100%_fun ").unwrap();
        assert_eq!(q.exact(), ["Solar", "lamp", "100"]);
        assert_eq!(q.prefix(), "fun");
        let q = SearchQuery::parse("café NEAR/2 ünïcode*").unwrap();
        assert_eq!(q.exact(), ["café", "NEAR", "2"]);
        assert_eq!(q.prefix(), "ünïcode");
    }

    #[test]
    fn text_without_words_searches_nothing() {
        assert_eq!(SearchQuery::parse("%_\\ \"*'"), None);
        assert_eq!(SearchQuery::parse(""), None);
    }

    #[test]
    fn at_most_eight_words() {
        let q = SearchQuery::parse("a b c d e f g h i j").unwrap();
        assert_eq!(q.exact().len(), MAX_WORDS - 1);
        assert_eq!(q.prefix(), "h");
    }
}
