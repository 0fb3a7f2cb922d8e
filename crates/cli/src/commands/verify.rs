//! `mailstamp verify [FILE|-]`: checks every DKIM-Signature field of a message (RFC 6376 §6).

use crate::context::Context;
use crate::exit::Exit;
use crate::input;
use mailstamp_dkim::{
    DEFAULT_CLOCK_SKEW, DEFAULT_MAX_SIGNATURES, DkimReport, DkimResult, DkimVerdict, Forensics,
    Policy, Signature, TagList, body_hash, header_hash_input, verify,
};
use mailstamp_dns::Step;
use mailstamp_message::Message;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Arguments of `mailstamp verify`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The message to check: a file, or `-` (the default) for standard input. Bare LF line
    /// endings are read as CRLF.
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// For each signature that does not pass, show what was hashed: the canonicalized header
    /// block that was signed, and the computed versus stated body hash.
    #[arg(long)]
    pub explain: bool,

    /// Verify at most N signatures (those of the From domain first; malformed ones do not
    /// count); the others are reported as `neutral` (not checked).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_SIGNATURES,
          value_parser = parse_max_signatures)]
    pub max_signatures: usize,

    /// Accept signatures whose expiration (x=) lies up to this many seconds in the past
    /// and whose timestamp (t=) lies up to this many seconds in the future.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_CLOCK_SKEW)]
    pub clock_skew: u64,

    /// DANGEROUS: verify rsa-sha1 signatures like any other, although RFC 8301 §3.1 forbids
    /// it (SHA-1 signatures can be forged). Only for studying old mail and old test corpora.
    #[arg(long)]
    pub dangerous_accept_rsa_sha1: bool,
}

const AFTER_HELP: &str = "\
Prints one line per DKIM-Signature field: the result (pass, fail, policy, neutral, temperror,
permerror), d=, s=, a= and the reason. Details are on indented lines below it. Use the global
--now for messages whose signatures carry x= (expiry), and --zone to answer the key queries
from a file instead of the DNS.

Exit status:
  0  at least one signature passes
  1  no signature passes (or the message has none)
  2  usage or input error (bad option, unreadable or empty file)
  3  no signature passes and a key lookup hit a temporary DNS failure";

/// 1 to 1000.
fn parse_max_signatures(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(format!("expected a number from 1 to 1000, found {s:?}")),
    }
}

/// Verifies the message and prints the verdicts.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    let raw = input::read_message(args.input.as_deref())?;
    let message = Message::parse(&raw);
    let policy = Policy::new()
        .with_max_signatures(args.max_signatures)
        .with_clock_skew(args.clock_skew)
        .dangerous_accept_rsa_sha1(args.dangerous_accept_rsa_sha1);
    let mut report = match verify(&message, &policy, ctx.now()) {
        Step::Done(report) => report,
        // Only a message with signatures to check needs a resolver.
        step @ Step::Lookup(_) => ctx.block_on(mailstamp::drive(step, ctx.resolver()?)),
    };
    for v in &mut report.signatures {
        fill_identifiers(&message, v);
    }
    let forensics: Vec<Option<Forensics>> = if args.explain {
        report
            .signatures
            .iter()
            .map(|v| forensics_of(&message, v))
            .collect()
    } else {
        vec![None; report.signatures.len()]
    };
    if ctx.json() {
        println!("{}", to_json(&report, &forensics, args.explain));
    } else {
        print!("{}", to_text(&report, &forensics, args.explain));
    }
    Ok(exit_for(&report))
}

/// 0 when a signature passes, 3 when none does and a key lookup failed temporarily, else 1.
pub fn exit_for(report: &DkimReport) -> Exit {
    if report.has_pass() {
        Exit::Success
    } else if report
        .signatures
        .iter()
        .any(|v| v.result == DkimResult::TempError)
    {
        Exit::TempFail
    } else {
        Exit::NotPass
    }
}

