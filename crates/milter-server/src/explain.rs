//! `--explain`: which mode, rule and keys would apply to a message, without sending one.

use crate::process::role;
use crate::signing::aligns;
use crate::state::Loaded;
use std::fmt::Write as _;
use std::net::IpAddr;

/// What `--explain` is asked about.
#[derive(Debug, Clone, Default)]
pub struct Question {
    /// The From address (`user@domain` or just `domain`).
    pub from: String,
    /// `{auth_authen}`, if the client authenticated.
    pub auth: Option<String>,
    /// The client address.
    pub client: Option<IpAddr>,
    /// `{daemon_name}`.
    pub daemon: Option<String>,
}

/// The explanation as text, and whether something deserves a warning.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// Human-readable lines.
    pub text: String,
    /// Warnings (misaligned `d=`, disabled keys, no rule).
    pub warnings: Vec<String>,
}

/// Explains what the configuration does for `q`.
pub fn explain(loaded: &Loaded, q: &Question) -> Explanation {
    let config = &loaded.config;
    let mut text = String::new();
    let mut warnings = Vec::new();
    let domain = q
        .from
        .rsplit_once('@')
        .map_or(q.from.as_str(), |(_, d)| d)
        .trim_end_matches('>')
        .to_ascii_lowercase();
    let r = role(config, q.client, q.auth.as_deref(), q.daemon.as_deref());
    let _ = writeln!(
        text,
        "mode: {} (daemon {})",
        r.mode.as_str(),
        q.daemon.as_deref().unwrap_or("not given: default_mode")
    );
    let _ = writeln!(
        text,
        "originated by us: {} ({})",
        if r.originated { "yes" } else { "no" },
        r.why
    );
    let jobs: Vec<&str> = [(r.sign, "sign"), (r.verify, "verify")]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, j)| *j)
        .collect();
    let _ = writeln!(text, "action: {}", jobs.join(" + "));
    if r.verify {
        let enforce = config.dmarc.enforce && !r.originated;
        let _ = writeln!(
            text,
            "DMARC enforcement: {}",
            if enforce {
                "on (p=reject refused, p=quarantine quarantined)"
            } else if r.originated {
                "off (never on mail we originate)"
            } else {
                "off ([dmarc] enforce = false)"
            }
        );
    }
    if config.arc_seal.is_some() {
        let sealed = r.verify && config.seals_for(q.daemon.as_deref());
        let line = match (&loaded.arc_seal, sealed) {
            (_, false) if !r.verify => "no (only mail the milter verifies is sealed)".to_owned(),
            (_, false) => "no ([arc_seal] daemons does not list this daemon)".to_owned(),
            (Some(Ok(k)), true) => format!(
                "yes, d={} s={} ({}), unless the message is refused",
                k.sealer.domain(),
                k.sealer.selector(),
                k.path.display()
            ),
            (Some(Err(p)), true) => {
                warnings.push(p.to_string());
                "no: the [arc_seal] key is disabled".to_owned()
            }
            (None, true) => "no".to_owned(),
        };
        let _ = writeln!(text, "ARC seal: {line}");
    }
    match loaded.signing.rule_for(&domain) {
        None => {
            let _ = writeln!(text, "signing rule: none for {domain}");
            if r.sign {
                warnings.push(format!(
                    "mail from {domain} would leave unsigned: no [[signing]] rule matches"
                ));
            }
        }
        Some(rule) => {
            let _ = writeln!(
                text,
                "signing rule: {} (for From domain {domain})",
                rule.pattern
            );
            for k in &rule.keys {
                let d = k.signer.domain().as_str();
                let _ = writeln!(
                    text,
                    "  key: d={d} s={} {} {} bits, {} (line {})",
                    k.signer.selector(),
                    k.signer.key().algorithm().as_str(),
                    k.signer.key().bits(),
                    k.path.display(),
                    k.line
                );
                if !aligns(d, &domain) {
                    warnings.push(format!(
                        "d={d} does not align with the From domain {domain}: DMARC cannot pass through this signature"
                    ));
                }
            }
            for p in &rule.disabled {
                let _ = writeln!(text, "  disabled: {p}");
                warnings.push(p.to_string());
            }
            if r.sign && rule.keys.is_empty() {
                warnings.push(format!(
                    "mail from {domain} would leave unsigned: every key of the rule is disabled"
                ));
            }
        }
    }
    Explanation { text, warnings }
}
