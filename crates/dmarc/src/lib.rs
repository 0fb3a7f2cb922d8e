//! DMARC (RFC 9989) for mailstamp: the policy record, policy discovery by DNS Tree Walk (and the
//! legacy RFC 7489 Public Suffix List method), Identifier Alignment, the policy to apply, and the
//! authorisation of external report destinations.
//!
//! RFC 9989 (May 2026) obsoletes RFC 7489 and RFC 9091. What this crate implements:
//!
//! * [`Record::parse`]: the DMARC Policy Record (§4.7, §4.8). `v=DMARC1` first; `p`, `sp`, `np`,
//!   `adkim`, `aspf`, `fo`, `rua`, `ruf`, `psd`, `t`; the removed `pct`, `rf`, `ri` accepted and
//!   ignored with a note; unknown and malformed tags ignored with a note naming the tag and its
//!   byte offset; a missing or invalid `p` handled as §4.10.1 says ([`EffectivePolicy`]).
//! * [`discover`]: DMARC Policy Discovery (§4.10.1) with the DNS Tree Walk (§4.10: at most eight
//!   queries, names of eight or more labels shortened to seven, `psd=y`/`psd=n` stop the walk),
//!   which also yields the Organizational Domain (§4.10.2). [`Discovery::Psl`] selects the
//!   RFC 7489 method with a [`PublicSuffixList`] (compiled in, or read from a list file).
//! * [`evaluate`]: the Mail Receiver actions of §5.3 for plain inputs: the Author Domain(s) of
//!   the RFC5322.From field, the SPF result and domain, and each DKIM signature's result and
//!   `d=`. Strict and relaxed alignment (relaxed alignment walks the identifiers' trees too),
//!   `p`/`sp`/`np` (with the existence test of §3.2.13 and Appendix A.4), `t=y`, and
//!   [`DmarcVerdict`] with the result, the disposition, the record, where it was found, the
//!   Organizational Domain and every identifier's alignment. [`evaluate_with`] evaluates against
//!   a policy already discovered, without DNS in the common cases.
//! * [`authorize_reports`]: the external destination check of RFC 9990 §4 / RFC 9991 §5
//!   (`<domain>._report._dmarc.<destination>`) for every `rua` and `ruf` URI.
//!
//! Every machine that needs DNS is sans-I/O ([`mailstamp_dns::Step`]): it returns the queries it
//! needs and resumes with the answers, so every query can be traced. This crate does **not**
//! perform DNS or any other I/O, read the clock, verify SPF or DKIM, parse messages, or send or
//! parse reports. A DNS failure is never a pass: it yields `temperror`.
//!
//! # Example
//!
//! ```
//! use mailstamp_dmarc::{evaluate, DmarcResult, EvaluationRequest, Identifiers, MechanismResult};
//! use mailstamp_dns::{resolve_sync, Name, Zone};
//!
//! let mut zone = Zone::new();
//! zone.add_txt(&Name::parse("_dmarc.example.com")?, ["v=DMARC1; p=quarantine; adkim=s"]);
//!
//! let request = EvaluationRequest {
//!     author_domains: vec![Name::parse("news.example.com")?],
//!     identifiers: Identifiers::new()
//!         .with_dkim(MechanismResult::Pass, Name::parse("example.com")?),
//!     ..EvaluationRequest::default()
//! };
//! let verdict = resolve_sync(evaluate(request), &zone);
//! assert_eq!(verdict.result, DmarcResult::Fail); // adkim=s: example.com != news.example.com
//! assert_eq!(verdict.disposition.as_str(), "quarantine"); // sp defaults to p
//! assert_eq!(verdict.policy_domain().unwrap().as_str(), "example.com");
//! # Ok::<(), mailstamp_dns::NameError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod discovery;
mod evaluate;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod identifiers;
mod psl;
mod record;
mod report;
mod result;
mod ser;
mod walk;

pub use discovery::{
    Discovering, Discovery, DiscoveryMethod, FoundPolicy, PolicyDiscovery, PolicySource,
    TraceEntry, discover,
};
pub use evaluate::{
    DmarcVerdict, Evaluating, EvaluationOptions, EvaluationRequest, IdentifierAlignment,
    MultipleAuthors, NotAlignedReason, evaluate, evaluate_with, evaluate_with_parser,
};
pub use identifiers::{Identifier, Identifiers, Mechanism};
pub use psl::{PslError, PublicSuffixList};
pub use record::{
    Alignment, EffectivePolicy, FailureOptions, NoteKind, ParseError, ParseErrorKind, Policy,
    PolicyDefect, PolicyTag, PsdFlag, Record, RecordNote, RecordParser, ReportUri, UnknownPolicy,
};
pub use report::{
    AuthorizingReports, DestinationCheck, DestinationStatus, ReportAuthorization, ReportKind,
    authorize_reports,
};
pub use result::{
    Disposition, DmarcProblem, DmarcResult, MechanismResult, Stage, UnknownMechanismResult,
    UnknownResult,
};
pub use walk::{
    DMARC_LABEL, Finding, MAX_WALK_QUERIES, NoRecord, WALK_SHORTEN_TO, Walk, WalkEnd, WalkStep,
    dmarc_name, walk_targets,
};
