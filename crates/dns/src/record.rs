//! Queries, record types and record data.

use crate::Name;
use std::any::Any;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, OnceLock};

/// The record types mailstamp asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
    /// IPv4 address (RFC 1035 §3.4.1).
    A,
    /// IPv6 address (RFC 3596).
    Aaaa,
    /// Mail exchanger (RFC 1035 §3.3.9).
    Mx,
    /// Text strings (RFC 1035 §3.3.14): SPF, DKIM keys, DMARC policies.
    Txt,
    /// Domain name pointer, for reverse lookups (RFC 1035 §3.3.12).
    Ptr,
    /// Canonical name (RFC 1035 §3.3.1).
    Cname,
}

impl RecordType {
    /// Every type, in a stable order.
    pub const ALL: [RecordType; 6] = [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Mx,
        RecordType::Txt,
        RecordType::Ptr,
        RecordType::Cname,
    ];

    /// The mnemonic as DNS tools print it (`TXT`, `AAAA`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Ptr => "PTR",
            RecordType::Cname => "CNAME",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record type mnemonic that mailstamp does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown record type {0:?} (expected one of A, AAAA, MX, TXT, PTR, CNAME)")]
pub struct UnknownRecordType(pub String);

impl std::str::FromStr for RecordType {
    type Err = UnknownRecordType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecordType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownRecordType(s.to_owned()))
    }
}

/// A DNS question: a name and a type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Query {
    /// The name asked about.
    pub name: Name,
    /// The record type asked for.
    pub rtype: RecordType,
}

impl Query {
    /// A query for `name` of type `rtype`.
    pub fn new(name: Name, rtype: RecordType) -> Query {
        Query { name, rtype }
    }

    /// A TXT query.
    pub fn txt(name: Name) -> Query {
        Query::new(name, RecordType::Txt)
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.rtype)
    }
}

/// The character-strings of one TXT record, as received (RFC 1035 §3.3.14).
///
/// A TXT record is a sequence of strings of at most 255 octets each. SPF (RFC 7208 §3.3) and
/// DKIM (RFC 6376 §3.6.2.2) join them with nothing in between: use [`Txt::joined_bytes`] (or
/// [`Txt::joined`] for an owned copy). The bytes need not be UTF-8.
///
/// The strings and their joined value are kept once, shared: cloning a `Txt` (or an answer
/// holding it, as a resolver cache hands answers out) copies no bytes.
///
/// A record also carries one memo slot ([`Txt::memo`]): what a reader derived from it (its
/// parse), kept with the record and shared by its clones, so that a cached answer is parsed
/// once for as long as it is cached. Equality and hashing look at the strings only.
#[derive(Clone, Default)]
pub struct Txt {
    data: Arc<TxtData>,
}

#[derive(Default)]
struct TxtData {
    strings: Vec<Vec<u8>>,
    /// The strings concatenated, computed once.
    joined: Box<[u8]>,
    /// See [`Txt::memo`].
    memo: OnceLock<Arc<dyn Any + Send + Sync>>,
}

impl PartialEq for Txt {
    fn eq(&self, other: &Txt) -> bool {
        self.data.strings == other.data.strings
    }
}

impl Eq for Txt {}

impl Hash for Txt {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.data.strings.hash(state);
    }
}

impl fmt::Debug for Txt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Txt")
            .field("strings", &self.data.strings)
            .finish()
    }
}

impl Txt {
    /// A TXT record made of these character-strings.
    pub fn new<I, S>(strings: I) -> Txt
    where
        I: IntoIterator<Item = S>,
        S: Into<Vec<u8>>,
    {
        let strings: Vec<Vec<u8>> = strings.into_iter().map(Into::into).collect();
        let joined = strings.concat().into_boxed_slice();
        Txt {
            data: Arc::new(TxtData {
                strings,
                joined,
                memo: OnceLock::new(),
            }),
        }
    }

    /// The character-strings as received.
    pub fn strings(&self) -> &[Vec<u8>] {
        &self.data.strings
    }

    /// The one documented way to join the strings of a record: concatenated with no separator,
    /// as RFC 7208 §3.3 and RFC 6376 §3.6.2.2 require. An owned copy of
    /// [`Txt::joined_bytes`].
    pub fn joined(&self) -> Vec<u8> {
        self.data.joined.to_vec()
    }

    /// The strings joined as [`Txt::joined`] does, borrowed: computed once when the record was
    /// made, so reading it allocates nothing.
    pub fn joined_bytes(&self) -> &[u8] {
        &self.data.joined
    }

    /// What `derive` makes of the joined value, computed once per record and kept with it (and
    /// its clones): a parser's cache that lives exactly as long as the answer holding the
    /// record. `derive` must be a pure function of the value (a parse), so a kept result is
    /// always what deriving again would give. The slot holds one type: when it already holds
    /// another (the same TXT record read as SPF, then as something else), `derive` runs and its
    /// result is returned without being kept.
    pub fn memo<T: Any + Send + Sync>(&self, derive: impl FnOnce(&[u8]) -> T) -> Arc<T> {
        if let Some(kept) = self.data.memo.get() {
            return match Arc::clone(kept).downcast::<T>() {
                Ok(t) => t,
                Err(_) => Arc::new(derive(&self.data.joined)),
            };
        }
        let made = Arc::new(derive(&self.data.joined));
        let erased: Arc<dyn Any + Send + Sync> = made.clone();
        // Another thread may have set it meanwhile: both values are equal (pure function).
        let _ = self.data.memo.set(erased);
        made
    }

