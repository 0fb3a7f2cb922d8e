//! CPU time of reading an mbox into messages, for `perf stat -e task-clock`:
//!
//! ```sh
//! cargo build --release -p mailstamp --example mbox_read
//! perf stat -e task-clock target/release/examples/mbox_read FILE.mbox
//! ```
//!
//! Reads every message of `FILE.mbox` (as `mailstamp check --mbox` does, on one thread) and
//! prints how many there were and their total size. In a bulk run the reading is done under
//! one lock, so its share bounds how much `--jobs 2` can gain.

use mailstamp::mailbox::{Input, MailboxOptions, Messages, Origin};

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: mbox_read FILE.mbox");
        std::process::exit(2);
    };
    let input = Input::Mbox(Origin::Path(path.into()));
    let messages = match Messages::open(&input, MailboxOptions::default()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let (mut count, mut bytes, mut errors) = (0u64, 0u64, 0u64);
    for item in messages {
        match item {
            Ok(m) => {
                count += 1;
                bytes += m.bytes.len() as u64;
                std::hint::black_box(&m);
            }
            Err(_) => errors += 1,
        }
    }
    eprintln!("{count} messages, {bytes} bytes, {errors} errors");
}
