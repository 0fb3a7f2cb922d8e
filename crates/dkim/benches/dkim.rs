//! DKIM speed: canonicalization + body hash, verification and signing on 4 KB, 11 KB, 64 KB and
//! 1 MB messages, each beside its floor (the cost of the cryptography alone):
//!
//! * `canon_hash/*`: `Message::parse` + relaxed and simple body canonicalization + SHA-256,
//!   against `sha256_floor` (one SHA-256 of the same bytes);
//! * `verify/*`: a whole verification with the key record already fetched and in a `KeyCache`,
//!   against `verify_floor` (one ring signature check of the same header data plus one SHA-256
//!   of the message bytes);
//! * `sign/*`: a whole signature, against `sign_floor` (one ring signature of the same header
//!   data plus one SHA-256 of the message bytes).
//! * `key_record/*`: parsing a key record (tag list, base64, the key's DER), RSA-2048 and
//!   Ed25519, unfolded and folded;
//! * `crypto/*`: the signature backend alone (`mailstamp_dkim::crypto`: ring by default, AWS-LC
//!   with `--features aws-lc`), through the public API: `check_signature` with a key kept
//!   across calls (as a `KeyCache` keeps it) and `SigningKey::sign`, RSA-2048 and Ed25519;
//! * `ed25519/*`: Ed25519 verify and sign in ring, ed25519-dalek and (with `--features aws-lc`)
//!   AWS-LC, side by side: what `crypto` chooses from (the `ed25519_cpu` example measures the
//!   same in CPU time, steadier on a loaded host).
//!
//! Run: `cargo bench -p mailstamp-dkim --bench dkim` (`--features aws-lc` for AWS-LC).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mailstamp_dkim::{
    BodyHashSet, BodyHashSpec, Canonicalization, HashAlgorithm, KeyCache, Policy, Signer,
    SigningKey, header_hash_input, sign, verify,
};
use mailstamp_dns::{Answer, Name, RData, Record, Step, Txt};
use mailstamp_message::Message;
use std::hint::black_box;
use std::path::PathBuf;

/// Set-up shared with the examples.
mod common {
    pub mod ed25519;
}

const NOW: u64 = 1_700_000_000;
/// Message sizes; `11KB-plain` has no whitespace runs or tabs in its body (what relaxed
/// canonicalization leaves unchanged), the others have one every few lines.
const SIZES: [(&str, usize); 5] = [
    ("4KB", 4 << 10),
    ("11KB", 11 << 10),
    ("11KB-plain", 11 << 10),
    ("64KB", 64 << 10),
    ("1MB", 1 << 20),
];

