//! The built binary starts, reports its version and documents its exit codes. (The command
//! end-to-end tests live in the workspace's `tests/tests/cli`; this target also makes
//! `cargo test` build the `mailstamp` binary they run.)

use std::process::Command;

fn mailstamp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mailstamp"))
}

#[test]
fn version_and_help() {
    let out = mailstamp().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("mailstamp "));
    let out = mailstamp().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains(mailstamp_cli::exit::HELP));
}

#[test]
fn no_command_is_a_usage_error() {
    let out = mailstamp().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
