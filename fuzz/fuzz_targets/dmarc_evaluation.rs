//! DMARC evaluation with arbitrary bytes as the record of a deep domain: the tree walk stays
//! within eight queries and an offline zone never yields temperror.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_dmarc::fuzzing::evaluation(data));