fn testdata(file: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/keys")
        .join(file);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A plausible message of about `size` bytes: a dozen header fields, then text lines of
/// words with the occasional double space and tab (so relaxed canonicalization has work).
fn message(label: &str, size: usize) -> Vec<u8> {
    let messy = !label.ends_with("plain");
    let mut m = String::from(
        "Received: from mail.example.org (mail.example.org [192.0.2.25])\r\n\tby mx.example.net with ESMTPS id 4Vabc123\r\n\tfor <bob@example.net>; Tue, 14 Nov 2023 22:13:20 +0000\r\n\
From: Alice Example <alice@example.org>\r\n\
To: Bob Example <bob@example.net>, Carol <carol@example.net>\r\n\
Cc: dave@example.net\r\n\
Subject: Quarterly report and the plan for the next offsite\r\n\
Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n\
Message-ID: <20231114221320.12345@mail.example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
List-Id: <team.example.org>\r\n\
\r\n",
    );
    let words = [
        "the",
        "quarterly",
        "numbers",
        "look",
        "good,",
        "and",
        "we",
        "should",
        "plan",
        "the",
        "offsite",
        "soon.",
        "Revenue",
        "grew",
        "by",
        "twelve",
        "percent",
        "while",
        "costs",
        "stayed",
        "flat.",
    ];
    let mut i = 0usize;
    while m.len() < size {
        let mut line = String::new();
        while line.len() < 68 {
            line.push_str(words[i % words.len()]);
            i += 1;
            line.push_str(if messy && i.is_multiple_of(29) {
                "  "
            } else if messy && i.is_multiple_of(41) {
                "\t"
            } else {
                " "
            });
        }
        m.push_str(line.trim_end());
        m.push_str("\r\n");
        if i % 97 < 8 {
            m.push_str("\r\n");
        }
    }
    m.into_bytes()
}

struct Keys {
    rsa2048: String,
    rsa4096: String,
    ed25519: String,
}

fn keys() -> Keys {
    Keys {
        rsa2048: testdata("default._domainkey.example.org.rsa2048.pem"),
        rsa4096: mailstamp_dkim::generate_rsa(4096, &mut rand::rngs::OsRng)
            .expect("rsa 4096")
            .private_key_pem,
        ed25519: testdata("ed25519._domainkey.example.org.pem"),
    }
}

fn signer(pem: &str) -> Signer {
    Signer::new(
        SigningKey::from_pem(pem).expect("key"),
        "example.org",
        "bench",
    )
    .expect("signer")
}

fn txt_answer(name: &Name, record: &str) -> Answer {
    Answer::Records(
        vec![Record {
            name: name.clone(),
            ttl: 300,
            data: RData::Txt(Txt::new(mailstamp_dkim::split_txt(record))),
        }]
        .into(),
    )
}

fn canon_hash(c: &mut Criterion) {
    let mut g = c.benchmark_group("canon_hash");
    for (label, size) in SIZES {
        let raw = message(label, size);
        g.throughput(Throughput::Bytes(raw.len() as u64));
        for canon in [Canonicalization::Relaxed, Canonicalization::Simple] {
            g.bench_with_input(
                BenchmarkId::new(format!("parse+{canon}"), label),
                &raw,
                |b, raw| {
                    b.iter(|| {
                        let msg = Message::parse(black_box(raw));
                        let mut set = BodyHashSet::new();
                        set.add(BodyHashSpec {
                            canonicalization: canon,
                            algorithm: HashAlgorithm::Sha256,
                            limit: None,
                        });
                        msg.body().for_each_chunk(|c| set.update(c));
                        black_box(set.finish())
                    });
                },
            );
        }
        g.bench_with_input(BenchmarkId::new("sha256_floor", label), &raw, |b, raw| {
            b.iter(|| {
                use sha2::Digest as _;
                black_box(sha2::Sha256::digest(black_box(raw)))
            });
        });
        g.bench_with_input(BenchmarkId::new("ring_sha256", label), &raw, |b, raw| {
            b.iter(|| black_box(ring::digest::digest(&ring::digest::SHA256, black_box(raw))));
        });
    }
    g.finish();
}

/// Key record parsing (tag list, base64 of `p=`, the key's DER), RSA-2048 and Ed25519, the
/// record as `KeyRecordText` writes it and folded as a TXT record often arrives.
fn key_record_bench(c: &mut Criterion) {
    let keys = keys();
    let mut g = c.benchmark_group("key_record");
    for (alg, pem) in [("rsa-2048", &keys.rsa2048), ("ed25519", &keys.ed25519)] {
        let key = SigningKey::from_pem(pem).expect("key");
        let record = mailstamp_dkim::KeyRecordText::new(key.public_key()).value();
        let folded = record
            .replace("p=", "t=y; p=\r\n ")
            .replacen('A', "A\r\n\t", 3);
        for (form, text) in [("plain", &record), ("folded", &folded)] {
            g.bench_with_input(BenchmarkId::new(alg, form), text, |b, text| {
                b.iter(|| black_box(mailstamp_dkim::KeyRecord::parse(black_box(text.as_bytes()))))
            });
        }
    }
    g.finish();
}

fn verify_bench(c: &mut Criterion) {
    let keys = keys();
    let mut g = c.benchmark_group("verify");
    for (alg, pem) in [
        ("rsa-2048", &keys.rsa2048),
        ("rsa-4096", &keys.rsa4096),
        ("ed25519", &keys.ed25519),
    ] {
        let s = signer(pem);
        let record = mailstamp_dkim::KeyRecordText::new(s.key().public_key()).value();
        let key_name = Name::parse("bench._domainkey.example.org").expect("name");
        let answer = txt_answer(&key_name, &record);
        for (label, size) in SIZES {
            let raw = message(label, size);
            let signed = sign(&Message::parse(&raw), std::slice::from_ref(&s), NOW)
                .expect("sign")
                .prepend_to(&raw);
            g.throughput(Throughput::Bytes(signed.len() as u64));
            let mut cache = KeyCache::new();
            g.bench_with_input(BenchmarkId::new(alg, label), &signed, |b, signed| {
                b.iter(|| {
                    let msg = Message::parse(black_box(signed));
                    match verify(&msg, &Policy::default(), NOW) {
                        Step::Lookup(p) => {
                            let report = p.resume_with_cache(vec![answer.clone()], &mut cache);
                            assert!(report.has_pass());
                            black_box(report)
                        }
                        Step::Done(_) => unreachable!("a signature needs its key"),
                    }
                });
            });
            // The floor: one ring check of the same signed data, one SHA-256 of the message.
            let msg = Message::parse(&signed);
            let field = msg.field(0).expect("signature field");
            let sig = mailstamp_dkim::Signature::parse(field.value()).expect("signature");
            let data = header_hash_input(&msg, field, &sig);
            let public = s.key().public_key().to_record_der();
            g.bench_with_input(
                BenchmarkId::new(format!("{alg}_floor"), label),
                &signed,
                |b, signed| {
                    use ring::signature as rs;
                    use sha2::Digest as _;
                    b.iter(|| {
                        black_box(sha2::Sha256::digest(black_box(signed)));
                        let ok = if alg == "ed25519" {
                            let digest = sha2::Sha256::digest(&data);
                            rs::UnparsedPublicKey::new(&rs::ED25519, &public)
                                .verify(&digest, &sig.signature)
                        } else {
                            // ring takes the RSAPublicKey inside the SubjectPublicKeyInfo
                            rs::UnparsedPublicKey::new(
                                &rs::RSA_PKCS1_2048_8192_SHA256,
                                rsa_public_key(&public),
                            )
                            .verify(&data, &sig.signature)
                        };
                        assert!(ok.is_ok());
                    });
                },
            );
        }
    }
    g.finish();
}

/// The RSAPublicKey inside a SubjectPublicKeyInfo (the BIT STRING content after its first
/// octet), found by walking the DER lengths.
fn rsa_public_key(spki: &[u8]) -> &[u8] {
    fn tlv(b: &[u8]) -> (&[u8], &[u8]) {
        let (len, hdr) = match b[1] {
            l if l < 0x80 => (usize::from(l), 2),
            0x81 => (usize::from(b[2]), 3),
            0x82 => ((usize::from(b[2]) << 8) | usize::from(b[3]), 4),
            _ => panic!("unexpected DER length"),
        };
        (&b[hdr..hdr + len], &b[hdr + len..])
    }
    let (seq, _) = tlv(spki);
    let (_alg, rest) = tlv(seq);
    let (bits, _) = tlv(rest);
    &bits[1..]
}

fn sign_bench(c: &mut Criterion) {
    let keys = keys();
    let mut g = c.benchmark_group("sign");
    for (alg, pem) in [
        ("rsa-2048", &keys.rsa2048),
        ("rsa-4096", &keys.rsa4096),
        ("ed25519", &keys.ed25519),
    ] {
        let signers = [signer(pem)];
        for (label, size) in SIZES {
            let raw = message(label, size);
            g.throughput(Throughput::Bytes(raw.len() as u64));
            g.bench_with_input(BenchmarkId::new(alg, label), &raw, |b, raw| {
                b.iter(|| {
                    let msg = Message::parse(black_box(raw));
                    black_box(sign(&msg, &signers, NOW).expect("sign"))
                });
            });
            // The floor: ring's own signature over the same header data, one SHA-256 of the
            // message bytes.
            let signed = sign(&Message::parse(&raw), &signers, NOW)
                .expect("sign")
                .prepend_to(&raw);
            let msg = Message::parse(&signed);
            let field = msg.field(0).expect("signature field");
            let sig = mailstamp_dkim::Signature::parse(field.value()).expect("signature");
            let data = header_hash_input(&msg, field, &sig);
            let der = common::ed25519::pkcs8_der(pem);
            let rng = ring::rand::SystemRandom::new();
            if alg == "ed25519" {
                let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                    .expect("ed25519");
                g.bench_with_input(
                    BenchmarkId::new(format!("{alg}_floor"), label),
                    &raw,
                    |b, raw| {
                        use sha2::Digest as _;
                        b.iter(|| {
                            black_box(sha2::Sha256::digest(black_box(raw)));
                            black_box(pair.sign(&sha2::Sha256::digest(&data)))
                        });
                    },
                );
            } else {
                let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).expect("rsa");
                let mut out = vec![0u8; pair.public().modulus_len()];
                g.bench_with_input(
                    BenchmarkId::new(format!("{alg}_floor"), label),
                    &raw,
                    |b, raw| {
                        use sha2::Digest as _;
                        b.iter(|| {
                            black_box(sha2::Sha256::digest(black_box(raw)));
                            pair.sign(&ring::signature::RSA_PKCS1_SHA256, &rng, &data, &mut out)
                                .expect("ring sign");
                            black_box(&out);
                        });
                    },
                );
            }
        }
    }
    g.finish();
}

