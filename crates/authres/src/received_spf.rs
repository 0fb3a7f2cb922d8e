//! The Received-SPF header field (RFC 7208 §9.1).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::error::{ParseError, ParseErrorKind};
use crate::keyword::Keyword;
use crate::lex::Cursor;
use crate::write::{Folder, Form, Sep, Units};

/// The field name, as RFC 7208 §9.1 spells it.
pub const RECEIVED_SPF: &str = "Received-SPF";

/// Indentation of a folded line.
const INDENT: &str = "  ";

/// The result a Received-SPF field reports: exactly the seven results of RFC 7208 §2.6, whose
/// tokens are also the RFC 8601 `spf` results (RFC 8601 §2.7.2, apart from its `policy`).
///
/// Written in lower case as RFC 7208 §9.1's examples are; parsed case-insensitively (`Pass`,
/// `SoftFail`, as older writers spell them, RFC 7208 §9.1 ABNF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceivedSpfResult {
    /// No SPF record, or no valid domain to check (RFC 7208 §2.6.1).
    None,
    /// The record states nothing about the client (RFC 7208 §2.6.2).
    Neutral,
    /// The client is authorised (RFC 7208 §2.6.3).
    Pass,
    /// The client is not authorised (RFC 7208 §2.6.4).
    Fail,
    /// Probably not authorised (RFC 7208 §2.6.5).
    SoftFail,
    /// A transient error, usually DNS (RFC 7208 §2.6.6).
    TempError,
    /// The record could not be interpreted (RFC 7208 §2.6.7).
    PermError,
}

impl ReceivedSpfResult {
    /// Every result, in RFC 7208 §2.6 order.
    pub const ALL: [ReceivedSpfResult; 7] = [
        ReceivedSpfResult::None,
        ReceivedSpfResult::Neutral,
        ReceivedSpfResult::Pass,
        ReceivedSpfResult::Fail,
        ReceivedSpfResult::SoftFail,
        ReceivedSpfResult::TempError,
        ReceivedSpfResult::PermError,
    ];

    /// The token, in lower case (`softfail`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ReceivedSpfResult::None => "none",
            ReceivedSpfResult::Neutral => "neutral",
            ReceivedSpfResult::Pass => "pass",
            ReceivedSpfResult::Fail => "fail",
            ReceivedSpfResult::SoftFail => "softfail",
            ReceivedSpfResult::TempError => "temperror",
            ReceivedSpfResult::PermError => "permerror",
        }
    }
}

impl fmt::Display for ReceivedSpfResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that is not one of the seven results.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SPF result {0:?}")]
pub struct UnknownSpfResult(pub String);

impl FromStr for ReceivedSpfResult {
    type Err = UnknownSpfResult;
    /// Case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReceivedSpfResult::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownSpfResult(s.to_owned()))
    }
}

/// One Received-SPF field (RFC 7208 §9.1): a result, an optional comment and key-value pairs.
///
/// The pairs are kept in order, as written or parsed; the accessors return the first pair
/// with a key. RFC 7208 §9.1 defines `client-ip`, `envelope-from`, `helo`, `problem`,
/// `receiver`, `identity` and `mechanism`; other keys (`x-…`) are allowed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReceivedSpf {
    /// The SPF result.
    pub result: ReceivedSpfResult,
    /// The comment after the result (RFC 7208 §9.1 suggests one such as "mybox.example.org:
    /// domain of myname@example.com designates 192.0.2.1 as permitted sender"; see
    /// [`ReceivedSpf::standard_comment`]).
    pub comment: Option<String>,
    /// The key-value pairs, in field order.
    pub pairs: Vec<(Keyword, String)>,
}

impl ReceivedSpf {
    /// A field with a result only.
    pub fn new(result: ReceivedSpfResult) -> ReceivedSpf {
        ReceivedSpf {
            result,
            comment: None,
            pairs: Vec::new(),
        }
    }

    /// Sets the comment.
    pub fn with_comment(mut self, comment: impl Into<String>) -> ReceivedSpf {
        self.comment = Some(comment.into());
        self
    }

    /// Appends a key-value pair.
    pub fn with_pair(mut self, key: Keyword, value: impl Into<String>) -> ReceivedSpf {
        self.pairs.push((key, value.into()));
        self
    }

    /// Appends `client-ip=`: the SMTP client's address.
    pub fn with_client_ip(self, ip: IpAddr) -> ReceivedSpf {
        self.with_pair(Keyword::from_static("client-ip"), ip.to_string())
    }

    /// Appends `envelope-from=`: the MAIL FROM mailbox.
    pub fn with_envelope_from(self, mailbox: impl Into<String>) -> ReceivedSpf {
        self.with_pair(Keyword::from_static("envelope-from"), mailbox)
    }

    /// Appends `helo=`: the HELO/EHLO name.
    pub fn with_helo(self, helo: impl Into<String>) -> ReceivedSpf {
        self.with_pair(Keyword::from_static("helo"), helo)
    }

