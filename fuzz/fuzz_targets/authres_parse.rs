//! Authentication-Results (RFC 8601 §2.2) and Received-SPF (RFC 7208 §9.1) parsers: any bytes
//! parse or are refused; a parsed field written again is one well-formed header field that
//! parses back; arbitrary bytes written into every value stay inside it; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_authres::fuzzing::parsers(data));
