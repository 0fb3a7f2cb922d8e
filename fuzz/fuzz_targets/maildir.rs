//! See `mailstamp_fuzz::maildir`: never a panic, and the reader's promises hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_fuzz::maildir(data));
