//! `mailstamp keygen --domain D --selector S`: a new DKIM key pair, and the TXT record to
//! publish for it (RFC 6376 §3.6.1, RFC 8463 §4).

use crate::context::Context;
use crate::exit::Exit;
use crate::input;
use anyhow::{Context as _, bail};
use mailstamp_dkim::{GeneratedKey, generate_ed25519, generate_rsa, key_record_name};
use serde_json::json;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The key algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Algorithm {
    /// RSA (rsa-sha256): what every receiver verifies.
    Rsa,
    /// Ed25519 (ed25519-sha256, RFC 8463): short keys, but not every receiver verifies it;
    /// sign with an RSA key too.
    Ed25519,
}

/// How the record is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A master-file line (BIND and most DNS servers): the value split into quoted strings
    /// of at most 255 bytes.
    Zone,
    /// The record value on one line, for web DNS panels (they split it themselves).
    Value,
    /// A JSON document (the global --json implies it).
    Json,
}

/// Arguments of `mailstamp keygen`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The signing domain (d=) the key is for.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: String,

    /// The selector (s=): the record is published at SELECTOR._domainkey.DOMAIN.
    #[arg(long, value_name = "SELECTOR")]
    pub selector: String,

    /// The key algorithm.
    #[arg(long, value_enum, default_value = "rsa")]
    pub algorithm: Algorithm,

    /// RSA key size: 2048, 3072 or 4096 (smaller keys are refused, RFC 8301 §3.2).
    /// [default: 2048]
    #[arg(long, value_name = "BITS")]
    pub bits: Option<usize>,

    /// Where to write the private key (PKCS#8 PEM, mode 0600). Default:
    /// SELECTOR.DOMAIN.pem in the current directory. The private key is never printed.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Replace the key file if it exists (without it, an existing file is left untouched and
    /// keygen fails).
    #[arg(long)]
    pub force: bool,

    /// Add t=y to the record: receivers treat signed mail like unsigned mail while the
    /// domain tests DKIM.
    #[arg(long)]
    pub testing: bool,

    /// How to print the record.
    #[arg(long, value_enum, default_value = "zone")]
    pub format: Format,
}

const AFTER_HELP: &str = "\
Writes the private key to --out (default SELECTOR.DOMAIN.pem in the current directory) with
mode 0600, refusing to replace an existing file unless --force is given, and prints the public
record to publish on standard output; where the key went is said on standard error (and in the
JSON). The private key is never printed.

Exit status:
  0  the key was written and the record printed
  2  usage or input error (invalid domain or selector, refused key size, existing key file)";

/// Generates the key, writes it and prints the record.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<Exit> {
    let name = key_record_name(&args.selector, &args.domain)?;
    let domain = mailstamp_dns::Name::parse(&args.domain)
        .with_context(|| format!("invalid domain {:?}", args.domain))?;
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| input::default_key_path(&args.selector, domain.as_str()));
    if !args.force && std::fs::symlink_metadata(&path).is_ok() {
        bail!(
            "refusing to overwrite {}: the file exists (use --force to replace it)",
            path.display()
        );
    }
    let key = generate(args)?;
    write_private_key(&path, &key.private_key_pem, args.force)?;

    let record = key.record().with_testing(args.testing);
    let signing = &key.signing_key;
    let format = if ctx.json() {
        Format::Json
    } else {
        args.format
    };
    let mut stdout = std::io::stdout().lock();
    match format {
        Format::Zone => {
            writeln!(
                stdout,
                "; DKIM key for {domain}, selector {sel}: {kt}, {bits} bits{t}; private key in {p}",
                sel = args.selector,
                kt = signing.key_type(),
                bits = signing.bits(),
                t = if args.testing { ", testing (t=y)" } else { "" },
                p = path.display(),
            )?;
            writeln!(stdout, "{}", zone_line(&name, &record))?;
        }
        Format::Value => writeln!(stdout, "{}", record.value())?,
        Format::Json => {
            let doc = json!({
                "name": name.to_fqdn(),
                "type": "TXT",
                "value": record.value(),
                "strings": record.txt_strings(),
                "zone": zone_line(&name, &record),
                "domain": domain.as_str(),
                "selector": args.selector,
                "algorithm": signing.algorithm().as_str(),
                "key_type": signing.key_type().as_str(),
                "bits": signing.bits(),
                "testing": args.testing,
                "private_key_file": path.display().to_string(),
            });
            writeln!(stdout, "{doc}")?;
        }
    }
    stdout.flush()?;
    if format != Format::Json {
        eprintln!(
            "mailstamp: private key written to {} (mode 0600; keep it secret); publish the \
             record as TXT at {}",
            path.display(),
            name.to_fqdn()
        );
    }
    Ok(Exit::Success)
}

