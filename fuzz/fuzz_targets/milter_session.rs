//! Milter decoder and session: arbitrary bytes, fed in pieces, decode into commands that
//! round-trip, drive a session that answers every command owed a reply, and produce only
//! well-formed replies; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_milter::fuzzing::session(data));
