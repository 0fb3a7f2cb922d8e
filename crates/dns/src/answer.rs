//! The four-way answer to a query.

use crate::{RData, Record, RecordType, Txt};
use std::fmt;
use std::sync::Arc;

/// Why a query got no usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// No answer arrived within the configured time.
    Timeout,
    /// The server answered SERVFAIL (RCODE 2).
    ServFail,
    /// The server answered REFUSED (RCODE 5).
    Refused,
    /// Anything else: a malformed response, a network error, another RCODE.
    Other,
}

impl FailureKind {
    /// Lower-case token used in JSON and fixtures (`timeout`, `servfail`, `refused`, `other`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::ServFail => "servfail",
            FailureKind::Refused => "refused",
            FailureKind::Other => "other",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one query.
///
/// RFC 7208 §4.6.4 counts [`Answer::NxDomain`] and [`Answer::NoData`] as "void lookups";
/// [`Answer::Failed`] is the "DNS error" of RFC 7208 §5 and RFC 6376 §6.1.2 (a temporary error,
/// never a pass).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Answer {
    /// The records found (for a query that went through CNAMEs, the CNAME records come first).
    /// Never empty. Shared: a resolver's cache hands out the same records to every evaluation
    /// that asks, and cloning an answer copies none of them (`vec.into()` makes one).
    Records(Arc<[Record]>),
    /// The name does not exist (RCODE 3, NXDOMAIN).
    NxDomain,
    /// The name exists but has no record of the asked type (NOERROR with an empty answer).
    NoData,
    /// The lookup failed.
    Failed(FailureKind),
}

impl Answer {
    /// All records, including any CNAMEs of the chain.
    pub fn records(&self) -> &[Record] {
        match self {
            Answer::Records(r) => r,
            _ => &[],
        }
    }

    /// The data of the records of type `rtype` (CNAMEs of a chain skipped).
    pub fn data_of(&self, rtype: RecordType) -> impl Iterator<Item = &RData> {
        self.records()
            .iter()
            .map(|r| &r.data)
            .filter(move |d| d.rtype() == rtype)
    }

    /// The TXT records of the answer.
    pub fn txts(&self) -> impl Iterator<Item = &Txt> {
        self.records().iter().filter_map(|r| match &r.data {
            RData::Txt(t) => Some(t),
            _ => None,
        })
    }

    /// True for NXDOMAIN and NODATA, the "void lookups" of RFC 7208 §4.6.4. An answer holding
    /// only CNAMEs, and no record of the asked type, also counts as void.
    pub fn is_void(&self, rtype: RecordType) -> bool {
        match self {
            Answer::NxDomain | Answer::NoData => true,
            Answer::Records(_) => self.data_of(rtype).next().is_none(),
            Answer::Failed(_) => false,
        }
    }

    /// True for [`Answer::Failed`].
    pub fn is_failed(&self) -> bool {
        matches!(self, Answer::Failed(_))
    }

    /// Lower-case token: `records`, `nxdomain`, `nodata` or `failed`.
    pub fn kind_str(&self) -> &'static str {
        match self {
            Answer::Records(_) => "records",
            Answer::NxDomain => "nxdomain",
            Answer::NoData => "nodata",
            Answer::Failed(_) => "failed",
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Records(r) => {
                for (i, rec) in r.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{} {}", rec.data.rtype(), rec.data)?;
                }
                Ok(())
            }
            Answer::NxDomain => f.write_str("NXDOMAIN"),
            Answer::NoData => f.write_str("NODATA"),
            Answer::Failed(k) => write!(f, "failed ({k})"),
        }
    }
}
