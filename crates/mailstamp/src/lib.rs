//! mailstamp's I/O layer: where the pure protocol crates meet files, the network and the
//! clock.
//!
//! * [`fixture`]: offline DNS data. Master zone files and OpenSPF-style YAML load into a
//!   [`mailstamp_dns::Zone`]; the OpenSPF and mail-auth test-suite formats load into
//!   scenarios.
//!
//! This crate does **not** implement SPF, DKIM or DMARC itself: those are the sans-I/O crates
//! (`mailstamp-spf`, `mailstamp-dkim`, `mailstamp-dmarc`), which never touch I/O.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod fixture;
pub mod envelope;
pub mod mailbox;
