//! mailstamp-testkit: everything only mailstamp's tests, benches and examples use.
//!
//! * [`TestServer`] ([`dns_server`]): a real DNS server on 127.0.0.1 (UDP and TCP) that serves a
//!   [`mailstamp_dns::Zone`], so the live resolver path is tested over real sockets, truncation
//!   and TCP fallback included;
//! * [`milter_load`]: a milter-protocol load generator (N connections × M messages, messages
//!   per second, p50/p99 end-of-message latency);
//! * [`postfix`]: a real Postfix in a temporary directory on loopback ports, delivering to
//!   `smtp-sink`, with a minimal SMTP client: the end-to-end harness of the milter
//!   ([`postfix::PostfixInstance`]);
//! * [`corpus`]: a deterministic generator of realistic messages for benchmarks and bulk tests;
//! * [`suites`]: the loaders of the shared conformance suites (OpenSPF YAML, mail-auth's SPF
//!   tests), from `mailstamp-fixture`.
//!
//! It is never a normal dependency of a published crate (`publish = false`): a mail system
//! that links `mailstamp` carries none of it. It does not touch the internet: servers bind the
//! loopback address only.
//!
//! ```
//! use mailstamp_dns::{Name, Zone};
//! use mailstamp_testkit::TestServer;
//!
//! let mut zone = Zone::new();
//! zone.add_txt(&Name::parse("example.org")?, ["v=spf1 -all"]);
//! let server = TestServer::start(zone);
//! assert!(server.addr().ip().is_loopback());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod corpus;
pub mod dns_server;
pub mod interop;
pub mod milter_load;
pub mod postfix;

pub use dns_server::{Options, TestServer};
pub use postfix::{PostfixInstance, PostfixOptions};

/// The conformance-suite formats: [`suites::openspf`] (the OpenSPF YAML suites) and
/// [`suites::mailauth`] (the line-oriented SPF tests of Stalwart's mail-auth).
pub mod suites {
    pub use mailstamp_fixture::{mailauth, openspf};
}
