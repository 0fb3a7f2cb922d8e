//! DKIM canonicalization (RFC 6376 §3.4): header and body canonicalization of any bytes; the
//! streaming body hash in chunks equals the one-shot hash; relaxed output is a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_dkim::fuzzing::canonicalization(data));
