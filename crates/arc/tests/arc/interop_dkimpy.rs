//! ARC interoperability with dkimpy (`dkim.arc_sign` / `dkim.arc_verify`): mailstamp's seals
//! verify in dkimpy and dkimpy's verify here, over three hops with a body-modifying hop in the
//! middle, sealers of both implementations mixed in one chain.
//!
//! dkimpy 1.1.8's ARC knows rsa-sha256 only (`ARC_HASH_ALGORITHMS`; its DKIM has Ed25519):
//! it refuses an ed25519-sha256 set with "unknown signature algorithm", and cannot make one.
//! So the chains dkimpy takes part in are RSA (2048 bits) at every hop;
//! `dkimpy_has_no_ed25519_arc` pins that limitation down (so the day dkimpy gains it, the test
//! says so), and mailstamp's own RSA/Ed25519 mixed chains are covered in `arc.rs` and by
//! mail-auth's 002.txt (an ed25519-sha256 set under an rsa-sha256 one, sealed elsewhere).
//!
//! dkimpy runs through `dkimpy_arc_helper.py` (beside this file) with the interpreter named by
//! `MAILSTAMP_PYTHON`; dkimpy's ARC also needs the `authres` module. No DNS is used: records
//! reach dkimpy through its `dnsfunc` hook. When the interpreter or the modules are missing the
//! tests FAIL, unless `MAILSTAMP_SKIP_INTEROP=1` skips them on purpose (said on stderr).

use super::{NOW, ORIGINAL, check, ed_key, record_of, rsa_key, seal_hop_modifying, testdata};
use mailstamp_arc::ArcResult;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

fn helper() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/arc/dkimpy_arc_helper.py")
}

/// The Python interpreter with the peer, found once per run (see
/// `mailstamp_testkit::interop::python`: a missing peer fails unless skipped on purpose).
fn python() -> Option<&'static Path> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON
        .get_or_init(|| mailstamp_testkit::interop::python(&helper(), "dkimpy's ARC"))
        .as_deref()
}

fn run_helper(py: &Path, args: &[String], stdin: &[u8]) -> Output {
    mailstamp_testkit::interop::run(py, &helper(), args, stdin)
}

#[derive(Clone, Copy)]
enum Who {
    Mailstamp,
    Dkimpy,
}

#[derive(Clone, Copy)]
enum Key {
    Rsa,
    Ed,
}

const HOPS: [(Key, &str, &str); 3] = [
    (Key::Rsa, "one.example", "rsa"),
    (Key::Rsa, "two.example", "rsa"),
    (Key::Rsa, "three.example", "rsa"),
];

fn footer(m: &mut Vec<u8>) {
    m.extend_from_slice(b"-- \r\nmailing list footer\r\n");
}

