//! The Authentication-Results header field (RFC 8601).

use std::fmt;

use crate::error::{ParseError, ParseErrorKind};
use crate::keyword::Keyword;
use crate::lex::Cursor;
use crate::write::{self, Folder, Form, LINE_WIDTH, Sep, Units};

/// The field name, as RFC 8601 §2.2 spells it.
pub const AUTHENTICATION_RESULTS: &str = "Authentication-Results";

/// Indentation of a line that starts a resinfo.
const RESINFO_INDENT: &str = "  ";
/// Indentation of a line that continues a resinfo.
const CONTINUATION_INDENT: &str = "    ";

/// One Authentication-Results field (RFC 8601 §2.2): who checked, and what they found.
///
/// Written with [`to_field`](Self::to_field) or [`to_value`](Self::to_value), read with
/// [`parse`](Self::parse). An empty [`results`](Self::results) list is written as `none`
/// ("no message authentication was performed", RFC 8601 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthenticationResults {
    /// The authentication service identifier (authserv-id, RFC 8601 §2.5), usually the
    /// receiving ADMD's domain name. Consumers decide from it whether to trust the field.
    ///
    /// Empty when a parsed field omitted it, as Microsoft 365 does. Such a field cannot be
    /// attributed to anyone and should not be trusted.
    pub authserv_id: String,
    /// The version of the field's syntax (`authres-version`, RFC 8601 §2.6); `None` means 1.
    pub version: Option<u32>,
    /// The results (`resinfo`, RFC 8601 §2.2), in field order.
    pub results: Vec<ResInfo>,
}

/// One result: `method[/version]=result`, an optional comment and reason, and properties
/// (`resinfo`, RFC 8601 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResInfo {
    /// The method (`spf`, `dkim`, `dmarc`, `iprev`, `auth`, `arc`, or an extension method,
    /// RFC 8601 §2.7).
    pub method: Keyword,
    /// The method's version (`method-version`, RFC 8601 §2.6); `None` means 1.
    pub method_version: Option<u32>,
    /// The result token (`pass`, `fail`, …; RFC 8601 §2.7).
    pub result: Keyword,
    /// A comment right after the result, as most producers write one (`dkim=pass (2048-bit
    /// key)`). When parsing, other comments are skipped as whitespace (RFC 5322 §3.2.2).
    pub comment: Option<String>,
    /// The `reason=` value (`reasonspec`, RFC 8601 §2.2).
    pub reason: Option<String>,
    /// The properties (`propspec`: `ptype.property=pvalue`, RFC 8601 §2.3), in field order.
    pub properties: Vec<Property>,
    /// `key=value` pairs without a ptype that some producers write although RFC 8601 has no
    /// place for them (Microsoft 365's `action=none`, Fastmail's `x-bits=2048`), and a repeated
    /// `reason=`. The parser keeps them; the writer does not write them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nonstandard: Vec<(Keyword, String)>,
}

/// A property: `ptype.property=pvalue` (RFC 8601 §2.2, §2.3).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Property {
    /// The property type: `smtp`, `header`, `body`, `policy` or an extension (RFC 8601 §2.3).
    pub ptype: Keyword,
    /// The property: `mailfrom`, `helo`, `d`, `i`, `s`, `a`, `b`, `from`, … (RFC 8601 §2.3).
    pub name: Keyword,
    /// The value, unquoted.
    pub value: String,
}

const SMTP: Keyword = Keyword::from_static("smtp");
const HEADER: Keyword = Keyword::from_static("header");
const POLICY: Keyword = Keyword::from_static("policy");

impl Property {
    /// A property with any ptype and name.
    pub fn new(ptype: Keyword, name: Keyword, value: impl Into<String>) -> Property {
        Property {
            ptype,
            name,
            value: value.into(),
        }
    }

    /// `smtp.mailfrom`: the MAIL FROM identity SPF checked (RFC 8601 §2.7.2). Pass the domain
    /// alone unless the SPF record examined the local-part (RFC 8601 §2.7.2 SHOULD NOT).
    pub fn smtp_mailfrom(value: impl Into<String>) -> Property {
        Property::new(SMTP, Keyword::from_static("mailfrom"), value)
    }

