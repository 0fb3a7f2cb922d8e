//! The DMARC Policy Record: tags, values and the parser (RFC 9989 §4.7, §4.8).

use mailstamp_dns::Name;
use serde::Serialize;
use std::fmt;

/// A Domain Owner Assessment Policy: the `p`, `sp` and `np` values (RFC 9989 §4.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// `none`: the Domain Owner offers no expression of preference.
    None,
    /// `quarantine`: failing mail is suspicious.
    Quarantine,
    /// `reject`: failing mail is a clear indication that the use of the domain is not valid.
    Reject,
}

impl Policy {
    /// The token as written in a record (`none`, `quarantine`, `reject`).
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }

    /// The policy one level below this one, as `t=y` (testing mode) asks: `reject` becomes
    /// `quarantine`, `quarantine` becomes `none`, `none` stays `none` (RFC 9989 §4.7, tag `t`).
    pub fn one_level_below(self) -> Policy {
        match self {
            Policy::Reject => Policy::Quarantine,
            Policy::Quarantine | Policy::None => Policy::None,
        }
    }

    /// Parses a `dmarc-request` value; ABNF strings are case-insensitive (RFC 5234 §2.3).
    fn parse(value: &[u8]) -> Option<Policy> {
        if value.eq_ignore_ascii_case(b"none") {
            Some(Policy::None)
        } else if value.eq_ignore_ascii_case(b"quarantine") {
            Some(Policy::Quarantine)
        } else if value.eq_ignore_ascii_case(b"reject") {
            Some(Policy::Reject)
        } else {
            None
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value is not `none`, `quarantine` or `reject`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown DMARC policy {0:?} (expected none, quarantine or reject)")]
pub struct UnknownPolicy(pub String);

impl std::str::FromStr for Policy {
    type Err = UnknownPolicy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::parse(s.as_bytes()).ok_or_else(|| UnknownPolicy(s.to_owned()))
    }
}

/// Identifier Alignment mode: the `adkim` and `aspf` values (RFC 9989 §3.2.10, §4.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Alignment {
    /// `r`: the two domains have the same Organizational Domain (the default).
    #[default]
    Relaxed,
    /// `s`: the two domains are identical.
    Strict,
}

impl Alignment {
    /// `relaxed` or `strict`.
    pub fn as_str(self) -> &'static str {
        match self {
            Alignment::Relaxed => "relaxed",
            Alignment::Strict => "strict",
        }
    }

    fn parse(value: &[u8]) -> Option<Alignment> {
        if value.eq_ignore_ascii_case(b"r") {
            Some(Alignment::Relaxed)
        } else if value.eq_ignore_ascii_case(b"s") {
            Some(Alignment::Strict)
        } else {
            None
        }
    }
}

impl fmt::Display for Alignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `psd` flag (RFC 9989 §4.7): whether the record's domain is a Public Suffix Domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum PsdFlag {
    /// `psd=y`: the domain is a PSD; the Organizational Domain is one label below it.
    #[serde(rename = "y")]
    Yes,
    /// `psd=n`: the domain is not a PSD and is the Organizational Domain for itself and its
    /// subdomains.
    #[serde(rename = "n")]
    No,
    /// `psd=u` (the default): not a PSD; may or may not be an Organizational Domain.
    #[default]
    #[serde(rename = "u")]
    Unknown,
}

impl PsdFlag {
    /// The tag value: `y`, `n` or `u`.
    pub fn as_str(self) -> &'static str {
        match self {
            PsdFlag::Yes => "y",
            PsdFlag::No => "n",
            PsdFlag::Unknown => "u",
        }
    }

    /// True for `y` and `n`: a record with either stops the DNS Tree Walk (RFC 9989 §4.10,
    /// steps 2 and 6).
    pub fn stops_walk(self) -> bool {
        matches!(self, PsdFlag::Yes | PsdFlag::No)
    }

    fn parse(value: &[u8]) -> Option<PsdFlag> {
        match value {
            [b'y' | b'Y'] => Some(PsdFlag::Yes),
            [b'n' | b'N'] => Some(PsdFlag::No),
            [b'u' | b'U'] => Some(PsdFlag::Unknown),
            _ => None,
        }
    }
}

