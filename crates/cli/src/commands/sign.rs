//! `mailstamp sign --key FILE --domain D --selector S [...] [FILE|-]`: DKIM-signs a message
//! with one or more keys (RFC 6376 §5).

use crate::context::Context;
use crate::exit::Exit;
use crate::input;
use anyhow::{Context as _, bail};
use mailstamp_dkim::{Canonicalizations, HeaderSelection, Signer, sign};
use mailstamp_message::Message;
use serde_json::json;
use std::io::Write as _;
use std::path::PathBuf;

/// Arguments of `mailstamp sign`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// A private key: PKCS#8 PEM (RSA or Ed25519, as `mailstamp keygen` writes) or PKCS#1 PEM
    /// (RSA). Repeat for several signatures (e.g. RSA and Ed25519); the n-th --domain and
    /// --selector belong to the n-th --key. RSA keys must have at least 2048 bits: stricter
    /// than RFC 8301 §3.2, which lets verifiers accept 1024. There is no opt-in for shorter
    /// keys: ring, the only signer, refuses them, and the rsa crate never signs (its private-key
    /// operations are not constant-time). Verification and keycheck accept 1024-bit keys.
    #[arg(long = "key", value_name = "FILE", required = true)]
    pub keys: Vec<PathBuf>,

    /// The signing domain (d=) of the key at the same position.
    #[arg(long = "domain", value_name = "DOMAIN", required = true)]
    pub domains: Vec<String>,

    /// The selector (s=) of the key at the same position: its public key is published at
    /// SELECTOR._domainkey.DOMAIN.
    #[arg(long = "selector", value_name = "SELECTOR", required = true)]
    pub selectors: Vec<String>,

    /// Header and body canonicalization (c=), for every signature.
    #[arg(long, value_name = "HEADER/BODY", default_value = "relaxed/relaxed",
          value_parser = parse_canonicalization)]
    pub canonicalization: Canonicalizations,

    /// The header fields to sign, separated by colons (from:to:subject). From is required.
    /// Without it: the fields of RFC 6376 §5.4.1's list (plus MIME and List-* fields) that
    /// the message has.
    #[arg(long, value_name = "NAME:NAME:...", value_parser = parse_headers)]
    pub headers: Option<HeaderList>,

    /// Do not oversign. By default every signed field name is listed once more in h= than
    /// the message has it, so nobody can add another such field without breaking the
    /// signature (RFC 6376 §8.15).
    #[arg(long)]
    pub no_oversign: bool,

    /// Add an expiry (x=) this long after the signing time: seconds, or a number with s, m,
    /// h, d or w (90s, 30m, 1h, 7d, 2w).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub expire: Option<u64>,

    /// Add the body length (l=). RISKY: anyone can then append content below the signed
    /// body without breaking the signature (RFC 6376 §8.2).
    #[arg(long)]
    pub body_length: bool,

    /// Print only the DKIM-Signature field(s), not the whole signed message.
    #[arg(long)]
    pub header_only: bool,

    /// The message to sign: a file, or `-` (the default) for standard input.
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,
}

const AFTER_HELP: &str = "\
Prints the message with the DKIM-Signature field(s) prepended (the first --key's on top); the
rest of the message is byte-for-byte the input. The signing time (t=) is the global --now or
the clock. With --json, prints {\"signatures\": [{\"domain\", \"selector\", \"algorithm\",
\"signed_headers\", \"body_length\", \"field\"}], \"warnings\": [...]} instead of the message.

Exit status:
  0  the message was signed
  2  usage or input error (unreadable key or message, no From field, mismatched options)";

/// `relaxed/relaxed`, `relaxed/simple`, `simple/relaxed` or `simple/simple`.
pub fn parse_canonicalization(s: &str) -> Result<Canonicalizations, String> {
    if !s.contains('/') {
        return Err(format!(
            "expected HEADER/BODY (relaxed/relaxed, relaxed/simple, simple/relaxed or \
             simple/simple), found {s:?}"
        ));
    }
    s.parse::<Canonicalizations>().map_err(|e| e.to_string())
}

/// The header field names of `--headers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderList(pub Vec<String>);

/// A colon-separated list of header field names.
pub fn parse_headers(s: &str) -> Result<HeaderList, String> {
    let names: Vec<String> = s.split(':').map(|n| n.trim().to_owned()).collect();
    if let Some(bad) = names
        .iter()
        .find(|n| n.is_empty() || !n.bytes().all(|b| (33..=126).contains(&b)))
    {
        return Err(format!(
            "invalid header field name {bad:?} in {s:?} (expected names separated by colons, \
             such as from:to:subject)"
        ));
    }
    Ok(HeaderList(names))
}

/// A duration: seconds, or a number followed by `s`, `m`, `h`, `d` or `w`. Positive.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let bad = || format!("expected a duration such as 90s, 30m, 1h, 7d or 2w, found {s:?}");
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    let secs = n
        .checked_mul(mult)
        .ok_or_else(|| format!("duration {s:?} is too long"))?;
    if secs == 0 {
        return Err(format!("the duration must be positive, found {s:?}"));
    }
    Ok(secs)
}