    /// `smtp.helo`: the HELO/EHLO identity (RFC 8601 §2.7.2).
    pub fn smtp_helo(value: impl Into<String>) -> Property {
        Property::new(SMTP, Keyword::from_static("helo"), value)
    }

    /// `header.d`: the DKIM signing domain, `d=` (RFC 8601 §2.7.1).
    pub fn header_d(value: impl Into<String>) -> Property {
        Property::new(HEADER, Keyword::from_static("d"), value)
    }

    /// `header.i`: the DKIM agent or user identifier, `i=` (RFC 8601 §2.7.1).
    pub fn header_i(value: impl Into<String>) -> Property {
        Property::new(HEADER, Keyword::from_static("i"), value)
    }

    /// `header.s`: the DKIM selector, `s=` (RFC 8601 §2.7.1, §6.3.2).
    pub fn header_s(value: impl Into<String>) -> Property {
        Property::new(HEADER, Keyword::from_static("s"), value)
    }

    /// `header.a`: the DKIM algorithm, `a=` (RFC 8601 §2.7.1, §6.3.1).
    pub fn header_a(value: impl Into<String>) -> Property {
        Property::new(HEADER, Keyword::from_static("a"), value)
    }

    /// `header.b`: a prefix of the DKIM signature, `b=` (RFC 6008 §4); see
    /// [`header_b_prefixes`] for choosing it.
    pub fn header_b(value: impl Into<String>) -> Property {
        Property::new(HEADER, Keyword::from_static("b"), value)
    }

    /// `header.from`: the RFC5322.From domain DMARC evaluated (RFC 7489 §11.2, RFC 9989).
    pub fn header_from(value: impl Into<String>) -> Property {
        Property::new(HEADER, Keyword::from_static("from"), value)
    }

    /// `policy.<name>`: a local policy decision (RFC 8601 §2.4), such as `policy.dmarc=reject`.
    pub fn policy(name: Keyword, value: impl Into<String>) -> Property {
        Property::new(POLICY, name, value)
    }
}

impl ResInfo {
    /// A result with no comment, reason or properties.
    pub fn new(method: Keyword, result: Keyword) -> ResInfo {
        ResInfo {
            method,
            method_version: None,
            result,
            comment: None,
            reason: None,
            properties: Vec::new(),
            nonstandard: Vec::new(),
        }
    }

    /// Sets the comment written after the result.
    pub fn with_comment(mut self, comment: impl Into<String>) -> ResInfo {
        self.comment = Some(comment.into());
        self
    }

    /// Sets `reason=`.
    pub fn with_reason(mut self, reason: impl Into<String>) -> ResInfo {
        self.reason = Some(reason.into());
        self
    }

    /// Appends a property.
    pub fn with_property(mut self, property: Property) -> ResInfo {
        self.properties.push(property);
        self
    }

    /// The value of the first property `ptype.name` (compared case-insensitively).
    pub fn property(&self, ptype: &str, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|p| p.ptype == ptype && p.name == name)
            .map(|p| p.value.as_str())
    }
}

impl AuthenticationResults {
    /// A field with the given authserv-id and no results yet.
    pub fn new(authserv_id: impl Into<String>) -> AuthenticationResults {
        AuthenticationResults {
            authserv_id: authserv_id.into(),
            version: None,
            results: Vec::new(),
        }
    }

    /// Appends a result.
    pub fn with(mut self, result: ResInfo) -> AuthenticationResults {
        self.results.push(result);
        self
    }

