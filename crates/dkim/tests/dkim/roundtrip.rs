//! Property test: random messages (folded headers, whitespace runs, bodies with and without
//! trailing blank lines, bare LF) signed by mailstamp verify under both canonicalizations, and
//! changing any signed header byte or body byte makes them fail.

use crate::common::*;
use mailstamp_dkim::{Canonicalizations, DEFAULT_SIGNED_HEADERS, DkimResult};
use mailstamp_message::Message;
use proptest::prelude::*;

fn word() -> impl Strategy<Value = String> {
    "[A-Za-z0-9<>@.,]{1,8}"
}

fn space() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        6 => Just(" "),
        1 => Just("  "),
        1 => Just("\t"),
        1 => Just(" \t "),
        1 => Just("\r\n "),
        1 => Just("\r\n\t"),
    ]
}

fn value() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(""), Just(" "), Just("   "), Just("\t")],
        prop::collection::vec((word(), space()), 1..6),
        prop_oneof![3 => Just(""), 1 => Just(" "), 1 => Just("\t ")],
    )
        .prop_map(|(lead, words, trail)| {
            let mut v = lead.to_owned();
            for (i, (w, s)) in words.iter().enumerate() {
                if i > 0 {
                    v.push_str(s);
                }
                v.push_str(w);
            }
            v.push_str(trail);
            v
        })
}

fn header() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(vec![
            "To",
            "Subject",
            "Cc",
            "Date",
            "Message-ID",
            "Reply-To",
            "References",
            "X-Custom",
            "Received",
        ]),
        value(),
    )
        .prop_map(|(n, v)| (n.to_owned(), v))
}

fn body() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            prop_oneof![
                1 => Just(String::new()),
                4 => prop::collection::vec((word(), space()), 1..8).prop_map(|ws| {
                    ws.iter()
                        .map(|(w, s)| format!("{w}{}", if s.starts_with('\r') { " " } else { s }))
                        .collect::<String>()
                }),
            ],
            0..8,
        ),
        0usize..3,
        any::<bool>(),
    )
        .prop_map(|(lines, trailing_blank, final_crlf)| {
            let mut b = lines.join("\r\n");
            if final_crlf && !b.is_empty() {
                b.push_str("\r\n");
            }
            for _ in 0..trailing_blank {
                b.push_str("\r\n");
            }
            b
        })
}

/// A message (CRLF) and whether to store it with bare LF.
fn message() -> impl Strategy<Value = (String, bool)> {
    (
        prop::collection::vec(header(), 0..6),
        0usize..6,
        value(),
        body(),
        any::<bool>(),
    )
        .prop_map(|(mut headers, from_at, from, body, bare_lf)| {
            let at = from_at.min(headers.len());
            headers.insert(at, ("From".to_owned(), format!(" a@example.org{from}")));
            let mut m = String::new();
            for (n, v) in headers {
                m.push_str(&format!("{n}:{v}\r\n"));
            }
            m.push_str("\r\n");
            m.push_str(&body);
            (m, bare_lf)
        })
}

fn store(crlf: &[u8], bare_lf: bool) -> Vec<u8> {
    if bare_lf {
        String::from_utf8_lossy(crlf)
            .replace("\r\n", "\n")
            .into_bytes()
    } else {
        crlf.to_vec()
    }
}

/// Positions whose change any canonicalization must notice: letters, digits and the
/// punctuation of `word()` in the values of signed fields and in the body.
fn significant_positions(crlf: &[u8]) -> Vec<usize> {
    let msg = Message::parse(crlf);
    let mut out = Vec::new();
    for f in msg.fields() {
        let signed = DEFAULT_SIGNED_HEADERS.iter().any(|n| f.is_named(n));
        if signed {
            let start = f.value_offset();
            out.extend(
                f.value()
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.is_ascii_graphic())
                    .map(|(i, _)| start + i),
            );
        }
    }
    let body = msg.body_offset();
    out.extend(
        msg.body()
            .to_vec()
            .iter()
            .enumerate()
            .filter(|(_, b)| b.is_ascii_graphic())
            .map(|(i, _)| body + i),
    );
    out
}

fn mutate(b: u8) -> u8 {
    match b {
        b'0'..=b'8' | b'a'..=b'y' | b'A'..=b'Y' => b + 1,
        b'9' => b'0',
        b'z' => b'a',
        b'Z' => b'A',
        b'.' => b',',
        _ => b'.',
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn rfc6376_3_4_signed_messages_verify_and_any_change_fails(
        (crlf, bare_lf) in message(),
        pick in any::<prop::sample::Index>(),
    ) {
        let crlf = crlf.into_bytes();
        let raw = store(&crlf, bare_lf);
        for c in [Canonicalizations::RELAXED, Canonicalizations::SIMPLE] {
            let signed = mailstamp_dkim::sign(&Message::parse(&raw), &[ed_signer().with_canonicalization(c)], NOW)
                .expect("sign");
            let fields = signed.header_bytes();
            let whole = [fields.as_slice(), raw.as_slice()].concat();
            let report = check(&whole);
            prop_assert_eq!(report.signatures[0].result, DkimResult::Pass, "{} {:?}", c, String::from_utf8_lossy(&whole));

            let positions = significant_positions(&crlf);
            let pos = positions[pick.index(positions.len())];
            let mut changed = crlf.clone();
            changed[pos] = mutate(changed[pos]);
            let tampered = [fields.as_slice(), &store(&changed, bare_lf)].concat();
            let report = check(&tampered);
            prop_assert_eq!(report.signatures[0].result, DkimResult::Fail,
                "{} change at {} of {:?}", c, pos, String::from_utf8_lossy(&crlf));
        }
    }
}
