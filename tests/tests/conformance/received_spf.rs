//! Received-SPF fields written by another implementation (pyspf, `spf/pyspf/test.yml`, the
//! `header:` of its tests; PROVENANCE.md says to compare them loosely) read with
//! `mailstamp_authres::ReceivedSpf::parse` (RFC 7208 §9.1): the result and the pairs that
//! repeat the test's inputs must match them, and writing the parsed field again must read back
//! the same result and pairs.

use mailstamp_authres::ReceivedSpf;
use mailstamp_fixture::openspf;
use mailstamp_tests::conformance_file;

#[test]
fn rfc7208_9_1_pyspf_received_spf_headers_parse() {
    let path = conformance_file("spf/pyspf/test.yml");
    let scenarios = openspf::load_suite(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut checked = 0;
    for test in scenarios.iter().flat_map(|s| &s.tests) {
        let Some(header) = &test.header else {
            continue;
        };
        let field = ReceivedSpf::parse(header)
            .unwrap_or_else(|e| panic!("{} (line {}): {e}\n{header}", test.name, test.line));
        let ctx = format!("{} (line {}): {header}", test.name, test.line);
        assert!(
            test.result
                .iter()
                .any(|r| r.eq_ignore_ascii_case(field.result.as_str())),
            "result {} not in {:?}: {ctx}",
            field.result,
            test.result
        );
        assert_eq!(field.client_ip(), Some(test.host), "{ctx}");
        assert_eq!(
            field.get("envelope-from"),
            Some(test.mailfrom.as_str()),
            "{ctx}"
        );
        assert_eq!(field.get("helo"), test.helo.as_deref(), "{ctx}");
        assert_eq!(field.get("receiver"), test.receiver.as_deref(), "{ctx}");
        assert_eq!(field.get("identity"), Some("mailfrom"), "{ctx}");
        assert!(field.comment.is_some(), "{ctx}");
        // Written again (comments lose their inner parentheses to the character rule), the
        // result and pairs read back unchanged.
        let again = ReceivedSpf::parse(field.to_value()).unwrap_or_else(|e| panic!("{e}: {ctx}"));
        assert_eq!(
            (again.result, &again.pairs),
            (field.result, &field.pairs),
            "{ctx}"
        );
        checked += 1;
    }
    println!("spf/pyspf/test.yml: {checked} Received-SPF headers parsed");
    assert_eq!(
        checked, 3,
        "PROVENANCE.md: pyspf has three header: expectations"
    );
}
