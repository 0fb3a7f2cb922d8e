//! Integration tests of mailstamp-authres: RFC examples, real-world fields, injection attempts,
//! property-based round trips and snapshots of written fields.

mod common;
mod injection;
mod real_world;
mod rfc_examples;
mod roundtrip;
mod snapshots;