impl fmt::Display for PsdFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Failure reporting options, the `fo` tag (RFC 9989 §4.7). Meaningful only with `ruf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct FailureOptions {
    /// `0`: report when all underlying mechanisms fail to produce an aligned pass (default).
    pub all_fail: bool,
    /// `1`: report when any underlying mechanism fails to produce an aligned pass.
    pub any_fail: bool,
    /// `d`: report DKIM signatures that fail evaluation, aligned or not.
    pub dkim: bool,
    /// `s`: report SPF failures, aligned or not.
    pub spf: bool,
}

impl Default for FailureOptions {
    fn default() -> Self {
        FailureOptions {
            all_fail: true,
            any_fail: false,
            dkim: false,
            spf: false,
        }
    }
}

impl FailureOptions {
    /// Parses `dmarc-fo`: colon-separated `0`, `1`, `d`, `s`; `0` and `1` are mutually exclusive
    /// and no option appears twice.
    fn parse(value: &[u8]) -> Option<FailureOptions> {
        let mut fo = FailureOptions {
            all_fail: false,
            any_fail: false,
            dkim: false,
            spf: false,
        };
        for part in value.split(|&b| b == b':') {
            let slot = match trim(part) {
                b"0" => &mut fo.all_fail,
                b"1" => &mut fo.any_fail,
                [b'd' | b'D'] => &mut fo.dkim,
                [b's' | b'S'] => &mut fo.spf,
                _ => return None,
            };
            if *slot {
                return None;
            }
            *slot = true;
        }
        if fo.all_fail && fo.any_fail {
            return None;
        }
        if !fo.all_fail && !fo.any_fail {
            // "d" or "s" alone: the generic option keeps its default.
            fo.all_fail = true;
        }
        Some(fo)
    }
}

/// One reporting URI of `rua` or `ruf` (RFC 9989 §4.6, §4.8).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ReportUri {
    /// The URI without any obsolete size suffix.
    pub uri: String,
    /// The scheme in lower case (`mailto`, `https`, ...). Only `mailto` must be supported by
    /// receivers; others may be ignored.
    pub scheme: String,
    /// The host that receives the reports: the domain of a `mailto:` address, or the host of
    /// the authority component; `None` when there is none or it is not a domain name.
    #[serde(serialize_with = "crate::ser::opt_name")]
    pub destination: Option<Name>,
    /// The obsolete `!size` suffix of RFC 7489 (for example `!10m`), which RFC 9989 §4.8 says
    /// to ignore. Kept only to show it.
    pub obsolete_size: Option<String>,
    /// Byte offset of the URI in the record text.
    pub offset: usize,
}

impl ReportUri {
    /// True for `mailto:` URIs, the scheme every reporting receiver must support.
    pub fn is_mailto(&self) -> bool {
        self.scheme == "mailto"
    }

    /// The owned URI of parts checked by [`UriParts::check`].
    fn from_parts(parts: &UriParts<'_>, offset: usize) -> ReportUri {
        let mut scheme = String::from_utf8_lossy(parts.scheme).into_owned();
        scheme.make_ascii_lowercase();
        let destination = if scheme == "mailto" {
            mailto_host(parts.rest)
        } else {
            authority_host(parts.rest)
        };
        ReportUri {
            uri: String::from_utf8_lossy(parts.uri).into_owned(),
            scheme,
            destination,
            obsolete_size: parts
                .size
                .map(|size| String::from_utf8_lossy(size).into_owned()),
            offset,
        }
    }
}

/// One syntactically valid reporting URI, borrowed from the record text.
struct UriParts<'a> {
    /// The URI without the obsolete size suffix.
    uri: &'a [u8],
    scheme: &'a [u8],
    /// After the scheme's colon.
    rest: &'a [u8],
    /// The obsolete `!size` suffix, without the `!`.
    size: Option<&'a [u8]>,
}

impl<'a> UriParts<'a> {
    /// Checks one URI (already separated from its neighbours and trimmed).
    fn check(raw: &'a [u8]) -> Result<UriParts<'a>, NoteKind> {
        let (uri, size) = match raw.iter().rposition(|&b| b == b'!') {
            Some(bang) => {
                let size = raw.get(bang + 1..).unwrap_or_default();
                if !is_obsolete_size(size) {
                    return Err(NoteKind::InvalidUri);
                }
                (raw.get(..bang).unwrap_or_default(), Some(size))
            }
            None => (raw, None),
        };
        let colon = uri
            .iter()
            .position(|&b| b == b':')
            .ok_or(NoteKind::InvalidUri)?;
        let (scheme, rest) = (
            uri.get(..colon).unwrap_or_default(),
            uri.get(colon + 1..).unwrap_or_default(),
        );
        let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
            && scheme
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok || rest.is_empty() || !uri_chars_ok(rest) {
            return Err(NoteKind::InvalidUri);
        }
        Ok(UriParts {
            uri,
            scheme,
            rest,
            size,
        })
    }
}

impl fmt::Display for ReportUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)
    }
}

/// `obs-dmarc-report-size` without the `!`: `1*DIGIT [ "k" / "m" / "g" / "t" ]`.
fn is_obsolete_size(size: &[u8]) -> bool {
    let digits = match size.last() {
        Some(b'k' | b'm' | b'g' | b't' | b'K' | b'M' | b'G' | b'T') => {
            size.get(..size.len() - 1).unwrap_or_default()
        }
        _ => size,
    };
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// The characters RFC 3986 allows in a URI after the scheme, besides `%` (one lookup per byte).
const URI_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = matches!(
            i as u8,
            b'A'..=b'Z'
                | b'a'..=b'z'
                | b'0'..=b'9'
                | b'-'
                | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
                | b'?'
                | b'#'
                | b'['
                | b']'
        );
        i += 1;
    }
    table
};

/// Characters RFC 3986 allows in a URI after the scheme (with `%` followed by two hex digits).
fn uri_chars_ok(rest: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = rest.get(i) {
        if b == b'%' {
            let hex = rest.get(i + 1..i + 3).unwrap_or_default();
            if hex.len() != 2 || !hex.iter().all(u8::is_ascii_hexdigit) {
                return false;
            }
            i += 3;
            continue;
        }
        if !URI_CHARS[usize::from(b)] {
            return false;
        }
        i += 1;
    }
    true
}

fn percent_decode(input: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !input.contains(&b'%') {
        return std::borrow::Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'%'
            && let Some(h) = input.get(i + 1..i + 3)
            && let Ok(s) = std::str::from_utf8(h)
            && let Ok(v) = u8::from_str_radix(s, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// The domain of the (first) address of a `mailto:` URI (RFC 6068).
fn mailto_host(rest: &[u8]) -> Option<Name> {
    let to = rest.split(|&b| b == b'?').next().unwrap_or_default();
    let to = percent_decode(to);
    let first = to.split(|&b| b == b',').next().unwrap_or_default();
    let at = first.iter().rposition(|&b| b == b'@')?;
    let host = std::str::from_utf8(first.get(at + 1..)?).ok()?;
    Name::parse(host).ok()
}

/// The host of the authority component (`scheme://[userinfo@]host[:port]/...`).
fn authority_host(rest: &[u8]) -> Option<Name> {
    let after = rest.strip_prefix(b"//")?;
    let end = after
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(after.len());
    let authority = after.get(..end)?;
    let host_port = match authority.iter().rposition(|&b| b == b'@') {
        Some(at) => authority.get(at + 1..)?,
        None => authority,
    };
    if host_port.first() == Some(&b'[') {
        return None; // IP literal
    }
    let host = match host_port.iter().position(|&b| b == b':') {
        Some(c) => host_port.get(..c)?,
        None => host_port,
    };
    Name::parse(std::str::from_utf8(host).ok()?).ok()
}

/// What a [`RecordNote`] says about a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NoteKind {
    /// A tag this implementation does not know; ignored ("unknown tags MUST be ignored",
    /// RFC 9989 §4.7, §4.8).
    UnknownTag,
    /// `pct`, `rf` or `ri`: defined by RFC 7489, removed by RFC 9989 (Appendix C.5.2; registry
    /// status "historic", §9.3); accepted and ignored.
    RemovedTag,
    /// The value does not match the tag's ABNF (RFC 9989 §4.8); the tag is ignored and its
    /// default applies. For `p`, `sp` and `np` see RFC 9989 §4.10.1.
    InvalidValue,
    /// The tag appeared before; the first occurrence is used.
    DuplicateTag,
    /// The text between two `;` is not `name=value` with an alphabetic name (RFC 9989 §4.8);
    /// ignored.
    MalformedTag,
    /// One URI of `rua`/`ruf` is not a URI (RFC 3986, RFC 9989 §4.8); that URI is ignored.
    InvalidUri,
    /// A URI carries the obsolete `!size` suffix of RFC 7489; the size is ignored (RFC 9989
    /// §4.8, Appendix C.4).
    ObsoleteSizeLimit,
    /// The record has no `p` tag (RFC 9989 §4.7, §4.10.1).
    MissingPolicy,
    /// `fo` is present without `ruf`; its content is ignored (RFC 9989 §4.7).
    FailureOptionsWithoutRuf,
}

impl NoteKind {
    /// A short description.
    pub fn description(self) -> &'static str {
        match self {
            NoteKind::UnknownTag => "unknown tag ignored",
            NoteKind::RemovedTag => "tag removed by RFC 9989 (was RFC 7489); ignored",
            NoteKind::InvalidValue => "invalid value; tag ignored",
            NoteKind::DuplicateTag => "duplicate tag; first occurrence used",
            NoteKind::MalformedTag => "malformed tag ignored",
            NoteKind::InvalidUri => "invalid reporting URI ignored",
            NoteKind::ObsoleteSizeLimit => "obsolete !size suffix ignored",
            NoteKind::MissingPolicy => "no p tag",
            NoteKind::FailureOptionsWithoutRuf => "fo ignored: no ruf tag",
        }
    }
}

/// A remark about one tag of a record that was otherwise accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RecordNote {
    /// What is wrong or notable.
    pub kind: NoteKind,
    /// The tag name as written (lower case), or the raw text of a malformed tag.
    pub tag: String,
    /// Byte offset in the record text.
    pub offset: usize,
}

impl fmt::Display for RecordNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == NoteKind::InvalidValue && matches!(self.tag.as_str(), "p" | "sp" | "np") {
            // Not "ignored": RFC 9989 §4.10.1 (see PolicyDefect).
            return write!(
                f,
                "{}: invalid policy value; the record counts only if it has a valid rua, and \
                 then as p=none (RFC 9989 §4.10.1) (byte {})",
                self.tag, self.offset
            );
        }
        write!(
            f,
            "{}: {} (byte {})",
            self.tag,
            self.kind.description(),
            self.offset
        )
    }
}

/// Why a TXT record is not a DMARC Policy Record at all. Such records are discarded during
/// discovery (RFC 9989 §4.10, steps 2 and 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The record is empty (or only whitespace and separators).
    Empty,
    /// The first tag is not `v` (RFC 9989 §4.7: "This tag MUST be the first tag").
    VersionNotFirst,
    /// `v` is present but its value is not exactly `DMARC1` (case-sensitive, RFC 9989 §4.7).
    WrongVersion,
}

/// A TXT record that is not a DMARC Policy Record, with the offending tag and byte offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, thiserror::Error)]
#[error("not a DMARC record: {} (tag {tag:?} at byte {offset})", match .kind {
    ParseErrorKind::Empty => "empty record",
    ParseErrorKind::VersionNotFirst => "the first tag must be v=DMARC1",
    ParseErrorKind::WrongVersion => "the version must be exactly DMARC1",
})]
pub struct ParseError {
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// The offending tag (empty for [`ParseErrorKind::Empty`]).
    pub tag: String,
    /// Byte offset of the offending tag.
    pub offset: usize,
}

