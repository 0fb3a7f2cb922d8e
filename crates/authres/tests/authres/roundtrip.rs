//! Property tests: write → parse gives back the structure, every string passed through the
//! character rule, and the output is always one field (RFC 8601 §2.2, RFC 7208 §9.1).

use mailstamp_authres::{
    AUTHENTICATION_RESULTS, AuthenticationResults, Keyword, Property, RECEIVED_SPF, ReceivedSpf,
    ReceivedSpfResult, ResInfo,
};
use proptest::prelude::*;

use crate::common::{assert_one_field, encoded};

fn keyword() -> impl Strategy<Value = Keyword> {
    "[a-zA-Z0-9][a-zA-Z0-9_-]{0,11}".prop_map(|s| Keyword::new(&s).unwrap())
}

/// Up to 30 characters (so never cut: 30 × 4 octets × 3 < MAX_VALUE_LEN): any Unicode, or a mix
/// heavy in the characters that matter to the grammar.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,30}",
        "[ -~]{0,30}",
        "[a-z0-9.@-]{0,30}",
        "[\r\n\t ;()\"\\\\=@./a-zé\u{0}]{0,30}",
    ]
}

fn property() -> impl Strategy<Value = Property> {
    (keyword(), keyword(), text()).prop_map(|(t, n, v)| Property::new(t, n, v))
}

fn resinfo() -> impl Strategy<Value = ResInfo> {
    (
        keyword(),
        proptest::option::of(any::<u32>()),
        keyword(),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::collection::vec(property(), 0..5),
    )
        .prop_map(|(method, version, result, comment, reason, properties)| {
            let mut r = ResInfo::new(method, result);
            r.method_version = version;
            r.comment = comment;
            r.reason = reason;
            r.properties = properties;
            r
        })
}

fn authentication_results() -> impl Strategy<Value = AuthenticationResults> {
    (
        text(),
        proptest::option::of(any::<u32>()),
        proptest::collection::vec(resinfo(), 0..6),
    )
        .prop_map(|(id, version, results)| {
            let mut ar = AuthenticationResults::new(id);
            ar.version = version;
            ar.results = results;
            ar
        })
}

fn received_spf() -> impl Strategy<Value = ReceivedSpf> {
    (
        proptest::sample::select(ReceivedSpfResult::ALL.to_vec()),
        proptest::option::of(text()),
        proptest::collection::vec((keyword(), text()), 0..8),
    )
        .prop_map(|(result, comment, pairs)| ReceivedSpf {
            result,
            comment,
            pairs,
        })
}

/// What the parser must give back for a written `ar`.
fn expected_ar(ar: &AuthenticationResults) -> AuthenticationResults {
    let mut e = ar.clone();
    e.authserv_id = encoded(&e.authserv_id, false);
    for r in &mut e.results {
        r.comment = r.comment.as_deref().map(|c| encoded(c, true));
        r.reason = r.reason.as_deref().map(|c| encoded(c, false));
        for p in &mut r.properties {
            p.value = encoded(&p.value, false);
        }
    }
    e
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn rfc8601_2_2_write_then_parse_round_trips(ar in authentication_results()) {
        let field = ar.to_field();
        assert_one_field(&field, AUTHENTICATION_RESULTS);
        let value = ar.to_value();
        let back = AuthenticationResults::parse(&value);
        prop_assert!(back.is_ok(), "{:?}\n{}", back, field);
        let back = back.unwrap();
        prop_assert_eq!(&back, &expected_ar(&ar), "{}", field);
        // Writing what was read gives the same text.
        prop_assert_eq!(back.to_value(), value);
    }

    #[test]
    fn rfc7208_9_1_write_then_parse_round_trips(spf in received_spf()) {
        let field = spf.to_field();
        assert_one_field(&field, RECEIVED_SPF);
        let value = spf.to_value();
        let back = ReceivedSpf::parse(&value);
        prop_assert!(back.is_ok(), "{:?}\n{}", back, field);
        let back = back.unwrap();
        let mut expected = spf.clone();
        expected.comment = expected.comment.as_deref().map(|c| encoded(c, true));
        for (_, v) in &mut expected.pairs {
            *v = encoded(v, false);
        }
        prop_assert_eq!(&back, &expected, "{}", field);
        prop_assert_eq!(back.to_value(), value);
    }
}
