//! DMARC reports, both directions.
//!
//! * **Read** (domain owners): [`parse`] reads aggregate reports in the RFC 7489 Appendix C
//!   form and the RFC 9990 form (namespace `urn:ietf:params:xml:ns:dmarc-2.0`), and failure
//!   reports (RFC 9991, in the Abuse Reporting Format of RFC 5965 with the RFC 6591
//!   authentication-failure fields), from `.xml`, `.xml.gz`, `.zip`, report e-mails, mboxes,
//!   maildirs and directories. Both editions come out as one normalised [`AggregateReport`].
//!   [`summary`] totals them per reporting organisation and per source IP; [`html`] draws
//!   them as one self-contained page.
//! * **Write** (receivers): [`store`] records each DMARC evaluation ([`store::Evaluation`])
//!   in SQLite or PostgreSQL; [`generate`] turns a period of them into RFC 9990 aggregate reports.
//!
//! Every input problem is a [`Diagnostic`] naming the file, the element and the reason: an
//! error when the input is not a report at all (or lacks what every report must carry), a
//! warning for an oddity a careful reader accepts (wrong namespace, upper-case results, empty
//! reasons, invalid UTF-8, trailing bytes after a gzip stream, old draft elements). Nothing
//! panics on bad input.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod aggregate;
mod arf;
mod container;
mod diag;
pub mod generate;
pub mod html;
mod model;
pub mod store;
pub mod summary;

pub use aggregate::parse_aggregate_xml;
pub use arf::parse_failure_report;
pub use container::{ParseOptions, parse, parse_bytes, parse_each};
pub use diag::{Diagnostic, Diagnostics, Severity};
pub use model::{
    AggregateReport, DkimAuth, Edition, FailureReport, PolicyPublished, Reason, Record, Report,
    SpfAuth,
};
