//! Private keys for signing (RFC 6376 §5, RFC 8301 §3.2, RFC 8463): reading PKCS#8 and PKCS#1
//! PEM files and signing with them (the backend of [`crate::crypto`]).

use crate::asn1;
use crate::key::{KeyType, PublicKey};
use crate::pem;
use crate::sign_error::SignError;
use crate::signature::SigningAlgorithm;
use std::fmt;

/// Why a private key cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyLoadError {
    /// The text holds no PEM block.
    #[error(
        "no PEM block found (expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)"
    )]
    NotPem,
    /// The key is encrypted; mailstamp reads unencrypted keys only.
    #[error(
        "the key is encrypted ({format}); decrypt it first, e.g. `openssl pkey -in KEY -out PLAIN.pem`"
    )]
    Encrypted {
        /// The PEM label or header that says so.
        format: String,
    },
    /// The PEM block is not a private key format mailstamp reads.
    #[error(
        "unsupported key format {found:?}: expected PKCS#8 (\"PRIVATE KEY\") or PKCS#1 (\"RSA PRIVATE KEY\")"
    )]
    UnsupportedFormat {
        /// The PEM label found.
        found: String,
    },
    /// The PKCS#8 key is of an algorithm DKIM does not use.
    #[error(
        "the PKCS#8 key is {algorithm}; DKIM signs with RSA (rsa-sha256) or Ed25519 (ed25519-sha256)"
    )]
    UnsupportedAlgorithm {
        /// The algorithm found.
        algorithm: &'static str,
    },
    /// The file holds more than one private key; which one is meant is ambiguous, so none is
    /// used (the caller names the file).
    #[error("the file holds {count} private keys; put one key per file")]
    MultipleKeys {
        /// How many private-key PEM blocks were found.
        count: usize,
    },
    /// The DER content does not match the PEM label (RFC 7468 §10 `PRIVATE KEY` is PKCS#8,
    /// `RSA PRIVATE KEY` is PKCS#1).
    #[error(
        "the block is labelled {label:?} but holds {content}; it needs the label \
         -----BEGIN {needed}-----"
    )]
    WrongLabel {
        /// The label found.
        label: String,
        /// What the content is.
        content: &'static str,
        /// The label the content needs.
        needed: &'static str,
    },
    /// The PEM body is not valid base64.
    #[error("the PEM block is not valid base64")]
    InvalidBase64,
    /// The DER structure is not a valid key.
    #[error("invalid {format} key: {reason}")]
    Invalid {
        /// The format that was tried (`PKCS#8`, `PKCS#1`, `Ed25519 seed`).
        format: &'static str,
        /// What the parser reported.
        reason: String,
    },
    /// The RSA key size is outside what mailstamp signs with.
    #[error(
        "the RSA key has {bits} bits; signing needs 2048 to 4096 bits (RFC 8301 §3.2: signers SHOULD use at least 2048)"
    )]
    RsaKeySize {
        /// The key size.
        bits: usize,
    },
}

use crate::crypto::KeyPair;

/// A private key that signs: RSA (2048–4096 bits) with ring, Ed25519 with ed25519-dalek (or
/// both with AWS-LC under the `aws-lc` feature, see [`crate::crypto::BACKEND`]).
pub struct SigningKey {
    pair: KeyPair,
    public: PublicKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_type", &self.key_type())
            .field("bits", &self.public.bits())
            .finish_non_exhaustive()
    }
}

fn rsa_bits_of_pkcs8(der_bytes: &[u8]) -> Option<usize> {
    use rsa::pkcs8::DecodePrivateKey as _;
    use rsa::traits::PublicKeyParts as _;
    rsa::RsaPrivateKey::from_pkcs8_der(der_bytes)
        .ok()
        .map(|k| k.n().bits())
}

