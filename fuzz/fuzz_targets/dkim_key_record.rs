//! DKIM key records (RFC 6376 §3.6.1, RFC 8463 §4): any bytes parse or are refused; a parsed
//! key survives a round trip through its record form; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_dkim::fuzzing::key_record(data));
