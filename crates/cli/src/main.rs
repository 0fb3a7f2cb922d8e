//! The `mailstamp` binary; everything lives in the `mailstamp_cli` library.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    mailstamp_cli::main()
}