/// Parses the DMARC records an evaluation fetches ([`crate::evaluate_with_parser`]), so that a
/// process can parse each published record once and share the result across evaluations and
/// threads (the `mailstamp` crate's resolver keeps such a cache, bounded, and parses a record
/// again when its TTL has run out).
///
/// An implementation must answer exactly what [`Record::parse`] answers for `text`.
pub trait RecordParser: fmt::Debug + Send + Sync {
    /// The record `text` parses to, or why it is not a DMARC record.
    fn parse(&self, text: &[u8]) -> Result<std::sync::Arc<Record>, ParseError>;

    /// The record a fetched TXT record parses to: [`RecordParser::parse`] of its joined
    /// strings unless the implementation keeps the parse with the record
    /// ([`mailstamp_dns::Txt::memo`]), so that a cached answer is not looked up again.
    fn parse_txt(&self, txt: &mailstamp_dns::Txt) -> Result<std::sync::Arc<Record>, ParseError> {
        self.parse(txt.joined_bytes())
    }

    /// The answer to `query` when the implementation already holds a fresh one (a resolver's
    /// cache), else `None`, the default. When every query of a step is at hand the evaluation
    /// reads them at once, exactly as if a driver had answered them, instead of stopping with
    /// a [`Step::Lookup`](mailstamp_dns::Step): the verdict is the same either way, only the
    /// round trip through the driver is saved.
    fn answer_at_hand(&self, query: &mailstamp_dns::Query) -> Option<mailstamp_dns::Answer> {
        let _ = query;
        None
    }

    /// A policy discovery for `author` that the implementation kept
    /// ([`RecordParser::keep_discovery`]) and may still hand out, the first that `accept`
    /// takes; `None` (the default) when there is none. The evaluation then uses it instead of
    /// walking again: `accept` takes only a discovery that the walk would make again, given
    /// the same answers, for this evaluation's identifiers and options, so the verdict is the
    /// same either way.
    fn discovery_at_hand(
        &self,
        author: &mailstamp_dns::Name,
        accept: &dyn Fn(&crate::PolicyDiscovery) -> bool,
    ) -> Option<std::sync::Arc<crate::PolicyDiscovery>> {
        let _ = (author, accept);
        None
    }

    /// Offers a finished tree-walk discovery for reuse by later evaluations of its Author
    /// Domain ([`RecordParser::discovery_at_hand`]). An implementation may keep it only for as
    /// long as every query of its [`trace`](crate::PolicyDiscovery::trace) would be answered
    /// exactly as the trace says (a resolver's cache: until the first of those answers
    /// expires, NXDOMAIN, NODATA and failures included). The default keeps nothing.
    fn keep_discovery(&self, discovery: &std::sync::Arc<crate::PolicyDiscovery>) {
        let _ = discovery;
    }
}

/// The policies a record asks for once RFC 9989 §4.10.1 has been applied to missing and invalid
/// `p`, `sp` and `np` tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct EffectivePolicy {
    /// For the domain the record was found at (`p`).
    pub domain: Policy,
    /// For existing subdomains (`sp`, else `p`).
    pub subdomain: Policy,
    /// For non-existent subdomains (`np`, else `sp`, else `p`).
    pub nonexistent: Policy,
    /// True when the record had no valid `p` or an invalid `sp`/`np` and, because it has a
    /// valid `rua`, is treated as if it said `p=none` (RFC 9989 §4.10.1).
    pub treated_as_none: bool,
}

/// Which tag of a record gave a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyTag {
    /// `p`: the record is the Author Domain's own.
    P,
    /// `sp`: the Author Domain is an existing subdomain of the record's domain.
    Sp,
    /// `np`: the Author Domain is a non-existent subdomain of the record's domain.
    Np,
}

impl PolicyTag {
    /// `p`, `sp` or `np`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyTag::P => "p",
            PolicyTag::Sp => "sp",
            PolicyTag::Np => "np",
        }
    }
}

impl fmt::Display for PolicyTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy tag that keeps a record from being used as written (RFC 9989 §4.10.1): `p` is
/// missing or invalid, or `sp`/`np` is present with an invalid value.
///
/// RFC 9989 §4.10.1: "If the retrieved policy record does not contain a valid "p" tag, or
/// contains an "sp" or "np" tag that is not valid, then: if a "rua" tag is present and
/// contains at least one syntactically valid reporting URI, the Mail Receiver SHOULD act as
/// if a record containing "p=none" was retrieved and continue processing; otherwise, the
/// Mail Receiver applies no DMARC processing to this message." So, unlike other invalid
/// tags, an invalid `sp`/`np` is not simply ignored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PolicyDefect {
    /// The tag.
    pub tag: PolicyTag,
    /// The invalid value as written; `None` when `p` is missing.
    pub value: Option<String>,
    /// Byte offset of the value in the record text (the end of the text when `p` is missing).
    pub offset: usize,
}

impl fmt::Display for PolicyDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            None => write!(f, "no p= tag"),
            Some(v) => write!(
                f,
                "{}={v} (byte {}) is not a valid policy (none, quarantine or reject)",
                self.tag, self.offset
            ),
        }
    }
}

/// A parsed DMARC Policy Record (RFC 9989 §4.7).
///
/// Parsing is lenient where RFC 9989 §4.8 asks for it: unknown tags, malformed tags and invalid
/// values are ignored (and listed by [`Record::notes`]), defaults apply. Only a record that does
/// not begin with `v=DMARC1` is refused ([`ParseError`]).
///
/// The record keeps its text and the values evaluation needs. The reporting URIs, the notes and
/// the policy defects are read from the text again when asked for ([`Record::aggregate_report_uris`],
/// [`Record::notes`], [`Record::policy_defects`]): the same parser runs, so they are exactly what
/// the first parse found. A parse allocates the text only (and, for a record that is not
/// UTF-8, its bytes); each call of those methods parses the text again, so keep what it
/// returns rather than calling it in a loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record text as received (invalid UTF-8 replaced by U+FFFD). Read it, do not change
    /// it: the notes, defects and report URIs are read from it again when asked for.
    pub text: String,
    /// The Domain Owner Assessment Policy (`p`); `None` when absent or invalid.
    pub policy: Option<Policy>,
    /// The policy for existing subdomains (`sp`); `None` when absent or invalid.
    pub subdomain_policy: Option<Policy>,
    /// The policy for non-existent subdomains (`np`); `None` when absent or invalid.
    pub nonexistent_policy: Option<Policy>,
    /// DKIM Identifier Alignment mode (`adkim`, default relaxed).
    pub dkim_alignment: Alignment,
    /// SPF Identifier Alignment mode (`aspf`, default relaxed).
    pub spf_alignment: Alignment,
    /// Failure reporting options (`fo`, default `0`).
    pub failure_options: FailureOptions,
    /// The `psd` flag (default `u`).
    pub psd: PsdFlag,
    /// Testing mode (`t=y`; default `n`).
    pub testing: bool,
    /// The policies after RFC 9989 §4.10.1; `None` when the record has no usable policy (no
    /// valid `p`, or an invalid `sp`/`np`, and no valid `rua`): then DMARC does not apply.
    pub effective: Option<EffectivePolicy>,
    /// The bytes as received, when they are not valid UTF-8 (`text` then differs from them).
    source: Option<Box<[u8]>>,
    /// The `rua` tag holds at least one valid URI.
    has_rua: bool,
    /// The `ruf` tag holds at least one valid URI.
    has_ruf: bool,
    /// The parse made at least one note.
    has_notes: bool,
    /// The record has a policy defect.
    has_defects: bool,
}

impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let details = self.details(Wanted::ALL);
        let mut st = s.serialize_struct("Record", 14)?;
        st.serialize_field("text", &self.text)?;
        st.serialize_field("policy", &self.policy)?;
        st.serialize_field("subdomain_policy", &self.subdomain_policy)?;
        st.serialize_field("nonexistent_policy", &self.nonexistent_policy)?;
        st.serialize_field("dkim_alignment", &self.dkim_alignment)?;
        st.serialize_field("spf_alignment", &self.spf_alignment)?;
        st.serialize_field("failure_options", &self.failure_options)?;
        st.serialize_field("aggregate_report_uris", &details.rua)?;
        st.serialize_field("failure_report_uris", &details.ruf)?;
        st.serialize_field("psd", &self.psd)?;
        st.serialize_field("testing", &self.testing)?;
        st.serialize_field("notes", &details.notes)?;
        st.serialize_field("policy_defects", &details.defects)?;
        st.serialize_field("effective", &self.effective)?;
        st.end()
    }
}

/// Whitespace allowed around tags and values (DKIM tag-list FWS, RFC 6376 §3.2).
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim(s: &[u8]) -> &[u8] {
    trim_with_offset(s).0
}

/// `trim`, also returning how many bytes were removed at the front.
fn trim_with_offset(s: &[u8]) -> (&[u8], usize) {
    let start = s.iter().position(|&b| !is_ws(b)).unwrap_or(s.len());
    let rest = s.get(start..).unwrap_or_default();
    let end = rest.iter().rposition(|&b| !is_ws(b)).map_or(0, |e| e + 1);
    (rest.get(..end).unwrap_or_default(), start)
}

/// `dmarc-value`: printable ASCII except `;` (RFC 9989 §4.8).
fn value_chars_ok(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| matches!(b, 0x20..=0x3a | 0x3c..=0x7e | b'\t' | b'\r' | b'\n'))
}

/// True when every byte is printable ASCII or tag-list whitespace: then every value of the
/// record passes [`value_chars_ok`] (values hold no `;`) and the text is UTF-8. One pass with
/// no early exit, which the compiler turns into vector code.
fn all_printable(text: &[u8]) -> bool {
    text.iter().fold(true, |ok, &b| {
        ok & ((0x20..=0x7e).contains(&b) | (b == b'\t') | (b == b'\r') | (b == b'\n'))
    })
}

/// The position of the first `needle` in `hay`, eight bytes at a time: in each word, a byte
/// equal to the needle becomes zero after the XOR, and the lowest byte flagged by the
/// zero-byte test is the first zero (bytes above it may be flagged falsely, never below).
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let pattern = ONES * u64::from(needle);
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0usize;
    for chunk in &mut chunks {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let word = u64::from_le_bytes(bytes) ^ pattern;
        let zeros = word.wrapping_sub(ONES) & !word & HIGHS;
        if zeros != 0 {
            return Some(base + (zeros.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|p| base + p)
}

/// One `name=value` element of the tag list.
struct RawTag<'a> {
    name: &'a [u8],
    value: &'a [u8],
    offset: usize,
    value_offset: usize,
}

/// Splits the record into tags: `Ok(tag)` or `Err((text, offset))` for a malformed element.
/// Borrows from `text`; allocates nothing.
///
/// One pass over each element: the leading whitespace, the `=` and the name are found walking
/// forwards, the trailing whitespace walking back from the `;`. The same elements, names,
/// values and offsets as splitting on `;` and trimming each part.
fn tags(text: &[u8]) -> impl Iterator<Item = Result<RawTag<'_>, (&[u8], usize)>> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        loop {
            let rest = text.get(pos..)?;
            let seg_start = pos;
            let len = find_byte(rest, b';').unwrap_or(rest.len());
            // Past the end once the last element is read (`get` then gives `None`).
            pos += len + 1;
            let segment = rest.get(..len).unwrap_or_default();
            let Some(lead) = segment.iter().position(|&b| !is_ws(b)) else {
                continue; // empty or blank element
            };
            let end = segment
                .iter()
                .rposition(|&b| !is_ws(b))
                .map_or(lead, |e| e + 1);
            let trimmed = segment.get(lead..end).unwrap_or_default();
            let offset = seg_start + lead;
            let Some(eq) = trimmed.iter().position(|&b| b == b'=') else {
                return Some(Err((trimmed, offset)));
            };
            // `trimmed` starts with no whitespace and ends with none: the name needs only its
            // end trimmed, the value only its start.
            let name = trimmed.get(..eq).unwrap_or_default();
            let name_end = name.iter().rposition(|&b| !is_ws(b)).map_or(0, |e| e + 1);
            let name = name.get(..name_end).unwrap_or_default();
            let raw_value = trimmed.get(eq + 1..).unwrap_or_default();
            let value_lead = raw_value
                .iter()
                .position(|&b| !is_ws(b))
                .unwrap_or(raw_value.len());
            let value = raw_value.get(value_lead..).unwrap_or_default();
            if name.is_empty() || !name.iter().all(u8::is_ascii_alphabetic) || value.is_empty() {
                return Some(Err((trimmed, offset)));
            }
            return Some(Ok(RawTag {
                name,
                value,
                offset,
                value_offset: offset + eq + 1 + value_lead,
            }));
        }
    })
}

/// The tags RFC 9989 defines, plus the three it removed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Known {
    P,
    Sp,
    Np,
    Adkim,
    Aspf,
    Fo,
    Rua,
    Ruf,
    Psd,
    T,
    Removed,
    V,
}

