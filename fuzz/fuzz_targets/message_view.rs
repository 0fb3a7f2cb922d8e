//! The borrowed message view (RFC 5322): header fields, body offset, CRLF normalisation and
//! RFC5322.From authors of any bytes; offsets ordered and in bounds; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_message::fuzzing::message_view(data));
