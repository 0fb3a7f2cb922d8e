//! OpenSPF test-suite files and mail-auth SPF test files: load or error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_fuzz::openspf_suite(data));
