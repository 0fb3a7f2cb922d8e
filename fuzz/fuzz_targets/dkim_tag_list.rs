//! DKIM tag lists and DKIM-Signature fields (RFC 6376 §3.2, §3.5): any bytes parse or are
//! refused with a tag and offset; offsets stay inside the input; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_dkim::fuzzing::tag_list(data));
