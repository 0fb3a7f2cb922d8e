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
                Answer::Records(
                    vec![Record {
                        name: q.name.clone(),
                        ttl: 1,
                        data: RData::Txt(Txt::new([record.to_vec()])),
                    }]
                    .into(),
                )
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

/// Private key files: any text given to [`crate::SigningKey::from_pem`] and
/// [`crate::public_key_from_pem`] loads or is refused with an error, never a panic (the PEM is
/// read by `pem-rfc7468`, the DER by `pkcs8`/`pkcs1`, RFC 7468, RFC 5208, RFC 5958, RFC 8017).
/// A key that loads signs, and its public half survives the key record round trip and equals
/// what `public_key_from_pem` reads. The bytes are also tried as DER directly.
pub fn key_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let public = crate::public_key_from_pem(&text);
    match crate::SigningKey::from_pem(&text) {
        Ok(key) => {
            assert!(key.sign(b"data").is_ok(), "{key:?} {text:?}");
            let record = crate::KeyRecordText::new(key.public_key()).value();
            let parsed = KeyRecord::parse(record.as_bytes()).map(|r| r.public_key);
            assert_eq!(parsed, Ok(Some(key.public_key().clone())));
            assert_eq!(public.as_ref(), Ok(key.public_key()));
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
        }
    }
    let _ = crate::SigningKey::from_pkcs8_der(data);
    let _ = crate::SigningKey::from_pkcs1_der(data);
    let _ = crate::SigningKey::from_ed25519_seed(data);
    for key_type in [crate::KeyType::Rsa, crate::KeyType::Ed25519] {
        if let Ok(key) = crate::PublicKey::from_der(key_type, data) {
            let again = crate::PublicKey::from_der(key_type, &key.to_record_der());
            assert_eq!(again.as_ref(), Ok(&key));
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
            key_file(i);
        }
    }

    /// The key-file target on seeds: the repository's keys (PKCS#8 RSA 2048 and 4096, an
    /// Ed25519 PKCS#8 v2 key), a v1 key, a PKCS#1 key, and mutants of each (truncated, one
    /// byte flipped in the base64, two keys in a file, wrong labels, CRLF, no END line).
    #[test]
    fn key_file_seeds() {
        let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/keys/");
        let mut seeds: Vec<String> = [
            "default._domainkey.example.org.rsa2048.pem",
            "s4096._domainkey.example.org.rsa4096.pem",
            "ed25519._domainkey.example.org.pem",
        ]
        .iter()
        .map(|f| std::fs::read_to_string(format!("{keys}{f}")).unwrap())
        .collect();
        let v1 = crate::generate_ed25519(&mut rand::rngs::OsRng).unwrap();
        seeds.push(v1.private_key_pem);
        {
            use rsa::pkcs1::EncodeRsaPrivateKey as _;
            let rsa = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
            seeds.push(
                rsa.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
                    .unwrap()
                    .to_string(),
            );
        }
        for seed in &seeds {
            assert!(crate::SigningKey::from_pem(seed).is_ok(), "{seed}");
        }
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for seed in &seeds {
            let b = seed.as_bytes();
            inputs.push(b.to_vec());
            for cut in [
                0,
                1,
                27,
                28,
                40,
                b.len() / 2,
                b.len().saturating_sub(26),
                b.len() - 1,
            ] {
                inputs.push(b[..cut.min(b.len())].to_vec());
            }
            for pos in (28..b.len().saturating_sub(26)).step_by(37) {
                for flip in [0x01u8, 0x20, 0x80] {
                    let mut m = b.to_vec();
                    m[pos] ^= flip;
                    inputs.push(m);
                }
            }
            inputs.push(format!("{seed}{seed}").into_bytes());
            inputs.push(seed.replace("PRIVATE KEY", "RSA PRIVATE KEY").into_bytes());
            inputs.push(seed.replace("RSA PRIVATE KEY", "PRIVATE KEY").into_bytes());
            inputs.push(seed.replace("PRIVATE KEY", "PUBLIC KEY").into_bytes());
            inputs.push(seed.replace('\n', "\r\n").into_bytes());
            inputs.push(
                seed.lines()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("\n")
                    .into_bytes(),
            );
            inputs.push(
                seed.replace("-----BEGIN", "Proc-Type: 4,ENCRYPTED\n-----BEGIN")
                    .into_bytes(),
            );
            // The DER itself, and DER with a byte flipped.
            let der = crate::pem::blocks(seed)[0].decode().unwrap();
            inputs.push(der.clone());
            for pos in (0..der.len()).step_by(17) {
                let mut m = der.clone();
                m[pos] ^= 0xff;
                inputs.push(m);
            }
        }
        for input in &inputs {
            key_file(input);
        }
    }
}
