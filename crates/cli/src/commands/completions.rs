//! `mailstamp completions SHELL`: the shell completion script, generated from the command tree
//! (clap_complete), so it always knows every command and flag of this version.

use crate::context::Context;
use crate::exit::Exit;
use clap_complete::Shell;
use std::io::Write as _;

/// Arguments of `mailstamp completions`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The shell to write the completion script for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

const AFTER_HELP: &str = "\
Writes the script to standard output. To install it:
  bash:        mailstamp completions bash > ~/.local/share/bash-completion/completions/mailstamp
  zsh:         mailstamp completions zsh > ~/.zfunc/_mailstamp   (with fpath+=~/.zfunc)
  fish:        mailstamp completions fish > ~/.config/fish/completions/mailstamp.fish
  elvish:      mailstamp completions elvish >> ~/.config/elvish/rc.elv
  powershell:  mailstamp completions powershell >> $PROFILE";

/// Writes the completion script.
pub fn run(args: &Args, _ctx: &Context) -> anyhow::Result<Exit> {
    let mut command = crate::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "mailstamp", &mut out);
    std::io::stdout().lock().write_all(&out)?;
    Ok(Exit::Success)
}
