//! Fuzz target bodies (used by `fuzz/fuzz_targets/dkim_*.rs` and smoke-run in the tests).
//!
//! Each function takes arbitrary bytes and must never panic; the assertions check invariants.

use crate::canon::{Canonicalization, canonicalize_body, canonicalize_header};
use crate::{KeyRecord, Signature, TagList};

/// Tag-list parser, and the DKIM-Signature validation on top of it.
pub fn tag_list(data: &[u8]) {
    if let Ok(list) = TagList::parse(data) {
        for t in list.tags() {
            assert!(t.value_offset + t.value.len() <= data.len());
            assert!(t.after_equals <= t.spec_end && t.spec_end <= data.len());
        }
    }
    if let Ok(sig) = Signature::parse(data) {
        assert!(sig.b_value_range.end <= data.len());
        let _ = sig.key_name();
    }
}

/// Key-record parser.
pub fn key_record(data: &[u8]) {
    if let Ok(rec) = KeyRecord::parse(data)
        && let Some(key) = rec.public_key
    {
        let again = crate::PublicKey::from_der(key.key_type(), &key.to_record_der());
        assert_eq!(again.as_ref(), Ok(&key));
    }
}

/// Canonicalization: header canonicalization of arbitrary fields, and body canonicalization
/// in chunks of every size, which must equal the one-shot result; relaxed output is a fixed
/// point (canonicalizing it again changes nothing).
pub fn canonicalization(data: &[u8]) {
    let (split, body) = match data.split_first() {
        Some((&s, rest)) => (usize::from(s) + 1, rest),
        None => (1, data),
    };
    for canon in [Canonicalization::Simple, Canonicalization::Relaxed] {
        let mut out = Vec::new();
        canonicalize_header(canon, body, &mut out);
        let whole = canonicalize_body(canon, body);
        let mut set = crate::canon::BodyHashSet::new();
        let id = set.add(crate::BodyHashSpec {
            canonicalization: canon,
            algorithm: crate::HashAlgorithm::Sha256,
            limit: None,
        });
        for chunk in body.chunks(split) {
            set.update(chunk);
        }
        let chunked = set.finish();
        let one = crate::body_hash(canon, crate::HashAlgorithm::Sha256, None, body);
        assert_eq!(chunked.get(id), Some(&one));
        assert_eq!(one.canonical_length, whole.len() as u64);
        // Relaxed output is a fixed point when the body ends with a line break. A last line
        // without one keeps a single space from its trailing white space (as dkimpy and
        // OpenDKIM read it, issue 17 item 23), which a second pass then strips before the CRLF.
        if canon == Canonicalization::Relaxed && (body.is_empty() || body.ends_with(b"\n")) {
            assert_eq!(canonicalize_body(canon, &whole), whole);
        }
    }
}

/// The whole verifier on an arbitrary message, with an empty zone and with a zone that
/// answers every key query with the bytes of the message's last line.
pub fn verify_message(data: &[u8]) {
    use mailstamp_dns::{Answer, Lookup, RData, Record, Step, Txt};
    let msg = mailstamp_message::Message::parse(data);
    let policy = crate::Policy::default();
    if let Step::Lookup(p) = crate::verify(&msg, &policy, 1_700_000_000) {
        let record = data.rsplit(|&b| b == b'\n').next().unwrap_or_default();
        let answers = p
            .queries()
            .iter()
            .map(|q| {
                Answer::Records(vec![Record {
                    name: q.name.clone(),
                    ttl: 1,
                    data: RData::Txt(Txt::new([record.to_vec()])),
                }])
            })
            .collect();
        if let Step::Done(report) = p.resume(answers) {
            assert!(
                report
                    .signatures
                    .iter()
                    .all(|v| v.result != crate::DkimResult::None)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke() {
        let inputs: &[&[u8]] = &[
            b"",
            b"v=1; a=rsa-sha256; d=x; s=y; h=from; bh=; b=",
            b"p=MCowBQYDK2VwAyEA3SUqa9UbfciWkk7tlcJ9P1VD5pXAasg0JUn/OgjVbKE=",
            b"k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
            b"\x05a  b\t\r\n\r\n \r",
            b"DKIM-Signature: v=1; a=rsa-sha256; d=x.y; s=s; h=from; bh=AA; b=AA\r\nFrom: a\r\n\r\nbody\r\np=",
            b";;;===\xff\x00",
            // Found by fuzz/campaign: a last line without CRLF and trailing white space.
            b"\x00Hello.  \r\n\r\n \t\r\nx  ",
            b"\x00a  \n",
            b"\x02a \t\r\nb \n \r",
        ];
        for i in inputs {
            tag_list(i);
            key_record(i);
            canonicalization(i);
            verify_message(i);
        }
    }
}
