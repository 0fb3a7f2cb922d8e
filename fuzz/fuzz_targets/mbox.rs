//! See `mailstamp_fuzz::mbox`: never a panic, and the reader's promises hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_fuzz::mbox(data));
