//! The `mailstamp` command line: email authentication (SPF, DKIM, DMARC) from a shell.
//!
//! This crate is the binary's code, as a library so its parts can be tested: [`exit`] defines
//! the exit codes once, [`context`] the global options and what every command gets, [`input`]
//! reads message and key files, and [`commands`] holds one module per command. It is the only
//! mailstamp crate that uses `anyhow` and `clap`; it does no protocol work itself (that is the
//! `mailstamp` crate and the protocol crates).
//!
//! ```no_run
//! // The whole of src/main.rs:
//! fn main() -> std::process::ExitCode {
//!     mailstamp_cli::main()
//! }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod commands;
pub mod context;
pub mod exit;
pub mod input;
pub mod options;

use clap::{CommandFactory, Parser};
use context::{Context, GlobalArgs};
use exit::Exit;
use std::process::ExitCode;

/// Email authentication: SPF, DKIM and DMARC checks, signing, keys and DNS records.
#[derive(Debug, Parser)]
#[command(name = "mailstamp", version, after_help = exit::HELP, propagate_version = true)]
pub struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub globals: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: commands::Command,
}

/// The clap command tree (for `--help` snapshots and shell completions).
pub fn command() -> clap::Command {
    Cli::command()
}

/// Parses the process arguments, runs the command and returns the exit status.
///
/// This is the process's `main`, called once: the resolver (its caches and a loaded
/// `--zone`) is left for the process's exit to give back ([`Context::end`]).
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and succeed; usage errors exit 2.
            let code = if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            };
            let _ = e.print();
            return code.into();
        }
    };
    let result = Context::new(cli.globals).and_then(|ctx| {
        let exit = commands::run(&cli.command, &ctx);
        // Record mode writes what was received even when the command failed.
        let finished = ctx.finish();
        ctx.end();
        let exit = exit?;
        finished.map(|()| exit)
    });
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("mailstamp: {e:#}");
            exit::for_error(&e).into()
        }
    }
}