impl Known {
    /// The tag a name (ASCII letters, any case) stands for.
    ///
    /// The name's bytes, each with bit 5 set, are packed into an integer and compared with the
    /// packed tag names. Bit 5 lower-cases an upper-case letter and maps no other byte onto a
    /// lower-case letter, so this matches what comparing the lower-cased name would match.
    fn of(name: &[u8]) -> Option<Known> {
        /// The packed form of a lower-case tag name of at most five letters.
        const fn key(tag: &[u8]) -> u64 {
            let mut k = 0u64;
            let mut i = 0;
            while i < tag.len() {
                k = (k << 8) | tag[i] as u64;
                i += 1;
            }
            k
        }
        const P: u64 = key(b"p");
        const SP: u64 = key(b"sp");
        const NP: u64 = key(b"np");
        const ADKIM: u64 = key(b"adkim");
        const ASPF: u64 = key(b"aspf");
        const FO: u64 = key(b"fo");
        const RUA: u64 = key(b"rua");
        const RUF: u64 = key(b"ruf");
        const PSD: u64 = key(b"psd");
        const T: u64 = key(b"t");
        const PCT: u64 = key(b"pct");
        const RF: u64 = key(b"rf");
        const RI: u64 = key(b"ri");
        const V: u64 = key(b"v");
        if name.is_empty() || name.len() > 5 {
            return None;
        }
        let packed = name
            .iter()
            .fold(0u64, |k, &b| (k << 8) | u64::from(b | 0x20));
        Some(match packed {
            P => Known::P,
            SP => Known::Sp,
            NP => Known::Np,
            ADKIM => Known::Adkim,
            ASPF => Known::Aspf,
            FO => Known::Fo,
            RUA => Known::Rua,
            RUF => Known::Ruf,
            PSD => Known::Psd,
            T => Known::T,
            PCT | RF | RI => Known::Removed,
            V => Known::V,
            _ => return None,
        })
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The text a note names, made into a `String` only by a parse that keeps notes.
#[derive(Clone, Copy)]
enum NoteTag<'a> {
    /// A tag name, shown in lower case.
    Name(&'a [u8]),
    /// Raw text (a malformed tag, a URI), shown as written, cut at 64 bytes.
    Raw(&'a [u8]),
    /// A fixed tag name.
    Fixed(&'static str),
}

impl NoteTag<'_> {
    fn to_owned_string(self) -> String {
        match self {
            NoteTag::Name(name) => String::from_utf8_lossy(name).to_ascii_lowercase(),
            NoteTag::Raw(raw) => lossy_tag(raw),
            NoteTag::Fixed(name) => name.to_owned(),
        }
    }
}

/// What a parse reports besides the record's values. [`Record::parse`] keeps nothing
/// ([`Quiet`]); [`Record::details`] runs the same parse again and keeps what it is asked for.
trait Sink {
    /// A remark about one tag.
    fn note(&mut self, kind: NoteKind, tag: NoteTag<'_>, offset: usize);
    /// A missing or invalid policy tag; `first`: put it before those already reported.
    fn defect(&mut self, tag: PolicyTag, value: Option<&[u8]>, offset: usize, first: bool);
    /// A valid reporting URI of `rua` (`failure`: `ruf`).
    fn uri(&mut self, failure: bool, parts: &UriParts<'_>, offset: usize);
}

/// A sink that keeps nothing.
struct Quiet;

impl Sink for Quiet {
    fn note(&mut self, _: NoteKind, _: NoteTag<'_>, _: usize) {}
    fn defect(&mut self, _: PolicyTag, _: Option<&[u8]>, _: usize, _: bool) {}
    fn uri(&mut self, _: bool, _: &UriParts<'_>, _: usize) {}
}

/// Which details [`Record::details`] keeps.
#[derive(Clone, Copy)]
struct Wanted {
    notes: bool,
    defects: bool,
    rua: bool,
    ruf: bool,
}

impl Wanted {
    const ALL: Wanted = Wanted {
        notes: true,
        defects: true,
        rua: true,
        ruf: true,
    };
    const NONE: Wanted = Wanted {
        notes: false,
        defects: false,
        rua: false,
        ruf: false,
    };
}

/// The details of a record, read again from its text.
struct Details {
    wanted: Wanted,
    notes: Vec<RecordNote>,
    defects: Vec<PolicyDefect>,
    rua: Vec<ReportUri>,
    ruf: Vec<ReportUri>,
}

impl Sink for Details {
    fn note(&mut self, kind: NoteKind, tag: NoteTag<'_>, offset: usize) {
        if self.wanted.notes {
            self.notes.push(RecordNote {
                kind,
                tag: tag.to_owned_string(),
                offset,
            });
        }
    }

    fn defect(&mut self, tag: PolicyTag, value: Option<&[u8]>, offset: usize, first: bool) {
        if self.wanted.defects {
            let defect = PolicyDefect {
                tag,
                value: value.map(lossy_tag),
                offset,
            };
            if first {
                self.defects.insert(0, defect);
            } else {
                self.defects.push(defect);
            }
        }
    }

    fn uri(&mut self, failure: bool, parts: &UriParts<'_>, offset: usize) {
        match (failure, self.wanted.rua, self.wanted.ruf) {
            (false, true, _) => self.rua.push(ReportUri::from_parts(parts, offset)),
            (true, _, true) => self.ruf.push(ReportUri::from_parts(parts, offset)),
            _ => {}
        }
    }
}

/// The values one pass over the tags finds.
struct Scan {
    record: Record,
    /// Notes made.
    notes: usize,
    /// Policy defects found.
    defects: usize,
}

/// Counts what a sink is given, so that the record knows whether it has notes and defects.
struct Counting<'s, S> {
    sink: &'s mut S,
    notes: usize,
    defects: usize,
}

impl<S: Sink> Sink for Counting<'_, S> {
    fn note(&mut self, kind: NoteKind, tag: NoteTag<'_>, offset: usize) {
        self.notes += 1;
        self.sink.note(kind, tag, offset);
    }
    fn defect(&mut self, tag: PolicyTag, value: Option<&[u8]>, offset: usize, first: bool) {
        self.defects += 1;
        self.sink.defect(tag, value, offset, first);
    }
    fn uri(&mut self, failure: bool, parts: &UriParts<'_>, offset: usize) {
        self.sink.uri(failure, parts, offset);
    }
}

/// The version tag must come first and be exactly `v=DMARC1` (RFC 9989 §4.7).
fn check_version<'a>(
    first: Option<Result<RawTag<'a>, (&'a [u8], usize)>>,
) -> Result<(), ParseError> {
    match first {
        None => Err(ParseError {
            kind: ParseErrorKind::Empty,
            tag: String::new(),
            offset: 0,
        }),
        Some(Err((raw, offset))) => Err(ParseError {
            kind: ParseErrorKind::VersionNotFirst,
            tag: lossy_tag(raw),
            offset,
        }),
        Some(Ok(tag)) => {
            if !tag.name.eq_ignore_ascii_case(b"v") {
                return Err(ParseError {
                    kind: ParseErrorKind::VersionNotFirst,
                    tag: lossy_tag(tag.name),
                    offset: tag.offset,
                });
            }
            if tag.value != b"DMARC1" {
                return Err(ParseError {
                    kind: ParseErrorKind::WrongVersion,
                    tag: "v".to_owned(),
                    offset: tag.offset,
                });
            }
            Ok(())
        }
    }
}

impl Record {
    /// Parses the joined text of one TXT record (RFC 9989 §4.7, §4.8).
    ///
    /// Returns [`ParseError`] only when the text is not a DMARC Policy Record (it does not
    /// begin with `v=DMARC1`). Everything else is accepted with defaults, and described by
    /// [`Record::notes`]. Never panics, whatever the bytes.
    pub fn parse(text: &[u8]) -> Result<Record, ParseError> {
        let Scan {
            mut record,
            notes,
            defects,
        } = Record::scan(text, &mut Quiet)?;
        record.has_notes = notes > 0;
        record.has_defects = defects > 0;
        match std::str::from_utf8(text) {
            Ok(valid) => record.text = valid.to_owned(),
            Err(_) => {
                record.text = String::from_utf8_lossy(text).into_owned();
                record.source = Some(text.into());
            }
        }
        Ok(record)
    }

    /// One pass over the tags of `text`: the values, with notes, defects and URIs given to
    /// `sink`. The record's text is left empty.
    fn scan<S: Sink>(text: &[u8], sink: &mut S) -> Result<Scan, ParseError> {
        let mut iter = tags(text);
        check_version(iter.next())?;
        let mut record = Record {
            text: String::new(),
            policy: None,
            subdomain_policy: None,
            nonexistent_policy: None,
            dkim_alignment: Alignment::Relaxed,
            spf_alignment: Alignment::Relaxed,
            failure_options: FailureOptions::default(),
            psd: PsdFlag::Unknown,
            testing: false,
            effective: None,
            source: None,
            has_rua: false,
            has_ruf: false,
            has_notes: false,
            has_defects: false,
        };
        let mut sink = Counting {
            sink,
            notes: 0,
            defects: 0,
        };
        let printable = all_printable(text);
        let mut seen: u16 = Known::V.bit();
        let mut sp_invalid = false;
        let mut np_invalid = false;
        let mut fo_offset = None;

        for tag in iter {
            let tag = match tag {
                Ok(tag) => tag,
                Err((raw, offset)) => {
                    sink.note(NoteKind::MalformedTag, NoteTag::Raw(raw), offset);
                    continue;
                }
            };
            let name = NoteTag::Name(tag.name);
            let Some(known) = Known::of(tag.name) else {
                sink.note(NoteKind::UnknownTag, name, tag.offset);
                continue;
            };
            if seen & known.bit() != 0 && known != Known::Removed {
                sink.note(NoteKind::DuplicateTag, name, tag.offset);
                continue;
            }
            seen |= known.bit();
            if known == Known::Removed {
                sink.note(NoteKind::RemovedTag, name, tag.offset);
                continue;
            }
            let valid_chars = printable || value_chars_ok(tag.value);
            let ok = valid_chars && record.apply(known, &tag, &mut sink);
            if !ok {
                let policy_tag = match known {
                    Known::P => Some(PolicyTag::P),
                    Known::Sp => {
                        sp_invalid = true;
                        Some(PolicyTag::Sp)
                    }
                    Known::Np => {
                        np_invalid = true;
                        Some(PolicyTag::Np)
                    }
                    _ => None,
                };
                if let Some(tag_name) = policy_tag {
                    sink.defect(tag_name, Some(tag.value), tag.value_offset, false);
                }
                sink.note(NoteKind::InvalidValue, name, tag.value_offset);
            } else if known == Known::Fo {
                fo_offset = Some(tag.offset);
            }
        }

        if seen & Known::P.bit() == 0 {
            sink.note(NoteKind::MissingPolicy, NoteTag::Fixed("p"), text.len());
            sink.defect(PolicyTag::P, None, text.len(), true);
        }
        if let Some(offset) = fo_offset
            && seen & Known::Ruf.bit() == 0
        {
            sink.note(
                NoteKind::FailureOptionsWithoutRuf,
                NoteTag::Fixed("fo"),
                offset,
            );
        }
        record.effective = record.resolve(sp_invalid || np_invalid);
        Ok(Scan {
            record,
            notes: sink.notes,
            defects: sink.defects,
        })
    }

    /// Applies one known tag; false when its value is invalid.
    fn apply<S: Sink>(&mut self, known: Known, tag: &RawTag<'_>, sink: &mut S) -> bool {
        let v = tag.value;
        match known {
            Known::P => Policy::parse(v).map(|p| self.policy = Some(p)).is_some(),
            Known::Sp => Policy::parse(v)
                .map(|p| self.subdomain_policy = Some(p))
                .is_some(),
            Known::Np => Policy::parse(v)
                .map(|p| self.nonexistent_policy = Some(p))
                .is_some(),
            Known::Adkim => Alignment::parse(v)
                .map(|a| self.dkim_alignment = a)
                .is_some(),
            Known::Aspf => Alignment::parse(v)
                .map(|a| self.spf_alignment = a)
                .is_some(),
            Known::Fo => FailureOptions::parse(v)
                .map(|f| self.failure_options = f)
                .is_some(),
            Known::Psd => PsdFlag::parse(v).map(|p| self.psd = p).is_some(),
            Known::T => match v {
                [b'y' | b'Y'] => {
                    self.testing = true;
                    true
                }
                [b'n' | b'N'] => true,
                _ => false,
            },
            Known::Rua => {
                self.has_rua = uri_list(v, tag.value_offset, false, sink);
                self.has_rua
            }
            Known::Ruf => {
                self.has_ruf = uri_list(v, tag.value_offset, true, sink);
                self.has_ruf
            }
            Known::Removed | Known::V => true,
        }
    }

    /// RFC 9989 §4.10.1 on missing and invalid policy tags; `sp_np_invalid`: an `sp` or `np`
    /// tag was present with an invalid value.
    fn resolve(&self, sp_np_invalid: bool) -> Option<EffectivePolicy> {
        // An absent or invalid p leaves `policy` empty.
        let defective = self.policy.is_none() || sp_np_invalid;
        if defective {
            if !self.has_rua {
                return None;
            }
            // "act as if a record containing p=none was retrieved": p is none; invalid sp/np
            // were ignored (RFC 9989 §4.8), valid ones stand.
            let sp = self.subdomain_policy.unwrap_or(Policy::None);
            return Some(EffectivePolicy {
                domain: Policy::None,
                subdomain: sp,
                nonexistent: self.nonexistent_policy.unwrap_or(sp),
                treated_as_none: true,
            });
        }
        let p = self.policy.unwrap_or(Policy::None);
        let sp = self.subdomain_policy.unwrap_or(p);
        Some(EffectivePolicy {
            domain: p,
            subdomain: sp,
            nonexistent: self.nonexistent_policy.unwrap_or(sp),
            treated_as_none: false,
        })
    }

    /// The bytes the record was parsed from.
    fn source(&self) -> &[u8] {
        self.source.as_deref().unwrap_or(self.text.as_bytes())
    }

    /// Parses the record's text again, keeping the details `wanted`.
    fn details(&self, wanted: Wanted) -> Details {
        let mut details = Details {
            wanted,
            notes: Vec::new(),
            defects: Vec::new(),
            rua: Vec::new(),
            ruf: Vec::new(),
        };
        // The text parsed once; a failure here cannot happen, and would leave no details.
        let _ = Record::scan(self.source(), &mut details);
        details
    }

    /// Aggregate report destinations (`rua`), the syntactically valid ones, in record order.
    pub fn aggregate_report_uris(&self) -> Vec<ReportUri> {
        if !self.has_rua {
            return Vec::new();
        }
        self.details(Wanted {
            rua: true,
            ..Wanted::NONE
        })
        .rua
    }

    /// Failure report destinations (`ruf`), the syntactically valid ones, in record order.
    pub fn failure_report_uris(&self) -> Vec<ReportUri> {
        if !self.has_ruf {
            return Vec::new();
        }
        self.details(Wanted {
            ruf: true,
            ..Wanted::NONE
        })
        .ruf
    }

    /// True when `rua` holds at least one syntactically valid URI.
    pub fn has_aggregate_report_uris(&self) -> bool {
        self.has_rua
    }

    /// True when `ruf` holds at least one syntactically valid URI.
    pub fn has_failure_report_uris(&self) -> bool {
        self.has_ruf
    }

    /// Remarks about ignored, removed, unknown and invalid tags, in record order.
    pub fn notes(&self) -> Vec<RecordNote> {
        if !self.has_notes {
            return Vec::new();
        }
        self.details(Wanted {
            notes: true,
            ..Wanted::NONE
        })
        .notes
    }

    /// True when [`Record::notes`] is not empty (the parse made at least one remark).
    pub fn has_notes(&self) -> bool {
        self.has_notes
    }

    /// The missing or invalid `p`, and invalid `sp`/`np`, in record order: why
    /// [`Record::effective`] is `None` or treated as `p=none` (RFC 9989 §4.10.1).
    pub fn policy_defects(&self) -> Vec<PolicyDefect> {
        if !self.has_defects {
            return Vec::new();
        }
        self.details(Wanted {
            defects: true,
            ..Wanted::NONE
        })
        .defects
    }

    /// The effective policy for one [`PolicyTag`], if the record has a usable policy.
    pub fn policy_for(&self, tag: PolicyTag) -> Option<Policy> {
        self.effective.map(|e| match tag {
            PolicyTag::P => e.domain,
            PolicyTag::Sp => e.subdomain,
            PolicyTag::Np => e.nonexistent,
        })
    }
}

/// Reads `dmarc-urilist`, giving the valid URIs to `sink` and noting the others; true when at
/// least one is valid.
fn uri_list<S: Sink>(value: &[u8], value_offset: usize, failure: bool, sink: &mut S) -> bool {
    let mut valid = false;
    let mut pos = value_offset;
    let mut rest = value;
    loop {
        // The parts between commas, as `split` gives them (an empty one after a last comma).
        let len = find_byte(rest, b',').unwrap_or(rest.len());
        let part = rest.get(..len).unwrap_or_default();
        let more = rest.get(len + 1..).filter(|_| len < rest.len());
        let (uri, lead) = trim_with_offset(part);
        let offset = pos + lead;
        pos += part.len() + 1;
        match UriParts::check(uri) {
            Ok(parts) => {
                if parts.size.is_some() {
                    sink.note(NoteKind::ObsoleteSizeLimit, NoteTag::Raw(uri), offset);
                }
                sink.uri(failure, &parts, offset);
                valid = true;
            }
            Err(kind) => sink.note(kind, NoteTag::Raw(uri), offset),
        }
        match more {
            Some(next) => rest = next,
            None => break,
        }
    }
    valid
}

fn lossy_tag(raw: &[u8]) -> String {
    const MAX: usize = 64;
    let cut = raw.get(..MAX).unwrap_or(raw);
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if raw.len() > MAX {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Record {
        Record::parse(s.as_bytes()).unwrap()
    }

    fn kinds(r: &Record) -> Vec<(NoteKind, String)> {
        r.notes().into_iter().map(|n| (n.kind, n.tag)).collect()
    }

    #[test]
    fn rfc9989_4_7_full_record() {
        let r = parse(
            "v=DMARC1; p=reject; sp=quarantine; np=none; adkim=s; aspf=s; fo=1:d; \
             rua=mailto:agg@example.com; ruf=mailto:fail@example.com; psd=n; t=y",
        );
        assert_eq!(r.policy, Some(Policy::Reject));
        assert_eq!(r.subdomain_policy, Some(Policy::Quarantine));
        assert_eq!(r.nonexistent_policy, Some(Policy::None));
        assert_eq!(r.dkim_alignment, Alignment::Strict);
        assert_eq!(r.spf_alignment, Alignment::Strict);
        assert!(r.failure_options.any_fail && r.failure_options.dkim);
        assert!(!r.failure_options.all_fail && !r.failure_options.spf);
        assert_eq!(r.aggregate_report_uris()[0].uri, "mailto:agg@example.com");
        assert_eq!(
            r.aggregate_report_uris()[0]
                .destination
                .as_ref()
                .unwrap()
                .as_str(),
            "example.com"
        );
        assert_eq!(r.failure_report_uris().len(), 1);
        assert_eq!(r.psd, PsdFlag::No);
        assert!(r.testing);
        assert!(r.notes().is_empty(), "{:?}", r.notes());
        let e = r.effective.unwrap();
        assert_eq!(
            (e.domain, e.subdomain, e.nonexistent),
            (Policy::Reject, Policy::Quarantine, Policy::None)
        );
    }

    #[test]
    fn rfc9989_4_7_defaults() {
        let r = parse("v=DMARC1; p=quarantine");
        assert_eq!(r.dkim_alignment, Alignment::Relaxed);
        assert_eq!(r.spf_alignment, Alignment::Relaxed);
        assert_eq!(r.psd, PsdFlag::Unknown);
        assert!(!r.testing);
        assert_eq!(r.failure_options, FailureOptions::default());
        let e = r.effective.unwrap();
        assert_eq!(e.subdomain, Policy::Quarantine);
        assert_eq!(e.nonexistent, Policy::Quarantine);
    }

    #[test]
    fn rfc9989_4_7_np_falls_back_to_sp_then_p() {
        let e = parse("v=DMARC1; p=none; sp=reject").effective.unwrap();
        assert_eq!(e.nonexistent, Policy::Reject);
        let e = parse("v=DMARC1; p=quarantine; np=reject")
            .effective
            .unwrap();
        assert_eq!(e.subdomain, Policy::Quarantine);
        assert_eq!(e.nonexistent, Policy::Reject);
    }

    #[test]
    fn rfc9989_4_7_version_must_be_first_and_exact() {
        let e = Record::parse(b"p=none; v=DMARC1").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::VersionNotFirst);
        assert_eq!((e.tag.as_str(), e.offset), ("p", 0));
        let e = Record::parse(b"v=dmarc1; p=none").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::WrongVersion);
        let e = Record::parse(b"v=DMARC2; p=none").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::WrongVersion);
        let e = Record::parse(b"v=spf1 -all").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::WrongVersion);
        assert_eq!(
            Record::parse(b"  ; ;").unwrap_err().kind,
            ParseErrorKind::Empty
        );
        assert_eq!(
            Record::parse(b"DMARC1").unwrap_err().kind,
            ParseErrorKind::VersionNotFirst
        );
        // Whitespace around "=" is allowed (`equals`), and "v" is an ABNF string.
        assert!(Record::parse(b"V = DMARC1 ;p=none").is_ok());
        assert!(Record::parse(b"v=DMARC1").is_ok());
    }

