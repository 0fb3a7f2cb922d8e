//! Fuzz target bodies, as plain functions so they run on stable Rust without libFuzzer
//! (`fuzz/fuzz_targets/authres_parse.rs` calls them; so do this crate's property tests).
//!
//! They check invariants with `assert!`: a failed assertion is the bug a fuzzer reports.

use crate::{
    AuthenticationResults, Keyword, MAX_LINE_LEN, Property, ReceivedSpf, ReceivedSpfResult, ResInfo,
};

/// Parses `data` as an Authentication-Results and as a Received-SPF value and,
/// when either parses, writes it again and checks the writer's promises; then writes `data`
/// into every free-form slot of both fields and checks them again.
///
/// The promises: the written field is printable ASCII, its only line breaks are folds, no line
/// exceeds [`MAX_LINE_LEN`], it parses back with the same number of results or pairs, and
/// writing that again gives the same text.
///
/// # Panics
///
/// When a promise is broken: that is a bug for the fuzzer to report. The parsers themselves
/// never panic.
pub fn parsers(data: &[u8]) {
    if let Ok(ar) = AuthenticationResults::parse(data) {
        check_authentication_results(&ar);
    }
    if let Ok(spf) = ReceivedSpf::parse(data) {
        check_received_spf(&spf);
    }
    let text = String::from_utf8_lossy(data).into_owned();
    let ar = AuthenticationResults::new(text.clone()).with(
        ResInfo::new(Keyword::from_static("dkim"), Keyword::from_static("pass"))
            .with_comment(text.clone())
            .with_reason(text.clone())
            .with_property(Property::header_i(text.clone()))
            .with_property(Property::header_b(text.clone())),
    );
    check_authentication_results(&ar);
    let spf = ReceivedSpf::new(ReceivedSpfResult::Fail)
        .with_comment(text.clone())
        .with_envelope_from(text.clone())
        .with_problem(text);
    check_received_spf(&spf);
}

fn check_authentication_results(ar: &AuthenticationResults) {
    let field = ar.to_field();
    check_one_field(&field);
    let value = ar.to_value();
    let again = AuthenticationResults::parse(&value);
    let again = again.unwrap_or_else(|e| panic!("written field does not parse: {e}\n{field}"));
    assert_eq!(again.results.len(), ar.results.len(), "{field}");
    assert_eq!(again.to_value(), value, "writing is not stable");
}

fn check_received_spf(spf: &ReceivedSpf) {
    let field = spf.to_field();
    check_one_field(&field);
    let value = spf.to_value();
    let again = ReceivedSpf::parse(&value);
    let again = again.unwrap_or_else(|e| panic!("written field does not parse: {e}\n{field}"));
    assert_eq!(again.pairs.len(), spf.pairs.len(), "{field}");
    assert_eq!(again.to_value(), value, "writing is not stable");
}

/// Asserts that `field` (name, value and final CRLF) is one well-formed header field.
fn check_one_field(field: &str) {
    let body = field
        .strip_suffix("\r\n")
        .unwrap_or_else(|| panic!("field does not end with CRLF: {field:?}"));
    for (i, line) in body.split("\r\n").enumerate() {
        assert!(line.len() <= MAX_LINE_LEN, "line {i} too long: {field:?}");
        assert!(
            line.bytes().all(|b| (b' '..=b'~').contains(&b)),
            "line {i} holds a control or non-ASCII octet: {field:?}"
        );
        assert!(
            i == 0 || line.starts_with(' '),
            "line {i} is not a fold: {field:?}"
        );
        assert!(
            !line.trim().is_empty(),
            "line {i} is only whitespace: {field:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_entry_point_accepts_garbage() {
        for data in [
            &b""[..],
            b"\xff\xfe(",
            b"example.com; spf=pass",
            b"pass (x) helo=\"a\\",
            b"a; b=c d.e=\"\r\n\"",
            b"\r\n\r\n",
            b"spf=pass",
        ] {
            super::parsers(data);
        }
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        super::parsers(&data);
    }

    #[test]
    fn parsers_never_panic_on_field_like_text(
        data in "[a-z.=;/ ()\"\\\\@\r\n\t0-9-]{0,120}"
    ) {
        super::parsers(data.as_bytes());
    }
    }
}
