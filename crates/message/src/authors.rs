//! RFC5322.From author addresses and domains.

use crate::Message;
use mail_parser::parsers::MessageStream;
use mail_parser::{Addr, Address, HeaderValue};
use mailstamp_dns::Name;
use serde::{Serialize, Serializer};

fn ser_name<S: Serializer>(name: &Option<Name>, s: S) -> Result<S::Ok, S::Error> {
    match name {
        Some(n) => s.serialize_some(n.as_str()),
        None => s.serialize_none(),
    }
}

fn ser_names<S: Serializer>(names: &[Name], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(names.iter().map(Name::as_str))
}

/// One author mailbox of an RFC5322.From field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Author {
    /// Index of the From field it came from ([`crate::HeaderField::index`]).
    pub field_index: usize,
    /// The display name, with RFC 2047 encoded words decoded and comments appended (as
    /// mail-parser renders them), when there is one.
    pub display_name: Option<String>,
    /// The address (`local-part@domain`) as written, quotes and comments removed.
    pub address: String,
    /// The name of the group (RFC 5322 §3.4) the address was listed in, if any.
    pub group: Option<String>,
    /// The domain part as a normalised [`Name`] (lower case, A-labels), when it is a valid
    /// domain name. `None` for an address without `@`, a domain literal (`[192.0.2.1]`) or an
    /// invalid name; [`Authors::problems`] says which.
    #[serde(serialize_with = "ser_name")]
    pub domain: Option<Name>,
}

/// Why the From header does not name exactly one author with a usable domain.
///
/// RFC 5322 §3.6 allows exactly one From field; RFC 5322 §3.6.2 allows several mailboxes in it
/// (then a Sender field is required). RFC 9989 (DMARC) needs a single author domain, so these
/// are reported rather than silently reduced to one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthorProblem {
    /// The message has no From field (RFC 5322 §3.6 requires one).
    NoFromField,
    /// The message has more than one From field (RFC 5322 §3.6 allows one).
    MultipleFromFields {
        /// How many.
        count: usize,
    },
    /// A From field holds no address at all (empty, or only a display name or group name).
    NoAddress {
        /// Index of the field.
        field_index: usize,
    },
    /// The From fields hold more than one address in total (RFC 5322 §3.6.2).
    MultipleAddresses {
        /// How many.
        count: usize,
    },
    /// An address has no `@domain` part.
    NoDomain {
        /// The address.
        address: String,
    },
    /// An address's domain is a domain literal such as `[192.0.2.1]` (RFC 5322 §3.4.1), which
    /// has no DNS name to evaluate.
    DomainLiteral {
        /// The address.
        address: String,
    },
    /// An address's domain is not a valid domain name (or cannot be converted to A-labels).
    InvalidDomain {
        /// The address.
        address: String,
        /// Why.
        reason: String,
    },
}

/// The authors of a message: every address of every RFC5322.From field, and their domains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authors {
    from_fields: Vec<usize>,
    authors: Vec<Author>,
    #[serde(serialize_with = "ser_names")]
    domains: Vec<Name>,
    problems: Vec<AuthorProblem>,
}

impl Authors {
    pub(crate) fn from_message(msg: &Message<'_>) -> Authors {
        let bytes = msg.head();
        let mut from_fields = Vec::new();
        let mut authors = Vec::new();
        let mut problems = Vec::new();
        for field in msg.fields_named("from") {
            from_fields.push(field.index());
            // mail-parser reads the value in place: the stream stops at the CRLF that is not
            // followed by whitespace, i.e. at the end of this field.
            let mut stream = MessageStream::new(bytes);
            stream.skip_bytes(field.value_offset());
            let before = authors.len();
            if let HeaderValue::Address(address) = stream.parse_address() {
                collect(&address, field.index(), &mut authors);
            }
            if authors.len() == before {
                problems.push(AuthorProblem::NoAddress {
                    field_index: field.index(),
                });
            }
        }
        match from_fields.len() {
            0 => problems.insert(0, AuthorProblem::NoFromField),
            1 => {}
            count => problems.insert(0, AuthorProblem::MultipleFromFields { count }),
        }
        if authors.len() > 1 {
            problems.push(AuthorProblem::MultipleAddresses {
                count: authors.len(),
            });
        }
        let mut domains: Vec<Name> = Vec::new();
        for author in &mut authors {
            match domain_of(&author.address) {
                Ok(name) => {
                    if !domains.contains(&name) {
                        domains.push(name.clone());
                    }
                    author.domain = Some(name);
                }
                Err(p) => problems.push(p),
            }
        }
        Authors {
            from_fields,
            authors,
            domains,
            problems,
        }
    }

    /// Indexes of the From fields ([`crate::HeaderField::index`]), top to bottom.
    pub fn from_fields(&self) -> &[usize] {
        &self.from_fields
    }

    /// Every author address, in order.
    pub fn authors(&self) -> &[Author] {
        &self.authors
    }

    /// The distinct author domains, in order of first appearance.
    pub fn domains(&self) -> &[Name] {
        &self.domains
    }

    /// Everything that keeps the From header from naming exactly one author with a usable
    /// domain. Empty for a well-formed single-author message.
    pub fn problems(&self) -> &[AuthorProblem] {
        &self.problems
    }