    /// Appends `problem=`: what went wrong, for `temperror` and `permerror`.
    pub fn with_problem(self, problem: impl Into<String>) -> ReceivedSpf {
        self.with_pair(Keyword::from_static("problem"), problem)
    }

    /// Appends `receiver=`: the host name of the SPF verifier.
    pub fn with_receiver(self, receiver: impl Into<String>) -> ReceivedSpf {
        self.with_pair(Keyword::from_static("receiver"), receiver)
    }

    /// Appends `identity=`: `mailfrom` or `helo` (RFC 7208 §9.1 `identity`).
    pub fn with_identity(self, identity: impl Into<String>) -> ReceivedSpf {
        self.with_pair(Keyword::from_static("identity"), identity)
    }

    /// Appends `mechanism=`: the mechanism that matched, or `default` when none did.
    pub fn with_mechanism(self, mechanism: impl Into<String>) -> ReceivedSpf {
        self.with_pair(Keyword::from_static("mechanism"), mechanism)
    }

    /// The value of the first pair with `key` (compared case-insensitively).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `client-ip`, when present and an IP address.
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.get("client-ip").and_then(|v| v.parse().ok())
    }

    /// The comment RFC 7208 §9.1 suggests for a result: `receiver` is the verifier's host name,
    /// `sender` the identity checked (a mailbox, or the HELO name), `client_ip` the client.
    ///
    /// ```
    /// # use mailstamp_authres::{ReceivedSpf, ReceivedSpfResult};
    /// let text = ReceivedSpf::standard_comment(
    ///     ReceivedSpfResult::Pass, "mybox.example.org", "myname@example.com",
    ///     "192.0.2.1".parse().unwrap());
    /// assert_eq!(text, "mybox.example.org: domain of myname@example.com designates \
    ///                   192.0.2.1 as permitted sender");
    /// ```
    pub fn standard_comment(
        result: ReceivedSpfResult,
        receiver: &str,
        sender: &str,
        client_ip: IpAddr,
    ) -> String {
        let what = match result {
            ReceivedSpfResult::Pass => {
                format!("domain of {sender} designates {client_ip} as permitted sender")
            }
            ReceivedSpfResult::Fail => {
                format!("domain of {sender} does not designate {client_ip} as permitted sender")
            }
            ReceivedSpfResult::SoftFail => format!(
                "domain of transitioning {sender} does not designate {client_ip} as permitted \
                 sender"
            ),
            ReceivedSpfResult::Neutral => {
                format!("{client_ip} is neither permitted nor denied by domain of {sender}")
            }
            ReceivedSpfResult::None => {
                format!("domain of {sender} does not designate permitted sender hosts")
            }
            ReceivedSpfResult::TempError => {
                format!("temporary error in processing during lookup of {sender}")
            }
            ReceivedSpfResult::PermError => {
                format!("permanent error in processing domain of {sender}")
            }
        };
        format!("{receiver}: {what}")
    }

    /// The field value, folded to fit after `Received-SPF: `, every pair followed by `;` as in
    /// RFC 7208 §9.1's examples. Values follow the [writing rules](crate#writing): a dot-atom
    /// or a quoted-string.
    pub fn to_value(&self) -> String {
        let mut units = Units::new();
        units.text(self.result.as_str()).end(false);
        if let Some(c) = &self.comment {
            units.comment(c).end(false);
        }
        for (k, v) in &self.pairs {
            units
                .text(k.as_str())
                .text("=")
                .value(v, Form::DotAtom)
                .text(";")
                .end(false);
        }
        let mut folder = Folder::new(RECEIVED_SPF.len() + 2, units.len() + 16);
        for (_, unit) in units.iter() {
            folder.push(Sep::Space { indent: INDENT }, unit);
        }
        folder.finish()
    }

    /// The whole field: `Received-SPF: <value>\r\n`.
    pub fn to_field(&self) -> String {
        format!("{RECEIVED_SPF}: {}\r\n", self.to_value())
    }

    /// Parses a field value (the text after `Received-SPF:`; a trailing CRLF is allowed).
    ///
    /// Follows RFC 7208 §9.1 as corrected by erratum 5436 (`result [FWS comment] [FWS
    /// key-value-list]`), with comments anywhere CFWS may be; keeps the first comment after
    /// the result. Tolerates results in any case, pairs without `;` between them or with extra
    /// `;`, and unquoted values that are not dot-atoms (`client-ip=2001:db8::1`). Unknown keys
    /// are kept; a key must be a [`Keyword`], so the `.` that RFC 7208's `name` also allows
    /// in keys is refused with an error at its offset (no known writer uses it).
    pub fn parse(input: impl AsRef<[u8]>) -> Result<ReceivedSpf, ParseError> {
        let mut c = Cursor::new(input.as_ref());
        c.skip_cfws()?;
        let start = c.pos();
        let word = c.keyword("an SPF result")?;
        let result = word.as_str().parse().map_err(|_| {
            ParseError::new(
                ParseErrorKind::UnknownResult {
                    token: word.as_str().to_owned(),
                },
                start,
            )
        })?;
        let mut field = ReceivedSpf::new(result);
        field.comment = c.skip_cfws()?;
        loop {
            c.skip_cfws()?;
            if c.at_end() {
                return Ok(field);
            }
            if c.eat(b';') {
                continue;
            }
            let key = c.keyword("a key or ';'")?;
            c.skip_cfws()?;
            c.expect(b'=', "'=' after the key")?;
            c.skip_cfws()?;
            let value = c.value()?;
            field.pairs.push((key, value));
        }
    }
}

