//! The ARC parsers, the chain validator and the sealer on any message (`TXT NUL message`, the
//! TXT answering every key query): a verdict for every chain, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_arc::fuzzing::chain(data));