    /// The results of one method (compared case-insensitively), in field order.
    pub fn results_for<'a>(&'a self, method: &'a str) -> impl Iterator<Item = &'a ResInfo> + 'a {
        self.results.iter().filter(move |r| r.method == method)
    }

    /// The field value, folded to fit after `Authentication-Results: ` (see the
    /// [writing rules](crate#writing)). It holds no line break other than folds.
    pub fn to_value(&self) -> String {
        let start = AUTHENTICATION_RESULTS.len() + 2;
        let units = self.units();
        // Length on one line: units joined by spaces, except that `;` is glued.
        let spaces = units.iter().filter(|(_, u)| *u != ";").count();
        let one_line = start + units.len() + spaces.saturating_sub(1) <= LINE_WIDTH;
        let mut folder = Folder::new(start, units.len() + 8 * spaces);
        for (starts_resinfo, unit) in units.iter() {
            let sep = if unit == ";" {
                Sep::Glue
            } else if starts_resinfo && !one_line {
                Sep::Newline {
                    indent: RESINFO_INDENT,
                }
            } else {
                Sep::Space {
                    indent: CONTINUATION_INDENT,
                }
            };
            folder.push(sep, unit);
        }
        folder.finish()
    }

    /// The whole field: `Authentication-Results: <value>\r\n`.
    pub fn to_field(&self) -> String {
        format!("{AUTHENTICATION_RESULTS}: {}\r\n", self.to_value())
    }

    /// The written units, each flagged when it starts a resinfo; `;` separators are units of
    /// their own so the folder can glue them.
    fn units(&self) -> Units {
        let mut u = Units::new();
        u.value(&self.authserv_id, Form::Value).end(false);
        if let Some(v) = self.version {
            u.text(&v.to_string()).end(false);
        }
        if self.results.is_empty() {
            u.text(";").end(false);
            u.text("none").end(false);
        }
        for r in &self.results {
            u.text(";").end(false);
            u.text(r.method.as_str());
            if let Some(v) = r.method_version {
                u.text("/").text(&v.to_string());
            }
            u.text("=").text(r.result.as_str()).end(true);
            if let Some(c) = &r.comment {
                u.comment(c).end(false);
            }
            if let Some(reason) = &r.reason {
                u.text("reason=").value(reason, Form::Value).end(false);
            }
            for p in &r.properties {
                u.text(p.ptype.as_str())
                    .text(".")
                    .text(p.name.as_str())
                    .text("=")
                    .value(&p.value, Form::PValue)
                    .end(false);
            }
        }
        u
    }

    /// Parses a field value (the text after `Authentication-Results:`; a trailing CRLF is
    /// allowed).
    ///
    /// Follows the grammar of RFC 8601 §2.2 with comments and folding wherever CFWS may
    /// appear, and tolerates what real producers write: keywords in any case, missing or
    /// extra spaces, a trailing `;`, empty resinfos, `none` anywhere, unquoted values with
    /// `/`, `:` or `@`, `key=value` pairs without a ptype (kept in
    /// [`ResInfo::nonstandard`]), a missing authserv-id (left empty), LF-only line breaks and
    /// octets that are not UTF-8 inside values (replaced by U+FFFD). Unknown methods, results
    /// and ptypes are kept: deciding what to trust is the caller's job (RFC 8601 §2.3, §2.7.6).
    ///
    /// A line break that is not a fold is an error: it would end the field.
    pub fn parse(input: impl AsRef<[u8]>) -> Result<AuthenticationResults, ParseError> {
        parse(input.as_ref())
    }
}

impl fmt::Display for AuthenticationResults {
    /// The field value, as [`to_value`](AuthenticationResults::to_value) writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_value())
    }
}

/// Whose results an Authentication-Results field claims to be, as far as a receiver that writes
/// fields as `ours` must know (RFC 8601 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthservClaim {
    /// The field names our authserv-id (compared case-insensitively in ASCII). If we did not add
    /// it, it is a forgery: RFC 8601 §5 says to remove (or rename) it before delivery.
    Ours,
    /// The field names another authserv-id (kept as written).
    Other(String),
    /// No authserv-id can be read from the field (missing, or the value is malformed). RFC 8601
    /// §5 leaves such a field untrusted; a receiver removes it like one of its own, since a
    /// downstream parser might read our id out of it.
    Unparseable,
}

impl AuthservClaim {
    /// True for [`AuthservClaim::Ours`] and [`AuthservClaim::Unparseable`]: the fields a
    /// receiver removes from incoming mail (RFC 8601 §5).
    pub fn must_be_removed(&self) -> bool {
        !matches!(self, AuthservClaim::Other(_))
    }
}