/// TTL of the printed zone line: an hour, so a replaced key spreads quickly.
pub const RECORD_TTL: u32 = 3600;

/// The master-file line, with an explicit TTL so it loads on its own (`--zone`) as well as
/// inside an existing zone.
fn zone_line(name: &mailstamp_dns::Name, record: &mailstamp_dkim::KeyRecordText) -> String {
    format!(
        "{} {RECORD_TTL} IN TXT {}",
        name.to_fqdn(),
        record.zone_rdata()
    )
}

fn generate(args: &Args) -> anyhow::Result<GeneratedKey> {
    Ok(match args.algorithm {
        Algorithm::Rsa => generate_rsa(args.bits.unwrap_or(2048), &mut rand::rngs::OsRng)?,
        Algorithm::Ed25519 => {
            if let Some(bits) = args.bits {
                bail!("--bits {bits}: Ed25519 keys have a fixed size; --bits is for RSA keys");
            }
            generate_ed25519(&mut rand::rngs::OsRng)?
        }
    })
}

/// Opens a new file readable and writable by its owner only; fails when it exists.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

fn write_all_synced(file: &mut std::fs::File, data: &[u8]) -> std::io::Result<()> {
    file.write_all(data)?;
    file.sync_all()
}

/// Writes the key with mode 0600. Without `force` the file is created only if it does not
/// exist (no race: `O_EXCL`); with `force` a new file is written beside it and renamed over
/// it, so an existing key is replaced whole or not at all and never keeps looser permissions.
pub fn write_private_key(path: &Path, pem: &str, force: bool) -> anyhow::Result<()> {
    let shown = path.display();
    if !force {
        let mut file = create_private(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                anyhow::anyhow!(
                    "refusing to overwrite {shown}: the file exists (use --force to replace it)"
                )
            } else {
                anyhow::Error::new(e).context(format!("cannot create key file {shown}"))
            }
        })?;
        if let Err(e) = write_all_synced(&mut file, pem.as_bytes()) {
            drop(file);
            let _ = std::fs::remove_file(path);
            return Err(anyhow::Error::new(e).context(format!("cannot write key file {shown}")));
        }
        return Ok(());
    }
    if path.is_dir() {
        bail!("cannot write key file {shown}: it is a directory");
    }
    let file_name = path
        .file_name()
        .with_context(|| format!("cannot write key file {shown}: no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let mut file = create_private(&tmp)
        .with_context(|| format!("cannot create temporary key file {}", tmp.display()))?;
    let written = write_all_synced(&mut file, pem.as_bytes());
    drop(file);
    let result = written.and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(anyhow::Error::new(e).context(format!("cannot write key file {shown}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_key_file_is_owner_only_and_not_overwritten() {
        let dir =
            std::env::temp_dir().join(format!("mailstamp-keygen-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.pem");
        let _ = std::fs::remove_file(&path);
        write_private_key(&path, "one", false).unwrap();
        let err = write_private_key(&path, "two", false).unwrap_err();
        assert!(err.to_string().contains("refusing to overwrite"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
        write_private_key(&path, "three", true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
