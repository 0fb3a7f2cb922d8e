//! mailstamp's I/O layer: where the pure protocol crates meet files, the network and the
//! clock.
//!
//! * [`fixture`]: offline DNS data. Master zone files and OpenSPF-style YAML load into a
//!   [`mailstamp_dns::Zone`]; the OpenSPF and mail-auth test-suite formats load into
//!   scenarios; record mode's answers are written back as YAML.
//! * [`Resolver`]: answers queries from an offline zone or the live DNS (hickory-resolver:
//!   system configuration or explicit nameservers, timeouts, TCP fallback), through a
//!   TTL-honouring cache shared by all its clones, with an observer hook and record mode.
//! * [`drive`]: runs any sans-I/O evaluation ([`mailstamp_dns::Step`]) to its end against a
//!   resolver, answering each step's queries concurrently.
//! * [`pipeline`]: the receiver's pipeline: SPF, DKIM and DMARC for a message (or a stream of
//!   them, in parallel) with one report and its Authentication-Results field.
//! * [`audit`]: checks what a domain publishes (SPF, DMARC, DKIM keys, MX), each problem a
//!   finding with a severity, a stable code, the RFC section and the fix.
//! * [`records`]: builds the SPF, DMARC and DKIM records to publish and validates them as if
//!   they were published.
//!
//! This crate does **not** implement SPF, DKIM or DMARC itself: those are the sans-I/O crates
//! (`mailstamp-spf`, `mailstamp-dkim`, `mailstamp-dmarc`), which never touch I/O.
//!
//! ```
//! use mailstamp::{DnsSource, Resolver, fixture};
//! use mailstamp_dns::{Answer, Name, Query, RecordType};
//!
//! // An offline zone, as `mailstamp --zone` loads it (master file syntax).
//! let zone = fixture::parse_zone_str(
//!     "$ORIGIN example.org.\n$TTL 300\n@ IN TXT \"v=spf1 mx -all\"\n@ IN MX 10 mail\n",
//!     "example.zone",
//! )?;
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
//! // Record mode: what was received, as a fixture that replays it.
//! let recorded = fixture::recording_to_yaml(&resolver.recording().unwrap_or_default());
//! let replay = fixture::parse_yaml_str(&recorded, "recorded.yml")?;
//! assert_eq!(replay.answer(&Query::new(name, RecordType::Aaaa)), Answer::NoData);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use resolver::{
    Clock, DEFAULT_NEGATIVE_TTL, DnsEvent, DnsSource, FAILURE_TTL, LiveConfig, MAX_CACHE_TTL,
    Observer, Resolver, ResolverBuilder, ResolverError, drive, system_clock,
};

pub mod audit;
pub mod corpus;
pub mod envelope;
pub mod fixture;
pub mod mailbox;
pub mod pipeline;
pub mod records;
mod resolver;
pub mod spf;