/// Reads only the authserv-id of an Authentication-Results field value (after the colon) and
/// says whether it claims to be `ours`. The rest of the field is not parsed: a forged field need
/// not be well-formed to mislead a filter downstream.
///
/// ```
/// use mailstamp_authres::{AuthservClaim, authserv_claim};
///
/// let forged = b" MX.Example.NET; dkim=pass header.d=example.org";
/// assert_eq!(authserv_claim(forged, "mx.example.net"), AuthservClaim::Ours);
/// let other = b" gmail.com; spf=pass";
/// assert_eq!(authserv_claim(other, "mx.example.net"), AuthservClaim::Other("gmail.com".into()));
/// assert_eq!(authserv_claim(b" dkim=pass", "mx.example.net"), AuthservClaim::Unparseable);
/// assert!(authserv_claim(b" ; spf=pass", "mx.example.net").must_be_removed());
/// ```
pub fn authserv_claim(value: &[u8], ours: &str) -> AuthservClaim {
    let mut c = Cursor::new(value);
    if c.skip_cfws().is_err() {
        return AuthservClaim::Unparseable;
    }
    if at_methodspec(&mut c) {
        return AuthservClaim::Unparseable;
    }
    let quoted = c.peek() == Some(b'"');
    let Ok(id) = c.value() else {
        return AuthservClaim::Unparseable;
    };
    if id.is_empty() || (!quoted && id.contains('=')) {
        return AuthservClaim::Unparseable;
    }
    if id.eq_ignore_ascii_case(ours) {
        AuthservClaim::Ours
    } else {
        AuthservClaim::Other(id)
    }
}

/// True when the cursor is at `method [CFWS] ("=" / "/")`, i.e. the field has no authserv-id.
fn at_methodspec(c: &mut Cursor<'_>) -> bool {
    let start = c.pos();
    let found = c.skip_keyword() && c.skip_cfws().is_ok() && matches!(c.peek(), Some(b'=' | b'/'));
    c.set_pos(start);
    found
}

fn parse(input: &[u8]) -> Result<AuthenticationResults, ParseError> {
    let mut c = Cursor::new(input);
    c.skip_cfws()?;
    let start = c.pos();
    let omitted = at_methodspec(&mut c);
    let authserv_id = if omitted {
        String::new()
    } else {
        let quoted = c.peek() == Some(b'"');
        let id = c.value()?;
        if !quoted && (id.is_empty() || id.contains('=')) {
            return Err(ParseError::new(ParseErrorKind::MissingAuthservId, start));
        }
        id
    };
    c.skip_cfws()?;
    let version = if !omitted && c.at_digit() {
        Some(c.number()?)
    } else {
        None
    };
    let mut results = Vec::new();
    let mut need_semicolon = !omitted;
    loop {
        c.skip_cfws()?;
        if c.at_end() {
            break;
        }
        if need_semicolon {
            c.expect(b';', "';'")?;
            c.skip_cfws()?;
            if c.at_end() || c.peek() == Some(b';') {
                continue;
            }
        }
        need_semicolon = true;
        let method = c.keyword("a method")?;
        c.skip_cfws()?;
        if method == "none" && (c.at_end() || c.peek() == Some(b';')) {
            continue;
        }
        results.push(resinfo(&mut c, method)?);
    }
    Ok(AuthenticationResults {
        authserv_id,
        version,
        results,
    })
}

/// The rest of a resinfo, after its method and CFWS.
fn resinfo(c: &mut Cursor<'_>, method: Keyword) -> Result<ResInfo, ParseError> {
    let method_version = if c.eat(b'/') {
        c.skip_cfws()?;
        let v = c.number()?;
        c.skip_cfws()?;
        Some(v)
    } else {
        None
    };
    c.expect(b'=', "'=' after the method")?;
    c.skip_cfws()?;
    let result = c.keyword("a result")?;
    let mut r = ResInfo::new(method, result);
    r.method_version = method_version;
    r.comment = c.skip_cfws()?;
    loop {
        if c.at_end() || c.peek() == Some(b';') {
            return Ok(r);
        }
        let name = c.keyword("a property, reason= or ';'")?;
        c.skip_cfws()?;
        if c.eat(b'.') {
            c.skip_cfws()?;
            let property = c.keyword("a property name")?;
            c.skip_cfws()?;
            c.expect(b'=', "'=' after the property")?;
            c.skip_cfws()?;
            let value = pvalue(c)?;
            r.properties.push(Property::new(name, property, value));
        } else {
            c.expect(b'=', "'.' or '='")?;
            c.skip_cfws()?;
            let value = c.value()?;
            if name == "reason" && r.reason.is_none() {
                r.reason = Some(value);
            } else {
                r.nonstandard.push((name, value));
            }
        }
        c.skip_cfws()?;
    }
}

