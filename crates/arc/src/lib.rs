//! ARC, the Authenticated Received Chain (RFC 8617), for mailstamp: validate a message's chain
//! and seal it as an intermediary.
//!
//! * **Parsing** ([`MessageSignature`], [`Seal`], [`parse_aar`], [`collect_sets`]): the
//!   three ARC header fields (RFC 8617 §4.1) grouped into sets by instance (§4.2).
//! * **Validation** ([`validate`]): RFC 8617 §5.2 as a sans-I/O state machine. The structure
//!   (instances 1..=50 without gaps or duplicates, one AAR, AMS and ARC-Seal per set, the
//!   `cv=` of every seal) is checked at once; then one [`mailstamp_dns::Step::Lookup`] asks
//!   for every key record, and resuming it checks the newest AMS, every older AMS for §7.2's
//!   oldest-pass, and every seal. The [`ArcVerdict`] has the [`ArcResult`] (`none`, `pass`,
//!   `fail`), the failing instance, the [`ArcProblem`] citing its section, and a
//!   [`SetReport`] per set (sealer, AAR payload, each signature's check).
//! * **Sealing** ([`Sealer::seal`]): the next set (AAR from the sealer's own
//!   Authentication-Results payload, AMS, ARC-Seal with the `cv=` of the validation), with
//!   rsa-sha256 or ed25519-sha256; a chain whose newest seal says `cv=fail` is not extended
//!   ([`NotSealed`]), and a `fail` chain is sealed with `cv=fail` over the new set only
//!   (§5.1.2).
//!
//! # Why a crate of its own
//!
//! ARC reuses DKIM's machinery: tag lists, canonicalization, body hashes, key records and
//! their RFC 8301 rules, and ring's signing and verification, all public API of
//! `mailstamp-dkim` ([`mailstamp_dkim::TagList`], [`mailstamp_dkim::canonicalize_header`],
//! [`mailstamp_dkim::BodyHashSet`], [`mailstamp_dkim::KeyRecord`],
//! [`mailstamp_dkim::SigningKey`], [`mailstamp_dkim::check_signature`]). What ARC adds is
//! its own: instances, sets, the chain, `cv=`, the seal's signing scope. Keeping that here
//! keeps the DKIM crate about DKIM, lets the two evolve apart, and keeps this crate as
//! sans-I/O as DKIM's: it performs no DNS queries, reads no clock (`now` is passed in) and
//! takes no randomness (RSA PKCS#1 v1.5 and Ed25519 signatures are deterministic).
//!
//! # Choices
//!
//! * RFC 8301 applies as in DKIM: `rsa-sha1` is never valid, RSA keys must have at least
//!   1024 bits to verify, and [`mailstamp_dkim::SigningKey`] signs with 2048–4096-bit RSA or
//!   Ed25519 only.
//! * A set is defined by its instance alone (RFC 8617 §4.2.1): fields of one set spread over
//!   the header are grouped like adjacent ones.
//! * An ARC-Seal with `h=` (§4.1.3: "MUST result in a cv status of fail") or any tag other
//!   than i, a, b, cv, d, s, t fails the chain; unknown AMS tags are ignored like unknown
//!   DKIM tags (§4.1.2).
//! * Fields longer than [`MAX_FIELD_LEN`] fail the chain (§9.1).
//! * The seals mailstamp writes list their tags in alphabetical order, separated by `; `,
//!   and never fold inside a `b=` value: the format of the ARC test suite's reference
//!   signer.
//!
//! # Example
//!
//! ```
//! use mailstamp_arc::{ArcResult, SealOutcome, Sealer, validate};
//! use mailstamp_dkim::SigningKey;
//! use mailstamp_dns::{Name, Zone, resolve_sync};
//! use mailstamp_message::Message;
//!
//! // RFC 8032 §7.1 test 1 seed and its public key.
//! let seed = [0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92,
//!     0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03,
//!     0x1c, 0xae, 0x7f, 0x60];
//! let key = SigningKey::from_ed25519_seed(&seed).unwrap();
//! let mut zone = Zone::new();
//! zone.add_txt(
//!     &Name::parse("arc._domainkey.lists.example").unwrap(),
//!     ["v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="],
//! );
//! let raw = b"From: a@example.com\r\nTo: b@lists.example\r\nSubject: hi\r\n\r\nHello\r\n";
//! let now = 1_700_000_000;
//!
//! // The list validates what it received (no chain yet), then seals.
//! let verdict = resolve_sync(validate(&Message::parse(raw), now), &zone);
//! assert_eq!(verdict.result, ArcResult::None);
//! let sealer = Sealer::new(key, "lists.example", "arc").unwrap();
//! let SealOutcome::Sealed(set) = sealer
//!     .seal(&Message::parse(raw), verdict.result, "lists.example; spf=pass smtp.mailfrom=example.com", now)
//!     .unwrap()
//! else {
//!     panic!("not sealed")
//! };
//! let sealed = set.prepend_to(raw);
//!
//! // The next hop validates the chain.
//! let verdict = resolve_sync(validate(&Message::parse(&sealed), now), &zone);
//! assert_eq!(verdict.result, ArcResult::Pass);
//! assert_eq!(verdict.oldest_pass, Some(0));
//! assert_eq!(verdict.sealers().collect::<Vec<_>>(), ["lists.example"]);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod header;
mod result;
mod seal;
mod validate;

// Lets `fuzzing.rs` name this crate the same way from inside it and from the integration test,
// which includes that file by path (the module is behind the `fuzzing` feature).
extern crate self as mailstamp_arc;

pub use header::{
    Common, MAX_FIELD_LEN, MAX_INSTANCE, MessageSignature, Seal, SetFields, collect_sets,
    field_kind, instance_of, parse_aar,
};
pub use result::{
    ArcProblem, ArcResult, ArcVerdict, FieldKind, SetReport, SignatureCheck, UnknownArcResult,
};
pub use seal::{
    ArcSet, NotSealed, SealError, SealKey, SealOutcome, Sealer, combined_authres_payload,
};
pub use validate::{PendingArcKeys, body_hash_specs, validate, validate_with_body};
