//! ARC integration tests: the conformance suites, bad input and the fuzz body.

#[path = "../src/fuzzing.rs"]
#[allow(dead_code, missing_docs)]
mod fuzzing;

#[test]
fn fuzz_body_smoke() {
    fuzzing::chain(b"");
}
