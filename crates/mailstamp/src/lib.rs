//! mailstamp: the library a mail system links to authenticate mail. SPF, DKIM and DMARC
//! over the DNS, written up as an Authentication-Results field.
//!
//! One dependency gives everything a receiver or a signer needs; the protocol crates are
//! re-exported under short names:
//!
//! * [`dns`], [`message`], [`spf`] (with [`spf::check`], the SPF driver over the
//!   resolver), [`dkim`], [`dmarc`], [`authres`]: the sans-I/O protocol crates;
//! * [`Resolver`]: answers queries from an offline [`dns::Zone`] or the live DNS
//!   (hickory-resolver: system configuration or explicit nameservers, timeouts, TCP fallback),
//!   through a TTL-honouring cache shared by all its clones, with an observer hook and record
//!   mode;
//! * [`drive`] and [`drive_within`]: the one driver of every sans-I/O machine
//!   ([`dns::Step`]) against a resolver, each step's queries answered concurrently, within
//!   [`DEFAULT_TIME_LIMIT`] or the caller's budget;
//! * [`pipeline`]: the receiver's pipeline: SPF, DKIM and DMARC for a message (or a stream of
//!   them, in parallel) with one report and its Authentication-Results field. Callers that let
//!   mailstamp do the I/O use [`pipeline::Authenticator::check`]; callers that own their event
//!   loop use [`pipeline::Authenticator::prepare`] → [`pipeline::Authenticator::start`] →
//!   answer the queries → the report;
//! * [`mailbox`]: reads messages from files, mbox and maildir folders.
//!
//! What it does **not** carry: no zone-file or YAML parser (offline fixtures are
//! `mailstamp-fixture`), no domain audit or record builder (`mailstamp-audit`), no test servers
//! or corpus generators (`mailstamp-testkit`), no command line (`mailstamp-cli`). It implements no
//! protocol itself: the sans-I/O crates do, and never touch I/O.
//!
//! ```
//! use mailstamp::dns::{Answer, Name, Query, RecordType, Zone};
//! use mailstamp::{DnsSource, Resolver};
//!
//! let mut zone = Zone::new();
//! zone.add_txt(&Name::parse("example.org")?, ["v=spf1 mx -all"]);
//! let resolver = Resolver::builder(DnsSource::Zone(zone)).record(true).build()?;
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let name = Name::parse("example.org")?;
//! let answers = runtime.block_on(resolver.answer_all(&[
//!     Query::txt(name.clone()),
//!     Query::new(name.clone(), RecordType::Aaaa),
//!     Query::txt(Name::parse("_dmarc.example.org")?),
//! ]));
//! assert!(matches!(answers[0], Answer::Records(_)));
//! assert_eq!(answers[1..], [Answer::NoData, Answer::NxDomain]);
//! // Record mode: what was received, to be written as a fixture that replays it.
//! assert_eq!(resolver.recording().unwrap_or_default().len(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use driver::{DEFAULT_TIME_LIMIT, TimeLimited, drive, drive_within};
pub use resolver::{
    Clock, DEFAULT_NEGATIVE_TTL, DEFAULT_PARSED_LIMIT, DnsEvent, DnsSource, FAILURE_TTL,
    LiveConfig, MAX_CACHE_TTL, Observer, ParsedRecords, Resolver, ResolverBuilder, ResolverError,
    system_clock,
};

pub use mailstamp_authres as authres;
pub use mailstamp_dkim as dkim;
pub use mailstamp_dmarc as dmarc;
pub use mailstamp_dns as dns;
pub use mailstamp_message as message;

mod driver;
pub mod mailbox;
pub mod pipeline;
mod resolver;
pub mod spf;