/// Fills `d=`, `s=` and `a=` from the field's tag list when the verifier did not read them
/// (a signature beyond `--max-signatures` is not parsed), so every line names its signature.
fn fill_identifiers(message: &Message<'_>, verdict: &mut DkimVerdict) {
    let d = &mut verdict.details;
    if d.domain.is_some() && d.selector.is_some() && d.algorithm.is_some() {
        return;
    }
    let Some(field) = message
        .fields()
        .filter(|f| f.is_named("dkim-signature"))
        .nth(d.index)
    else {
        return;
    };
    let Ok(tags) = TagList::parse(field.value()) else {
        return;
    };
    let text = |tag: &str| {
        tags.get(tag)
            .map(|v| String::from_utf8_lossy(v).trim().to_owned())
    };
    d.domain = d.domain.take().or_else(|| text("d"));
    d.selector = d.selector.take().or_else(|| text("s"));
    d.algorithm = d.algorithm.take().or_else(|| text("a"));
}

/// The forensics of a signature that did not pass: the verifier's own when it got that far,
/// otherwise recomputed here (the key may be missing, yet what was signed can still be shown).
/// `None` for a pass and for a field that does not parse.
fn forensics_of(message: &Message<'_>, verdict: &DkimVerdict) -> Option<Forensics> {
    if verdict.result == DkimResult::Pass {
        return None;
    }
    if let Some(f) = &verdict.forensics {
        return Some(f.clone());
    }
    let field = message
        .fields()
        .filter(|f| f.is_named("dkim-signature"))
        .nth(verdict.details.index)?;
    let sig = Signature::parse(field.value()).ok()?;
    let canonical_headers = header_hash_input(message, field, &sig);
    let body = body_hash(
        sig.canonicalization.body,
        sig.algorithm.hash(),
        sig.body_length,
        message.body(),
    );
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    Some(Forensics {
        canonical_headers,
        computed_body_hash: b64.encode(&body.digest),
        stated_body_hash: b64.encode(&sig.body_hash),
        canonical_body_length: body.canonical_length,
    })
}

fn or_dash(v: Option<&String>) -> &str {
    v.map_or("-", String::as_str)
}

/// The human form: one line per signature, details indented below.
fn to_text(report: &DkimReport, forensics: &[Option<Forensics>], explain_all: bool) -> String {
    let mut out = String::new();
    if report.signatures.is_empty() {
        out.push_str("none: the message has no DKIM-Signature field\n");
        return out;
    }
    let total = report.signatures.len();
    for (v, f) in report.signatures.iter().zip(forensics) {
        let d = &v.details;
        let _ = write!(
            out,
            "{} d={} s={} a={}: {}",
            v.result,
            or_dash(d.domain.as_ref()),
            or_dash(d.selector.as_ref()),
            or_dash(d.algorithm.as_ref()),
            v.reason()
        );
        if let Some(p) = &v.problem {
            let _ = write!(out, " ({})", p.rfc_section());
        }
        out.push('\n');
        if let (Some(kt), Some(bits)) = (d.key_type, d.key_bits) {
            let _ = writeln!(out, "  key: {kt}, {bits} bits");
        }
        if v.result == DkimResult::Pass && d.algorithm.as_deref() == Some("rsa-sha1") {
            out.push_str(
                "  note: rsa-sha1 passed only because of --dangerous-accept-rsa-sha1; RFC 8301 \
                 §3.1 forbids it, and receivers treat this signature as failing\n",
            );
        }
        if d.testing {
            out.push_str(
                "  note: the key record has t=y: the domain is testing DKIM, and receivers \
                 treat the message as unsigned\n",
            );
        }
        if let (Some(l), Some(unsigned)) = (d.body_length, d.unsigned_body_bytes) {
            if unsigned > 0 {
                let _ = writeln!(
                    out,
                    "  note: l={l}: {unsigned} body bytes below the signed part are not covered by \
                     the signature (RFC 6376 §8.2)"
                );
            } else {
                let _ = writeln!(out, "  note: l={l} covers the whole body");
            }
        }
        match f {
            Some(f) => explain(&mut out, v, f, total),
            None if explain_all && v.result != DkimResult::Pass => {
                let _ = writeln!(
                    out,
                    "  explain (signature {} of {total}): nothing was hashed: the field does not \
                     parse as a DKIM signature",
                    d.index + 1
                );
            }
            None => {}
        }
    }
    if report.line_endings_normalized && forensics.iter().any(Option::is_some) {
        out.push_str(
            "note: the message has bare LF line endings; they were read as CRLF before \
             hashing\n",
        );
    }
    out
}

