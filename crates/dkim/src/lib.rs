//! DKIM for mailstamp: RFC 6376 as updated by RFC 8301 (no rsa-sha1, no short keys), RFC 8463
//! (ed25519-sha256) and RFC 8616 (internationalized mail).
//!
//! What this crate does:
//!
//! * **Verification** ([`verify`]): every DKIM-Signature field of a message, up to a limit, gets
//!   its own [`DkimVerdict`]: an RFC 8601 [`DkimResult`], a [`DkimProblem`] citing the RFC
//!   section, [`SignatureDetails`] for a postmaster, and [`Forensics`] (the canonical header
//!   block that was hashed, computed and stated body hashes) for failures. Verification is a
//!   sans-I/O state machine: [`verify`] returns a [`mailstamp_dns::Step`] whose
//!   [`PendingKeys`] asks for all key records at once, and resuming it with the answers ends the
//!   verification. A [`KeyCache`] parses each key record once, however many messages use it.
//! * **Signing** ([`sign`]): several keys in one pass over the body ([`Signer`]), relaxed/relaxed
//!   by default, RFC 6376 §5.4.1 headers oversigned, `t=` always, `x=` and `l=` on request, the
//!   field folded at 78 columns. Keys are loaded from PKCS#8 or PKCS#1 PEM ([`SigningKey`]).
//! * **Keys and records**: key generation ([`generate_rsa`], [`generate_ed25519`]), the TXT
//!   record to publish ([`KeyRecordText`], [`split_txt`]) and checking a published record
//!   against a private key ([`check_key`]).
//! * **Building blocks**: tag lists ([`TagList`], RFC 6376 §3.2), signatures ([`Signature`],
//!   §3.5, its `h=` names kept in one string as [`HeaderNames`]), key records ([`KeyRecord`], §3.6.1), canonicalization ([`canonicalize_header`],
//!   [`canonicalize_body`], §3.4) and streaming body hashes ([`BodyHashSet`], §3.7).
//!
//! ring performs the RSA operations by default, and ed25519-dalek the Ed25519 ones (measured
//! faster than ring's; ring still reads the keys); with the `aws-lc` cargo feature, AWS-LC
//! (aws-lc-rs) does all of them, for long-running signers and verifiers (the choice is made in
//! one module, [`crypto`]); sha2 computes body hashes; the `rsa` crate only generates RSA keys
//! and reads PKCS#1 keys. PEM (RFC 7468) and DER (key record `p=`, PKCS#8, PKCS#1,
//! SubjectPublicKeyInfo) are read and written by the RustCrypto `pem-rfc7468`, `der`, `spki`,
//! `pkcs8` and `pkcs1` crates, except the RSA SubjectPublicKeyInfo in the usual form
//! (rsaEncryption, NULL parameters), which a few byte comparisons read; a property test checks
//! that this quick read accepts nothing the full read refuses and gives the same key, and
//! anything else goes to the full read. The base64 of `b=`, `bh=` and `p=` values is decoded in one
//! pass by `encodify`'s incremental standard decoder (`decode_symbols`), this crate reading
//! only the folding whitespace and padding between its runs. It accepts exactly what the
//! `base64` crate's standard engine accepted before (property-tested; it still encodes);
//! only the byte named in an invalid-base64 error may differ. Not `encodify`'s LENIENT mode,
//! which would accept more.
//!
//! # API map for tools
//!
//! * **verify**: [`mailstamp_message::Message::parse`] the bytes, [`verify`] with a [`Policy`]
//!   and `now`, answer [`PendingKeys::queries`] (TXT) and [`PendingKeys::resume_with_cache`]
//!   (or [`mailstamp_dns::Lookup::resume`], or [`mailstamp_dns::resolve_sync`] with a zone).
//!   The [`DkimReport`] has one [`DkimVerdict`] per signature: `result`, `problem` (its
//!   `Display` is the sentence, [`DkimProblem::code`] the JSON code), `details` (domain,
//!   selector, algorithm, key size...) and, for failures, `forensics` (the `--explain` data).
//!   [`DkimReport::has_pass`] and [`DkimReport::result`] summarise; all of it is `Serialize`.
//! * **streamed bodies**: a caller that keeps no body (a milter) lists the hashes it needs
//!   at end of header ([`body_hash_specs`], [`Signer::body_hash_spec`]), feeds the body to a
//!   [`BodyHashSet`], and passes [`BodySource::Hashes`] to [`verify_with_body`] or
//!   [`sign_with_body`] with the header section only; [`BodySource::Message`] is what
//!   [`verify`] and [`sign`] use. Both run the same code.
//! * **sign**: [`SigningKey::from_pem`] per key file, [`Signer::new`] with `d=`/`s=` and the
//!   builder methods ([`Signer::with_canonicalization`], [`Signer::with_headers`],
//!   [`Signer::with_oversigning`], [`Signer::with_expiry`], [`Signer::with_body_length`]),
//!   then [`sign`] with every signer at once. [`SignedFields::prepend_to`] gives the signed
//!   message, [`SignedFields::header_bytes`] only the new fields, and
//!   [`SignedFields::warnings`] what to tell the user (`l=`).
//! * **keygen**: [`generate_rsa`] or [`generate_ed25519`]; write
//!   [`GeneratedKey::private_key_pem`] (mode 0600); publish [`GeneratedKey::record`]
//!   ([`KeyRecordText::with_testing`], then [`KeyRecordText::zone_line`] with
//!   [`key_record_name`], [`KeyRecordText::value`] or [`KeyRecordText::txt_strings`]).
//! * **keycheck**: query TXT at [`key_record_name`], then [`check_key`] with the answer and
//!   the private key; [`KeyCheck`] lists the findings ([`KeyFinding::is_error`]).
//!
//! What it does **not** do: it performs no DNS queries and no I/O of any kind (the caller
//! answers [`PendingKeys::queries`]), never reads the clock (`now` is passed in), does not
//! implement DomainKeys (RFC 4870), ARC, or DMARC alignment, and never signs with rsa-sha1.
//! Messages with bare LF line endings are verified and signed as if they had CRLF
//! ([`mailstamp_message::Message`] normalises them and verdicts report it).
//!
//! # Example
//!
//! Verifying the RFC 8463 Appendix A example message with its published keys:
//!
//! ```
//! use mailstamp_dkim::{DkimResult, Policy, verify};
//! use mailstamp_dns::{Name, Zone, resolve_sync};
//! use mailstamp_message::Message;
//!
//! let raw = concat!(
//!     "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n",
//!     " d=football.example.com; i=@football.example.com;\r\n",
//!     " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n",
//!     " subject : date : message-id : from : subject : date;\r\n",
//!     " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n",
//!     " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n",
//!     " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n",
//!     "From: Joe SixPack <joe@football.example.com>\r\n",
//!     "To: Suzie Q <suzie@shopping.example.net>\r\n",
//!     "Subject: Is dinner ready?\r\n",
//!     "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n",
//!     "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n",
//!     "\r\n",
//!     "Hi.\r\n",
//!     "\r\n",
//!     "We lost the game.  Are you hungry yet?\r\n",
//!     "\r\n",
//!     "Joe.\r\n",
//! );
//! let mut zone = Zone::new();
//! zone.add_txt(
//!     &Name::parse("brisbane._domainkey.football.example.com").unwrap(),
//!     ["v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="],
//! );
//! let message = Message::parse(raw.as_bytes());
//! let report = resolve_sync(verify(&message, &Policy::default(), 1_528_637_909), &zone);
//! let verdict = &report.signatures[0];
//! assert_eq!(verdict.result, DkimResult::Pass);
//! assert_eq!(verdict.details.key_bits, Some(256));
//! assert_eq!(report.result(), DkimResult::Pass);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod asn1;
mod b64;
mod canon;
pub mod crypto;
#[cfg(test)]
mod crypto_tests;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod header_names;
mod key;
mod keys;
mod names;
mod pem;
mod result;
mod sign;
mod sign_error;
mod signature;
mod signing_key;
mod tag;
mod verify;

