//! PEM (RFC 7468) for private key files, decoded and encoded with the RustCrypto
//! `pem-rfc7468` crate.
//!
//! The one thing done here by hand is framing: a key file may hold several blocks (a private
//! key next to its public key or certificate), so the text is cut at its `-----BEGIN`/`-----END`
//! lines and each block is handed whole to `pem-rfc7468`.

/// One `-----BEGIN LABEL-----` ... `-----END LABEL-----` block of a file, not yet decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PemBlock<'t> {
    /// The label (`PRIVATE KEY`, `RSA PRIVATE KEY`, ...).
    pub label: &'t str,
    /// The block's text, from its BEGIN line to its END line, both included.
    pub text: &'t str,
}

impl<'t> PemBlock<'t> {
    /// The RFC 1421 header that marks a legacy encrypted key (`Proc-Type: 4,ENCRYPTED`), if any:
    /// RFC 7468 has no headers, so `pem-rfc7468` refuses them without saying why.
    pub fn encryption_header(&self) -> Option<&'t str> {
        self.text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("Proc-Type:") && l.contains("ENCRYPTED"))
    }

    /// The DER bytes of the block. The base64 lines may be of any one width (RFC 7468 §2:
    /// generators wrap at 64 columns, but files written by other tools wrap at 76).
    pub fn decode(&self) -> Result<Vec<u8>, pem_rfc7468::Error> {
        let text = self.text.as_bytes();
        match pem_rfc7468::decode_vec(text) {
            Ok((_, der)) => Ok(der),
            Err(pem_rfc7468::Error::Base64(e)) => {
                let width = self.text.lines().nth(1).map_or(0, |l| l.trim_end().len());
                if width == 0 || width == pem_rfc7468::BASE64_WRAP_WIDTH {
                    return Err(pem_rfc7468::Error::Base64(e));
                }
                let mut decoder = pem_rfc7468::Decoder::new_wrapped(text, width)?;
                let mut der = Vec::new();
                decoder.decode_to_end(&mut der)?;
                Ok(der)
            }
            Err(e) => Err(e),
        }
    }
}

fn boundary<'l>(line: &'l str, kind: &str) -> Option<&'l str> {
    line.trim()
        .strip_prefix("-----")?
        .strip_prefix(kind)?
        .strip_prefix(' ')?
        .strip_suffix("-----")
}

/// Every block of `text` whose END line matches its BEGIN line, in order. Text outside blocks
/// is ignored (RFC 7468 §5.2 allows explanatory text).
pub(crate) fn blocks(text: &str) -> Vec<PemBlock<'_>> {
    let mut out = Vec::new();
    let mut open: Option<(usize, &str)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        if let Some(label) = boundary(line, "BEGIN") {
            open = Some((start, label));
        } else if let Some(label) = boundary(line, "END")
            && let Some((begin, open_label)) = open.take()
            && open_label == label
        {
            out.push(PemBlock {
                label,
                text: &text[begin..offset],
            });
        }
    }
    out
}

/// Encodes DER as a PEM block with 64-character lines and LF line endings (RFC 7468 §2).
pub(crate) fn encode(label: &str, der: &[u8]) -> Option<String> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7468_round_trip_and_framing() {
        let der: Vec<u8> = (0..=255).collect();
        let pem = encode("PRIVATE KEY", &der).unwrap();
        let text = format!("explanatory text\n{pem}junk\n{pem}");
        let b = blocks(&text);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].label, "PRIVATE KEY");
        assert_eq!(b[0].decode().unwrap(), der);
        assert_eq!(b[1].decode().unwrap(), der);
        let enc = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let b = blocks(enc);
        assert_eq!(b[0].encryption_header(), Some("Proc-Type: 4,ENCRYPTED"));
        assert!(b[0].decode().is_err());
        assert!(blocks("-----BEGIN X-----\nAAAA\n-----END Y-----\n").is_empty());
        // CRLF files and 76-column lines (base64(1) and some tools) decode too.
        let crlf = pem.replace('\n', "\r\n");
        assert_eq!(blocks(&crlf)[0].decode().unwrap(), der);
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        let wide: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let wide = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            wide.join("\n")
        );
        assert_eq!(blocks(&wide)[0].decode().unwrap(), der);
    }
}
