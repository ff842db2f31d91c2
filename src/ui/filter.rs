//! The `/` pattern of tables and log search: a regex (case-insensitive unless it has an
//! upper-case letter), `!` in front inverts it, and text that is not a valid regex is
//! matched as a plain substring instead of being an error.

use regex::{Regex, RegexBuilder};

#[derive(Debug, Clone)]
enum Matcher {
    Regex(Regex),
    /// Lower-cased needle, when the regex did not compile.
    Substring(String),
}

#[derive(Debug, Clone)]
pub struct Pattern {
    raw: String,
    invert: bool,
    matcher: Matcher,
}

impl Pattern {
    /// None for an empty pattern (which matches everything).
    pub fn parse(text: &str) -> Option<Pattern> {
        let (invert, body) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if body.is_empty() {
            return None;
        }
        // Smart case, as in vim and ripgrep: any capital makes the match exact.
        let insensitive = !body.chars().any(char::is_uppercase);
        let matcher = match RegexBuilder::new(body)
            .case_insensitive(insensitive)
            .size_limit(1 << 20)
            .build()
        {
            Ok(re) => Matcher::Regex(re),
            Err(_) => Matcher::Substring(body.to_lowercase()),
        };
        Some(Pattern {
            raw: text.to_string(),
            invert,
            matcher,
        })
    }

    pub fn raw(&self) -> &str {
        &self.raw
    }

    pub fn is_regex(&self) -> bool {
        matches!(self.matcher, Matcher::Regex(_))
    }

    fn hits(&self, text: &str) -> bool {
        match &self.matcher {
            Matcher::Regex(re) => re.is_match(text),
            Matcher::Substring(s) => text.to_lowercase().contains(s.as_str()),
        }
    }

    /// Whether a row (or line) passes the filter, inversion applied.
    pub fn matches(&self, text: &str) -> bool {
        self.hits(text) != self.invert
    }

    /// Byte ranges to highlight; none for an inverted pattern (it matches by absence).
    pub fn ranges(&self, text: &str) -> Vec<(usize, usize)> {
        if self.invert {
            return vec![];
        }
        match &self.matcher {
            Matcher::Regex(re) => re
                .find_iter(text)
                .filter(|m| m.end() > m.start())
                .map(|m| (m.start(), m.end()))
                .collect(),
            Matcher::Substring(needle) => {
                // Lower-casing can change byte lengths outside ASCII: search the
                // original text char by char instead of mapping offsets back.
                let mut out = Vec::new();
                let n = needle.chars().count();
                let idx: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
                let mut i = 0;
                while i + n <= idx.len() {
                    let start = idx[i];
                    let end = idx.get(i + n).copied().unwrap_or(text.len());
                    if text[start..end].to_lowercase() == *needle {
                        out.push((start, end));
                        i += n.max(1);
                    } else {
                        i += 1;
                    }
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_none() {
        assert!(Pattern::parse("").is_none());
        assert!(Pattern::parse("!").is_none());
    }

    #[test]
    fn regex_smart_case() {
        let p = Pattern::parse("^we.").unwrap();
        assert!(p.is_regex());
        assert!(p.matches("web"));
        assert!(p.matches("WEB"));
        assert!(!p.matches("api"));
        let exact = Pattern::parse("Web").unwrap();
        assert!(!exact.matches("web"));
        assert!(exact.matches("Web"));
    }

    #[test]
    fn inverted() {
        let p = Pattern::parse("!running").unwrap();
        assert!(!p.matches("web running"));
        assert!(p.matches("db exited"));
        assert!(p.ranges("db exited").is_empty());
    }

    #[test]
    fn invalid_regex_is_substring() {
        let p = Pattern::parse("a(b").unwrap();
        assert!(!p.is_regex());
        assert!(p.matches("xxA(Byy"));
        assert!(!p.matches("ab"));
        assert_eq!(p.ranges("xxa(byy a(b"), vec![(2, 5), (8, 11)]);
    }

    #[test]
    fn ranges_of_regex() {
        let p = Pattern::parse("o+").unwrap();
        assert_eq!(p.ranges("foo bar boo"), vec![(1, 3), (9, 11)]);
        // Empty matches are not highlighted.
        let p = Pattern::parse("x*").unwrap();
        assert!(p.ranges("abc").is_empty());
    }
}
