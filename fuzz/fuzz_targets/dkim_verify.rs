//! The DKIM verifier on any message, with key queries answered by bytes of the input: a
//! verdict for every signature, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_dkim::fuzzing::verify_message(data));
