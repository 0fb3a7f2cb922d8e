//! Exit codes, defined once (printed by `--help`, documented in the README).

use std::process::ExitCode;

/// How `mailstamp` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success, or the verdict is `pass`.
    Success,
    /// 1: a verdict other than `pass` (fail, softfail, neutral, none, permerror, ...).
    NotPass,
    /// 2: a usage or input error (bad option, invalid name, malformed file).
    Usage,
    /// 3: a temporary failure, such as a DNS timeout or SERVFAIL.
    TempFail,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::NotPass => 1,
            Exit::Usage => 2,
            Exit::TempFail => 3,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// The exit-status table `--help` prints.
pub const HELP: &str = "\
Exit status:
  0  success; the verdict is pass
  1  a verdict other than pass
  2  usage or input error (bad option, invalid name, malformed file)
  3  temporary failure (DNS timeout, SERVFAIL, unreachable nameserver)";

/// An error that ends the run with [`Exit::TempFail`] (the DNS could not be reached, ...).
#[derive(Debug)]
pub struct TempFailure(pub String);

impl std::fmt::Display for TempFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TempFailure {}

/// The exit status for an error a command returned: [`Exit::TempFail`] for a
/// [`TempFailure`] anywhere in the chain, [`Exit::Usage`] for everything else (bad input).
pub fn for_error(err: &anyhow::Error) -> Exit {
    if err.chain().any(|e| e.is::<TempFailure>()) {
        Exit::TempFail
    } else {
        Exit::Usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_help_agree() {
        for (exit, code) in [
            (Exit::Success, 0),
            (Exit::NotPass, 1),
            (Exit::Usage, 2),
            (Exit::TempFail, 3),
        ] {
            assert_eq!(exit.code(), code);
            assert!(HELP.contains(&format!("  {code}  ")));
        }
    }

    #[test]
    fn errors_map_to_usage_unless_temporary() {
        let e = anyhow::anyhow!("bad file");
        assert_eq!(for_error(&e), Exit::Usage);
        let e = anyhow::Error::new(TempFailure("dns down".into())).context("while checking");
        assert_eq!(for_error(&e), Exit::TempFail);
    }
}
