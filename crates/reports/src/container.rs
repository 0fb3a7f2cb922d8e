//! Finding reports in containers: gzip, zip, e-mail, mbox, maildir, directories.
//!
//! The container is told by content, not by name: a gzip stream (`1f 8b`), a zip archive
//! (`PK\x03\x04`), XML (`<` after an optional byte-order mark and white space), an mbox
//! (`From ` at the start), or an e-mail (a header field at the start). An e-mail holds an
//! aggregate report as an attachment found by MIME type (`application/gzip`,
//! `application/zip`, `text/xml`, ... — RFC 9990 asks for `application/gzip`) or by file name
//! (`.xml`, `.gz`, `.zip`), or is a failure report (`multipart/report` with a
//! `message/feedback-report` part, RFC 5965 §2).

use crate::aggregate::parse_aggregate_xml;
use crate::arf::parse_failure_report;
use crate::diag::Diagnostics;
use crate::model::Report;
use mail_parser::{MessageParser, MimeHeaders, PartType};
use mailstamp::mailbox::{FileList, MailboxOptions, Mbox, escape_path};
use std::io::{Cursor, Read};
use std::path::Path;

/// Limits for reading.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// The largest input, and the largest decompressed gzip stream or zip member, in bytes: a
    /// larger one is an error (a guard against compression bombs).
    pub max_size: u64,
    /// How deep containers may nest (a zip in an e-mail in an mbox is 3).
    pub max_depth: u32,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_size: 256 * 1024 * 1024,
            max_depth: 6,
        }
    }
}

struct Reader<'a> {
    options: ParseOptions,
    /// Where each report goes as soon as it is read.
    sink: &'a mut dyn FnMut(Report),
    /// How many reports went to the sink.
    found: usize,
    diags: &'a mut Diagnostics,
}

impl Reader<'_> {
    fn push(&mut self, report: Report) {
        self.found += 1;
        (self.sink)(report);
    }
}

/// Reads every report under `path`: a file of any supported kind, a maildir (a directory
/// with `cur/` or `new/`), or a directory (every file in it and its subdirectories, in name
/// order; names beginning with `.` are skipped with a warning). `-` is standard input.
///
/// Every report is held in the returned vector; [`parse_each`] hands each to the caller as
/// soon as it is read instead.
pub fn parse(path: &Path, options: ParseOptions) -> (Vec<Report>, Diagnostics) {
    let mut reports = Vec::new();
    let diags = parse_each(path, options, |r| reports.push(r));
    (reports, diags)
}

/// Reads every report under `path` (as [`parse`] does) and hands each to `sink` as soon as it
/// is read: memory is bounded by the largest input file (or mbox message, or decompressed
/// member) and its report, however many files a directory holds. The diagnostics are
/// returned at the end.
pub fn parse_each(path: &Path, options: ParseOptions, mut sink: impl FnMut(Report)) -> Diagnostics {
    let mut diags = Diagnostics::default();
    let mut r = Reader {
        options,
        sink: &mut sink,
        found: 0,
        diags: &mut diags,
    };
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        match std::io::stdin()
            .take(options.max_size + 1)
            .read_to_end(&mut bytes)
        {
            Ok(_) if bytes.len() as u64 > options.max_size => r.diags.error(
                "<stdin>",
                "",
                format!("larger than {} bytes", options.max_size),
            ),
            Ok(_) => r.bytes("<stdin>", &bytes, 0),
            Err(e) => r.diags.error("<stdin>", "", format!("cannot read: {e}")),
        }
    } else {
        r.path(path);
    }
    diags
}

/// Reads every report in `bytes` (any supported container). `name` names the input in
/// diagnostics and in each report's `source`.
pub fn parse_bytes(name: &str, bytes: &[u8], options: ParseOptions) -> (Vec<Report>, Diagnostics) {
    let mut reports = Vec::new();
    let mut diags = Diagnostics::default();
    let mut sink = |r| reports.push(r);
    Reader {
        options,
        sink: &mut sink,
        found: 0,
        diags: &mut diags,
    }
    .bytes(name, bytes, 0);
    (reports, diags)
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Gzip,
    Zip,
    Xml,
    Mbox,
    Mail,
    Unknown,
}