    #[test]
    fn rfc9989_4_8_removed_tags_accepted_with_note() {
        let r = parse("v=DMARC1; p=reject; pct=50; rf=afrf; ri=3600");
        assert_eq!(r.policy, Some(Policy::Reject));
        assert_eq!(
            kinds(&r),
            vec![
                (NoteKind::RemovedTag, "pct".to_owned()),
                (NoteKind::RemovedTag, "rf".to_owned()),
                (NoteKind::RemovedTag, "ri".to_owned()),
            ]
        );
        assert_eq!(r.notes()[0].offset, 20);
        // pct=0 does not turn into testing mode: t= is its replacement (Appendix A.6).
        assert!(!parse("v=DMARC1; p=reject; pct=0").testing);
    }

    #[test]
    fn rfc9989_4_8_unknown_and_malformed_tags_ignored() {
        let r = parse("v=DMARC1; p=reject; foo=bar; junk; 9x=1; =v");
        assert_eq!(r.policy, Some(Policy::Reject));
        assert_eq!(
            kinds(&r),
            vec![
                (NoteKind::UnknownTag, "foo".to_owned()),
                (NoteKind::MalformedTag, "junk".to_owned()),
                (NoteKind::MalformedTag, "9x=1".to_owned()),
                (NoteKind::MalformedTag, "=v".to_owned()),
            ]
        );
        assert_eq!(r.notes()[1].offset, 29);
    }