/// `pvalue` (RFC 8601 §2.2): a value, or an address whose local-part may be a quoted-string
/// (`"john doe"@example.com`, returned in that form).
fn pvalue(c: &mut Cursor<'_>) -> Result<String, ParseError> {
    if c.peek() != Some(b'"') {
        return Ok(c.unquoted());
    }
    let quoted = c.quoted_string()?;
    if c.eat(b'@') {
        let domain = c.unquoted();
        return Ok(format!("{}@{domain}", write::quote(&quoted)));
    }
    Ok(quoted)
}

/// Shortest prefix of a DKIM signature that RFC 6008 §4 allows in `header.b`: eight
/// characters.
pub const MIN_HEADER_B_LEN: usize = 8;

/// Chooses the `header.b` value (RFC 6008 §4) for each of a message's DKIM signatures.
///
/// `signatures` are the `b=` tag values of the DKIM-Signature fields being reported (whitespace,
/// which folding puts inside them, is removed). For each, the result is the shortest prefix of
/// at least [`MIN_HEADER_B_LEN`] characters that no other, different, signature starts with, so
/// a consumer matching prefixes can tell the results apart; a signature shorter than that, or
/// one that is a prefix of another, is reported whole. Identical signatures (a copied
/// signature) cannot be told apart and are reported whole. Runs in O(n log n) comparisons.
pub fn header_b_prefixes<S: AsRef<str>>(signatures: &[S]) -> Vec<String> {
    if let [only] = signatures {
        return vec![header_b_prefix(only.as_ref())];
    }
    let sigs: Vec<String> = signatures
        .iter()
        .map(|s| without_whitespace(s.as_ref()))
        .collect();
    let mut sorted: Vec<&str> = sigs.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let common = |a: &str, b: &str| a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    sigs.iter()
        .map(|sig| {
            // Equal signatures sit in sorted[first..end]; the sorted neighbours of that run
            // share the longest prefixes with `sig`.
            let first = sorted.partition_point(|s| *s < sig.as_str());
            let end = sorted.partition_point(|s| *s <= sig.as_str());
            let before = first
                .checked_sub(1)
                .and_then(|i| sorted.get(i))
                .map_or(0, |s| common(s, sig));
            let after = sorted.get(end).map_or(0, |s| common(s, sig));
            let duplicated = end.saturating_sub(first) > 1;
            let mut len = before.max(after).saturating_add(1).max(MIN_HEADER_B_LEN);
            if duplicated || len >= sig.len() {
                return sig.clone();
            }
            while !sig.is_char_boundary(len) {
                len += 1;
            }
            sig.get(..len).unwrap_or(sig).to_owned()
        })
        .collect()
}

/// [`header_b_prefixes`] of a message's only reported DKIM signature, without the list: its
/// first [`MIN_HEADER_B_LEN`] characters once whitespace is removed (nothing to tell it apart
/// from), or all of it when it is not longer than that.
///
/// ```
/// use mailstamp_authres::{header_b_prefix, header_b_prefixes};
///
/// let b = "dGhpcyBp cyBub3Qg YSBzaWdu";
/// assert_eq!(header_b_prefix(b), "dGhpcyBp");
/// assert_eq!(header_b_prefixes(&[b]), [header_b_prefix(b)]);
/// assert_eq!(header_b_prefix("c2Vj b25k"), "c2Vjb25k");
/// ```
pub fn header_b_prefix(signature: &str) -> String {
    // Its first MIN_HEADER_B_LEN characters, without cleaning the whole value.
    lone_prefix(signature)
}

/// `s` without its whitespace (`char::is_whitespace`).
fn without_whitespace(s: &str) -> String {
    if s.is_ascii() {
        // For ASCII, char::is_whitespace is exactly space and U+0009..=U+000D.
        let bytes: Vec<u8> = s
            .bytes()
            .filter(|b| !matches!(b, b' ' | b'\t'..=b'\r'))
            .collect();
        String::from_utf8(bytes).unwrap_or_default()
    } else {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }
}

