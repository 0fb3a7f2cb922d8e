//! SPF check_host() (RFC 7208 §4-§6) driven by arbitrary DNS answers: it always ends, within
//! the RFC limits, with a result that agrees with its problem; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_spf::fuzzing::evaluate(data));