/// The one private-key block of a PEM file, decoded: `(label, DER)`. Errors say what was
/// found: no PEM, no private key (the label found), several keys, an encrypted key, bad base64.
pub(crate) fn private_key_der(text: &str) -> Result<(&str, Vec<u8>), KeyLoadError> {
    let blocks = pem::blocks(text);
    let first = blocks.first().ok_or(KeyLoadError::NotPem)?;
    let keys: Vec<_> = blocks
        .iter()
        .filter(|b| b.label.ends_with("PRIVATE KEY"))
        .collect();
    let block = match keys.as_slice() {
        [] => {
            return Err(KeyLoadError::UnsupportedFormat {
                found: first.label.to_owned(),
            });
        }
        [one] => *one,
        many => return Err(KeyLoadError::MultipleKeys { count: many.len() }),
    };
    if block.label == "ENCRYPTED PRIVATE KEY" {
        return Err(KeyLoadError::Encrypted {
            format: "PKCS#8 ENCRYPTED PRIVATE KEY".to_owned(),
        });
    }
    if let Some(h) = block.encryption_header() {
        return Err(KeyLoadError::Encrypted {
            format: h.to_owned(),
        });
    }
    let der_bytes = block.decode().map_err(|e| match e {
        pem_rfc7468::Error::Base64(_) => KeyLoadError::InvalidBase64,
        other => KeyLoadError::Invalid {
            format: "PEM",
            reason: other.to_string(),
        },
    })?;
    Ok((block.label, der_bytes))
}

