//! The whole receiver's pipeline (SPF, DKIM, DMARC, Authentication-Results) on any message
//! over a fixed zone: one well-formed header field, no temperror offline, a report that
//! serializes; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let report = mailstamp::pipeline::fuzzing::check(data);
    assert!(serde_json::to_string(&report).is_ok());
});
