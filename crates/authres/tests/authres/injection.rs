//! Header injection attempts in every value that reaches a written field (issue 6, "Bad
//! input"): whatever a value holds, the output stays one field with the same structure, and
//! the value reads back as the character rule says.

use mailstamp_authres::{
    AUTHENTICATION_RESULTS, AuthenticationResults, Property, RECEIVED_SPF, ReceivedSpf,
    ReceivedSpfResult, ResInfo,
};

use crate::common::{assert_one_field, encoded, kw, naive_separators};

/// Strings an attacker controls: a From domain, a MAIL FROM, a HELO name, a DKIM tag, a DNS
/// TXT record used as a reason or comment.
const HOSTILE: &[&str] = &[
    "example.com\r\nX-Injected: yes",
    "example.com\nAuthentication-Results: evil.example; dmarc=pass",
    "example.com\rX: y",
    "x; dkim=pass header.d=bank.example",
    "x) ; spf=pass (",
    "x\" ; spf=pass ; \"",
    "x\\\"; spf=pass",
    "\\",
    "(((",
    ")))",
    "\u{0}\u{1b}[31m\u{7f}",
    "bücher.example",
    "\u{202e}moc.elpmaxe",
    "a\r\n\tcontinued fold",
    "\r\n",
    "",
    " ",
    "=",
    "header.d=evil.example",
    "\"quoted\"@example.com",
];

fn ar_with(value: &str) -> AuthenticationResults {
    AuthenticationResults::new(value)
        .with(
            ResInfo::new(kw("spf"), kw("fail"))
                .with_comment(value)
                .with_reason(value)
                .with_property(Property::smtp_mailfrom(value))
                .with_property(Property::smtp_helo(value)),
        )
        .with(
            ResInfo::new(kw("dkim"), kw("pass"))
                .with_property(Property::header_d(value))
                .with_property(Property::header_i(value))
                .with_property(Property::header_s(value))
                .with_property(Property::header_a(value))
                .with_property(Property::header_b(value)),
        )
        .with(
            ResInfo::new(kw("dmarc"), kw("fail"))
                .with_comment(value)
                .with_property(Property::header_from(value))
                .with_property(Property::policy(kw("dmarc"), value)),
        )
}

#[test]
fn rfc8601_7_1_hostile_values_cannot_add_fields_results_or_properties() {
    for value in HOSTILE {
        let ar = ar_with(value);
        let field = ar.to_field();
        let unfolded = assert_one_field(&field, AUTHENTICATION_RESULTS);
        // A naive consumer that knows quoted strings sees exactly two `;` and two comments.
        assert_eq!(naive_separators(&unfolded), (3, 2), "{field}");

        let back =
            AuthenticationResults::parse(ar.to_value()).unwrap_or_else(|e| panic!("{e}: {field}"));
        assert_eq!(back.authserv_id, encoded(value, false), "{field}");
        assert_eq!(back.results.len(), 3);
        for (written, read) in ar.results.iter().zip(&back.results) {
            assert_eq!(read.method, written.method);
            assert_eq!(read.result, written.result);
            assert_eq!(
                read.comment,
                written.comment.as_deref().map(|c| encoded(c, true))
            );
            assert_eq!(
                read.reason,
                written.reason.as_deref().map(|r| encoded(r, false))
            );
            assert_eq!(read.properties.len(), written.properties.len(), "{field}");
            for (w, r) in written.properties.iter().zip(&read.properties) {
                assert_eq!((&r.ptype, &r.name), (&w.ptype, &w.name));
                assert_eq!(r.value, encoded(&w.value, false), "{field}");
            }
            assert!(read.nonstandard.is_empty());
        }
    }
}

#[test]
fn rfc7208_9_1_hostile_values_cannot_add_fields_or_pairs() {
    for value in HOSTILE {
        let field = ReceivedSpf::new(ReceivedSpfResult::PermError)
            .with_comment(*value)
            .with_envelope_from(*value)
            .with_helo(*value)
            .with_problem(*value)
            .with_receiver(*value)
            .with_identity(*value)
            .with_mechanism(*value)
            .with_pair(kw("x-extra"), *value);
        let text = field.to_field();
        let unfolded = assert_one_field(&text, RECEIVED_SPF);
        assert_eq!(naive_separators(&unfolded), (7, 1), "{text}");
        let back = ReceivedSpf::parse(field.to_value()).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(back.result, ReceivedSpfResult::PermError);
        assert_eq!(back.comment, Some(encoded(value, true)));
        assert_eq!(back.pairs.len(), field.pairs.len());
        for ((wk, wv), (rk, rv)) in field.pairs.iter().zip(&back.pairs) {
            assert_eq!(rk, wk);
            assert_eq!(rv, &encoded(wv, false), "{text}");
        }
    }
}

#[test]
fn rfc5322_2_1_1_huge_values_keep_lines_within_998_octets() {
    let no_spaces = "x".repeat(5000);
    let spaces = "word ".repeat(1000);
    let quotes = "\"".repeat(2000);
    let wide = "é".repeat(2000);
    for value in [&no_spaces, &spaces, &quotes, &wide] {
        let ar = ar_with(value);
        let field = ar.to_field();
        assert_one_field(&field, AUTHENTICATION_RESULTS);
        let back = AuthenticationResults::parse(ar.to_value()).unwrap();
        assert_eq!(back.results.len(), 3);
        let v = back.results[0].property("smtp", "mailfrom").unwrap();
        assert!(v.len() <= mailstamp_authres::MAX_VALUE_LEN);
        assert!(
            encoded(value, false).starts_with(v),
            "the cut keeps a prefix"
        );

        let spf = ReceivedSpf::new(ReceivedSpfResult::Fail)
            .with_comment(value.as_str())
            .with_helo(value.as_str());
        assert_one_field(&spf.to_field(), RECEIVED_SPF);
    }
}

#[test]
fn rfc5322_2_1_1_long_text_with_spaces_folds_at_78_columns() {
    let reason = "the signature did not verify because the body hash does not match the body \
                  that was received, perhaps a mailing list added a footer";
    let ar = AuthenticationResults::new("mx.example.org").with(
        ResInfo::new(kw("dkim"), kw("fail"))
            .with_reason(reason)
            .with_property(Property::header_d("example.com")),
    );
    let field = ar.to_field();
    assert!(field.split("\r\n").all(|l| l.len() <= 78), "{field}");
    let back = AuthenticationResults::parse(ar.to_value()).unwrap();
    assert_eq!(back.results[0].reason.as_deref(), Some(reason));
}
