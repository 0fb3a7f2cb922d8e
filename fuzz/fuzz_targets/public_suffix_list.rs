//! See `mailstamp_fuzz::public_suffix_list`: never a panic, and the reader's promises hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_fuzz::public_suffix_list(data));
