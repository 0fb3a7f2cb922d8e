//! The writing side shared by both fields: the character rule, quoting and folding.
//!
//! # The character rule
//!
//! Every free-form string that reaches a written field (authserv-id, property values, reasons,
//! comments, Received-SPF values) first goes through one rule, so that nothing taken from a
//! message, an SMTP session or a DNS record can end the field, start another header field, add
//! a resinfo or a property, or break a naive consumer:
//!
//! 1. Printable ASCII (U+0020 to U+007E) is kept.
//! 2. Every other character (CR, LF, TAB and the other controls, DEL, and everything outside
//!    ASCII) is replaced by the `%XX` encoding of each of its UTF-8 octets (upper-case hex), as
//!    URIs do. So `jörg` becomes `j%C3%B6rg` and `a\r\nb` becomes `a%0D%0Ab`. A `%` already in
//!    the text is kept as it is: the rule is idempotent (applying it to its own output changes
//!    nothing), which keeps re-written fields stable, but it is not reversible.
//! 3. In comments, `(`, `)`, `\`, `;` and `"` are encoded the same way (`%28` …): `;` and `(`
//!    appear only inside quoted strings, where every consumer treats them as text.
//! 4. The encoded text is cut to at most [`MAX_VALUE_LEN`] octets, at a character boundary
//!    (never inside a `%XX`), so that every line stays below the 998-octet limit of RFC 5322
//!    §2.1.1. Values that long are not legitimate (an RFC 5321 path is at most 256 octets).
//!
//! Then the value is written bare when its grammar allows (an RFC 2045 token; for property
//! values also `[local-part] "@" domain-name`, RFC 8601 §2.2; for Received-SPF a dot-atom,
//! RFC 7208 §9.1) and as an RFC 5322 quoted-string otherwise, with `"` and `\` as quoted-pairs.
//!
//! # Folding
//!
//! Lines are folded (CRLF followed by whitespace, RFC 5322 §2.2.3) at no more than
//! [`LINE_WIDTH`] columns where possible: between resinfos, properties and key-value pairs, and
//! before a space inside a long quoted string or comment (unfolding restores the text exactly).

use std::fmt::Write as _;

/// Longest text of a written value after the character rule, in octets (quotes and
/// quoted-pairs not counted). Longer values are cut; see the [module rules](crate#writing).
pub const MAX_VALUE_LEN: usize = 400;

/// Preferred maximum line length, excluding CRLF (RFC 5322 §2.1.1).
pub const LINE_WIDTH: usize = 78;

/// The absolute maximum line length, excluding CRLF (RFC 5322 §2.1.1); no written line is
/// longer.
pub const MAX_LINE_LEN: usize = 998;

/// Where a free-form string is written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Form {
    /// RFC 2045 `value`: token or quoted-string (authserv-id, `reason=`).
    Value,
    /// RFC 8601 `pvalue`: `value` or `[[local-part] "@"] domain-name`.
    PValue,
    /// RFC 7208 §9.1 key-value pair value: dot-atom or quoted-string.
    DotAtom,
}

/// True for the characters the character rule keeps as they are.
fn is_kept(c: char, in_comment: bool) -> bool {
    (' '..='~').contains(&c) && !(in_comment && matches!(c, '(' | ')' | '\\' | ';' | '"'))
}

/// Appends `s` to `out` under the character rule (rules 1 to 4 of the module documentation).
pub(crate) fn encode_into(out: &mut String, s: &str, in_comment: bool) {
    if s.len() <= MAX_VALUE_LEN && s.bytes().all(|b| is_kept(char::from(b), in_comment)) {
        out.push_str(s);
        return;
    }
    let mut written = 0usize;
    for c in s.chars() {
        if is_kept(c, in_comment) {
            if written >= MAX_VALUE_LEN {
                break;
            }
            out.push(c);
            written += 1;
        } else {
            let mut buf = [0u8; 4];
            let octets = c.encode_utf8(&mut buf).as_bytes();
            if written + 3 * octets.len() > MAX_VALUE_LEN {
                break;
            }
            for b in octets {
                let _ = write!(out, "%{b:02X}");
            }
            written += 3 * octets.len();
        }
    }
}

/// Applies the character rule to `s`.
#[cfg(test)]
pub(crate) fn encode_text(s: &str, in_comment: bool) -> String {
    let mut out = String::new();
    encode_into(&mut out, s, in_comment);
    out
}