/// One hop: validate on arrival (mailstamp), modify when asked, seal with `who`.
fn hop(
    py: &Path,
    raw: &[u8],
    who: Who,
    (key, domain, selector): (Key, &str, &str),
    modify: bool,
) -> Vec<u8> {
    match who {
        Who::Mailstamp => {
            let k = match key {
                Key::Rsa => rsa_key(),
                Key::Ed => ed_key(),
            };
            seal_hop_modifying(raw, k, domain, selector, |m| {
                if modify {
                    footer(m);
                }
            })
        }
        Who::Dkimpy => {
            let status = check(raw).result;
            // dkimpy takes the chain status from the arc= result of its srv-id's
            // Authentication-Results field.
            let ar = match status {
                ArcResult::None => format!(
                    "Authentication-Results: {domain}; spf=pass smtp.mailfrom=origin.example\r\n"
                ),
                s => format!("Authentication-Results: {domain}; arc={s}\r\n"),
            };
            let mut msg = ar.into_bytes();
            msg.extend_from_slice(raw);
            if modify {
                footer(&mut msg);
            }
            let key_file = match key {
                Key::Rsa => "keys/default._domainkey.example.org.rsa2048.pem",
                Key::Ed => "keys/ed25519._domainkey.example.org.pem",
            };
            let args: Vec<String> = vec![
                "seal".into(),
                "--key".into(),
                testdata().join(key_file).display().to_string(),
                "--domain".into(),
                domain.into(),
                "--selector".into(),
                selector.into(),
                "--srv-id".into(),
                domain.into(),
                "--timestamp".into(),
                NOW.to_string(),
            ];
            let out = run_helper(py, &args, &msg);
            assert!(
                out.status.success(),
                "dkimpy seal failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        }
    }
}

fn dkimpy_verify(py: &Path, raw: &[u8]) -> (bool, String) {
    let mut args = vec!["verify".to_owned()];
    for (name, key) in [
        ("rsa._domainkey.one.example", rsa_key()),
        ("ed._domainkey.two.example", ed_key()),
        ("rsa._domainkey.two.example", rsa_key()),
        ("rsa._domainkey.three.example", rsa_key()),
    ] {
        args.push("--record".into());
        args.push(format!("{name}={}", record_of(&key)));
    }
    let out = run_helper(py, &args, raw);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Three hops by `who`, the middle one adding a footer; both implementations validate the
/// result; mailstamp sees the AMS of i=1 broken and oldest-pass 2.
fn chain(py: &Path, who: [Who; 3]) {
    let mut raw = ORIGINAL.as_bytes().to_vec();
    for (idx, w) in who.iter().enumerate() {
        raw = hop(py, &raw, *w, HOPS[idx], idx == 1);
    }
    let v = check(&raw);
    assert_eq!(
        v.result,
        ArcResult::Pass,
        "mailstamp: {v:#?}\n{}",
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(v.instances, 3);
    assert_eq!(v.oldest_pass, Some(2), "{v:#?}");
    assert!(!v.set(1).unwrap().ams.is_pass());
    assert_eq!(
        v.sealers().collect::<Vec<_>>(),
        ["one.example", "two.example", "three.example"]
    );
    let (ok, out) = dkimpy_verify(py, &raw);
    assert!(
        ok,
        "dkimpy does not validate the chain:\n{out}\n{}",
        String::from_utf8_lossy(&raw)
    );
}

#[test]
fn mailstamp_seals_verify_in_dkimpy() {
    let Some(py) = python() else { return };
    chain(py, [Who::Mailstamp; 3]);
}

#[test]
fn dkimpy_seals_verify_in_mailstamp() {
    let Some(py) = python() else { return };
    chain(py, [Who::Dkimpy; 3]);
}

#[test]
fn mixed_chains_verify_in_both() {
    let Some(py) = python() else { return };
    chain(py, [Who::Dkimpy, Who::Mailstamp, Who::Dkimpy]);
    chain(py, [Who::Mailstamp, Who::Dkimpy, Who::Mailstamp]);
}

#[test]
fn tampered_chain_fails_in_both() {
    let Some(py) = python() else { return };
    let mut raw = ORIGINAL.as_bytes().to_vec();
    for (idx, w) in [Who::Mailstamp, Who::Dkimpy, Who::Mailstamp]
        .iter()
        .enumerate()
    {
        raw = hop(py, &raw, *w, HOPS[idx], false);
    }
    raw.extend_from_slice(b"changed after the last seal\r\n");
    assert_eq!(check(&raw).result, ArcResult::Fail);
    let (ok, out) = dkimpy_verify(py, &raw);
    assert!(!ok, "dkimpy passes a tampered chain:\n{out}");
}

#[test]
fn dkimpy_has_no_ed25519_arc() {
    let Some(py) = python() else { return };
    let one = hop(
        py,
        ORIGINAL.as_bytes(),
        Who::Mailstamp,
        (Key::Rsa, "one.example", "rsa"),
        false,
    );
    let two = hop(
        py,
        &one,
        Who::Mailstamp,
        (Key::Ed, "two.example", "ed"),
        false,
    );
    assert_eq!(check(&two).result, ArcResult::Pass);
    let (ok, out) = dkimpy_verify(py, &two);
    assert!(
        !ok && out.contains("unknown signature algorithm"),
        "dkimpy's ARC now takes ed25519-sha256: extend the interop chains to it\n{out}"
    );
}
