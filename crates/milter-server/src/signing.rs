//! The signing table: From domain → rule → keys, loaded from the `[[signing]]` entries.
//!
//! A key that cannot be used (missing, unreadable, readable by group or others, not a key)
//! disables its own entry only; the problem names the path and the cause.

use crate::config::{Config, DomainPattern, SigningEntry};
use mailstamp_dkim::{HeaderSelection, Signer, SigningKey};
use std::fmt;
use std::path::{Path, PathBuf};

/// Largest key file read.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// Why a `[[signing]]` entry is disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProblem {
    /// The entry's line in the configuration file.
    pub line: usize,
    /// The From domain pattern of the entry.
    pub domain: String,
    /// The selector.
    pub selector: String,
    /// The key file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[[signing]] at line {} ({} s={}): key {} disabled: {}",
            self.line,
            self.domain,
            self.selector,
            self.path.display(),
            self.reason
        )
    }
}

/// Reads a private key, refusing files that group or others may read.
pub fn load_key(path: &Path) -> Result<SigningKey, String> {
    use std::io::Read as _;
    use std::os::unix::fs::PermissionsExt as _;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot stat: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "mode {mode:04o} lets group or others read the private key; \
             run `chmod 600 {}` (owner: the milter's user)",
            path.display()
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(format!("larger than {MAX_KEY_FILE} bytes: not a key file"));
    }
    let text =
        std::str::from_utf8(&bytes).map_err(|_| "not a PEM file (binary data)".to_owned())?;
    SigningKey::from_pem(text).map_err(|e| e.to_string())
}

/// One usable key of a rule.
#[derive(Debug)]
pub struct Key {
    /// The signer (key, `d=`, `s=`, header list, canonicalization).
    pub signer: Signer,
    /// The key file.
    pub path: PathBuf,
    /// The entry's line in the file.
    pub line: usize,
}

/// The keys of one From domain pattern (several for RSA + Ed25519 or rotation).
#[derive(Debug)]
pub struct Rule {
    /// The From domains covered.
    pub pattern: DomainPattern,
    /// The usable keys, in file order.
    pub keys: Vec<Key>,
    /// Entries of this pattern whose key is disabled.
    pub disabled: Vec<KeyProblem>,
}

/// Every rule, and the problems found loading keys.
#[derive(Debug, Default)]
pub struct SigningTable {
    /// The rules, one per distinct pattern, in file order.
    pub rules: Vec<Rule>,
    /// Every disabled entry.
    pub problems: Vec<KeyProblem>,
}

fn signer_for(entry: &SigningEntry, key: SigningKey) -> Result<Signer, String> {
    let d = entry
        .d()
        .ok_or_else(|| "no signing domain for the \"*\" rule".to_owned())?;
    let mut s = Signer::new(key, &d, &entry.selector)
        .map_err(|e| e.to_string())?
        .with_oversigning(entry.oversign);
    if let Some(c) = entry.canonicalization {
        s = s.with_canonicalization(c.0);
    }
    if let Some(h) = &entry.headers {
        s = s.with_headers(HeaderSelection::Names(h.clone()));
    }
    if let Some(x) = entry.expire_secs {
        s = s.with_expiry(x);
    }
    Ok(s)
}

impl SigningTable {
    /// Loads every entry's key; a problem disables its entry only.
    pub fn load(config: &Config) -> SigningTable {
        let mut table = SigningTable::default();
        for entry in &config.signing {
            let idx = match table.rules.iter().position(|r| r.pattern == entry.domain) {
                Some(i) => i,
                None => {
                    table.rules.push(Rule {
                        pattern: entry.domain.clone(),
                        keys: Vec::new(),
                        disabled: Vec::new(),
                    });
                    table.rules.len() - 1
                }
            };
            match load_key(&entry.key).and_then(|k| signer_for(entry, k)) {
                Ok(signer) => table.rules[idx].keys.push(Key {
                    signer,
                    path: entry.key.clone(),
                    line: entry.line,
                }),
                Err(reason) => {
                    let p = KeyProblem {
                        line: entry.line,
                        domain: entry.domain.to_string(),
                        selector: entry.selector.clone(),
                        path: entry.key.clone(),
                        reason,
                    };
                    table.rules[idx].disabled.push(p.clone());
                    table.problems.push(p);
                }
            }
        }
        table
    }

