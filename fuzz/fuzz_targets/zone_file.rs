//! Master zone files: any text either loads or gives an error naming a line; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_fuzz::zone_file(data));