impl fmt::Display for ReceivedSpf {
    /// The field value, as [`to_value`](ReceivedSpf::to_value) writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7208_2_6_result_tokens() {
        for r in ReceivedSpfResult::ALL {
            assert_eq!(r.as_str().parse::<ReceivedSpfResult>(), Ok(r));
            assert_eq!(
                r.to_string().to_uppercase().parse::<ReceivedSpfResult>(),
                Ok(r)
            );
        }
        assert_eq!("SoftFail".parse(), Ok(ReceivedSpfResult::SoftFail));
        assert!("policy".parse::<ReceivedSpfResult>().is_err());
    }

    #[test]
    fn rfc7208_9_1_example_is_written_as_the_rfc_shows() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let field = ReceivedSpf::new(ReceivedSpfResult::Pass)
            .with_comment(ReceivedSpf::standard_comment(
                ReceivedSpfResult::Pass,
                "mybox.example.org",
                "myname@example.com",
                ip,
            ))
            .with_receiver("mybox.example.org")
            .with_client_ip(ip)
            .with_envelope_from("myname@example.com")
            .with_helo("foo.example.com");
        assert_eq!(
            field.to_field(),
            "Received-SPF: pass (mybox.example.org: domain of myname@example.com designates\r\n \
             192.0.2.1 as permitted sender) receiver=mybox.example.org;\r\n  \
             client-ip=192.0.2.1; envelope-from=\"myname@example.com\";\r\n  \
             helo=foo.example.com;\r\n"
        );
        assert_eq!(ReceivedSpf::parse(field.to_value()).unwrap(), field);
        assert_eq!(field.client_ip(), Some(ip));
    }

    #[test]
    fn rfc7208_9_1_second_example_parses() {
        let field = ReceivedSpf::parse(
            "fail (mybox.example.org: domain of\r\n myname@example.com does not designate\r\n \
             192.0.2.1 as permitted sender)\r\n identity=mailfrom;\r\n",
        )
        .unwrap();
        assert_eq!(field.result, ReceivedSpfResult::Fail);
        assert_eq!(
            field.comment.as_deref(),
            Some(
                "mybox.example.org: domain of myname@example.com does not designate 192.0.2.1 \
                 as permitted sender"
            )
        );
        assert_eq!(field.get("identity"), Some("mailfrom"));
    }

    #[test]
    fn erratum_5436_result_and_comment_only() {
        let field = ReceivedSpf::parse("Neutral (no pairs at all)").unwrap();
        assert_eq!(field.result, ReceivedSpfResult::Neutral);
        assert_eq!(field.comment.as_deref(), Some("no pairs at all"));
        assert!(field.pairs.is_empty());
        assert_eq!(
            ReceivedSpf::parse("pass").unwrap(),
            ReceivedSpf::new(ReceivedSpfResult::Pass)
        );
    }

    #[test]
    fn rfc7208_9_1_tolerant_pairs() {
        let field = ReceivedSpf::parse(
            "SoftFail client-ip=2001:db8::1 ;; helo=mail.example (x) envelope-from=<>",
        )
        .unwrap();
        assert_eq!(field.client_ip(), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(field.get("helo"), Some("mail.example"));
        assert_eq!(field.get("envelope-from"), Some("<>"));
        assert_eq!(field.comment, None);
    }

    #[test]
    fn parse_errors_name_the_offset() {
        assert_eq!(
            ReceivedSpf::parse("  ambiguous (x)"),
            Err(ParseError::new(
                ParseErrorKind::UnknownResult {
                    token: "ambiguous".into()
                },
                2
            ))
        );
        assert_eq!(
            ReceivedSpf::parse("pass helo mail.example"),
            Err(ParseError::new(
                ParseErrorKind::Expected {
                    expected: "'=' after the key",
                    found: Some('m')
                },
                10
            ))
        );
        assert_eq!(
            ReceivedSpf::parse("pass helo=\"open"),
            Err(ParseError::new(
                ParseErrorKind::UnterminatedQuotedString,
                10
            ))
        );
        assert_eq!(
            ReceivedSpf::parse("pass helo=a\r\nX-Evil: yes"),
            Err(ParseError::new(ParseErrorKind::BareLineBreak, 11))
        );
    }

    #[test]
    fn ipv6_client_ip_is_quoted() {
        let field = ReceivedSpf::new(ReceivedSpfResult::None)
            .with_client_ip("2001:db8::25".parse().unwrap())
            .with_mechanism("default");
        assert_eq!(
            field.to_value(),
            "none client-ip=\"2001:db8::25\"; mechanism=default;"
        );
        assert_eq!(ReceivedSpf::parse(field.to_value()).unwrap(), field);
    }
}
