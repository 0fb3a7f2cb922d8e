//! Shared helpers of mailstamp's conformance and end-to-end tests.
//!
//! The conformance corpora live outside the repository, in `../shared/conformance/` (see its
//! PROVENANCE.md); they are never copied in. [`conformance_dir`] is the one place that finds
//! them: the environment variable `MAILSTAMP_CONFORMANCE` overrides the default path.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::{Path, PathBuf};

/// Environment variable naming the conformance folder.
pub const CONFORMANCE_ENV: &str = "MAILSTAMP_CONFORMANCE";

/// The conformance data folder: `$MAILSTAMP_CONFORMANCE`, or `../shared/conformance` next to the
/// repository.
///
/// # Panics
///
/// When the folder does not exist: conformance tests must never pass by finding nothing.
pub fn conformance_dir() -> PathBuf {
    let dir = match std::env::var_os(CONFORMANCE_ENV) {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"),
    };
    assert!(
        dir.join("PROVENANCE.md").is_file(),
        "conformance data not found at {} (set {CONFORMANCE_ENV} to the folder holding PROVENANCE.md)",
        dir.display()
    );
    dir
}

/// A file inside the conformance folder, e.g. `conformance_file("spf/rfc4408-tests.yml")`.
///
/// # Panics
///
/// When the file does not exist.
pub fn conformance_file(relative: &str) -> PathBuf {
    let path = conformance_dir().join(relative);
    assert!(
        path.exists(),
        "conformance file missing: {}",
        path.display()
    );
    path
}

/// The repository's own `testdata/` folder.
pub fn testdata_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}
