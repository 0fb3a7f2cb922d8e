//! Helpers shared by the test modules.

use mailstamp_authres::{Keyword, MAX_LINE_LEN};

pub fn kw(s: &str) -> Keyword {
    Keyword::new(s).unwrap()
}

/// The character rule of the crate documentation, written independently of the crate: what a
/// value reads back as after a write → parse round trip (for values short enough not to be
/// cut).
pub fn encoded(s: &str, in_comment: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let special = in_comment && "()\\;\"".contains(c);
        if (' '..='~').contains(&c) && !special {
            out.push(c);
        } else {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Asserts that `field` is exactly one header field named `name`: printable ASCII, ends with
/// CRLF, every other line break is a fold, lines within the RFC 5322 limit. Returns the
/// unfolded value.
pub fn assert_one_field(field: &str, name: &str) -> String {
    let prefix = format!("{name}: ");
    assert!(field.starts_with(&prefix), "{field:?}");
    let body = field.strip_suffix("\r\n").expect("ends with CRLF");
    for (i, line) in body.split("\r\n").enumerate() {
        assert!(
            line.bytes().all(|b| (b' '..=b'~').contains(&b)),
            "line {i} has a control or non-ASCII octet: {field:?}"
        );
        assert!(
            i == 0 || line.starts_with(' '),
            "line {i} is not a fold: {field:?}"
        );
        assert!(!line.trim().is_empty(), "line {i} is blank: {field:?}");
        assert!(line.len() <= MAX_LINE_LEN, "line {i} too long: {field:?}");
    }
    body[prefix.len()..].replace("\r\n", "")
}

/// What a naive consumer sees: the number of `;` and `(` outside quoted strings (it knows
/// quoted strings with quoted-pairs, nothing else).
pub fn naive_separators(unfolded: &str) -> (usize, usize) {
    let (mut semicolons, mut parens) = (0, 0);
    let mut in_quotes = false;
    let mut escaped = false;
    for c in unfolded.chars() {
        if in_quotes {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_quotes = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            ';' => semicolons += 1,
            '(' => parens += 1,
            _ => {}
        }
    }
    assert!(!in_quotes, "unbalanced quotes in {unfolded:?}");
    (semicolons, parens)
}
