//! The characters no text the platform takes may hold, and those a name may not.
//!
//! Control characters (but the tab and line breaks of multi-line text) are never text: a NUL
//! cuts a C string short on one side of a system and not the other. Bidirectional overrides
//! and isolates (U+202A–U+202E, U+2066–U+2069) make a title display as something else than it
//! says (`Trojan Source`). Zero-width characters let two names look the same.

/// Why `c` cannot appear in any text, if it cannot. Line breaks and tabs pass only `multiline`.
pub fn refused(c: char, multiline: bool) -> Option<&'static str> {
    match c {
        '\n' | '\r' | '\t' if multiline => None,
        c if c.is_control() => Some("must not contain control characters"),
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
            Some("must not contain bidirectional override characters")
        }
        _ => None,
    }
}

/// The first reason `text` cannot be taken as it is.
pub fn check(text: &str, multiline: bool) -> Result<(), &'static str> {
    text.chars()
        .find_map(|c| refused(c, multiline))
        .map_or(Ok(()), Err)
}

/// [`check`] for a name or title: one line, and no zero-width characters either.
pub fn check_name(text: &str) -> Result<(), &'static str> {
    check(text, false)?;
    if text.chars().any(is_zero_width) {
        return Err("must not contain zero-width characters");
    }
    Ok(())
}

fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_overrides_and_zero_widths() {
        assert!(check("Ünïcödé ✓ 日本", false).is_ok());
        assert!(check("two\nlines\ttabbed", true).is_ok());
        assert!(check("two\nlines", false).is_err());
        for bad in ["nul\u{0}", "del\u{7f}", "c1\u{85}", "esc\u{1b}[31m"] {
            assert_eq!(
                check(bad, true),
                Err("must not contain control characters"),
                "{bad:?}"
            );
        }
        for bad in ["gpj.\u{202E}exe", "\u{2066}isolated\u{2069}"] {
            assert_eq!(
                check(bad, true),
                Err("must not contain bidirectional override characters")
            );
        }
        assert!(check("zero\u{200B}width", true).is_ok(), "allowed in prose");
        assert_eq!(
            check_name("zero\u{200B}width"),
            Err("must not contain zero-width characters")
        );
        assert!(check_name("\u{FEFF}bom").is_err());
    }
}
