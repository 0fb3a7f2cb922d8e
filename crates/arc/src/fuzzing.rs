//! Fuzz target body, as a plain function so it runs on stable Rust without libFuzzer
//! (`fuzz/fuzz_targets/arc_chain.rs` calls it; so does this crate's integration test).
//!
//! It checks invariants with `assert!`: a failed assertion is the bug a fuzzer reports.

use mailstamp_arc::{
    ArcResult, FieldKind, MessageSignature, Seal, SealOutcome, Sealer, collect_sets, parse_aar,
    validate,
};
use mailstamp_dkim::SigningKey;
use mailstamp_dns::{Answer, Lookup, Step};
use mailstamp_message::Message;

/// RFC 8032 §7.1 test 1 seed: a fixed key for the sealing half.
const SEED: [u8; 32] = [
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];

/// The ARC parsers and the chain validator on any message, then the sealer.
///
/// The input is `TXT-record NUL message`: every key query is answered with the record (or
/// NXDOMAIN without a NUL). Checks: nothing panics; the field parsers agree with the grouping;
/// `none` exactly when there is no ARC field; `fail` always carries a problem and `pass`
/// an oldest-pass within 0..=N; sealing either refuses or adds a set with the next instance,
/// which the parser reads back.
///
/// # Panics
///
/// When an invariant is broken: that is a bug for the fuzzer to report.
pub fn chain(data: &[u8]) {
    let (txt, raw) = match data.iter().position(|&b| b == 0) {
        Some(p) => (Some(&data[..p]), &data[p + 1..]),
        None => (None, data),
    };
    let message = Message::parse(raw);
    for f in message.fields() {
        if f.is_named("ARC-Seal") {
            let _ = Seal::parse(f.value());
        } else if f.is_named("ARC-Message-Signature") {
            let _ = MessageSignature::parse(f.value());
        } else if f.is_named("ARC-Authentication-Results")
            && let Ok((i, r)) = parse_aar(f.value())
        {
            assert!((1..=50).contains(&i));
            assert!(r.end <= f.value().len());
        }
    }
    let has_arc = message
        .fields()
        .any(|f| mailstamp_arc::field_kind(&f).is_some());
    if let Ok(sets) = collect_sets(&message) {
        assert!(sets.keys().all(|i| (1..=50).contains(i)));
        assert_eq!(sets.is_empty(), !has_arc);
    }
    let mut step = validate(&message, 1_700_000_000);
    let verdict = loop {
        match step {
            Step::Done(v) => break v,
            Step::Lookup(pending) => {
                assert!(!pending.queries().is_empty());
                let answers = pending
                    .queries()
                    .iter()
                    .map(|q| match txt {
                        Some(t) => {
                            let mut z = mailstamp_dns::Zone::new();
                            z.add_txt(&q.name, [String::from_utf8_lossy(t).into_owned()]);
                            mailstamp_dns::Source::answer(&z, q)
                        }
                        None => Answer::NxDomain,
                    })
                    .collect();
                step = pending.resume(answers);
            }
        }
    };
    assert_eq!(verdict.result == ArcResult::None, !has_arc);
    match verdict.result {
        ArcResult::Fail => assert!(verdict.problem.is_some()),
        ArcResult::Pass => {
            let op = verdict
                .oldest_pass
                .expect("a passing chain has an oldest-pass");
            assert!(op <= verdict.instances);
            assert!(verdict.problem.is_none());
        }
        ArcResult::None => assert!(verdict.sets.is_empty()),
    }

    let Ok(key) = SigningKey::from_ed25519_seed(&SEED) else {
        return;
    };
    let Ok(sealer) = Sealer::new(key, "sealer.example", "fuzz") else {
        return;
    };
    if let Ok(SealOutcome::Sealed(set)) = sealer.seal(
        &message,
        verdict.result,
        "sealer.example; arc=none",
        1_700_000_000,
    ) {
        let sealed = set.prepend_to(message.input());
        let again = Message::parse(&sealed);
        let found: Vec<u32> = again
            .fields()
            .filter_map(|f| {
                let kind = mailstamp_arc::field_kind(&f)?;
                mailstamp_arc::instance_of(kind, f.value())
                    .ok()
                    .filter(|_| kind == FieldKind::Seal)
            })
            .collect();
        assert!(found.contains(&set.instance));
    }
}
