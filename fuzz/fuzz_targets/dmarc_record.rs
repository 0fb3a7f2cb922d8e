//! DMARC policy records (RFC 9989 §4.7): any bytes parse or are refused; never a panic; note
//! offsets lie inside the record.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_dmarc::fuzzing::record(data));
