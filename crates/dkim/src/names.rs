//! DNS names in DKIM: `d=` domains and selectors (RFC 6376 §3.5, RFC 8616 §4), and the name of
//! a key record (RFC 6376 §3.6.2.1).

use crate::sign_error::SignError;
use mailstamp_dns::Name;

/// Validates a domain or selector: dot-separated labels of letters, digits, `-` and `_`
/// (RFC 6376 §3.5 `domain-name`/`selector`, plus `_`, which DNS allows and some selectors
/// use), or UTF-8 labels (RFC 8616 §4), then normalised to A-labels.
pub(crate) fn dns_labels(value: &[u8]) -> Result<Name, String> {
    let s = std::str::from_utf8(value).map_err(|_| "not UTF-8".to_owned())?;
    if let Some(c) = s
        .chars()
        .find(|&c| c.is_ascii() && !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!("{c:?} is not allowed in a domain name"));
    }
    if s.ends_with('.') {
        return Err("trailing dot".to_owned());
    }
    Name::parse(s).map_err(|e| e.to_string())
}

/// The DNS name of a key record: `<selector>._domainkey.<domain>` (RFC 6376 §3.6.2.1).
///
/// ```
/// let name = mailstamp_dkim::key_record_name("mail2026", "Example.com").unwrap();
/// assert_eq!(name.to_fqdn(), "mail2026._domainkey.example.com.");
/// ```
pub fn key_record_name(selector: &str, domain: &str) -> Result<Name, SignError> {
    let domain_name = dns_labels(domain.as_bytes()).map_err(|reason| SignError::InvalidDomain {
        domain: domain.to_owned(),
        reason,
    })?;
    dns_labels(selector.as_bytes())
        .and_then(|_| {
            domain_name
                .prepend(&format!("{selector}._domainkey"))
                .map_err(|e| e.to_string())
        })
        .map_err(|reason| SignError::InvalidSelector {
            selector: selector.to_owned(),
            reason,
        })
}
