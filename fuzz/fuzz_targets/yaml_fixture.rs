//! YAML zonedata fixtures: any text either loads or gives an error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_fuzz::yaml_fixture(data));
