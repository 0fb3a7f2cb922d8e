//! Reading the input files of commands: one message (a file or `-` for standard input) and
//! private key files.

use anyhow::{Context as _, bail};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest message a command reads, in bytes (256 MiB). The DKIM body hash itself streams,
/// but the message is held in memory once (twice when bare LF line endings are converted).
pub const MAX_MESSAGE_SIZE: u64 = 256 * 1024 * 1024;

/// Largest key file read, in bytes: a PEM file holding a 4096-bit RSA key is about 3.3 KB.
pub const MAX_KEY_FILE_SIZE: u64 = 64 * 1024;

/// A human name for the input: the path, or `standard input`.
pub fn describe(path: Option<&Path>) -> String {
    match path {
        None => "standard input".to_owned(),
        Some(p) if p.as_os_str() == "-" => "standard input".to_owned(),
        Some(p) => p.display().to_string(),
    }
}

/// Reads at most `limit` bytes from `reader`, failing when there are more.
fn read_limited(reader: impl Read, limit: u64, what: &str) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {what}"))?;
    if u64::try_from(buf.len()).unwrap_or(u64::MAX) > limit {
        bail!("{what} is larger than {limit} bytes");
    }
    Ok(buf)
}

/// Reads one message: from the file `path`, or from standard input when `path` is `None` or
/// `-`. An empty input is an error (there is no message to check).
pub fn read_message(path: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    let what = describe(path);
    let bytes = match path {
        Some(p) if p.as_os_str() != "-" => {
            if p.is_dir() {
                bail!("{what} is a directory, not a message file");
            }
            let file =
                std::fs::File::open(p).with_context(|| format!("cannot open message {what}"))?;
            read_limited(file, MAX_MESSAGE_SIZE, &format!("message {what}"))?
        }
        _ => read_limited(std::io::stdin().lock(), MAX_MESSAGE_SIZE, &what)?,
    };
    if bytes.is_empty() {
        bail!("{what} is empty: there is no message to read");
    }
    Ok(bytes)
}

/// Reads a PEM private key file and loads it for signing. Errors name the file and the format
/// found (an encrypted key, a public key, a DER file, ...).
pub fn read_signing_key(path: &Path) -> anyhow::Result<mailstamp_dkim::SigningKey> {
    let what = path.display();
    let file = std::fs::File::open(path).with_context(|| format!("cannot open key file {what}"))?;
    let bytes = read_limited(file, MAX_KEY_FILE_SIZE, &format!("key file {what}"))?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        let hint = if bytes.first() == Some(&0x30) {
            "it looks like a binary DER key; convert it to PEM with \
             `openssl pkey -inform DER -in KEY -out KEY.pem`"
        } else {
            "it is binary data"
        };
        bail!("cannot load key file {what}: not a PEM file ({hint})");
    };
    mailstamp_dkim::SigningKey::from_pem(text)
        .with_context(|| format!("cannot load key file {what}"))
}

/// Reads a PEM private key file for `keycheck`: its public half, for any key a verifier
/// accepts (RSA from 1024 bits, RFC 8301 §3.2; signing still needs 2048).
pub fn read_public_half(path: &Path) -> anyhow::Result<mailstamp_dkim::PublicKey> {
    let what = path.display();
    let file = std::fs::File::open(path).with_context(|| format!("cannot open key file {what}"))?;
    let bytes = read_limited(file, MAX_KEY_FILE_SIZE, &format!("key file {what}"))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow::anyhow!("cannot load key file {what}: not a PEM file"))?;
    mailstamp_dkim::public_key_from_pem(text)
        .with_context(|| format!("cannot load key file {what}"))
}

/// The file a private key is written to when `keygen` gets no `--out`:
/// `<selector>.<domain>.pem` in the current directory.
pub fn default_key_path(selector: &str, domain: &str) -> PathBuf {
    PathBuf::from(format!("{selector}.{domain}.pem"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_reads_refuse_larger_input() {
        assert_eq!(read_limited(&b"abc"[..], 3, "x").unwrap(), b"abc");
        let err = read_limited(&b"abcd"[..], 3, "x").unwrap_err();
        assert!(err.to_string().contains("larger than 3 bytes"));
    }

    #[test]
    fn dash_is_standard_input() {
        assert_eq!(describe(Some(Path::new("-"))), "standard input");
        assert_eq!(describe(None), "standard input");
        assert_eq!(describe(Some(Path::new("m.eml"))), "m.eml");
    }
}
