//! Integration tests of mailstamp-dkim: whole messages signed and verified through the public
//! API, hostile input, and a property test. Test data comes from `testdata/keys/` (mailstamp's
//! own test keys for example.org), never from the network.

mod bad_input;
mod common;
mod prehashed;
mod roundtrip;
mod verify;
