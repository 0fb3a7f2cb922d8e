//! DNS vocabulary shared by every mailstamp protocol crate.
//!
//! This crate holds the words the SPF, DKIM and DMARC evaluators use to ask for DNS data and to
//! receive it, and nothing that performs I/O:
//!
//! * [`Name`]: a validated, normalised domain name (case-folded, no trailing dot, U-labels
//!   converted to A-labels, RFC 1035 §2.3.4 length limits enforced).
//! * [`Query`]: a name and a [`RecordType`] (TXT, A, AAAA, MX, PTR, CNAME).
//! * [`Answer`]: the four-way outcome of a query: [`Answer::Records`], [`Answer::NxDomain`],
//!   [`Answer::NoData`] or [`Answer::Failed`] with a [`FailureKind`].
//! * [`Zone`]: an in-memory set of records and failure markers that answers queries the way a
//!   recursive resolver would (NXDOMAIN for unknown names, NODATA for a known name without the
//!   asked type, CNAME chains followed).
//! * [`Step`] and [`Lookup`]: the shape of every sans-I/O evaluation in mailstamp: an evaluator
//!   either asks for DNS answers or is done, and a driver (this crate's [`resolve_sync`], or the
//!   async driver of the `mailstamp` crate) feeds it.
//!
//! It does **not** talk to the network, read files or parse zone files: those live in the
//! `mailstamp` I/O crate. It never reads the clock.
//!
//! # Example
//!
//! ```
//! use mailstamp_dns::{Answer, Name, Query, RData, RecordType, Zone};
//!
//! let mut zone = Zone::new();
//! let name = Name::parse("Example.COM.").unwrap();
//! assert_eq!(name.as_str(), "example.com");
//! zone.add_txt(&name, ["v=spf1 ", "-all"]);
//!
//! match zone.answer(&Query::new(name.clone(), RecordType::Txt)) {
//!     Answer::Records(records) => {
//!         let RData::Txt(txt) = &records[0].data else { unreachable!() };
//!         assert_eq!(txt.joined(), b"v=spf1 -all");
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! assert_eq!(zone.answer(&Query::new(name, RecordType::A)), Answer::NoData);
//! let unknown = Name::parse("nowhere.example").unwrap();
//! assert_eq!(zone.answer(&Query::new(unknown, RecordType::Txt)), Answer::NxDomain);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod answer;
mod name;
mod record;
mod step;
mod zone;

pub use answer::{Answer, FailureKind};
pub use name::{MAX_LABEL_LEN, MAX_NAME_LEN, Name, NameError};
pub use record::{Query, RData, Record, RecordType, Txt, UnknownRecordType};
pub use step::{Lookup, Source, Step, resolve_sync};
pub use zone::{MAX_CNAME_CHAIN, Zone};