/// The `--explain` block of one signature.
fn explain(out: &mut String, v: &DkimVerdict, f: &Forensics, total: usize) {
    let d = &v.details;
    let _ = writeln!(out, "  explain (signature {} of {total}):", d.index + 1);
    if let Some(c) = d.canonicalization {
        let _ = writeln!(out, "    canonicalization (c=): {c}");
    }
    let same = f.computed_body_hash == f.stated_body_hash;
    let _ = writeln!(
        out,
        "    body hash computed: {}  ({} canonical body bytes{})",
        f.computed_body_hash,
        f.canonical_body_length,
        d.body_length
            .map_or_else(String::new, |l| format!(", l={l} hashed"))
    );
    let _ = writeln!(
        out,
        "    body hash stated:   {}  (bh=){}",
        f.stated_body_hash,
        if same { "" } else { "  <- differs" }
    );
    if same {
        out.push_str("    the body is unchanged since signing\n");
    } else {
        out.push_str(
            "    the body was changed after signing (a footer, a re-encoding, a filter)\n",
        );
    }
    match d.signature_matched {
        Some(true) => out.push_str("    the signature over the header block verifies\n"),
        Some(false) => out.push_str(
            "    the signature over the header block does not verify: a signed header field \
             was changed (such as a Subject tag), or the key is not the signing key\n",
        ),
        None => out.push_str(
            "    the signature over the header block was not checked (verification stopped \
             before it: see the reason above)\n",
        ),
    }
    let _ = writeln!(
        out,
        "    header block that was hashed ({} bytes: the fields of h= in order, then this \
         DKIM-Signature with b= emptied; lines end in CRLF, the last one without):",
        f.canonical_headers.len()
    );
    for line in f.canonical_headers.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let _ = writeln!(out, "    | {}", printable(line));
    }
}

