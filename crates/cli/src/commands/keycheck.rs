//! `mailstamp keycheck --domain D --selector S [--key FILE]`: fetches a published DKIM key
//! record and checks it (RFC 6376 §3.6.1, RFC 8301 §3.2), and that it matches a private key.

use crate::context::Context;
use crate::exit::Exit;
use crate::input;
use mailstamp_dkim::{KeyCheck, KeyFinding, check_key_public, key_record_name};
use mailstamp_dns::{Answer, Query};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Arguments of `mailstamp keycheck`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The signing domain (d=).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: String,

    /// The selector (s=): the record is read from SELECTOR._domainkey.DOMAIN.
    #[arg(long, value_name = "SELECTOR")]
    pub selector: String,

    /// The private key that signs with this selector (PKCS#8 or PKCS#1 PEM): the published
    /// key must be its public half. Any key a verifier accepts is read (RSA from 1024 bits,
    /// with a warning under 2048). Without it, only the record is checked.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

const AFTER_HELP: &str = "\
Reports whether the record parses, its key type, size and flags (t=y testing, t=s strict),
every problem that keeps signatures from passing, and whether it matches --key.

Exit status:
  0  the record is usable (and matches --key when given)
  1  the record is missing, revoked, invalid, unusable or does not match --key
  2  usage or input error (invalid domain or selector, unreadable key file)
  3  the DNS lookup failed (timeout, SERVFAIL)";

/// Fetches the record and prints the check.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    let name = key_record_name(&args.selector, &args.domain)?;
    let private = args
        .key
        .as_deref()
        .map(input::read_public_half)
        .transpose()?;
    let resolver = ctx.resolver()?;
    let answer = ctx.block_on(resolver.answer(&Query::txt(name.clone())));
    let check = check_key_public(name, &answer, private.as_ref());
    if ctx.json() {
        println!("{}", to_json(&check));
    } else {
        print!("{}", to_text(&check, args.key.is_some()));
    }
    Ok(exit_for(&check, &answer))
}

/// 3 for a DNS failure, 0 for a usable record that matches the key (when one was given), 1
/// otherwise.
pub fn exit_for(check: &KeyCheck, answer: &Answer) -> Exit {
    if answer.is_failed() {
        Exit::TempFail
    } else if check.is_usable() && check.matches_private_key != Some(false) {
        Exit::Success
    } else {
        Exit::NotPass
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The human form.
fn to_text(check: &KeyCheck, key_given: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "name: {}", check.name.to_fqdn());
    for r in &check.records {
        let _ = writeln!(out, "record: {r}");
    }
    let dns_failed = check
        .findings
        .iter()
        .any(|f| matches!(f, KeyFinding::DnsFailure { .. }));
    if !dns_failed && check.records.len() == 1 {
        let _ = writeln!(out, "parses: {}", yes_no(check.key_type.is_some()));
    }
    if let Some(kt) = check.key_type {
        match check.bits {
            Some(bits) => {
                let _ = writeln!(out, "key: {kt}, {bits} bits");
            }
            None => {
                let _ = writeln!(out, "key: {kt}, revoked (empty p=)");
            }
        }
        let mut flags = Vec::new();
        if check.testing {
            flags.push("t=y (testing)");
        }
        if check.strict {
            flags.push("t=s (i= domain must equal d=)");
        }
        let _ = writeln!(
            out,
            "flags: {}",
            if flags.is_empty() {
                "none".to_owned()
            } else {
                flags.join(", ")
            }
        );
    }
    let matches = match (key_given, check.matches_private_key) {
        (false, _) => "not checked (no --key)",
        (true, Some(true)) => "yes",
        (true, Some(false)) => "NO",
        (true, None) => "not checked (no key published)",
    };
    let _ = writeln!(out, "matches private key: {matches}");
    for f in &check.findings {
        let level = if f.is_error() { "error" } else { "warning" };
        let _ = writeln!(out, "{level}: {f}");
    }
    let verdict = if dns_failed {
        "unknown: the DNS lookup failed; try again later"
    } else if check.is_usable() && check.matches_private_key != Some(false) {
        "ok: signatures made with this key can pass"
    } else {
        "not usable: signatures made with this key cannot pass"
    };
    let _ = writeln!(out, "result: {verdict}");
    out
}

/// The JSON form: the check's fields, `usable`, and each finding with `kind`, `error` and
/// `message`.
fn to_json(check: &KeyCheck) -> Value {
    let findings: Vec<Value> = check
        .findings
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut v {
                map.insert("error".into(), Value::from(f.is_error()));
                map.insert("message".into(), Value::from(f.to_string()));
            }
            v
        })
        .collect();
    json!({
        "name": check.name.as_str(),
        "records": check.records,
        "parses": check.key_type.is_some(),
        "key_type": check.key_type.map(|k| k.as_str()),
        "bits": check.bits,
        "testing": check.testing,
        "strict": check.strict,
        "matches_private_key": check.matches_private_key,
        "usable": check.is_usable(),
        "findings": findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstamp_dkim::check_key;
    use mailstamp_dns::{FailureKind, Name, RData, Record, Txt};

    fn answer(value: &str) -> Answer {
        Answer::Records(
            vec![Record {
                name: Name::parse("sel._domainkey.example.org").unwrap(),
                ttl: 300,
                data: RData::Txt(Txt::new([value])),
            }]
            .into(),
        )
    }

    fn name() -> Name {
        Name::parse("sel._domainkey.example.org").unwrap()
    }

    #[test]
    fn rfc6376_3_6_1_revoked_and_missing_keys_exit_1() {
        let a = answer("v=DKIM1; k=rsa; p=");
        let check = check_key(name(), &a, None);
        assert_eq!(exit_for(&check, &a), Exit::NotPass);
        assert!(to_text(&check, false).contains("revoked"));
        let check = check_key(name(), &Answer::NxDomain, None);
        assert_eq!(exit_for(&check, &Answer::NxDomain), Exit::NotPass);
        let failed = Answer::Failed(FailureKind::ServFail);
        let check = check_key(name(), &failed, None);
        assert_eq!(exit_for(&check, &failed), Exit::TempFail);
        assert!(to_text(&check, false).contains("DNS lookup failed"));
    }

    #[test]
    fn rfc8463_ed25519_record_is_usable() {
        let a = answer("v=DKIM1; k=ed25519; t=y; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
        let check = check_key(name(), &a, None);
        assert_eq!(exit_for(&check, &a), Exit::Success);
        let text = to_text(&check, false);
        assert!(text.contains("key: ed25519, 256 bits"), "{text}");
        assert!(text.contains("t=y (testing)"));
        let v = to_json(&check);
        assert_eq!(v["usable"], true);
        assert_eq!(v["findings"][0]["kind"], "testing");
        assert_eq!(v["findings"][0]["error"], false);
    }
}