    /// True for the ordinary case: one From field holding one address with a valid domain.
    pub fn is_single_author(&self) -> bool {
        self.problems.is_empty() && self.authors.len() == 1 && self.domains.len() == 1
    }

    /// The author domain when every author address has a valid domain and they are all the
    /// same (one From field or several, one address or several).
    pub fn single_domain(&self) -> Option<&Name> {
        let all_have_domains = !self.authors.is_empty()
            && self.authors.iter().all(|a| a.domain.is_some())
            && self.domains.len() == 1;
        if all_have_domains {
            self.domains.first()
        } else {
            None
        }
    }
}

fn push_addr(addr: &Addr<'_>, group: Option<&str>, field_index: usize, out: &mut Vec<Author>) {
    if let Some(address) = addr.address.as_deref().map(str::trim)
        && !address.is_empty()
    {
        out.push(Author {
            field_index,
            display_name: addr.name.as_deref().map(str::to_owned),
            address: address.to_owned(),
            group: group.map(str::to_owned),
            domain: None,
        });
    }
}

fn collect(address: &Address<'_>, field_index: usize, out: &mut Vec<Author>) {
    match address {
        Address::List(list) => {
            for a in list {
                push_addr(a, None, field_index, out);
            }
        }
        Address::Group(groups) => {
            for g in groups {
                for a in &g.addresses {
                    push_addr(a, g.name.as_deref(), field_index, out);
                }
            }
        }
    }
}

fn domain_of(address: &str) -> Result<Name, AuthorProblem> {
    let Some((_, domain)) = address.rsplit_once('@') else {
        return Err(AuthorProblem::NoDomain {
            address: address.to_owned(),
        });
    };
    let domain = domain.trim();
    if domain.starts_with('[') {
        return Err(AuthorProblem::DomainLiteral {
            address: address.to_owned(),
        });
    }
    if domain.is_empty() {
        return Err(AuthorProblem::NoDomain {
            address: address.to_owned(),
        });
    }
    Name::parse(domain).map_err(|e| AuthorProblem::InvalidDomain {
        address: address.to_owned(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authors(raw: &[u8]) -> Authors {
        Message::parse(raw).authors()
    }

    #[test]
    fn rfc5322_3_6_2_single_author() {
        let a = authors(b"From: \"Joe Q. Public\" <john.q.public@Example.COM>\r\n\r\n");
        assert!(a.is_single_author());
        assert_eq!(a.authors()[0].address, "john.q.public@Example.COM");
        assert_eq!(
            a.authors()[0].display_name.as_deref(),
            Some("Joe Q. Public")
        );
        assert_eq!(a.single_domain().unwrap().as_str(), "example.com");
    }

    #[test]
    fn rfc5322_3_4_comments_groups_and_folding() {
        let a = authors(b"From: (comment) Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>\r\n\r\n");
        assert_eq!(a.authors().len(), 1);
        assert_eq!(a.domains()[0].as_str(), "silly.test");

        let a = authors(b"From: A Group:Ed Jones <c@a.test>,\r\n joe@where.test;\r\n\r\n");
        assert_eq!(a.authors().len(), 2);
        assert_eq!(a.authors()[0].group.as_deref(), Some("A Group"));
        assert_eq!(a.domains().len(), 2);
        assert!(!a.is_single_author());
        assert!(a.single_domain().is_none());
        assert!(
            a.problems()
                .contains(&AuthorProblem::MultipleAddresses { count: 2 })
        );
    }

    #[test]
    fn rfc2047_encoded_display_name() {
        let a = authors(b"From: =?UTF-8?B?w4lsaXNl?= <elise@example.org>\r\n\r\n");
        assert_eq!(a.authors()[0].display_name.as_deref(), Some("\u{c9}lise"));
        assert!(a.is_single_author());
    }

    #[test]
    fn idn_domain_becomes_a_labels() {
        let a = authors("From: J\u{f6}rg <j\u{f6}rg@b\u{fc}cher.example>\r\n\r\n".as_bytes());
        assert_eq!(a.domains()[0].as_str(), "xn--bcher-kva.example");
        assert!(a.is_single_author());
    }

    #[test]
    fn rfc5322_3_6_multiple_from_fields_reported() {
        let a = authors(b"From: a@one.example\r\nFrom: b@one.example\r\n\r\n");
        assert_eq!(a.from_fields(), [0, 1]);
        assert_eq!(
            a.problems()[0],
            AuthorProblem::MultipleFromFields { count: 2 }
        );
        assert_eq!(a.single_domain().unwrap().as_str(), "one.example");
        assert!(!a.is_single_author());
    }

    #[test]
    fn missing_and_unusable_addresses() {
        let a = authors(b"To: x@y\r\n\r\n");
        assert_eq!(a.problems(), [AuthorProblem::NoFromField]);
        let a = authors(b"From: \r\n\r\n");
        assert_eq!(a.problems(), [AuthorProblem::NoAddress { field_index: 0 }]);
        let a = authors(b"From: user@[192.0.2.1]\r\n\r\n");
        assert!(matches!(
            a.problems()[0],
            AuthorProblem::DomainLiteral { .. }
        ));
        let a = authors(b"From: <user>\r\n\r\n");
        assert!(matches!(a.problems()[0], AuthorProblem::NoDomain { .. }));
        let a = authors(b"From: user@exa mple..com\r\n\r\n");
        assert!(a.single_domain().is_none());
    }
}
