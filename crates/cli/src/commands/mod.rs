//! One module per command, each with `Args` (clap) and
//! `run(&Args, &Context) -> anyhow::Result<Exit>`.
//!
//! Adding a command: a module here, a variant of [`Command`] and an arm in [`run`].

use crate::context::Context;
use crate::exit::Exit;
use clap::Subcommand;

pub mod arc;
pub mod audit;
pub mod check;
pub mod completions;
pub mod dmarc;
pub mod dns;
pub mod keycheck;
pub mod keygen;
pub mod man;
pub mod milter;
pub mod records;
pub mod report;
pub mod sign;
pub mod spf;
pub mod verify;

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The receiver's pipeline: SPF, DKIM and DMARC for a message (or every message of an
    /// mbox, maildir or directory), written up as an Authentication-Results field.
    Check(check::Args),
    /// ARC (RFC 8617): validate a message's chain (verify), or check it as a receiver and
    /// add the next ARC set as an intermediary (seal).
    Arc(arc::Args),
    /// Show what mailstamp's resolver sees for a name: NXDOMAIN, NODATA, a failure, or the
    /// records with their TTLs (TXT strings as received and joined).
    Dns(dns::Args),
    /// DMARC (RFC 9989): show the policy that applies to a domain and how it was found, or
    /// evaluate SPF and DKIM results against it.
    Dmarc(dmarc::Args),
    /// SPF (RFC 7208): check_host() for a client IP and a MAIL FROM or HELO identity, with
    /// the evaluation drawn as a tree (--trace).
    Spf(spf::Args),
    /// DKIM (RFC 6376): verify every DKIM-Signature of a message; --explain shows what was
    /// hashed when a signature fails.
    Verify(verify::Args),
    /// DKIM: sign a message with one or more keys (RSA and Ed25519).
    Sign(sign::Args),
    /// DKIM: generate a key pair and print the TXT record to publish.
    Keygen(keygen::Args),
    /// DKIM: check a published key record, and that it matches a private key.
    Keycheck(keycheck::Args),
    /// The SPF, DMARC and DKIM records to publish for a domain, built from options and
    /// validated (lookup count, report authorisation, ...) before they are printed.
    Records(records::Args),
    /// DMARC reports: read the aggregate and failure reports a domain receives (parse,
    /// view), record verdicts and write the aggregate reports a receiver owes.
    Report(report::Args),
    /// Check what a domain publishes (SPF, DMARC, DKIM keys, MX): every problem with its
    /// severity, RFC section and fix.
    Audit(audit::Args),
    /// The milter daemon for Postfix and Sendmail: DKIM-signs outbound mail, verifies inbound
    /// mail (SPF, DKIM, DMARC) and enforces DMARC; --check-config and --explain.
    Milter(milter::Args),
    /// Print the shell completion script for bash, zsh, fish, elvish or PowerShell.
    Completions(completions::Args),
    /// Write the manual pages (mailstamp(1) and one per command) in roff.
    Man(man::Args),
}

/// Runs a command.
pub fn run(command: &Command, ctx: &Context) -> anyhow::Result<Exit> {
    match command {
        Command::Check(args) => check::run(args, ctx),
        Command::Arc(args) => arc::run(args, ctx),
        Command::Dns(args) => dns::run(args, ctx),
        Command::Dmarc(args) => dmarc::run(args, ctx),
        Command::Verify(args) => verify::run(args, ctx),
        Command::Sign(args) => sign::run(args, ctx),
        Command::Keygen(args) => keygen::run(args, ctx),
        Command::Keycheck(args) => keycheck::run(args, ctx),
        Command::Spf(args) => spf::run(args, ctx),
        Command::Records(args) => records::run(args, ctx),
        Command::Report(args) => report::run(args, ctx),
        Command::Audit(args) => audit::run(args, ctx),
        Command::Milter(args) => milter::run(args, ctx),
        Command::Completions(args) => completions::run(args, ctx),
        Command::Man(args) => man::run(args, ctx),
    }
}
