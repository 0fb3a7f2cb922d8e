//! The header field names a signature covers (`h=`, RFC 6376 §3.5), kept in one string.

use serde::{Serialize, Serializer};
use std::fmt;

/// The header field names of a signature's `h=` tag (RFC 6376 §3.5), in order and as written
/// (without the folding whitespace around each name).
///
/// The names are kept in one string, separated by `:` (the separator of `h=` itself, so no
/// name read from a tag holds one): a signature's list costs one allocation, not one per name.
/// Read them with [`HeaderNames::iter`] (or a `for` loop over `&names`); it serializes as a
/// list of strings.
///
/// ```
/// use mailstamp_dkim::HeaderNames;
///
/// let names: HeaderNames = ["From", "To", "from"].into_iter().collect();
/// assert_eq!(names.len(), 3);
/// assert_eq!(names.iter().filter(|n| n.eq_ignore_ascii_case("from")).count(), 2);
/// assert_eq!(names, ["From", "To", "from"]);
/// assert_eq!(names.as_joined(), "From:To:from");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct HeaderNames {
    /// The names, each followed by `:` except the last.
    joined: String,
    /// How many names: an empty list and a list of one empty name both have nothing joined.
    len: usize,
}

impl HeaderNames {
    /// An empty list.
    pub fn new() -> HeaderNames {
        HeaderNames::default()
    }

    /// An empty list with room for `bytes` bytes of names and separators.
    pub fn with_capacity(bytes: usize) -> HeaderNames {
        HeaderNames {
            joined: String::with_capacity(bytes),
            len: 0,
        }
    }

    /// Appends `name`. A `:` in it separates names, as in `h=`: `push("a:b")` adds two names,
    /// `a` and `b`. Names are kept as given: whitespace around them is not removed here
    /// (`push("a: b")` adds `a` and ` b`); the signature parser trims what it reads from `h=`.
    pub fn push(&mut self, name: &str) {
        if self.len > 0 {
            self.joined.push(':');
        }
        self.joined.push_str(name);
        self.len += 1 + name.bytes().filter(|&b| b == b':').count();
    }

    /// Appends `name`, which holds no `:` (a name read from `h=`).
    pub(crate) fn push_plain(&mut self, name: &str) {
        debug_assert!(!name.contains(':'));
        if self.len > 0 {
            self.joined.push(':');
        }
        self.joined.push_str(name);
        self.len += 1;
    }

    /// The number of names.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no name.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The names, in order.
    pub fn iter(&self) -> HeaderNameIter<'_> {
        HeaderNameIter {
            split: (self.len > 0).then(|| self.joined.split(':')),
            left: self.len,
        }
    }

    /// The names separated by `:` (no whitespace): `h=` as it could be written.
    pub fn as_joined(&self) -> &str {
        &self.joined
    }
}

/// The names of a [`HeaderNames`], in order ([`HeaderNames::iter`]).
#[derive(Debug, Clone)]
pub struct HeaderNameIter<'a> {
    split: Option<std::str::Split<'a, char>>,
    left: usize,
}

impl<'a> Iterator for HeaderNameIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let name = self.split.as_mut()?.next()?;
        self.left -= 1;
        Some(name)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for HeaderNameIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let name = self.split.as_mut()?.next_back()?;
        self.left -= 1;
        Some(name)
    }
}

impl ExactSizeIterator for HeaderNameIter<'_> {}

impl std::iter::FusedIterator for HeaderNameIter<'_> {}

impl<'a> IntoIterator for &'a HeaderNames {
    type Item = &'a str;
    type IntoIter = HeaderNameIter<'a>;

    fn into_iter(self) -> HeaderNameIter<'a> {
        self.iter()
    }
}

impl<S: AsRef<str>> FromIterator<S> for HeaderNames {
    fn from_iter<I: IntoIterator<Item = S>>(names: I) -> HeaderNames {
        let mut list = HeaderNames::new();
        list.extend(names);
        list
    }
}

impl<S: AsRef<str>> Extend<S> for HeaderNames {
    fn extend<I: IntoIterator<Item = S>>(&mut self, names: I) {
        for name in names {
            self.push(name.as_ref());
        }
    }
}

impl fmt::Debug for HeaderNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A list of strings, as a `Vec<String>` serializes.
impl Serialize for HeaderNames {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<S: AsRef<str>> PartialEq<[S]> for HeaderNames {
    fn eq(&self, other: &[S]) -> bool {
        self.len == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for HeaderNames {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for HeaderNames {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_list_and_one_empty_name_differ() {
        let empty = HeaderNames::new();
        assert!(empty.is_empty());
        assert_eq!(empty.iter().count(), 0);
        let mut one = HeaderNames::new();
        one.push("");
        assert_eq!(one.len(), 1);
        assert_eq!(one.iter().collect::<Vec<_>>(), [""]);
        assert_ne!(empty, one);
        let two: HeaderNames = ["", ""].into_iter().collect();
        assert_eq!(two.iter().collect::<Vec<_>>(), ["", ""]);
        assert_eq!(two.as_joined(), ":");
    }

    #[test]
    fn names_come_back_in_order_both_ways() {
        let names: HeaderNames = ["from", "To", "subject", "from"].into_iter().collect();
        assert_eq!(names.len(), 4);
        assert_eq!(names.iter().len(), 4);
        assert_eq!(
            names.iter().rev().collect::<Vec<_>>(),
            ["from", "subject", "To", "from"]
        );
        let mut iter = names.iter();
        assert_eq!(iter.next(), Some("from"));
        assert_eq!(iter.next_back(), Some("from"));
        assert_eq!(iter.len(), 2);
        assert_eq!(iter.collect::<Vec<_>>(), ["To", "subject"]);
        assert_eq!(format!("{names:?}"), r#"["from", "To", "subject", "from"]"#);
        assert_ne!(names, ["from", "To", "subject"]);
        assert_ne!(names, ["from", "To", "subject", "From"]);
    }

    #[test]
    fn a_colon_separates_names_as_in_h() {
        let mut names = HeaderNames::new();
        names.push("a:b");
        names.push("c");
        assert_eq!(names.len(), 3);
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn serializes_as_a_list_of_strings() {
        let names: HeaderNames = ["from", "to"].into_iter().collect();
        assert_eq!(
            serde_json::to_string(&names).unwrap(),
            serde_json::to_string(&vec!["from".to_owned(), "to".to_owned()]).unwrap()
        );
        assert_eq!(serde_json::to_string(&HeaderNames::new()).unwrap(), "[]");
    }
}