    #[test]
    fn rfc9989_4_8_invalid_values_default() {
        let r = parse("v=DMARC1; p=reject; adkim=x; aspf=; psd=maybe; t=yes; fo=0:1");
        assert_eq!(r.dkim_alignment, Alignment::Relaxed);
        assert_eq!(r.psd, PsdFlag::Unknown);
        assert!(!r.testing);
        assert_eq!(r.failure_options, FailureOptions::default());
        let k = kinds(&r);
        assert!(k.contains(&(NoteKind::InvalidValue, "adkim".to_owned())));
        assert!(k.contains(&(NoteKind::MalformedTag, "aspf=".to_owned())));
        assert!(k.contains(&(NoteKind::InvalidValue, "psd".to_owned())));
        assert!(k.contains(&(NoteKind::InvalidValue, "t".to_owned())));
        assert!(k.contains(&(NoteKind::InvalidValue, "fo".to_owned())));
        let adkim = r.notes().into_iter().find(|n| n.tag == "adkim").unwrap();
        assert_eq!(adkim.offset, 26, "offset of the value");
    }

    #[test]
    fn rfc9989_4_10_1_missing_p_without_rua_has_no_policy() {
        let r = parse("v=DMARC1; sp=reject");
        assert_eq!(r.effective, None);
        assert!(kinds(&r).contains(&(NoteKind::MissingPolicy, "p".to_owned())));
        let r = parse("v=DMARC1; p=rejected");
        assert_eq!(r.effective, None);
    }

    #[test]
    fn rfc9989_4_10_1_missing_p_with_rua_is_none() {
        let r = parse("v=DMARC1; rua=mailto:d@example.com");
        let e = r.effective.unwrap();
        assert!(e.treated_as_none);
        assert_eq!(
            (e.domain, e.subdomain, e.nonexistent),
            (Policy::None, Policy::None, Policy::None)
        );
        // Invalid sp with a valid rua: p becomes none, the invalid sp is ignored.
        let r = parse("v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com");
        let e = r.effective.unwrap();
        assert!(e.treated_as_none);
        assert_eq!((e.domain, e.subdomain), (Policy::None, Policy::None));
        // Without a valid rua, an invalid np means no DMARC processing.
        assert_eq!(parse("v=DMARC1; p=reject; np=x").effective, None);
        assert_eq!(parse("v=DMARC1; p=reject; np=x; rua=nope").effective, None);
    }

    #[test]
    fn issue_17_11_invalid_sp_or_np_is_named_as_the_cause() {
        let text = "v=DMARC1; p=reject; sp=whatever";
        let r = parse(text);
        assert_eq!(r.effective, None);
        assert_eq!(
            r.policy_defects(),
            [PolicyDefect {
                tag: PolicyTag::Sp,
                value: Some("whatever".to_owned()),
                offset: text.find("whatever").unwrap(),
            }]
        );
        let shown = r.policy_defects()[0].to_string();
        assert!(
            shown.contains("sp=whatever") && shown.contains("byte 23"),
            "{shown}"
        );
        // The note no longer claims the tag was simply ignored.
        let note = r
            .notes()
            .iter()
            .find(|n| n.tag == "sp")
            .unwrap()
            .to_string();
        assert!(!note.contains("tag ignored"), "{note}");
        assert!(note.contains("4.10.1"), "{note}");
        let r = parse("v=DMARC1; np=x; p=reject");
        assert_eq!(r.policy_defects()[0].tag, PolicyTag::Np);
        let r = parse("v=DMARC1; sp=reject");
        assert_eq!(
            r.policy_defects(),
            [PolicyDefect {
                tag: PolicyTag::P,
                value: None,
                offset: 19,
            }]
        );
        assert!(r.policy_defects()[0].to_string().contains("no p="));
        assert!(
            parse("v=DMARC1; p=reject; sp=none")
                .policy_defects()
                .is_empty()
        );
    }

