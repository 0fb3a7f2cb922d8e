//! Sender Policy Framework (RFC 7208) for mailstamp: a typed record parser and `check_host()`
//! as a sans-I/O state machine.
//!
//! What this crate does:
//!
//! * [`Record`]: parses `v=spf1` records into typed directives ([`Mechanism`] with
//!   [`Qualifier`] and [`DualCidr`]), `redirect=`/`exp=` and unknown modifiers, and
//!   macro-strings with every letter, transformer and delimiter of RFC 7208 §7. Parse errors
//!   name the offending term and its byte offset ([`ParseError`]); `Display` prints the
//!   canonical text.
//! * [`check_host`]: evaluates a [`Request`] (MAIL FROM or HELO identity) as RFC 7208 §4–§6
//!   describe. It never performs I/O: it returns [`Step::Lookup`] with the DNS queries it
//!   needs and continues when a driver hands the answers back ([`Lookup::resume`]); the
//!   `mx` fan-out asks for several names in one step. `include` and `redirect` are frames on
//!   an explicit stack. Every limit of RFC 7208 §4.6.4 is counted inside the evaluator
//!   ([`MAX_DNS_MECHANISMS`], [`MAX_VOID_LOOKUPS`], [`MAX_MX_NAMES`], [`MAX_PTR_NAMES`]) so
//!   no driver can bypass it; a record is parsed at most once per evaluation, and a
//!   [`RecordCache`] of pre-parsed records can replace TXT lookups altogether.
//! * [`SpfVerdict`]: the [`SpfResult`], the [`SpfProblem`] behind a `none`, `temperror` or
//!   `permerror`, the deciding term, the explanation of a `fail`, the lookups spent and, on
//!   request, a trace of every term, query and answer.
//!
//! What it does **not** do: send DNS queries (drivers do: [`mailstamp_dns::resolve_sync`]
//! against a [`mailstamp_dns::Zone`], or the async driver of the `mailstamp` crate), keep
//! time (the `%{t}` value is passed in, the ~20 s budget of RFC 7208 §4.6.4 belongs to the
//! driver), or write header fields (`Received-SPF` and `Authentication-Results` are written
//! by `mailstamp-authres` from a verdict). It reads no files and no clock.
//!
//! # Example
//!
//! ```
//! use mailstamp_dns::{resolve_sync, Name, Zone};
//! use mailstamp_spf::{check_host, Options, Record, Request, SpfResult};
//!
//! let record: Record = "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all".parse().unwrap();
//! assert_eq!(record.directives().len(), 3);
//!
//! let mut zone = Zone::new();
//! zone.add_txt(&Name::parse("example.com").unwrap(), [record.to_string()]);
//! zone.add_txt(&Name::parse("_spf.example.net").unwrap(), ["v=spf1 ip6:2001:db8::/32 -all"]);
//!
//! let options = Options::default().with_default_explanation("%{i} is not allowed to send for %{d}");
//! let request = Request::mail_from("198.51.100.7".parse().unwrap(), "bob@example.com", "mx.example.org");
//! let verdict = resolve_sync(check_host(&request, &options), &zone);
//! assert_eq!(verdict.result, SpfResult::Fail);
//! assert_eq!(verdict.lookups, 1);
//! assert_eq!(verdict.explanation.as_deref(), Some("198.51.100.7 is not allowed to send for example.com"));
//!
//! let request = Request::mail_from("2001:db8::25".parse().unwrap(), "bob@example.com", "mx.example.org");
//! let verdict = resolve_sync(check_host(&request, &options), &zone);
//! assert_eq!(verdict.result, SpfResult::Pass);
//! assert_eq!(verdict.matched.unwrap().term(), "include:_spf.example.net");
//! ```
//!
//! # Standards
//!
//! RFC 7208 (SPF), including the void-lookup limit of §4.6.4 and the HELO identity of §2.3;
//! RFC 7505 null MX records are skipped by `mx`. The `SPF` RR type (99) is not queried
//! (RFC 7208 §3.1: TXT only). Records must be 7-bit ASCII.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod eval;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod macros;
mod record;
mod request;
mod result;
mod verdict;

pub use eval::{Pending, check_host, check_host_with};
pub use macros::{
    Delimiters, DomainSpec, DomainSpecError, Literal, MAX_EXPANSION_LEN, MAX_EXPLANATION_LEN,
    MacroError, MacroExpand, MacroItem, MacroLetter, MacroString,
};
pub use mailstamp_dns::{Lookup, Step};
pub use record::{
    Directive, DualCidr, Mechanism, ParseError, ParseErrorKind, Record, UnknownModifier, VERSION,
    is_spf_record,
};
pub use request::{
    MAX_DNS_MECHANISMS, MAX_MX_NAMES, MAX_PTR_NAMES, MAX_VOID_LOOKUPS, Options, RecordCache,
    RecordParser, Request,
};
pub use result::{Identity, Qualifier, SpfResult, UnknownResult};
pub use verdict::{MatchedTerm, RecordSource, SpfProblem, SpfVerdict, TermOutcome, TraceEvent};