/// RFC 2045 §5.1: a visible character other than the `tspecials` `()<>@,;:\"/[]?=`.
fn is_token_byte(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'0'..=b'9' | b'A'..=b'Z' | b'^'..=b'~'
    )
}

/// RFC 2045 §5.1 `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// RFC 5322 §3.2.3 `atext`: letters, digits and ``!#$%&'*+-/=?^_`{|}~``.
fn is_atext(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'#'..=b'\''
            | b'*'
            | b'+'
            | b'-'
            | b'/'
            | b'0'..=b'9'
            | b'='
            | b'?'
            | b'A'..=b'Z'
            | b'^'..=b'~'
    )
}

/// `1*atext *("." 1*atext)` with the given atext.
fn is_dot_atom_with(s: &str, atext: fn(u8) -> bool) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|part| !part.is_empty() && part.bytes().all(atext))
}

/// RFC 5322 §3.2.3 `dot-atom-text`.
pub(crate) fn is_dot_atom(s: &str) -> bool {
    is_dot_atom_with(s, is_atext)
}

/// RFC 6376 §3.5 `domain-name`: `sub-domain 1*("." sub-domain)`, each sub-domain a letter or
/// digit, then letters, digits and hyphens, not ending with a hyphen.
fn is_domain_name(s: &str) -> bool {
    let mut labels = 0usize;
    for label in s.split('.') {
        let b = label.as_bytes();
        let ok = match (b.first(), b.last()) {
            (Some(f), Some(l)) => {
                f.is_ascii_alphanumeric()
                    && l.is_ascii_alphanumeric()
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            }
            _ => false,
        };
        if !ok {
            return false;
        }
        labels += 1;
    }
    labels >= 2
}

/// RFC 8601 §2.2 `[ [ local-part ] "@" ] domain-name`, restricted to a dot-atom local-part whose
/// characters are also RFC 2045 token characters (so no `/`, `=` or `?`, which would confuse
/// consumers that split on them).
fn is_bare_address(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    (local.is_empty() || is_dot_atom_with(local, |b| is_atext(b) && is_token_byte(b)))
        && is_domain_name(domain)
}

/// Appends `s` as a quoted-string: `"` and `\` become quoted-pairs (RFC 5322 §3.2.4).
fn quote_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// `s` as a quoted-string.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into(&mut out, s);
    out
}

/// A free-form string, encoded by the character rule and written bare or quoted.
#[cfg(test)]
pub(crate) fn value(s: &str, form: Form) -> String {
    let mut units = Units::new();
    units.value(s, form);
    units.buf
}

/// The written units of a field, in one buffer. A unit is written with [`Units::text`],
/// [`Units::value`] and [`Units::comment`] calls and closed with [`Units::end`]. Units never
/// contain line breaks; every space in a unit lies inside a quoted string or comment.
pub(crate) struct Units {
    buf: String,
    scratch: String,
    /// Each unit: whether it starts a resinfo, and its byte range in `buf`.
    spans: Vec<(bool, usize, usize)>,
    open: usize,
}

impl Units {
    pub(crate) fn new() -> Units {
        Units {
            buf: String::with_capacity(256),
            scratch: String::new(),
            spans: Vec::with_capacity(24),
            open: 0,
        }
    }

    /// Appends literal text (keywords, `=`, digits) to the open unit.
    pub(crate) fn text(&mut self, s: &str) -> &mut Units {
        self.buf.push_str(s);
        self
    }

    /// Appends a free-form string to the open unit: the character rule, then bare when `form`
    /// allows, quoted otherwise.
    pub(crate) fn value(&mut self, s: &str, form: Form) -> &mut Units {
        self.scratch.clear();
        encode_into(&mut self.scratch, s, false);
        let text = self.scratch.as_str();
        let bare = match form {
            Form::Value => is_token(text),
            Form::PValue => is_token(text) || is_bare_address(text),
            Form::DotAtom => is_dot_atom(text),
        };
        if bare {
            self.buf.push_str(text);
        } else {
            quote_into(&mut self.buf, text);
        }
        self
    }

    /// Appends a comment, `(` text `)`, with the text encoded by the comment rule.
    pub(crate) fn comment(&mut self, s: &str) -> &mut Units {
        self.buf.push('(');
        encode_into(&mut self.buf, s, true);
        self.buf.push(')');
        self
    }