fn sniff(bytes: &[u8]) -> Kind {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Kind::Gzip;
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Kind::Zip;
    }
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let first = body.iter().position(|b| !b.is_ascii_whitespace());
    if let Some(i) = first
        && body.get(i) == Some(&b'<')
    {
        return Kind::Xml;
    }
    if bytes.starts_with(b"From ") {
        return Kind::Mbox;
    }
    // A header field: a name of printable ASCII without ':' then ':'.
    let line_end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let line = bytes.get(..line_end).unwrap_or_default();
    if let Some(colon) = line.iter().position(|&b| b == b':')
        && colon > 0
        && line
            .get(..colon)
            .unwrap_or_default()
            .iter()
            .all(|&b| (33..=126).contains(&b))
    {
        return Kind::Mail;
    }
    Kind::Unknown
}

impl Reader<'_> {
    fn path(&mut self, path: &Path) {
        let name = escape_path(path).into_owned();
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => return self.diags.error(&name, "", format!("cannot open: {e}")),
        };
        if meta.is_dir() {
            if path.join("cur").is_dir() || path.join("new").is_dir() {
                return self.maildir(path, &name);
            }
            return self.dir(path, &name);
        }
        if meta.len() > self.options.max_size {
            return self.diags.error(
                &name,
                "",
                format!(
                    "{} bytes: larger than the limit of {} bytes",
                    meta.len(),
                    self.options.max_size
                ),
            );
        }
        // An mbox is read message by message, never as a whole.
        let mut head = [0u8; 5];
        let is_mbox = std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok()
            && &head == b"From ";
        if is_mbox {
            return self.mbox(path, &name);
        }
        match std::fs::read(path) {
            Ok(bytes) => self.bytes(&name, &bytes, 0),
            Err(e) => self.diags.error(&name, "", format!("cannot read: {e}")),
        }
    }

    fn dir(&mut self, dir: &Path, name: &str) {
        let entries = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => return self.diags.error(name, "", format!("cannot list: {e}")),
        };
        let mut paths = Vec::new();
        let mut hidden = 0usize;
        for entry in entries {
            match entry {
                Ok(e) if e.file_name().as_encoded_bytes().starts_with(b".") => hidden += 1,
                Ok(e) => paths.push(e.path()),
                Err(e) => self.diags.error(name, "", format!("cannot list: {e}")),
            }
        }
        if hidden > 0 {
            self.diags.warn(
                name,
                "",
                format!("{hidden} hidden entries (names beginning with '.') skipped"),
            );
        }
        paths.sort();
        for p in paths {
            self.path(&p);
        }
    }

    fn maildir(&mut self, dir: &Path, name: &str) {
        let options = MailboxOptions::default()
            .with_max_message_size(usize::try_from(self.options.max_size).unwrap_or(usize::MAX));
        match FileList::maildir(dir, options) {
            Err(e) => self.diags.error(name, "", e.to_string()),
            Ok(list) => {
                if !list.ignored().is_empty() {
                    self.diags.warn(name, "", list.ignored().to_string());
                }
                for item in list {
                    match item {
                        Ok(mail) => self.mail(&mail.source.to_string(), &mail.bytes, 1),
                        Err(e) => self
                            .diags
                            .error(&e.position().to_string(), "", e.to_string()),
                    }
                }
            }
        }
    }

    fn mbox(&mut self, path: &Path, name: &str) {
        let options = MailboxOptions::default()
            .with_max_message_size(usize::try_from(self.options.max_size).unwrap_or(usize::MAX));
        match Mbox::open(path, options) {
            Err(e) => self.diags.error(name, "", e.to_string()),
            Ok(mbox) => {
                for item in mbox {
                    match item {
                        Ok(mail) => self.mail(&mail.source.to_string(), &mail.bytes, 1),
                        Err(e) => self
                            .diags
                            .error(&e.position().to_string(), "", e.to_string()),
                    }
                }
            }
        }
    }

    fn bytes(&mut self, name: &str, bytes: &[u8], depth: u32) {
        if depth > self.options.max_depth {
            return self.diags.error(
                name,
                "",
                format!(
                    "containers nested deeper than {} levels",
                    self.options.max_depth
                ),
            );
        }
        match sniff(bytes) {
            Kind::Gzip => self.gzip(name, bytes, depth),
            Kind::Zip => self.zip(name, bytes, depth),
            Kind::Xml => {
                if name.ends_with(".gz") || name.ends_with(".zip") {
                    self.diags.warn(
                        name,
                        "",
                        "named as compressed but holds plain XML: read as XML",
                    );
                }
                if let Some(r) = parse_aggregate_xml(name, bytes, self.diags) {
                    self.push(Report::Aggregate(r));
                }
            }
            Kind::Mbox => {
                let options = MailboxOptions::default().with_max_message_size(
                    usize::try_from(self.options.max_size).unwrap_or(usize::MAX),
                );
                let mbox = Mbox::new(bytes, mailstamp::mailbox::Origin::Stdin, options);
                for (i, item) in mbox.enumerate() {
                    let part = format!("{name}: message {}", i + 1);
                    match item {
                        Ok(mail) => self.mail(&part, &mail.bytes, depth + 1),
                        Err(e) => self.diags.error(&part, "", e.to_string()),
                    }
                }
            }
            Kind::Mail => self.mail(name, bytes, depth + 1),
            Kind::Unknown => self.diags.error(
                name,
                "",
                "not a report: neither XML, gzip, zip, an e-mail nor an mbox",
            ),
        }
    }

    fn gzip(&mut self, name: &str, bytes: &[u8], depth: u32) {
        let mut out = Vec::new();
        let decoder = flate2::read::MultiGzDecoder::new(bytes);
        let result = decoder
            .take(self.options.max_size + 1)
            .read_to_end(&mut out);
        if out.len() as u64 > self.options.max_size {
            return self.diags.error(
                name,
                "",
                format!(
                    "gzip stream decompresses to more than {} bytes",
                    self.options.max_size
                ),
            );
        }
        if let Err(e) = result {
            if out.is_empty() {
                return self
                    .diags
                    .error(name, "", format!("not a readable gzip stream: {e}"));
            }
            self.diags.warn(
                name,
                "",
                format!(
                    "gzip stream damaged or followed by other bytes ({e}): read the {} bytes decompressed before",
                    out.len()
                ),
            );
        }
        let inner = name
            .strip_suffix(".gz")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{name} (gunzipped)"));
        self.bytes(&inner, &out, depth + 1);
    }

    fn zip(&mut self, name: &str, bytes: &[u8], depth: u32) {
        let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
            Ok(a) => a,
            Err(e) => {
                return self
                    .diags
                    .error(name, "", format!("not a readable zip archive: {e}"));
            }
        };
        let mut found = 0usize;
        for i in 0..archive.len() {
            let mut entry = match archive.by_index(i) {
                Ok(e) => e,
                Err(e) => {
                    self.diags.error(
                        name,
                        &format!("member {}", i + 1),
                        format!("cannot read: {e}"),
                    );
                    continue;
                }
            };
            if entry.is_dir() {
                continue;
            }
            let member = match entry.name() {
                Ok(n) => format!("{name}: {n}"),
                Err(_) => format!("{name}: member {}", i + 1),
            };
            let mut out = Vec::new();
            let result = (&mut entry)
                .take(self.options.max_size + 1)
                .read_to_end(&mut out);
            drop(entry);
            if out.len() as u64 > self.options.max_size {
                self.diags.error(
                    &member,
                    "",
                    format!("decompresses to more than {} bytes", self.options.max_size),
                );
                continue;
            }
            if let Err(e) = result {
                self.diags
                    .error(&member, "", format!("cannot decompress: {e}"));
                continue;
            }
            found += 1;
            self.bytes(&member, &out, depth + 1);
        }
        if found == 0 {
            self.diags.error(name, "", "zip archive without any file");
        }
    }

    fn mail(&mut self, name: &str, bytes: &[u8], depth: u32) {
        if depth > self.options.max_depth {
            return self.diags.error(name, "", "messages nested too deep");
        }
        let Some(message) = MessageParser::default().parse(bytes) else {
            return self
                .diags
                .error(name, "", "not a report: not a readable e-mail");
        };
        let before = self.found;
        let errors_before = self.diags.errors().count();
        // A failure report: multipart/report with a message/feedback-report part.
        let mut feedback: Option<Vec<u8>> = None;
        let mut original: Option<Vec<u8>> = None;
        let mut candidates: Vec<(String, Vec<u8>)> = Vec::new();
        let mut nested: Vec<(String, Vec<u8>)> = Vec::new();
        for (i, part) in message.parts.iter().enumerate() {
            if matches!(part.body, PartType::Multipart(_)) {
                continue;
            }
            let (ctype, subtype) = part
                .content_type()
                .map(|ct| {
                    (
                        ct.ctype().to_ascii_lowercase(),
                        ct.subtype().unwrap_or("").to_ascii_lowercase(),
                    )
                })
                .unwrap_or_else(|| ("text".to_owned(), "plain".to_owned()));
            let file_name = part.attachment_name().map(str::to_owned);
            let label = match &file_name {
                Some(f) => format!("{name}: part {} ({f})", i + 1),
                None => format!("{name}: part {} ({ctype}/{subtype})", i + 1),
            };
            let contents = part.contents().to_vec();
            match (ctype.as_str(), subtype.as_str()) {
                ("message", "feedback-report") => {
                    feedback.get_or_insert(contents);
                    continue;
                }
                ("message", "rfc822" | "global") | ("text", "rfc822-headers") => {
                    if original.is_none() {
                        original = Some(contents.clone());
                    }
                    if i > 0 && (ctype == "message") {
                        nested.push((label, contents));
                    }
                    continue;
                }
                _ => {}
            }
            let by_type = matches!(
                (ctype.as_str(), subtype.as_str()),
                (
                    "application",
                    "gzip" | "x-gzip" | "zip" | "x-zip-compressed" | "x-zip" | "xml"
                ) | ("text", "xml")
            );
            let by_name = file_name.as_deref().is_some_and(|f| {
                let f = f.to_ascii_lowercase();
                f.ends_with(".xml") || f.ends_with(".gz") || f.ends_with(".zip")
            });
            let by_content =
                ctype == "application" && matches!(sniff(&contents), Kind::Gzip | Kind::Zip);
            if by_type || by_name || by_content {
                let inner = file_name.map(|f| format!("{name}: {f}")).unwrap_or(label);
                candidates.push((inner, contents));
            }
        }
        if let Some(fb) = feedback {
            if let Some(r) = parse_failure_report(name, &fb, original.as_deref(), self.diags) {
                self.push(Report::Failure(r));
            }
            return;
        }
        for (label, contents) in candidates {
            self.bytes(&label, &contents, depth + 1);
        }
        if candidates_found(
            self.found,
            before,
            self.diags.errors().count(),
            errors_before,
        ) {
            return;
        }
        // A report forwarded as a message/rfc822 attachment.
        for (label, contents) in nested {
            self.mail(&label, &contents, depth + 1);
        }
        if self.found == before && self.diags.errors().count() == errors_before {
            self.diags.error(
                name,
                "",
                "not a report: an e-mail without a report attachment (looked for gzip, zip or XML by MIME type and file name) and without a message/feedback-report part",
            );
        }
    }
}

/// Whether attachments gave a report or an error already.
fn candidates_found(reports: usize, before: usize, errors: usize, errors_before: usize) -> bool {
    reports > before || errors > errors_before
}