/// Builds the signers from the parallel --key/--domain/--selector lists.
fn signers(args: &Args) -> anyhow::Result<Vec<Signer>> {
    let (k, d, s) = (args.keys.len(), args.domains.len(), args.selectors.len());
    if k != d || k != s {
        bail!(
            "{k} --key, {d} --domain and {s} --selector given: each --key needs one --domain \
             and one --selector, in the same order (the n-th --domain and --selector belong \
             to the n-th --key)"
        );
    }
    let mut out = Vec::with_capacity(k);
    for ((path, domain), selector) in args.keys.iter().zip(&args.domains).zip(&args.selectors) {
        let key = input::read_signing_key(path)?;
        let mut signer = Signer::new(key, domain, selector)
            .with_context(|| format!("cannot sign with {}", path.display()))?
            .with_canonicalization(args.canonicalization)
            .with_oversigning(!args.no_oversign)
            .with_body_length(args.body_length);
        if let Some(HeaderList(names)) = &args.headers {
            signer = signer.with_headers(HeaderSelection::Names(names.clone()));
        }
        if let Some(secs) = args.expire {
            signer = signer.with_expiry(secs);
        }
        out.push(signer);
    }
    Ok(out)
}

/// Signs the message and prints it.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    let signers = signers(args)?;
    let raw = input::read_message(args.input.as_deref())?;
    let message = Message::parse(&raw);
    let signed = sign(&message, &signers, ctx.now())
        .with_context(|| format!("cannot sign {}", input::describe(args.input.as_deref())))?;
    for w in &signed.warnings {
        eprintln!("mailstamp: warning: {w}");
    }
    let mut stdout = std::io::stdout().lock();
    if ctx.json() {
        let doc = json!({
            "signatures": signed.fields.iter().map(|f| json!({
                "domain": f.domain,
                "selector": f.selector,
                "algorithm": f.algorithm.as_str(),
                "signed_headers": f.signed_headers,
                "body_length": f.body_length,
                "field": f.text,
            })).collect::<Vec<_>>(),
            "warnings": signed.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        writeln!(stdout, "{doc}")?;
    } else if args.header_only {
        stdout.write_all(&signed.header_bytes())?;
    } else {
        stdout.write_all(&signed.prepend_to(&raw))?;
    }
    stdout.flush().context("cannot write the signed message")?;
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("2w"), Ok(1_209_600));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1y").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("-1h").is_err());
        assert!(parse_duration("99999999999999999999w").is_err());
        assert!(parse_duration("999999999999999999w").is_err());
    }

    #[test]
    fn canonicalizations_need_both_halves() {
        assert_eq!(
            parse_canonicalization("simple/relaxed")
                .unwrap()
                .to_string(),
            "simple/relaxed"
        );
        assert!(parse_canonicalization("relaxed").is_err());
        assert!(parse_canonicalization("relaxed/loose").is_err());
    }

    #[test]
    fn header_lists() {
        assert_eq!(
            parse_headers("From: to :Subject").unwrap().0,
            ["From", "to", "Subject"]
        );
        assert!(parse_headers("from::to").is_err());
        assert!(parse_headers("").is_err());
    }
}