    /// The rule for a From domain (lower case): exact beats subdomain beats wildcard; among
    /// subdomain rules, the longest (most specific) domain wins.
    pub fn rule_for(&self, from_domain: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .filter(|r| r.pattern.matches(from_domain))
            .min_by_key(|r| {
                let len = match &r.pattern {
                    DomainPattern::Exact(d) | DomainPattern::Subdomains(d) => d.len(),
                    DomainPattern::Any => 0,
                };
                (r.pattern.rank(), usize::MAX - len)
            })
    }
}

/// The ARC sealer of `[arc_seal]` and its key file.
#[derive(Debug)]
pub struct ArcSealKey {
    /// The sealer (key, `d=`, `s=`, AMS header list).
    pub sealer: mailstamp::arc::Sealer,
    /// The key file.
    pub path: PathBuf,
    /// The section's line in the file.
    pub line: usize,
}

/// Why `[arc_seal]` is disabled (the milter then does not seal; everything else runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealKeyProblem {
    /// The section's line in the configuration file.
    pub line: usize,
    /// The sealing domain.
    pub domain: String,
    /// The selector.
    pub selector: String,
    /// The key file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for SealKeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[arc_seal] at line {} (d={} s={}): key {} disabled, no mail is sealed: {}",
            self.line,
            self.domain,
            self.selector,
            self.path.display(),
            self.reason
        )
    }
}

/// Loads the `[arc_seal]` key with the checks of a signing key (a regular file readable by
/// the milter's user only, PEM, RSA 2048–4096 bits or Ed25519). `None` without the section.
pub fn load_sealer(config: &Config) -> Option<Result<ArcSealKey, SealKeyProblem>> {
    let seal = config.arc_seal.as_ref()?;
    let problem = |reason: String| SealKeyProblem {
        line: seal.line,
        domain: seal.domain.clone(),
        selector: seal.selector.clone(),
        path: seal.key.clone(),
        reason,
    };
    let made = load_key(&seal.key).and_then(|key| {
        let sealer = mailstamp::arc::Sealer::new(key, &seal.domain, &seal.selector)
            .map_err(|e| e.to_string())?;
        match &seal.headers {
            Some(h) => sealer.with_headers(h).map_err(|e| e.to_string()),
            None => Ok(sealer),
        }
    });
    Some(
        made.map(|sealer| ArcSealKey {
            sealer,
            path: seal.key.clone(),
            line: seal.line,
        })
        .map_err(problem),
    )
}

/// Whether a signature with `d=` aligns (relaxed, by domain suffix) with the From domain: the
/// same domain, or one a parent of the other. (The Organizational Domain is not looked up here.)
pub fn aligns(d: &str, from_domain: &str) -> bool {
    aligns_below(from_domain, d) || aligns_below(d, from_domain)
}