    /// [`Txt::memo`] read through a reference: `read` gets the kept value (derived first if
    /// the slot is empty), and its result is returned. A parser that hands out shared records
    /// clones only what it returns, not the slot's own handle.
    pub fn memo_read<T: Any + Send + Sync, R>(
        &self,
        derive: impl FnOnce(&[u8]) -> T,
        read: impl FnOnce(&T) -> R,
    ) -> R {
        if let Some(kept) = self.data.memo.get() {
            return match kept.downcast_ref::<T>() {
                Some(t) => read(t),
                None => read(&derive(&self.data.joined)),
            };
        }
        read(&self.memo(derive))
    }

    /// The joined value as text, with invalid UTF-8 replaced by U+FFFD (for display only).
    pub fn joined_lossy(&self) -> String {
        String::from_utf8_lossy(self.joined_bytes()).into_owned()
    }
}

/// Record data of the types mailstamp asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A mail exchanger.
    Mx {
        /// Preference (lower is preferred).
        preference: u16,
        /// The exchange host; the root name `.` (null MX, RFC 7505) is represented as `None`.
        exchange: Option<Name>,
    },
    /// A TXT record.
    Txt(Txt),
    /// A PTR record's target.
    Ptr(Name),
    /// A CNAME record's target.
    Cname(Name),
}

impl RData {
    /// The record type of this data.
    pub fn rtype(&self) -> RecordType {
        match self {
            RData::A(_) => RecordType::A,
            RData::Aaaa(_) => RecordType::Aaaa,
            RData::Mx { .. } => RecordType::Mx,
            RData::Txt(_) => RecordType::Txt,
            RData::Ptr(_) => RecordType::Ptr,
            RData::Cname(_) => RecordType::Cname,
        }
    }
}

impl fmt::Display for RData {
    /// Presentation format, as in a zone file (TXT strings quoted and escaped).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RData::A(a) => write!(f, "{a}"),
            RData::Aaaa(a) => write!(f, "{a}"),
            RData::Mx {
                preference,
                exchange: Some(x),
            } => write!(f, "{preference} {}", x.to_fqdn()),
            RData::Mx {
                preference,
                exchange: None,
            } => write!(f, "{preference} ."),
            RData::Ptr(n) | RData::Cname(n) => f.write_str(&n.to_fqdn()),
            RData::Txt(t) => {
                for (i, s) in t.strings().iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    f.write_str("\"")?;
                    for &b in s {
                        match b {
                            b'"' | b'\\' => write!(f, "\\{}", b as char)?,
                            0x20..=0x7e => write!(f, "{}", b as char)?,
                            _ => write!(f, "\\{b:03}")?,
                        }
                    }
                    f.write_str("\"")?;
                }
                Ok(())
            }
        }
    }
}

/// One resource record of an answer: its owner, time to live and data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// The owner name (for a CNAME chain, the name each record belongs to).
    pub name: Name,
    /// Time to live in seconds.
    pub ttl: u32,
    /// The data.
    pub data: RData,
}

#[cfg(test)]
mod tests {
    use super::Txt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn memo_derives_once_per_record_and_its_clones() {
        let calls = AtomicUsize::new(0);
        let derive = |text: &[u8]| {
            calls.fetch_add(1, Ordering::Relaxed);
            text.len()
        };
        let txt = Txt::new(["v=spf1 ", "-all"]);
        let copy = txt.clone();
        assert_eq!(*txt.memo(derive), 11);
        assert_eq!(*copy.memo(derive), 11);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        // Another type is derived each time, never kept in place of the first.
        let other = |text: &[u8]| String::from_utf8_lossy(text).into_owned();
        assert_eq!(*txt.memo(other), "v=spf1 -all");
        assert_eq!(*txt.memo(derive), 11);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        // A new record with the same text starts without a memo.
        assert_eq!(*Txt::new(["v=spf1 -all"]).memo(derive), 11);
        assert_eq!(calls.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn memo_read_shares_the_slot_of_memo() {
        let calls = AtomicUsize::new(0);
        let derive = |text: &[u8]| {
            calls.fetch_add(1, Ordering::Relaxed);
            text.len()
        };
        let txt = Txt::new(["v=spf1 ", "-all"]);
        // Derived and kept by the first read, whichever form reads first.
        assert_eq!(txt.memo_read(derive, |n| n * 2), 22);
        assert_eq!(*txt.clone().memo(derive), 11);
        assert_eq!(txt.memo_read(derive, |n| *n), 11);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        // Another type is derived for the read and not kept.
        let other = |text: &[u8]| String::from_utf8_lossy(text).into_owned();
        assert_eq!(txt.memo_read(other, |s| s.len()), 11);
        assert_eq!(txt.memo_read(derive, |n| *n), 11);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }
}
