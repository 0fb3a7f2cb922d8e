//! The Python interoperability peer (dkimpy) for tests: found through `MAILSTAMP_PYTHON` (which
//! `scripts/test` points at the virtual environment `scripts/install-test-deps` made), checked
//! by running a helper script's `version` command, and never skipped silently.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

/// The variable naming the Python interpreter that has dkimpy.
pub const PYTHON_ENV: &str = "MAILSTAMP_PYTHON";
/// The explicit opt-out: set to anything but `0` to skip interop tests on purpose.
pub const SKIP_ENV: &str = "MAILSTAMP_SKIP_INTEROP";

/// True unless [`SKIP_ENV`] says to skip.
pub fn required() -> bool {
    std::env::var_os(SKIP_ENV).is_none_or(|s| s.is_empty() || s == "0")
}

/// The interpreter named by [`PYTHON_ENV`] once `helper version` ran with it, or `None` when it
/// cannot run and [`SKIP_ENV`] is set (said once per process on stderr).
///
/// # Panics
///
/// When it cannot run and the skip was not asked for: an interop test must never pass unseen.
/// The message says why and what to run. `peer` names the peer in it (`"dkimpy"`,
/// `"dkimpy's ARC"`).
pub fn python(helper: &Path, peer: &str) -> Option<PathBuf> {
    match find(helper, peer) {
        Ok(py) => Some(py),
        Err(why) if required() => panic!(
            "the {peer} interoperability test cannot run: {why}. Run scripts/install-test-deps \
             and scripts/test, or set {SKIP_ENV}=1 to skip it on purpose"
        ),
        Err(why) => {
            static SAID: Once = Once::new();
            // The real stderr, not the test harness's captured one: the skip must be seen.
            SAID.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** SKIPPED {peer} interoperability tests ({SKIP_ENV} is set): {why} ***\n"
                );
            });
            None
        }
    }
}

fn find(helper: &Path, peer: &str) -> Result<PathBuf, String> {
    let py = PathBuf::from(std::env::var_os(PYTHON_ENV).ok_or_else(|| {
        format!("{PYTHON_ENV} is not set (run scripts/install-test-deps, then scripts/test)")
    })?);
    let out = Command::new(&py)
        .arg(helper)
        .arg("version")
        .env_clear()
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .map_err(|e| format!("{PYTHON_ENV}={} cannot run: {e}", py.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{PYTHON_ENV}={} has no {peer}: {}",
            py.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(py)
}

/// Runs `helper` with the interpreter `py` (from [`python`]) and `args`, `stdin` written to it,
/// in a clean environment; returns what it printed and its status.
///
/// # Panics
///
/// When the interpreter cannot be started or its pipes fail (a test set-up error).
pub fn run<I, S>(py: &Path, helper: &Path, args: I, stdin: &[u8]) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    use std::process::Stdio;
    let mut child = Command::new(py)
        .arg(helper)
        .args(args)
        .env_clear()
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} {}: {e}", py.display(), helper.display()));
    // A helper that exits early closes its stdin: its output says why.
    let _ = child.stdin.take().expect("stdin is piped").write_all(stdin);
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("no output from {}: {e}", helper.display()))
}