/// The signature backend alone, on 300 bytes of header data.
fn crypto_bench(c: &mut Criterion) {
    let backend = mailstamp_dkim::crypto::BACKEND;
    let data = vec![b'h'; 300];
    let mut g = c.benchmark_group("crypto");
    for (alg, pem) in [
        (
            "rsa-2048",
            testdata("default._domainkey.example.org.rsa2048.pem"),
        ),
        ("ed25519", testdata("ed25519._domainkey.example.org.pem")),
    ] {
        let key = SigningKey::from_pem(&pem).expect("key");
        let public = key.public_key().clone();
        let signature = key.sign(&data).expect("signs");
        assert!(mailstamp_dkim::check_signature(
            &public,
            key.algorithm(),
            &data,
            &signature
        ));
        g.bench_function(format!("check_signature/{alg}/{backend}"), |b| {
            b.iter(|| {
                mailstamp_dkim::check_signature(
                    &public,
                    key.algorithm(),
                    black_box(&data),
                    &signature,
                )
            })
        });
        g.bench_function(format!("sign/{alg}/{backend}"), |b| {
            b.iter(|| key.sign(black_box(&data)))
        });
    }
    g.finish();
}

/// Ed25519 alone, each implementation the crate can use, on a SHA-256 digest (what DKIM signs,
/// RFC 8463 §3): ring, AWS-LC (with `--features aws-lc`) and ed25519-dalek, verify and sign.
/// `verify/dalek-prepared` keeps the decompressed key across calls (as a cached key can);
/// `verify/dalek` decompresses it at each call, as ring and AWS-LC do. What `crypto` uses for
/// each operation is chosen from these figures.
fn ed25519_backends(c: &mut Criterion) {
    let digest = [0x5a_u8; 32];
    let common::ed25519::Ed25519Fixture {
        ring_pair,
        public,
        signature,
        dalek,
        dalek_signature,
    } = common::ed25519::ed25519_fixture(&testdata("ed25519._domainkey.example.org.pem"), &digest);
    let mut g = c.benchmark_group("ed25519");
    g.bench_function("verify/ring", |b| {
        b.iter(|| {
            ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &public)
                .verify(black_box(&digest), &signature)
                .is_ok()
        })
    });
    g.bench_function("verify/dalek", |b| {
        b.iter(|| {
            ed25519_dalek::VerifyingKey::from_bytes(black_box(&public)).is_ok_and(|k| {
                use ed25519_dalek::Verifier as _;
                k.verify(black_box(&digest), &dalek_signature).is_ok()
            })
        })
    });
    let prepared = ed25519_dalek::VerifyingKey::from_bytes(&public).expect("key");
    g.bench_function("verify/dalek-prepared", |b| {
        b.iter(|| {
            use ed25519_dalek::Verifier as _;
            prepared
                .verify(black_box(&digest), &dalek_signature)
                .is_ok()
        })
    });
    g.bench_function("sign/ring", |b| {
        b.iter(|| ring_pair.sign(black_box(&digest)))
    });
    g.bench_function("sign/dalek", |b| {
        b.iter(|| {
            use ed25519_dalek::Signer as _;
            dalek.sign(black_box(&digest))
        })
    });
    #[cfg(feature = "aws-lc")]
    {
        let aws_pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(
            &common::ed25519::pkcs8_der(&testdata("ed25519._domainkey.example.org.pem")),
        )
        .expect("key");
        g.bench_function("verify/aws-lc", |b| {
            b.iter(|| {
                aws_lc_rs::signature::UnparsedPublicKey::new(
                    &aws_lc_rs::signature::ED25519,
                    &public,
                )
                .verify(black_box(&digest), &signature)
                .is_ok()
            })
        });
        g.bench_function("sign/aws-lc", |b| {
            b.iter(|| aws_pair.sign(black_box(&digest)))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    canon_hash,
    key_record_bench,
    verify_bench,
    sign_bench,
    crypto_bench,
    ed25519_backends
);
criterion_main!(benches);
