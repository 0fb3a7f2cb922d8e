//! Private key files (RFC 7468 PEM holding PKCS#8 or PKCS#1 DER) and the public keys read from
//! them: any text loads or is refused with an error naming the problem; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mailstamp_dkim::fuzzing::key_file(data));
