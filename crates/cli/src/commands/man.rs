//! `mailstamp man [--out DIR]`: manual pages in roff (clap_mangen), one for `mailstamp` and one
//! per command (`mailstamp-check.1`, ...), generated from the same command tree as `--help`.

use crate::context::Context;
use crate::exit::Exit;
use anyhow::Context as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Arguments of `mailstamp man`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Write every page into this directory (created if missing) instead of printing the
    /// `mailstamp(1)` page on standard output. Existing pages of the same name are replaced:
    /// they are generated files.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

const AFTER_HELP: &str = "\
To install the pages for one user:
  mailstamp man --out ~/.local/share/man/man1 && mandb -q --user-db
then `man mailstamp`, `man mailstamp-check`, ...";

/// Writes the pages.
pub fn run(args: &Args, _ctx: &Context) -> anyhow::Result<Exit> {
    let command = crate::command();
    match &args.out {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            std::io::stdout().lock().write_all(&page)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let written = write_pages(&command, dir)?;
            for path in written {
                println!("{}", path.display());
            }
        }
    }
    Ok(Exit::Success)
}

/// Writes `mailstamp.1` and one `mailstamp-COMMAND.1` per command into `dir`; returns the paths.
pub fn write_pages(command: &clap::Command, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut render = |cmd: clap::Command, file: String| -> anyhow::Result<()> {
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut page)?;
        let path = dir.join(file);
        std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
        Ok(())
    };
    render(command.clone(), "mailstamp.1".to_owned())?;
    for sub in command.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let name = format!("mailstamp-{}", sub.get_name());
        let page = sub.clone().name(name.clone()).display_name(name.clone());
        render(page, format!("{name}.1"))?;
    }
    Ok(written)
}