impl SigningKey {
    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`, RSA or Ed25519; RFC 5208 v1 and RFC 5958
    /// v2 with the public key) or PKCS#1 (`RSA PRIVATE KEY`). Encrypted and other formats are
    /// refused with an error naming what was found. PEM is read by `pem-rfc7468` (RFC 7468),
    /// the DER structures by the RustCrypto `pkcs8`/`pkcs1` crates.
    pub fn from_pem(text: &str) -> Result<SigningKey, KeyLoadError> {
        let (label, der_bytes) = private_key_der(text)?;
        // Content under the wrong label gets a diagnostic naming the label it needs, not the
        // ASN.1 error of the other format's parser.
        let pkcs8 = asn1::pkcs8_algorithm(&der_bytes);
        match label {
            "PRIVATE KEY" if pkcs8.is_none() && asn1::is_pkcs1_private_key(&der_bytes) => {
                Err(KeyLoadError::WrongLabel {
                    label: label.to_owned(),
                    content: "a PKCS#1 RSA key",
                    needed: "RSA PRIVATE KEY",
                })
            }
            "PRIVATE KEY" => SigningKey::from_pkcs8_der(&der_bytes),
            "RSA PRIVATE KEY" if let Some(oid) = pkcs8 => Err(KeyLoadError::WrongLabel {
                label: label.to_owned(),
                content: if oid == asn1::OID_ED25519 {
                    "a PKCS#8 Ed25519 key"
                } else if oid == asn1::OID_RSA_ENCRYPTION {
                    "a PKCS#8 RSA key"
                } else {
                    "a PKCS#8 key"
                },
                needed: "PRIVATE KEY",
            }),
            "RSA PRIVATE KEY" => SigningKey::from_pkcs1_der(&der_bytes),
            other => Err(KeyLoadError::UnsupportedFormat {
                found: other.to_owned(),
            }),
        }
    }

    /// Reads a PKCS#8 DER private key (RFC 5208, RFC 5958): RSA or Ed25519.
    pub fn from_pkcs8_der(der_bytes: &[u8]) -> Result<SigningKey, KeyLoadError> {
        let oid = asn1::pkcs8_algorithm(der_bytes).ok_or_else(|| KeyLoadError::Invalid {
            format: "PKCS#8",
            reason: "not a PrivateKeyInfo structure".to_owned(),
        })?;
        match oid {
            oid if oid == asn1::OID_RSA_ENCRYPTION => {
                let pair =
                    KeyPair::rsa_from_pkcs8(der_bytes).map_err(
                        |reason| match rsa_bits_of_pkcs8(der_bytes) {
                            Some(bits) if !(2048..=4096).contains(&bits) => {
                                KeyLoadError::RsaKeySize { bits }
                            }
                            _ => KeyLoadError::Invalid {
                                format: "PKCS#8",
                                reason,
                            },
                        },
                    )?;
                let public = rsa_public(&pair)?;
                let key = SigningKey { pair, public };
                // ring checks each RSA signature before returning it, so a key whose CRT
                // components do not belong together (a corrupted file) loads but never signs:
                // refuse it here, where the file is named, rather than at the first message.
                key.sign(b"").map_err(|_| KeyLoadError::Invalid {
                    format: "PKCS#8",
                    reason: "the key's components are inconsistent (a test signature failed)"
                        .to_owned(),
                })?;
                Ok(key)
            }
            oid if oid == asn1::OID_ED25519 => {
                let pair = KeyPair::ed25519_from_pkcs8(der_bytes).map_err(|reason| {
                    KeyLoadError::Invalid {
                        format: "PKCS#8",
                        reason,
                    }
                })?;
                Ok(SigningKey::from_ed25519_pair(pair))
            }
            other => Err(KeyLoadError::UnsupportedAlgorithm {
                algorithm: asn1::oid_name(other),
            }),
        }
    }

    /// Reads a PKCS#1 DER RSAPrivateKey (RFC 8017 §A.1.2) with the `rsa` crate and hands it to
    /// ring as PKCS#8.
    pub fn from_pkcs1_der(der_bytes: &[u8]) -> Result<SigningKey, KeyLoadError> {
        use rsa::pkcs1::DecodeRsaPrivateKey as _;
        use rsa::pkcs8::EncodePrivateKey as _;
        use rsa::traits::PublicKeyParts as _;
        let key =
            rsa::RsaPrivateKey::from_pkcs1_der(der_bytes).map_err(|e| KeyLoadError::Invalid {
                format: "PKCS#1",
                reason: e.to_string(),
            })?;
        let bits = key.n().bits();
        if !(2048..=4096).contains(&bits) {
            return Err(KeyLoadError::RsaKeySize { bits });
        }
        let pkcs8 = key.to_pkcs8_der().map_err(|e| KeyLoadError::Invalid {
            format: "PKCS#1",
            reason: e.to_string(),
        })?;
        SigningKey::from_pkcs8_der(pkcs8.as_bytes())
    }

    /// An Ed25519 key from its 32-byte seed (the private key of RFC 8032 §5.1.5).
    pub fn from_ed25519_seed(seed: &[u8]) -> Result<SigningKey, KeyLoadError> {
        let pair = KeyPair::ed25519_from_seed(seed).map_err(|reason| KeyLoadError::Invalid {
            format: "Ed25519 seed",
            reason,
        })?;
        Ok(SigningKey::from_ed25519_pair(pair))
    }

    fn from_ed25519_pair(pair: KeyPair) -> SigningKey {
        let mut raw = [0u8; 32];
        raw.copy_from_slice(pair.public_key_bytes());
        let public = PublicKey::from_ed25519_raw(raw);
        SigningKey { pair, public }
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        self.public.key_type()
    }

    /// The signing algorithm used with this key (rsa-sha256 or ed25519-sha256).
    pub fn algorithm(&self) -> SigningAlgorithm {
        match self.pair {
            KeyPair::Rsa(_) => SigningAlgorithm::RsaSha256,
            KeyPair::Ed25519(_) => SigningAlgorithm::Ed25519Sha256,
        }
    }

    /// Key size in bits.
    pub fn bits(&self) -> usize {
        self.public.bits()
    }

    /// The public key (what the key record publishes).
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `data` (the canonical header block): RSASSA-PKCS1-v1_5 with SHA-256, or Ed25519
    /// over the SHA-256 digest of `data` (RFC 8463 §3).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        let signed = match &self.pair {
            KeyPair::Rsa(_) => self.pair.sign(data),
            KeyPair::Ed25519(_) => {
                use sha2::Digest as _;
                self.pair.sign(&sha2::Sha256::digest(data))
            }
        };
        signed.ok_or(SignError::Crypto)
    }
}

fn rsa_public(pair: &KeyPair) -> Result<PublicKey, KeyLoadError> {
    PublicKey::from_der(KeyType::Rsa, pair.public_key_bytes()).map_err(|e| KeyLoadError::Invalid {
        format: "PKCS#8",
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_17_10_two_keys_in_one_pem_are_refused_and_labels_are_checked() {
        let ed = crate::generate_ed25519(&mut rand::rngs::OsRng).unwrap();
        let two = format!("{}{}", ed.private_key_pem, ed.private_key_pem);
        let e = SigningKey::from_pem(&two).unwrap_err();
        assert_eq!(e, KeyLoadError::MultipleKeys { count: 2 });
        assert!(e.to_string().contains("2 private keys"), "{e}");
        // A public key next to the private key is not a second private key.
        let with_public = format!(
            "{}-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            ed.private_key_pem
        );
        assert!(SigningKey::from_pem(&with_public).is_ok());
        // Ed25519 PKCS#8 content under the PKCS#1 label: say which label it needs.
        let relabelled = ed.private_key_pem.replace("PRIVATE KEY", "RSA PRIVATE KEY");
        let e = SigningKey::from_pem(&relabelled).unwrap_err();
        assert_eq!(
            e,
            KeyLoadError::WrongLabel {
                label: "RSA PRIVATE KEY".into(),
                content: "a PKCS#8 Ed25519 key",
                needed: "PRIVATE KEY",
            }
        );
        let shown = e.to_string();
        assert!(
            shown.contains("-----BEGIN PRIVATE KEY-----") && !shown.contains("ASN.1"),
            "{shown}"
        );
    }

    #[test]
    fn key_loading_errors_name_the_format() {
        assert_eq!(
            SigningKey::from_pem("hello").unwrap_err(),
            KeyLoadError::NotPem
        );
        let e = SigningKey::from_pem(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap_err();
        assert!(matches!(e, KeyLoadError::Encrypted { .. }), "{e}");
        let e = SigningKey::from_pem("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,AA\n\nAAAA\n-----END RSA PRIVATE KEY-----\n").unwrap_err();
        assert!(matches!(e, KeyLoadError::Encrypted { .. }));
        let e = SigningKey::from_pem(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
        )
        .unwrap_err();
        assert_eq!(
            e,
            KeyLoadError::UnsupportedFormat {
                found: "OPENSSH PRIVATE KEY".into()
            }
        );
        let e =
            SigningKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .unwrap_err();
        assert!(e.to_string().contains("CERTIFICATE"));
        // An EC P-256 PKCS#8 key (RFC 5915 structure, made with openssl)
        let ec = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgV3bRqmqnwC/zXumV\nxZnYTXBzt0M2ZHbOWTWO9+p3sKOhRANCAATjRZqgqy8Dka3fzOA5mb49rNQuPjNT\nuxGaXjShuMMc0ks4sF2GOxhsCyYy1vjG5FmIbttRnPMd0KBR9AMpz5qn\n-----END PRIVATE KEY-----\n";
        let e = SigningKey::from_pem(ec).unwrap_err();
        assert_eq!(
            e,
            KeyLoadError::UnsupportedAlgorithm {
                algorithm: "elliptic curve (id-ecPublicKey)"
            }
        );
        assert!(matches!(
            SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n"),
            Err(KeyLoadError::InvalidBase64)
        ));
        assert!(matches!(
            SigningKey::from_ed25519_seed(&[1, 2, 3]),
            Err(KeyLoadError::Invalid { .. })
        ));
    }
}
