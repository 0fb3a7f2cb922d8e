//! Reading DMARC aggregate reports, whole process, side by side with parsedmarc (issue 16):
//! writes a corpus of report files, then runs `mailstamp report parse DIR` and
//! `parsedmarc --offline DIR` over the same directory, each pinned to one core
//! (`taskset -c 0`) under `/usr/bin/time -v`, and prints wall time, CPU time and peak RSS.
//!
//! ```sh
//! cargo build --release -p mailstamp-cli -p mailstamp-reports --example vs_parsedmarc
//! target/release/examples/vs_parsedmarc OUT_DIR --mailstamp target/release/mailstamp \
//!     --parsedmarc .venv/bin/parsedmarc [--files 10000] [--records 2] [--big 2286] [--runs 3]
//! ```
//!
//! The corpus (deterministic): `OUT_DIR/many/` holds `--files` RFC 7489 aggregate reports
//! (plain `.xml`, as parsedmarc's published timing used) of `--records` records each, from five
//! reporting organisations, one report per organisation and day; `OUT_DIR/big/` holds one
//! report of `--big` records. Without `--parsedmarc` only mailstamp runs. Each command runs
//! `--runs` times; the best run is printed (the machine is shared).

#[path = "../benches/common/mod.rs"]
mod common;

use common::write_corpus;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// One timed run: (wall seconds, user + system seconds, peak RSS in KiB).
fn timed(cmd: &[&str]) -> Result<(f64, f64, u64), String> {
    let out = Command::new("taskset")
        .args(["-c", "0", "/usr/bin/time", "-v"])
        .args(cmd)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run taskset /usr/bin/time {cmd:?}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {text}"));
    }
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .ok_or_else(|| format!("no {name:?} in the output of /usr/bin/time: {text}"))
    };
    let wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss):")?;
    let wall = wall
        .split(':')
        .try_fold(0.0, |acc, part| part.parse::<f64>().map(|v| acc * 60.0 + v))
        .map_err(|e| format!("wall time {wall:?}: {e}"))?;
    let user: f64 = field("User time (seconds):")?
        .parse()
        .map_err(|e| format!("user time: {e}"))?;
    let sys: f64 = field("System time (seconds):")?
        .parse()
        .map_err(|e| format!("system time: {e}"))?;
    let rss: u64 = field("Maximum resident set size (kbytes):")?
        .parse()
        .map_err(|e| format!("peak RSS: {e}"))?;
    Ok((wall, user + sys, rss))
}

/// The best of `runs` runs (lowest wall time).
fn best(cmd: &[&str], runs: usize) -> Result<(f64, f64, u64), String> {
    let mut all = Vec::new();
    for _ in 0..runs.max(1) {
        all.push(timed(cmd)?);
    }
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(all[0])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let (mut mailstamp, mut parsedmarc) = (None::<String>, None::<String>);
    let (mut files, mut records, mut big, mut runs) = (10_000usize, 2usize, 2_286usize, 3usize);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--mailstamp" => mailstamp = Some(value()?),
            "--parsedmarc" => parsedmarc = Some(value()?),
            "--files" => files = value()?.parse()?,
            "--records" => records = value()?.parse()?,
            "--big" => big = value()?.parse()?,
            "--runs" => runs = value()?.parse()?,
            _ if out.is_none() && !a.starts_with("--") => out = Some(PathBuf::from(a)),
            _ => return Err(format!("unknown argument {a:?}").into()),
        }
    }
    let (Some(out), Some(mailstamp)) = (out, mailstamp) else {
        return Err(
            "usage: vs_parsedmarc OUT_DIR --mailstamp BIN [--parsedmarc BIN] \
                    [--files N] [--records N] [--big N] [--runs N]"
                .into(),
        );
    };
    let many = out.join("many");
    let one = out.join("big");
    let bytes = write_corpus(&many, files, records)?;
    let big_bytes = write_corpus(&one, 1, big)?;
    println!(
        "corpus: {files} reports of {records} records ({bytes} bytes) in {}; one report of {big} records ({big_bytes} bytes) in {}",
        many.display(),
        one.display()
    );
    println!("| input | tool | wall | user + sys | peak RSS |\n|---|---|---|---|---|");
    for (label, dir) in [
        (format!("{files} × {records}-record reports"), &many),
        (format!("1 × {big}-record report"), &one),
    ] {
        let dir = dir.to_str().ok_or("non-UTF-8 path")?;
        let mut tools = vec![(
            "mailstamp report parse",
            vec![mailstamp.as_str(), "report", "parse", dir],
        )];
        if let Some(p) = &parsedmarc {
            tools.push(("parsedmarc --offline", vec![p.as_str(), "--offline", dir]));
        }
        for (name, cmd) in tools {
            let (wall, cpu, rss) = best(&cmd, runs)?;
            println!(
                "| {label} | {name} | {wall:.2} s | {cpu:.2} s | {:.1} MB |",
                rss as f64 / 1024.0
            );
        }
    }
    Ok(())
}
