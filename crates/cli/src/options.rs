//! Option groups that several commands share, written once and flattened into each command's
//! arguments (`#[command(flatten)]`); `--help` shows each group under its own heading.
//!
//! The global options (DNS source, output, clock) are in [`crate::context::GlobalArgs`].

use anyhow::Context as _;
use clap::Args;
use mailstamp_dkim::{DEFAULT_CLOCK_SKEW, DEFAULT_MAX_SIGNATURES, Policy};
use mailstamp_dmarc::{Discovery, MultipleAuthors, PublicSuffixList};
use std::path::PathBuf;
use std::sync::Arc;

/// How DMARC finds the policy and the Organizational Domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// The DNS Tree Walk of RFC 9989 (the default).
    Tree,
    /// RFC 7489 with the Public Suffix List (legacy).
    Psl,
}

/// DKIM verification policy (`check`, `verify`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "DKIM verification")]
pub struct DkimPolicyArgs {
    /// Verify at most N DKIM signatures per message (those aligned with the From domain
    /// first); the others are reported as `neutral` (not checked). Signatures that fail before
    /// any DNS or cryptography do not count.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_SIGNATURES,
          value_parser = parse_max_signatures)]
    pub max_signatures: usize,

    /// Accept DKIM signatures whose expiration (x=) lies up to this many seconds in the past
    /// and whose timestamp (t=) lies up to this many seconds in the future.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_CLOCK_SKEW)]
    pub clock_skew: u64,

    /// DANGEROUS: verify rsa-sha1 DKIM signatures like any other, although RFC 8301 §3.1
    /// forbids it (SHA-1 signatures can be forged). Only for studying old mail and old test
    /// corpora.
    #[arg(long)]
    pub dangerous_accept_rsa_sha1: bool,
}

impl DkimPolicyArgs {
    /// The verification policy these options describe.
    pub fn policy(&self) -> Policy {
        Policy::new()
            .with_max_signatures(self.max_signatures)
            .with_clock_skew(self.clock_skew)
            .dangerous_accept_rsa_sha1(self.dangerous_accept_rsa_sha1)
    }
}

/// 1 to 1000.
fn parse_max_signatures(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(format!("expected a number from 1 to 1000, found {s:?}")),
    }
}

/// DMARC policy discovery (`check`, `dmarc`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "DMARC discovery")]
pub struct DmarcDiscoveryArgs {
    /// How DMARC finds the policy and the Organizational Domain.
    #[arg(long, value_enum, default_value = "tree")]
    pub discovery: Method,

    /// A Public Suffix List file (publicsuffix.org format) for --discovery psl; implies it.
    /// Without it, psl mode uses the list compiled into mailstamp.
    #[arg(long, value_name = "FILE")]
    pub psl: Option<PathBuf>,

    /// With several From domains, evaluate each (at most N) and apply the strictest failing
    /// policy (RFC 9989 §11.5). Without it, several domains give DMARC none (§5.3.1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub author_limit: Option<u16>,
}

impl DmarcDiscoveryArgs {
    /// The discovery method, with the public suffix list read from `--psl` (the file is named in
    /// any error).
    pub fn discovery(&self) -> anyhow::Result<Discovery> {
        if let Some(path) = &self.psl {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the public suffix list {}", path.display())
            })?;
            let list = PublicSuffixList::from_text(&text)
                .with_context(|| format!("invalid public suffix list {}", path.display()))?;
            return Ok(Discovery::Psl(Arc::new(list)));
        }
        Ok(match self.discovery {
            Method::Tree => Discovery::TreeWalk,
            Method::Psl => Discovery::Psl(Arc::new(PublicSuffixList::builtin())),
        })
    }

    /// What DMARC does with several author domains.
    pub fn multiple_authors(&self) -> MultipleAuthors {
        match self.author_limit {
            Some(limit) => MultipleAuthors::EvaluateEach {
                limit: usize::from(limit),
            },
            None => MultipleAuthors::Refuse,
        }
    }
}