    /// Closes the open unit.
    pub(crate) fn end(&mut self, starts_resinfo: bool) {
        self.spans.push((starts_resinfo, self.open, self.buf.len()));
        self.open = self.buf.len();
    }

    /// The units, each with its flag.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (bool, &str)> {
        self.spans
            .iter()
            .map(|&(flag, from, to)| (flag, self.buf.get(from..to).unwrap_or_default()))
    }

    /// Total length of the written text.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }
}

/// How a unit is joined to what precedes it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Sep {
    /// Directly (a `;` after a value).
    Glue,
    /// With a space, or a fold to a line starting with `indent` if the unit does not fit.
    Space {
        /// Indentation of the new line when folded.
        indent: &'static str,
    },
    /// Always on a new line starting with `indent`.
    Newline {
        /// Indentation of the new line.
        indent: &'static str,
    },
}

/// Joins units into one folded field value.
pub(crate) struct Folder {
    out: String,
    col: usize,
    /// Nothing but indentation on the current line yet.
    fresh: bool,
}

impl Folder {
    /// A folder whose first line already holds `start_col` columns (the field name and `: `).
    pub(crate) fn new(start_col: usize, capacity: usize) -> Folder {
        Folder {
            out: String::with_capacity(capacity),
            col: start_col,
            fresh: true,
        }
    }

    fn newline(&mut self, indent: &str) {
        self.out.push_str("\r\n");
        self.out.push_str(indent);
        self.col = indent.len();
        self.fresh = true;
    }

