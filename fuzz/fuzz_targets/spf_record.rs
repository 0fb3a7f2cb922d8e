//! SPF records (RFC 7208 §4.5, §12): any bytes parse or are refused with a term and offset;
//! never a panic; a parsed record's canonical text parses back to an equal record.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_spf::fuzzing::parse_record(data));
