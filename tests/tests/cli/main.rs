//! End-to-end tests of the `mailstamp` binary: one module per command.
//!
//! The binary must be built (`cargo test --workspace` builds it; with `-p mailstamp-tests`
//! alone, run `cargo build -p mailstamp-cli` first).

mod arc;
mod audit;
mod check;
mod dkim;
mod dmarc;
mod dns;
mod globals;
mod interop_dkimpy;
mod json;
mod milter;
mod milter_daemon;
mod records;
mod report;
mod report_interop;
mod report_postgres;
mod report_send;
mod spf;

use std::path::PathBuf;

/// The `mailstamp` binary of this build, next to the test executable.
pub fn mailstamp() -> assert_cmd::Command {
    let path = assert_cmd::cargo::cargo_bin("mailstamp");
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p mailstamp-cli` (cargo test --workspace does)",
        path.display()
    );
    let mut cmd = assert_cmd::Command::new(path);
    cmd.env_clear().timeout(std::time::Duration::from_secs(30));
    cmd
}

/// The bundled example zone.
pub fn example_zone() -> PathBuf {
    mailstamp_tests::testdata_dir().join("example.zone")
}