/// Whether `domain` is `parent` or lies below it.
pub fn aligns_below(domain: &str, parent: &str) -> bool {
    let parent = parent.trim_end_matches('.').to_ascii_lowercase();
    domain == parent
        || domain
            .strip_suffix(parent.as_str())
            .is_some_and(|h| h.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    /// The RFC 8032 §7.1 test 1 key as PKCS#8 PEM.
    pub(crate) const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
-----END PRIVATE KEY-----\n";

    fn write_key(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, ED25519_PEM).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn keys_readable_by_others_are_refused_with_path_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let good = write_key(dir.path(), "good.pem", 0o600);
        let bad = write_key(dir.path(), "bad.pem", 0o644);
        assert!(load_key(&good).is_ok());
        let e = load_key(&bad).unwrap_err();
        assert!(e.contains("0644") && e.contains("bad.pem"), "{e}");
        let e = load_key(&dir.path().join("missing.pem")).unwrap_err();
        assert!(e.contains("cannot open"), "{e}");
    }

    #[test]
    fn a_bad_key_disables_only_its_entry_and_rules_are_ranked() {
        let dir = tempfile::tempdir().unwrap();
        let good = write_key(dir.path(), "good.pem", 0o600);
        let bad = write_key(dir.path(), "bad.pem", 0o640);
        let text = format!(
            "authserv_id = \"mx\"\n\
             [[signing]]\ndomain = \"example.org\"\nselector = \"a\"\nkey = \"{g}\"\n\
             [[signing]]\ndomain = \"example.org\"\nselector = \"b\"\nkey = \"{b}\"\n\
             [[signing]]\ndomain = \"*.example.org\"\nselector = \"c\"\nkey = \"{g}\"\n\
             [[signing]]\ndomain = \"*.dept.example.org\"\nselector = \"e\"\nkey = \"{g}\"\n\
             [[signing]]\ndomain = \"*\"\nsigning_domain = \"relay.example\"\nselector = \"d\"\nkey = \"{g}\"\n",
            g = good.display(),
            b = bad.display()
        );
        let config = Config::parse(&text, Path::new("m.toml")).unwrap();
        let table = SigningTable::load(&config);
        assert_eq!(table.problems.len(), 1);
        assert_eq!(table.problems[0].line, 6);
        assert!(table.problems[0].to_string().contains("bad.pem"));
        let r = table.rule_for("example.org").unwrap();
        assert_eq!(r.keys.len(), 1);
        assert_eq!(r.keys[0].signer.selector(), "a");
        let r = table.rule_for("x.example.org").unwrap();
        assert_eq!(r.keys[0].signer.selector(), "c");
        assert_eq!(r.keys[0].signer.domain().as_str(), "example.org");
        let r = table.rule_for("a.dept.example.org").unwrap();
        assert_eq!(r.keys[0].signer.selector(), "e");
        let r = table.rule_for("other.example").unwrap();
        assert_eq!(r.keys[0].signer.domain().as_str(), "relay.example");
    }

    #[test]
    fn the_seal_key_is_checked_like_a_signing_key() {
        let dir = tempfile::tempdir().unwrap();
        let good = write_key(dir.path(), "arc.pem", 0o600);
        let text = |key: &Path| {
            format!(
                "authserv_id = \"mx\"\n[arc_seal]\ndomain = \"fwd.example\"\nselector = \"arc\"\nkey = \"{}\"\n",
                key.display()
            )
        };
        let config = Config::parse(&text(&good), Path::new("m.toml")).unwrap();
        let k = load_sealer(&config).unwrap().unwrap();
        assert_eq!(k.sealer.domain(), "fwd.example");
        assert_eq!(k.line, 2);
        let bad = write_key(dir.path(), "open.pem", 0o644);
        let config = Config::parse(&text(&bad), Path::new("m.toml")).unwrap();
        let e = load_sealer(&config).unwrap().unwrap_err().to_string();
        assert!(
            e.contains("open.pem") && e.contains("0644") && e.contains("line 2"),
            "{e}"
        );
        let config = Config::parse("authserv_id = \"mx\"\n", Path::new("m.toml")).unwrap();
        assert!(load_sealer(&config).is_none());
    }

    #[test]
    fn alignment_by_suffix() {
        assert!(aligns("example.org", "example.org"));
        assert!(aligns("example.org", "mail.example.org"));
        assert!(aligns("mail.example.org", "example.org"));
        assert!(!aligns("relay.example", "example.org"));
        assert!(!aligns("badexample.org", "example.org"));
    }
}