/// [`header_b_prefixes`] of a single signature: its first [`MIN_HEADER_B_LEN`] characters
/// (bytes, rounded up to a character boundary) once whitespace is removed, or all of it when
/// it is not longer than that.
fn lone_prefix(sig: &str) -> String {
    let mut out = String::with_capacity(MIN_HEADER_B_LEN.saturating_add(4));
    for c in sig.chars().filter(|c| !c.is_whitespace()) {
        if out.len() >= MIN_HEADER_B_LEN {
            // Longer than the minimum: the prefix so far is the answer.
            return out;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(s: &str) -> Keyword {
        Keyword::new(s).unwrap()
    }

    #[test]
    fn rfc8601_2_2_none_when_no_results() {
        let ar = AuthenticationResults::new("example.org");
        assert_eq!(
            ar.to_field(),
            "Authentication-Results: example.org; none\r\n"
        );
        let mut ar = ar;
        ar.version = Some(1);
        assert_eq!(ar.to_value(), "example.org 1; none");
        assert_eq!(AuthenticationResults::parse(ar.to_value()).unwrap(), ar);
    }

    #[test]
    fn rfc8601_2_2_short_field_stays_on_one_line() {
        let ar = AuthenticationResults::new("example.com").with(
            ResInfo::new(kw("spf"), kw("pass"))
                .with_property(Property::smtp_mailfrom("example.net")),
        );
        assert_eq!(
            ar.to_value(),
            "example.com; spf=pass smtp.mailfrom=example.net"
        );
    }

    #[test]
    fn rfc8601_2_2_long_field_puts_each_resinfo_on_its_own_line() {
        let ar = AuthenticationResults::new("mx.example.org")
            .with(
                ResInfo::new(kw("spf"), kw("pass"))
                    .with_property(Property::smtp_mailfrom("example.com")),
            )
            .with(
                ResInfo::new(kw("dkim"), kw("pass"))
                    .with_comment("2048-bit key")
                    .with_property(Property::header_d("example.com"))
                    .with_property(Property::header_s("selector1"))
                    .with_property(Property::header_b("AbCd/EfG")),
            );
        assert_eq!(
            ar.to_value(),
            "mx.example.org;\r\n  spf=pass smtp.mailfrom=example.com;\r\n  dkim=pass \
             (2048-bit key) header.d=example.com header.s=selector1\r\n    \
             header.b=\"AbCd/EfG\""
        );
    }

    #[test]
    fn rfc8601_2_2_method_version_and_reason() {
        let mut r = ResInfo::new(kw("dkim"), kw("fail")).with_reason("bad signature");
        r.method_version = Some(1);
        let ar = AuthenticationResults::new("example.com").with(r);
        assert_eq!(
            ar.to_value(),
            "example.com; dkim/1=fail reason=\"bad signature\""
        );
        assert_eq!(AuthenticationResults::parse(ar.to_value()).unwrap(), ar);
    }

    #[test]
    fn missing_authserv_id_is_an_error_unless_a_result_follows() {
        assert_eq!(
            AuthenticationResults::parse(""),
            Err(ParseError::new(ParseErrorKind::MissingAuthservId, 0))
        );
        assert_eq!(
            AuthenticationResults::parse("  ; spf=pass"),
            Err(ParseError::new(ParseErrorKind::MissingAuthservId, 2))
        );
        assert_eq!(
            AuthenticationResults::parse("a.b=c; spf=pass"),
            Err(ParseError::new(ParseErrorKind::MissingAuthservId, 0))
        );
        let ar = AuthenticationResults::parse("spf=pass smtp.mailfrom=x.example").unwrap();
        assert_eq!(ar.authserv_id, "");
        assert_eq!(
            ar.results[0].property("smtp", "mailfrom"),
            Some("x.example")
        );
    }

    #[test]
    fn errors_name_the_offset() {
        assert_eq!(
            AuthenticationResults::parse("example.com; spf pass"),
            Err(ParseError::new(
                ParseErrorKind::Expected {
                    expected: "'=' after the method",
                    found: Some('p')
                },
                17
            ))
        );
        assert_eq!(
            AuthenticationResults::parse("example.com; spf=pass smtp.mailfrom"),
            Err(ParseError::new(
                ParseErrorKind::Expected {
                    expected: "'=' after the property",
                    found: None
                },
                35
            ))
        );
        assert_eq!(
            AuthenticationResults::parse("example.com; spf=pass reason"),
            Err(ParseError::new(
                ParseErrorKind::Expected {
                    expected: "'.' or '='",
                    found: None
                },
                28
            ))
        );
        assert_eq!(
            AuthenticationResults::parse("example.com spf=pass"),
            Err(ParseError::new(
                ParseErrorKind::Expected {
                    expected: "';'",
                    found: Some('s')
                },
                12
            ))
        );
        assert_eq!(
            AuthenticationResults::parse("example.com; spf=pass (open"),
            Err(ParseError::new(ParseErrorKind::UnterminatedComment, 22))
        );
    }

    #[test]
    fn pvalue_with_quoted_local_part() {
        let ar = AuthenticationResults::parse(
            "example.com; auth=pass smtp.auth=\"john doe\"@example.com",
        )
        .unwrap();
        assert_eq!(
            ar.results[0].property("smtp", "auth"),
            Some("\"john doe\"@example.com")
        );
        assert_eq!(AuthenticationResults::parse(ar.to_value()).unwrap(), ar);
    }

    #[test]
    fn rfc6008_4_header_b_prefixes_are_unique_and_at_least_eight() {
        let sigs = [
            "oINEO8hgn/gnunsg9n9ODSNFSDij3=",
            "EToRSuvUfQVP3BkzrTB0t0gYnBVCM=",
        ];
        assert_eq!(header_b_prefixes(&sigs), ["oINEO8hg", "EToRSuvU"]);
        // Same first 10 characters: 11 are needed.
        let sigs = ["abcdefghijKLMN", "abcdefghijXYZ", "zzz"];
        assert_eq!(
            header_b_prefixes(&sigs),
            ["abcdefghijK", "abcdefghijX", "zzz"]
        );
        // Whitespace from folding is removed; identical signatures are given whole.
        let sigs = ["abcd efgh\r\n ijkl", "abcdefghijkl", "abcdefghXYZW"];
        assert_eq!(
            header_b_prefixes(&sigs),
            ["abcdefghijkl", "abcdefghijkl", "abcdefghX"]
        );
        // A signature that is a prefix of another is given whole.
        let sigs = ["abcdefghij", "abcdefghijklmnop"];
        assert_eq!(header_b_prefixes(&sigs), ["abcdefghij", "abcdefghijk"]);
        assert!(header_b_prefixes::<&str>(&[]).is_empty());
        // Non-ASCII (hostile) values are cut at character boundaries.
        let sigs = ["ééééé1", "ééééé2"];
        assert_eq!(header_b_prefixes(&sigs), ["ééééé1", "ééééé2"]);
    }

    #[test]
    fn rfc6008_4_header_b_prefix_of_a_single_signature() {
        // Eight characters once folding whitespace is removed.
        assert_eq!(header_b_prefixes(&["ab\tcd\r\n efgh ijkl="]), ["abcdefgh"]);
        // Eight or fewer: whole.
        assert_eq!(header_b_prefixes(&["abcd efgh"]), ["abcdefgh"]);
        assert_eq!(header_b_prefixes(&["abc"]), ["abc"]);
        assert_eq!(header_b_prefixes(&[" \t"]), [""]);
        // Cut at the first character boundary at or after eight bytes.
        assert_eq!(header_b_prefixes(&["abcdefgé9"]), ["abcdefgé"]);
        assert_eq!(header_b_prefixes(&["abcdefgé"]), ["abcdefgé"]);
        // The same as the general path gives when the other signature shares nothing.
        assert_eq!(
            header_b_prefixes(&["ab cdéfghij", "zz"])[0],
            header_b_prefixes(&["ab cdéfghij"])[0]
        );
    }

    #[test]
    fn rfc6008_4_header_b_prefixes_scale() {
        let sigs: Vec<String> = (0..1000).map(|i| format!("{:0>40}", i)).collect();
        let prefixes = header_b_prefixes(&sigs);
        for (i, p) in prefixes.iter().enumerate() {
            let matching = sigs.iter().filter(|s| s.starts_with(p.as_str())).count();
            assert_eq!(matching, 1, "prefix {p} of signature {i}");
            assert_eq!(p.len(), 40, "only the last digits differ");
        }
    }
}
