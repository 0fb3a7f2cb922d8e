//! Authentication-Results (RFC 8601) and Received-SPF (RFC 7208 §9.1) header fields: an
//! injection-safe writer and a tolerant parser.
//!
//! * [`AuthenticationResults`]: an authserv-id (RFC 8601 §2.5) with an optional version
//!   (§2.6) and a list of [`ResInfo`] (`method[/version]=result`, comment, `reason=`,
//!   [`Property`] `ptype.property=value`); `none` when the list is empty.
//!   [`header_b_prefixes`] picks the `header.b` values that tell a message's DKIM signatures
//!   apart (RFC 6008 §4).
//! * [`ReceivedSpf`]: a [`ReceivedSpfResult`], a comment and key-value pairs (`client-ip`,
//!   `envelope-from`, `helo`, `problem`, `receiver`, `identity`, `mechanism`, extensions).
//! * Both write a folded field value (`to_value`) or the whole field with its CRLF
//!   (`to_field`), and parse a field value back (`parse`) into the same structure, with
//!   [`ParseError`]s that carry a byte offset.
//! * `fuzzing` (cargo feature `fuzzing`): the body of the `authres_parse` fuzz target, callable
//!   on stable Rust; not part of the public API of a default build.
//!
//! It does **not** evaluate SPF, DKIM or DMARC, and does not depend on the crates that do: it
//! takes plain inputs (method names and result tokens as [`Keyword`]s, values as strings), so
//! the `mailstamp` crate maps each verdict into it. It does not decide which fields to trust
//! or remove (RFC 8601 §5, §7.1): it reports the authserv-id and leaves that to the caller. It
//! performs no I/O and never reads the clock.
//!
//! # Writing
//!
//! Values come from messages, SMTP sessions and DNS records, so the writer treats every one
//! as hostile. Whatever they hold, the output is exactly one header field of printable ASCII
//! whose only line breaks are folds (CRLF followed by a space), no longer than 998 octets per
//! line, in which a value can never end, add or reorder a field, resinfo, property or pair:
//!
//! * Method, result, ptype, property and key names are [`Keyword`]s: letters, digits, `-` and
//!   `_` only, checked when the keyword is made.
//! * Every other string goes through one character rule: printable ASCII is kept, every other
//!   character (CR, LF, TAB and the other controls, DEL, anything outside ASCII) becomes the
//!   `%XX` form of each of its UTF-8 octets (`jörg` → `j%C3%B6rg`); inside comments `(`, `)`,
//!   `\`, `;` and `"` are encoded too. The text is then cut to [`MAX_VALUE_LEN`] octets at a
//!   character boundary. The rule is idempotent but not reversible (a `%` already present is
//!   kept as it is).
//! * The result is written bare only where the grammar allows it (an RFC 2045 token; for
//!   property values also `[local-part] "@" domain-name`, RFC 8601 §2.2; for Received-SPF a
//!   dot-atom) and as an RFC 5322 quoted-string otherwise, where `"` and `\` become
//!   quoted-pairs. So `;` and `(` appear only inside quoted strings.
//! * Lines are folded at no more than [`LINE_WIDTH`] (78) columns where possible: a short
//!   field stays on one line, a longer one puts each resinfo on its own line and wraps long
//!   ones between properties, and long quoted strings and comments before one of their
//!   spaces (unfolding restores them exactly).
//!
//! Reading a written field back gives the same structure with every string passed through
//! the character rule; [`ResInfo::nonstandard`] is never written.
//!
//! # Parsing
//!
//! The parsers follow RFC 8601 §2.2 and RFC 7208 §9.1 (with erratum 5436), comments and folds
//! allowed wherever CFWS is, and accept what real producers write (case, spacing, trailing
//! `;`, Microsoft 365's missing authserv-id and `action=` pairs, unquoted `/`, `:` and `@` in
//! values). A line break that is not a fold is always an error: it would end the field.
//!
//! # Example
//!
//! ```
//! use mailstamp_authres::{
//!     AuthenticationResults, Keyword, Property, ResInfo, header_b_prefixes,
//! };
//!
//! let b = header_b_prefixes(&["dGhpcyBpcyBub3QgYSBzaWduYXR1cmU=", "c2Vjb25k"]);
//! let ar = AuthenticationResults::new("mx.example.org")
//!     .with(
//!         ResInfo::new(Keyword::from_static("spf"), Keyword::from_static("pass"))
//!             .with_property(Property::smtp_mailfrom("example.com")),
//!     )
//!     .with(
//!         ResInfo::new(Keyword::from_static("dkim"), Keyword::from_static("pass"))
//!             .with_property(Property::header_d("example.com"))
//!             .with_property(Property::header_s("sel1"))
//!             .with_property(Property::header_b(&b[0])),
//!     )
//!     .with(
//!         ResInfo::new(Keyword::from_static("dmarc"), Keyword::from_static("pass"))
//!             // A hostile value cannot break out of its quoted string.
//!             .with_property(Property::header_from("example.com\r\nX-Evil: 1; spf=pass")),
//!     );
//! assert_eq!(
//!     ar.to_field(),
//!     "Authentication-Results: mx.example.org;\r\n  \
//!      spf=pass smtp.mailfrom=example.com;\r\n  \
//!      dkim=pass header.d=example.com header.s=sel1 header.b=dGhpcyBp;\r\n  \
//!      dmarc=pass header.from=\"example.com%0D%0AX-Evil: 1; spf=pass\"\r\n"
//! );
//!
//! let parsed = AuthenticationResults::parse(ar.to_value()).unwrap();
//! assert_eq!(parsed.results.len(), 3);
//! let dkim = parsed.results_for("dkim").next().unwrap();
//! assert_eq!(dkim.property("header", "b"), Some("dGhpcyBp"));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod authres;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod keyword;
mod lex;
mod received_spf;
mod write;

pub use authres::{
    AUTHENTICATION_RESULTS, AuthenticationResults, AuthservClaim, MIN_HEADER_B_LEN, Property,
    ResInfo, authserv_claim, header_b_prefix, header_b_prefixes,
};
pub use error::{ParseError, ParseErrorKind};
pub use keyword::{Keyword, KeywordError, MAX_KEYWORD_LEN};
pub use received_spf::{RECEIVED_SPF, ReceivedSpf, ReceivedSpfResult, UnknownSpfResult};
pub use write::{LINE_WIDTH, MAX_LINE_LEN, MAX_VALUE_LEN};