    /// Adds a unit. Units never contain line breaks; every space in a unit lies inside a quoted
    /// string or comment and may become a fold.
    pub(crate) fn push(&mut self, sep: Sep, unit: &str) {
        match sep {
            Sep::Glue => {}
            Sep::Space { indent } => {
                if self.fresh {
                    // At the start of the value or right after an indentation.
                } else if self.col + 1 + unit.len() > LINE_WIDTH
                    && break_points(unit)
                        .next()
                        .is_none_or(|at| self.col + 1 + at > LINE_WIDTH)
                {
                    // Neither the unit nor its first part (up to a space where it can be
                    // folded inside) fits here.
                    self.newline(indent);
                } else {
                    self.out.push(' ');
                    self.col += 1;
                }
            }
            Sep::Newline { indent } => self.newline(indent),
        }
        let mut rest = unit;
        while self.col + rest.len() > LINE_WIDTH {
            // Break before a space followed by a non-space (so no line is only whitespace),
            // preferring the last one that keeps this line within the width.
            let points = break_points(rest);
            let fitting = points
                .clone()
                .take_while(|&i| self.col + i <= LINE_WIDTH)
                .last();
            let Some(at) = fitting.or_else(|| points.clone().next()) else {
                break;
            };
            let (head, tail) = rest.split_at(at);
            self.out.push_str(head);
            self.out.push_str("\r\n");
            self.col = 0;
            rest = tail;
        }
        self.out.push_str(rest);
        self.col += rest.len();
        self.fresh = false;
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// Where a unit may be folded inside: before a space that follows something and is followed
/// by a non-space (so no line is only whitespace). Spaces occur in units only inside quoted
/// strings and comments.
fn break_points(unit: &str) -> impl Iterator<Item = usize> + Clone + '_ {
    unit.as_bytes()
        .windows(2)
        .enumerate()
        .filter(|&(i, w)| i > 0 && w[0] == b' ' && w[1] != b' ')
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2045_5_1_and_rfc5322_3_2_3_character_classes() {
        for b in 0..=255u8 {
            let token = b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b);
            assert_eq!(is_token_byte(b), token, "token {b:#x}");
            let atext = b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b);
            assert_eq!(is_atext(b), atext, "atext {b:#x}");
        }
    }

    #[test]
    fn character_rule_encodes_controls_and_non_ascii() {
        assert_eq!(encode_text("jörg", false), "j%C3%B6rg");
        assert_eq!(
            encode_text("a\r\nX-Evil: 1\tb\u{7f}", false),
            "a%0D%0AX-Evil: 1%09b%7F"
        );
        assert_eq!(
            encode_text("100% (sure); \"x\"", false),
            "100% (sure); \"x\""
        );
        assert_eq!(
            encode_text("100% (sure); \"x\" \\", true),
            "100% %28sure%29%3B %22x%22 %5C"
        );
    }

    #[test]
    fn character_rule_is_idempotent() {
        for s in ["jörg\r\n", "(a;b)\\\"", "%41 plain", "\u{1F600}"] {
            for comment in [false, true] {
                let once = encode_text(s, comment);
                assert_eq!(encode_text(&once, comment), once, "{s:?}");
            }
        }
    }

    #[test]
    fn character_rule_truncates_at_character_boundaries() {
        let long = "a".repeat(MAX_VALUE_LEN + 10);
        assert_eq!(encode_text(&long, false).len(), MAX_VALUE_LEN);
        // 399 ASCII octets then a two-octet character: "%C3%A9" does not fit, so it is dropped
        // whole rather than cut inside its encoding.
        let s = format!("{}é", "a".repeat(MAX_VALUE_LEN - 1));
        assert_eq!(encode_text(&s, false), "a".repeat(MAX_VALUE_LEN - 1));
    }

    #[test]
    fn rfc2045_5_1_tokens_are_bare_others_quoted() {
        assert_eq!(value("example.com", Form::Value), "example.com");
        assert_eq!(value("rsa-sha256", Form::Value), "rsa-sha256");
        assert_eq!(value("good signature", Form::Value), "\"good signature\"");
        assert_eq!(value("", Form::Value), "\"\"");
        assert_eq!(value("a/b", Form::Value), "\"a/b\"");
        assert_eq!(value("say \"hi\"\\", Form::Value), "\"say \\\"hi\\\"\\\\\"");
        assert_eq!(value("x;y=z", Form::Value), "\"x;y=z\"");
    }

    #[test]
    fn rfc8601_2_2_pvalue_allows_bare_addresses() {
        assert_eq!(value("user@example.com", Form::PValue), "user@example.com");
        assert_eq!(value("@example.com", Form::PValue), "@example.com");
        assert_eq!(
            value("first.last@a.example", Form::PValue),
            "first.last@a.example"
        );
        // Not an addr-spec we write bare: the reason= form never is.
        assert_eq!(
            value("user@example.com", Form::Value),
            "\"user@example.com\""
        );
        // Single-label domain, `=` in the local-part, two dots, a space: quoted.
        assert_eq!(value("user@localhost", Form::PValue), "\"user@localhost\"");
        assert_eq!(
            value("a=b@example.com", Form::PValue),
            "\"a=b@example.com\""
        );
        assert_eq!(
            value("a..b@example.com", Form::PValue),
            "\"a..b@example.com\""
        );
        assert_eq!(
            value("a b@example.com", Form::PValue),
            "\"a b@example.com\""
        );
        assert_eq!(value("u@-x.example", Form::PValue), "\"u@-x.example\"");
    }

    #[test]
    fn rfc7208_9_1_values_are_dot_atoms_or_quoted() {
        assert_eq!(value("192.0.2.1", Form::DotAtom), "192.0.2.1");
        assert_eq!(value("2001:db8::1", Form::DotAtom), "\"2001:db8::1\"");
        assert_eq!(value("a@example.com", Form::DotAtom), "\"a@example.com\"");
        assert_eq!(value("mailfrom", Form::DotAtom), "mailfrom");
    }

    #[test]
    fn comments_never_hold_separators() {
        let mut units = Units::new();
        units.comment("a (b); c");
        units.end(false);
        assert_eq!(units.iter().next(), Some((false, "(a %28b%29%3B c)")));
    }

    #[test]
    fn rfc5322_2_2_3_folder_folds_between_units_and_inside_quotes() {
        let mut f = Folder::new(20, 0);
        f.push(Sep::Space { indent: "  " }, "a=1");
        for _ in 0..20 {
            f.push(Sep::Space { indent: "  " }, "bb=22");
        }
        let out = f.finish();
        assert!(out.starts_with("a=1 bb=22"));
        for (i, line) in out.split("\r\n").enumerate() {
            let start = if i == 0 { 20 } else { 0 };
            assert!(start + line.len() <= LINE_WIDTH, "{line:?}");
            assert!(!line.trim().is_empty());
            assert!(i == 0 || line.starts_with("  bb"), "{line:?}");
        }
        let mut f = Folder::new(0, 0);
        let words = vec!["word"; 40].join(" ");
        f.push(Sep::Glue, &format!("\"{words}\""));
        let out = f.finish();
        assert!(out.lines().count() > 1);
        assert_eq!(out.replace("\r\n", ""), format!("\"{words}\""));
        assert!(out.split("\r\n").all(|l| l.len() <= LINE_WIDTH));
    }
}