/// A line of hashed bytes made visible: tabs as `\t`, other control characters and invalid
/// UTF-8 as `\xNN`.
fn printable(line: &[u8]) -> String {
    let mut out = String::with_capacity(line.len());
    for chunk in line.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let _ = write!(out, "\\x{:02x}", u32::from(c));
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// One signature as JSON.
fn verdict_json(v: &DkimVerdict, forensics: Option<&Forensics>, explain: bool) -> Value {
    let d = &v.details;
    let mut obj = json!({
        "index": d.index,
        "result": v.result.as_str(),
        "domain": d.domain,
        "selector": d.selector,
        "algorithm": d.algorithm,
        "problem": v.problem.as_ref().map(|p| p.code()),
        "reason": v.reason(),
        "rfc": v.problem.as_ref().map(|p| p.rfc_section()),
        "problem_detail": v.problem.as_ref().map(|p| serde_json::to_value(p).unwrap_or(Value::Null)),
        "identity": d.identity,
        "canonicalization": d.canonicalization.map(|c| c.to_string()),
        "signed_headers": d.signed_headers,
        "timestamp": d.timestamp,
        "expiration": d.expiration,
        "body_length": d.body_length,
        "unsigned_body_bytes": d.unsigned_body_bytes,
        "key_type": d.key_type.map(|k| k.as_str()),
        "key_bits": d.key_bits,
        "testing": d.testing,
        "body_hash_matched": d.body_hash_matched,
        "signature_matched": d.signature_matched,
    });
    if explain && let Value::Object(map) = &mut obj {
        map.insert(
            "forensics".into(),
            forensics.map_or(Value::Null, |f| {
                json!({
                    "canonical_headers": String::from_utf8_lossy(&f.canonical_headers),
                    "computed_body_hash": f.computed_body_hash,
                    "stated_body_hash": f.stated_body_hash,
                    "canonical_body_length": f.canonical_body_length,
                    "body_hash_matched": f.computed_body_hash == f.stated_body_hash,
                })
            }),
        );
    }
    obj
}

/// The JSON form: `{"result", "signatures": [...], "line_endings_normalized"}`; each signature
/// has `result`, `domain`, `selector`, `algorithm`, `problem` (a snake_case code or null),
/// `reason`, `rfc` and the details; with `--explain`, `forensics` too.
fn to_json(report: &DkimReport, forensics: &[Option<Forensics>], explain: bool) -> Value {
    json!({
        "result": report.result().as_str(),
        "signatures": report
            .signatures
            .iter()
            .zip(forensics)
            .map(|(v, f)| verdict_json(v, f.as_ref(), explain))
            .collect::<Vec<_>>(),
        "line_endings_normalized": report.line_endings_normalized,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstamp_dkim::{DkimProblem, SignatureDetails};
    use mailstamp_dns::{FailureKind, Name};

    fn verdict(problem: Option<DkimProblem>) -> DkimVerdict {
        DkimVerdict {
            result: problem
                .as_ref()
                .map_or(DkimResult::Pass, DkimProblem::result),
            problem,
            details: SignatureDetails {
                domain: Some("example.org".into()),
                selector: Some("sel".into()),
                algorithm: Some("rsa-sha256".into()),
                ..SignatureDetails::default()
            },
            forensics: None,
        }
    }

    fn report(v: Vec<DkimVerdict>) -> DkimReport {
        DkimReport {
            signatures: v,
            line_endings_normalized: false,
        }
    }

    #[test]
    fn rfc6376_6_1_exit_codes() {
        assert_eq!(exit_for(&report(vec![])), Exit::NotPass);
        let unavailable = || {
            verdict(Some(DkimProblem::KeyUnavailable {
                name: Name::parse("sel._domainkey.example.org").unwrap(),
                failure: FailureKind::Timeout,
            }))
        };
        let fail = || verdict(Some(DkimProblem::BodyHashMismatch));
        assert_eq!(exit_for(&report(vec![fail()])), Exit::NotPass);
        assert_eq!(
            exit_for(&report(vec![fail(), unavailable()])),
            Exit::TempFail
        );
        assert_eq!(
            exit_for(&report(vec![unavailable(), verdict(None)])),
            Exit::Success
        );
    }

    #[test]
    fn one_line_per_signature_with_result_d_s_a_reason() {
        let text = to_text(
            &report(vec![verdict(None), verdict(Some(DkimProblem::Sha1Refused))]),
            &[None, None],
            false,
        );
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], "pass d=example.org s=sel a=rsa-sha256: ok");
        assert!(
            lines[1].starts_with(
                "policy d=example.org s=sel a=rsa-sha256: the signature uses rsa-sha1"
            )
        );
        assert!(lines[1].ends_with("(RFC 8301 §3.1)"));
        assert_eq!(
            to_text(&report(vec![]), &[], true),
            "none: the message has no DKIM-Signature field\n"
        );
    }

    #[test]
    fn json_contract_keys() {
        let v = to_json(
            &report(vec![verdict(Some(DkimProblem::KeyTooShort { bits: 512 }))]),
            &[None],
            false,
        );
        let s = &v["signatures"][0];
        assert_eq!(s["result"], "policy");
        assert_eq!(s["domain"], "example.org");
        assert_eq!(s["selector"], "sel");
        assert_eq!(s["algorithm"], "rsa-sha256");
        assert_eq!(s["problem"], "key_too_short");
        assert_eq!(s["problem_detail"]["bits"], 512);
        assert!(s.get("forensics").is_none());
        assert_eq!(v["result"], "policy");
    }

    #[test]
    fn printable_escapes_controls_and_bad_utf8() {
        assert_eq!(printable(b"a\tb\x01\xffc"), "a\\tb\\x01\\xffc");
        assert_eq!(printable("é".as_bytes()), "é");
    }
}
