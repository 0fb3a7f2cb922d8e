//! PEM (RFC 7468) reading and writing, for private keys.

/// One PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PemBlock {
    /// The label (`PRIVATE KEY`, `RSA PRIVATE KEY`, ...).
    pub label: String,
    /// RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`), if any.
    pub headers: Vec<String>,
    /// The base64 text of the body (not yet decoded).
    pub body: String,
}

/// Every PEM block of `text`, in order. Text outside blocks is ignored.
pub(crate) fn blocks(text: &str) -> Vec<PemBlock> {
    let mut out = Vec::new();
    let mut current: Option<PemBlock> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            current = Some(PemBlock {
                label: label.to_owned(),
                headers: Vec::new(),
                body: String::new(),
            });
        } else if let Some(label) = line
            .strip_prefix("-----END ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            if let Some(block) = current.take()
                && block.label == label
            {
                out.push(block);
            }
        } else if let Some(block) = current.as_mut() {
            if line.contains(':') {
                block.headers.push(line.to_owned());
            } else {
                block.body.push_str(line);
            }
        }
    }
    out
}

/// Encodes DER as a PEM block with 64-character lines and LF line endings.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7468_round_trip_and_headers() {
        let der: Vec<u8> = (0..=255).collect();
        let pem = encode("PRIVATE KEY", &der);
        let b = blocks(&pem);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].label, "PRIVATE KEY");
        let enc = "junk\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let b = blocks(enc);
        assert_eq!(b[0].headers.len(), 2);
        assert_eq!(b[0].body, "AAAA");
        assert!(blocks("-----BEGIN X-----\nAAAA\n-----END Y-----\n").is_empty());
    }
}
