//! The Public Suffix List, for the legacy RFC 7489 discovery mode (RFC 7489 §3.2).

use mailstamp_dns::Name;
use std::collections::HashSet;
use std::fmt;

/// A Public Suffix List: either the list compiled into the `psl` crate, or one read from the
/// text of a `public_suffix_list.dat` file (<https://publicsuffix.org/list/>).
///
/// Only used by the legacy RFC 7489 discovery; RFC 9989 replaced it with the DNS Tree Walk.
#[derive(Clone)]
pub struct PublicSuffixList {
    source: Source,
}

#[derive(Clone)]
enum Source {
    Builtin,
    Rules(Box<Rules>),
}

#[derive(Clone, Default)]
struct Rules {
    /// Normal rules (`com`, `co.uk`), A-labels, lower case.
    exact: HashSet<String>,
    /// Wildcard rules without the `*.` (`*.ck` stored as `ck`).
    wildcard: HashSet<String>,
    /// Exception rules without the `!` (`!www.ck` stored as `www.ck`).
    exception: HashSet<String>,
}

impl fmt::Debug for PublicSuffixList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Builtin => f.write_str("PublicSuffixList(builtin)"),
            Source::Rules(r) => write!(
                f,
                "PublicSuffixList({} rules, {} wildcards, {} exceptions)",
                r.exact.len(),
                r.wildcard.len(),
                r.exception.len()
            ),
        }
    }
}

/// A line of a list file that is not a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: invalid public suffix rule {rule:?}")]
pub struct PslError {
    /// Line number (1-based).
    pub line: usize,
    /// The rule text.
    pub rule: String,
}

impl PublicSuffixList {
    /// The list compiled into the `psl` crate (both the ICANN and the PRIVATE sections).
    pub fn builtin() -> PublicSuffixList {
        PublicSuffixList {
            source: Source::Builtin,
        }
    }

    /// Reads the text of a list in the publicsuffix.org format: one rule per line, `//`
    /// comments, `*.` wildcards, `!` exceptions; only the first whitespace-separated word of a
    /// line counts. Unicode rules are converted to A-labels.
    pub fn from_text(text: &str) -> Result<PublicSuffixList, PslError> {
        let mut rules = Rules::default();
        for (i, line) in text.lines().enumerate() {
            let Some(word) = line.split_whitespace().next() else {
                continue;
            };
            if word.starts_with("//") {
                continue;
            }
            let err = || PslError {
                line: i + 1,
                rule: word.to_owned(),
            };
            let (set, body) = if let Some(rest) = word.strip_prefix('!') {
                (&mut rules.exception, rest)
            } else if let Some(rest) = word.strip_prefix("*.") {
                (&mut rules.wildcard, rest)
            } else {
                (&mut rules.exact, word)
            };
            let name = Name::parse(body).map_err(|_| err())?;
            set.insert(name.as_str().to_owned());
        }
        Ok(PublicSuffixList {
            source: Source::Rules(Box::new(rules)),
        })
    }

    /// Number of rules (`None` for the built-in list).
    pub fn rule_count(&self) -> Option<usize> {
        match &self.source {
            Source::Builtin => None,
            Source::Rules(r) => Some(r.exact.len() + r.wildcard.len() + r.exception.len()),
        }
    }

    /// The registrable domain of `domain` (its public suffix plus one label), or `None` when
    /// `domain` is itself a public suffix. Unlisted top-level domains count as public suffixes
    /// (the implicit `*` rule of the PSL algorithm).
    pub fn registrable_domain(&self, domain: &Name) -> Option<Name> {
        let suffix_labels = match &self.source {
            Source::Builtin => {
                let registrable = psl::domain_str(domain.as_str())?;
                return Name::parse(registrable).ok();
            }
            Source::Rules(rules) => rules.suffix_labels(domain),
        };
        if domain.label_count() <= suffix_labels {
            return None;
        }
        Some(domain.suffix(suffix_labels + 1))
    }

    /// The Organizational Domain of RFC 7489 §3.2: the registrable domain, or the domain itself
    /// when it is a public suffix.
    pub fn organizational_domain(&self, domain: &Name) -> Name {
        self.registrable_domain(domain)
            .unwrap_or_else(|| domain.clone())
    }
}

impl Rules {
    /// Number of labels of the public suffix of `domain` (the publicsuffix.org algorithm).
    fn suffix_labels(&self, domain: &Name) -> usize {
        let count = domain.label_count();
        let mut best = 1; // the implicit "*" rule
        for n in 1..=count {
            let candidate = domain.suffix(n);
            let s = candidate.as_str();
            if self.exception.contains(s) {
                // An exception rule wins; the suffix is the rule minus its leftmost label.
                return n - 1;
            }
            if self.exact.contains(s) {
                best = best.max(n);
            }
            if n < count && self.wildcard.contains(s) {
                best = best.max(n + 1);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    const LIST: &str = "// comment\ncom\nuk\nco.uk\n*.ck\n!www.ck\n*.kobe.jp\njp\n!city.kobe.jp\n";

    #[test]
    fn rfc7489_3_2_rules_from_text() {
        let l = PublicSuffixList::from_text(LIST).unwrap();
        let reg = |d: &str| l.registrable_domain(&n(d)).map(|x| x.as_str().to_owned());
        assert_eq!(reg("a.b.example.com").as_deref(), Some("example.com"));
        assert_eq!(reg("com"), None);
        assert_eq!(reg("x.example.co.uk").as_deref(), Some("example.co.uk"));
        assert_eq!(reg("co.uk"), None);
        assert_eq!(reg("test.ck"), None);
        assert_eq!(reg("b.test.ck").as_deref(), Some("b.test.ck"));
        assert_eq!(reg("www.ck").as_deref(), Some("www.ck"));
        assert_eq!(reg("www.www.ck").as_deref(), Some("www.ck"));
        assert_eq!(reg("city.kobe.jp").as_deref(), Some("city.kobe.jp"));
        assert_eq!(reg("c.kobe.jp"), None);
        assert_eq!(reg("example.example").as_deref(), Some("example.example"));
        assert_eq!(reg("example"), None);
        assert_eq!(l.organizational_domain(&n("co.uk")), n("co.uk"));
        assert_eq!(l.rule_count(), Some(8));
    }

    #[test]
    fn builtin_list() {
        let l = PublicSuffixList::builtin();
        assert_eq!(
            l.registrable_domain(&n("mail.example.co.uk")),
            Some(n("example.co.uk"))
        );
        assert_eq!(l.registrable_domain(&n("co.uk")), None);
    }

    #[test]
    fn bad_rule_is_an_error() {
        let e = PublicSuffixList::from_text("com\na..b\n").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