    #[test]
    fn rfc9989_4_8_report_uris() {
        let r = parse(
            "v=DMARC1; p=none; rua=mailto:a@example.com!10m , mailto:b@Example.NET, bad uri,\
             https://reports.example.org:8443/x",
        );
        let uris = &r.aggregate_report_uris();
        assert_eq!(uris.len(), 3);
        assert_eq!(uris[0].uri, "mailto:a@example.com");
        assert_eq!(uris[0].obsolete_size.as_deref(), Some("10m"));
        assert_eq!(
            uris[1].destination.as_ref().unwrap().as_str(),
            "example.net"
        );
        assert_eq!(uris[2].scheme, "https");
        assert_eq!(
            uris[2].destination.as_ref().unwrap().as_str(),
            "reports.example.org"
        );
        let k = kinds(&r);
        assert!(k.contains(&(
            NoteKind::ObsoleteSizeLimit,
            "mailto:a@example.com!10m".to_owned()
        )));
        assert!(k.contains(&(NoteKind::InvalidUri, "bad uri".to_owned())));
        assert!(!k.iter().any(|(kind, _)| *kind == NoteKind::InvalidValue));
        let bad = parse("v=DMARC1; p=none; rua=mailto:a@example.com!big");
        assert!(bad.aggregate_report_uris().is_empty());
        assert!(kinds(&bad).contains(&(NoteKind::InvalidValue, "rua".to_owned())));
    }

    #[test]
    fn duplicate_tags_keep_the_first() {
        let r = parse("v=DMARC1; p=reject; p=none");
        assert_eq!(r.policy, Some(Policy::Reject));
        assert_eq!(kinds(&r), vec![(NoteKind::DuplicateTag, "p".to_owned())]);
    }

    #[test]
    fn policy_values_are_case_insensitive() {
        assert_eq!(parse("v=DMARC1; p=REJECT").policy, Some(Policy::Reject));
        assert_eq!(
            parse("v=DMARC1; p=none; np=Quarantine").nonexistent_policy,
            Some(Policy::Quarantine)
        );
        assert_eq!("Reject".parse::<Policy>(), Ok(Policy::Reject));
        assert!("rej".parse::<Policy>().is_err());
    }

    #[test]
    fn nul_and_binary_bytes_never_panic() {
        assert!(Record::parse(b"v=DMARC1\0; p=none").is_err());
        let r = Record::parse(b"v=DMARC1; p=re\0ject; rua=mailto:\xff@x.com").unwrap();
        assert_eq!(r.policy, None);
        assert!(r.aggregate_report_uris().is_empty());
        let r = Record::parse(b"v=DMARC1; p=none; \xff\xfe=1").unwrap();
        assert_eq!(r.notes()[0].kind, NoteKind::MalformedTag);
    }

    #[test]
    fn t_tag_one_level_below() {
        assert_eq!(Policy::Reject.one_level_below(), Policy::Quarantine);
        assert_eq!(Policy::Quarantine.one_level_below(), Policy::None);
        assert_eq!(Policy::None.one_level_below(), Policy::None);
    }

    #[test]
    fn fo_without_ruf_noted() {
        let r = parse("v=DMARC1; p=none; fo=1");
        assert!(kinds(&r).contains(&(NoteKind::FailureOptionsWithoutRuf, "fo".to_owned())));
        let r = parse("v=DMARC1; p=none; fo=d:s");
        assert!(r.failure_options.all_fail && r.failure_options.dkim && r.failure_options.spf);
        assert!(FailureOptions::parse(b"d:d").is_none());
    }

    /// Byte strings drawn from `alphabet` by a fixed linear congruential sequence.
    fn generated(alphabet: &[u8], count: usize, max_len: usize) -> Vec<Vec<u8>> {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(state >> 33).unwrap()
        };
        (0..count)
            .map(|_| {
                let len = next() % (max_len + 1);
                (0..len)
                    .map(|_| alphabet[next() % alphabet.len()])
                    .collect()
            })
            .collect()
    }

    /// A tag as the reference reader gives it: name, value, offsets; or a malformed element.
    type ReferenceTag = Result<(Vec<u8>, Vec<u8>, usize, usize), (Vec<u8>, usize)>;

    /// The tag reader as it was: split on `;`, then trim the element, the name and the value.
    fn reference_tags(text: &[u8]) -> Vec<ReferenceTag> {
        let mut pos = 0usize;
        let mut out = Vec::new();
        for segment in text.split(|&b| b == b';') {
            let seg_start = pos;
            pos += segment.len() + 1;
            let (trimmed, lead) = trim_with_offset(segment);
            if trimmed.is_empty() {
                continue;
            }
            let offset = seg_start + lead;
            let Some(eq) = trimmed.iter().position(|&b| b == b'=') else {
                out.push(Err((trimmed.to_vec(), offset)));
                continue;
            };
            let name = trim(&trimmed[..eq]);
            let (value, value_lead) = trim_with_offset(&trimmed[eq + 1..]);
            if name.is_empty() || !name.iter().all(u8::is_ascii_alphabetic) || value.is_empty() {
                out.push(Err((trimmed.to_vec(), offset)));
                continue;
            }
            out.push(Ok((
                name.to_vec(),
                value.to_vec(),
                offset,
                offset + eq + 1 + value_lead,
            )));
        }
        out
    }

    #[test]
    fn find_byte_is_position() {
        for hay in generated(b";,ab\x00\xff\x3a\xbb", 20_000, 40) {
            for needle in [b';', b',', 0, 0xff, b'a'] {
                assert_eq!(
                    find_byte(&hay, needle),
                    hay.iter().position(|&b| b == needle),
                    "{hay:?} {needle}"
                );
            }
        }
    }

    #[test]
    fn uri_list_reads_every_part() {
        let r = parse("v=DMARC1; p=none; rua=mailto:a@x.example,,  mailto:b@y.example ,bad,");
        let uris = r.aggregate_report_uris();
        let got: Vec<_> = uris.iter().map(|u| (u.uri.as_str(), u.offset)).collect();
        assert_eq!(
            got,
            vec![("mailto:a@x.example", 22), ("mailto:b@y.example", 44)]
        );
        let invalid = r
            .notes()
            .iter()
            .filter(|n| n.kind == NoteKind::InvalidUri)
            .count();
        assert_eq!(invalid, 3); // the empty part, "bad" and the empty part after the last comma
    }

    #[test]
    fn tag_reader_matches_split_and_trim() {
        for text in generated(b"ab=; \t\r\nv=DMARC1pxZ", 20_000, 40) {
            let got: Vec<_> = tags(&text)
                .map(|t| match t {
                    Ok(t) => Ok((t.name.to_vec(), t.value.to_vec(), t.offset, t.value_offset)),
                    Err((raw, offset)) => Err((raw.to_vec(), offset)),
                })
                .collect();
            assert_eq!(
                got,
                reference_tags(&text),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    #[test]
    fn tag_names_match_their_lower_case() {
        let names = [
            "p", "sp", "np", "adkim", "aspf", "fo", "rua", "ruf", "psd", "t", "pct", "rf", "ri",
            "v",
        ];
        for name in generated(b"adfikmnoprstuvADFIKMNOPRSTUV@[`{", 50_000, 6) {
            let lower = name.to_ascii_lowercase();
            let expected = names.iter().position(|n| n.as_bytes() == lower.as_slice());
            let got = Known::of(&name);
            assert_eq!(got.is_some(), expected.is_some(), "{name:?}");
            if let (Some(got), Some(i)) = (got, expected) {
                assert!(got == Known::of(names[i].as_bytes()).unwrap(), "{name:?}");
            }
        }
        assert!(Known::of(b"ADKIM") == Some(Known::Adkim));
        assert!(Known::of(b"adkimx").is_none());
        assert!(Known::of(b"").is_none());
    }
}
