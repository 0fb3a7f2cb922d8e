//! Why signing (or naming a key record) failed: caller input, hence an `Err` (RFC 6376 §5).

/// Why signing failed. (A signing failure is caller input, hence an `Err`.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// No signer was given.
    #[error("no signing key given")]
    NoSigners,
    /// The message has no From field, which every signature must cover (RFC 6376 §5.4).
    #[error("the message has no From header field (RFC 6376 §5.4: From must be signed)")]
    NoFromField,
    /// The header list does not include From (RFC 6376 §5.4).
    #[error("the signed header list must include From (RFC 6376 §5.4)")]
    FromNotSigned,
    /// The signing domain is not a valid domain name.
    #[error("invalid signing domain {domain:?}: {reason}")]
    InvalidDomain {
        /// The value given.
        domain: String,
        /// Why.
        reason: String,
    },
    /// The selector is not valid.
    #[error("invalid selector {selector:?}: {reason}")]
    InvalidSelector {
        /// The value given.
        selector: String,
        /// Why.
        reason: String,
    },
    /// The identity (`i=`) is not within the signing domain (RFC 6376 §3.5).
    #[error("identity {identity:?} is not an address at or below the signing domain")]
    InvalidIdentity {
        /// The value given.
        identity: String,
    },
    /// A header field name is not printable ASCII without a colon.
    #[error("invalid header field name {name:?}")]
    InvalidHeaderName {
        /// The value given.
        name: String,
    },
    /// Precomputed body hashes ([`crate::BodySource::Hashes`]) lack the one a signer needs
    /// ([`crate::Signer::body_hash_spec`]).
    #[error("the body hash for {spec} was not computed")]
    BodyHashNotSupplied {
        /// The missing spec, e.g. `relaxed sha256`.
        spec: String,
    },
    /// The signature engine failed (should not happen with a loaded key).
    #[error("the signature engine failed")]
    Crypto,
}