pub use canon::{
    BodyHash, BodyHashSet, BodyHashSpec, BodyHashes, BodySource, Canonicalization,
    Canonicalizations, UnknownCanonicalization, body_hash, canonicalize_body, canonicalize_header,
};
pub use header_names::{HeaderNameIter, HeaderNames};
pub use key::{HashAlgorithm, KeyCache, KeyFlags, KeyRecord, KeyRecordError, KeyType, PublicKey};
pub use keys::{
    GeneratedKey, KeyCheck, KeyFinding, KeyRecordText, KeygenError, MAX_TXT_STRING, RSA_KEY_SIZES,
    check_key, check_key_public, generate_ed25519, generate_rsa, public_key_from_pem, quote_txt,
    split_txt,
};
pub use names::key_record_name;
pub use result::{
    DkimProblem, DkimReport, DkimResult, DkimVerdict, Forensics, SignatureDetails,
    UnknownDkimResult,
};
pub use sign::{
    DEFAULT_SIGNED_HEADERS, HeaderSelection, MAX_LINE_COLUMNS, SignWarning, SignatureField,
    SignedFields, Signer, append_signed_fields, sign, sign_with_body,
};
pub use sign_error::SignError;
pub use signature::{Identity, Signature, SignatureError, SigningAlgorithm, UnknownAlgorithm};
pub use signing_key::{KeyLoadError, SigningKey};
pub use tag::{Tag, TagList, TagListError, TagListErrorKind};
pub use verify::{
    DEFAULT_CLOCK_SKEW, DEFAULT_MAX_SIGNATURES, MAX_RSA_BITS, MIN_RSA_BITS, PendingKeys, Policy,
    body_hash_specs, check_signature, header_hash_input, verify, verify_for_authors,
    verify_with_body,
};
