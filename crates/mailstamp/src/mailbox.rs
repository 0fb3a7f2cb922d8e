//! Streaming message sources for bulk verification: mbox files, maildirs, directories of
//! `.eml` files, a single message file and standard input.
//!
//! Every source is an iterator of `Result<`[`MailItem`]`, `[`MailboxError`]`>`: one item per
//! message, in a deterministic input order, each carrying its [`Position`] (the file, and for an
//! mbox the message's 1-based index, line and byte offset). A message that cannot be read, or
//! that is larger than [`MailboxOptions::max_message_size`], is an `Err` item naming the file and
//! position, and the iteration goes on with the next message: nothing is skipped silently.
//!
//! Memory stays bounded by the largest single message whatever the size of the input: an mbox is
//! read line by line through a [`BufRead`] (never as a whole), a message is handed over to the
//! caller as soon as it is complete, and a message over the size limit is discarded while it is
//! read (the reader then resynchronises at the next `From ` line).
//!
//! # The mbox format (RFC 4155)
//!
//! * A message starts after a *From_ line*: a line beginning with the five bytes `From `
//!   (RFC 4155 §2, case-sensitive). Any such line starts a new message, wherever it occurs, as
//!   in Python's `mailbox` module and most mail readers; a writer must quote body lines that
//!   begin with `From `, which is what the quoting variants below are about. The From_ line
//!   itself is not part of the message.
//! * The blank line that writers put between a message and the next From_ line (and after the
//!   last message) is removed. One blank line at most is removed, and only a blank line; a
//!   message that lost a trailing blank line this way is unchanged for DKIM, whose
//!   canonicalizations ignore trailing empty lines (RFC 6376 §3.4.3, §3.4.4).
//! * Lines end in LF or CRLF; the message bytes keep the line endings of the file (normalising
//!   them is the message parser's job). A final message without a trailing newline is kept as it
//!   is. An empty file has no messages.
//! * Bytes before the first From_ line are not part of any message: they are reported as one
//!   [`MailboxError::BeforeFirstFromLine`] item (a file with no From_ line at all, such as a
//!   single message passed as an mbox, gives only that item). Leading empty lines alone are
//!   ignored.
//! * `Content-Length:` fields (the mboxcl and mboxcl2 variants) are not used to find message
//!   boundaries: the From_ lines are, which works for mboxcl files whose bodies are quoted and
//!   for every mboxo and mboxrd file.
//!
//! ## From_ quoting: mboxrd, mboxo
//!
//! Writers protect body lines that begin with `From ` by prefixing `>`. [`FromQuoting`] selects
//! how a reader undoes it:
//!
//! * [`FromQuoting::Mboxrd`] (the default): a line matching `>+From ` loses one `>`. This exactly
//!   inverts mboxrd writing (every `>*From ` line gets one more `>`), and for mboxo files it is
//!   right for every line except a body line that originally began with `>From ` (rare: a quoted
//!   quoted line), which comes back as `From `.
//! * [`FromQuoting::Mboxo`]: only a line beginning `>From ` (exactly one `>`) loses its `>`; the
//!   inverse of mboxo writing, which quotes `From ` but not `>From `. mboxo quoting is lossy by
//!   design: a body line that originally began with `>From ` also comes back as `From `.
//! * [`FromQuoting::None`]: lines are passed through unchanged.
//!
//! Unquoting matters for DKIM: a body hash is computed over the original lines. For the
//! unquoting test only the first [`LINE_HEAD`] bytes of a line are looked at, so a line with more
//! than `LINE_HEAD - 5` leading `>` is never unquoted.
//!
//! # Maildir and directories of `.eml` files
//!
//! * A maildir is read from its `cur/` and `new/` subdirectories (at least one must exist);
//!   `tmp/` holds messages still being delivered and is ignored. The messages of both are sorted
//!   together by file name (byte order, which for the usual `time.unique.host` names is delivery
//!   order), `cur/` before `new/` on equal names. Names beginning with `.` are not messages
//!   (maildir convention) and, with subdirectories and other non-files, are counted in
//!   [`IgnoredEntries`]. Maildir++ subfolders (`.Sent/`, ...) are not descended into.
//! * A directory of `.eml` files: the regular files whose extension is `eml` (any ASCII case),
//!   sorted by file name; everything else is counted in [`IgnoredEntries`], which the caller
//!   reports once. Subdirectories are not descended into.
//!
//! Directory listings are read when the source is opened (file names only, never contents), so
//! the order is known in advance and a listing error is an `Err` from [`Messages::open`].
//!
//! # Example
//!
//! ```
//! use mailstamp::mailbox::{Mbox, MailboxOptions, Origin};
//!
//! let data = b"From alice@example.org Thu Jan  1 00:00:00 2026\n\
//!              Subject: one\n\nHello\n>From the desk\n\n\
//!              From bob@example.org Thu Jan  1 00:00:01 2026\n\
//!              Subject: two\n\nBye\n";
//! let mbox = Mbox::new(&data[..], Origin::Stdin, MailboxOptions::default());
//! let items: Vec<_> = mbox.collect::<Result<_, _>>().unwrap();
//! assert_eq!(items.len(), 2);
//! assert_eq!(items[0].bytes, b"Subject: one\n\nHello\nFrom the desk\n");
//! let at = items[1].source.mbox.unwrap();
//! assert_eq!((at.index, at.line, at.offset), (2, 7, 84));
//! ```

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::borrow::Cow;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::iter::FusedIterator;
use std::path::{Path, PathBuf};

/// Default for [`MailboxOptions::max_message_size`]: 64 MiB, above the size limits of common
/// MTAs (Postfix's `message_size_limit` defaults to 10 MB, Gmail accepts 25 MB and Microsoft 365
/// up to 150 MB only when raised by an administrator).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// How many bytes at the start of an mbox line are looked at to recognise a From_ line or a
/// quoted `>From ` line. Longer lines are read in further pieces; this is also the capacity of
/// the one line buffer an [`Mbox`] keeps between messages.
pub const LINE_HEAD: usize = 1024;

/// Capacity of the read buffer of files opened by this module.
const READ_BUFFER: usize = 64 * 1024;

/// How many message buffers [`recycle`] keeps per thread.
const SPARE_BUFFERS: usize = 4;

/// The largest buffer [`recycle`] keeps: a rare huge message's memory is given back at once.
const SPARE_MAX_CAPACITY: usize = 1 << 20;

thread_local! {
    /// Buffers of messages already checked, for the next messages read on this thread.
    static SPARE: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Hands the buffer of a message that is no longer needed ([`MailItem::bytes`]) back to this
/// module: the next message an [`Mbox`] reads on the same thread is built in it instead of
/// in a fresh allocation (a bulk run then reuses a few warm buffers instead of allocating and
/// freeing one per message). Buffers above 1 MiB, and any beyond the few kept per thread, are
/// freed.
pub fn recycle(mut bytes: Vec<u8>) {
    if bytes.capacity() == 0 || bytes.capacity() > SPARE_MAX_CAPACITY {
        return;
    }
    bytes.clear();
    let _ = SPARE.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut()
            && spare.len() < SPARE_BUFFERS
        {
            spare.push(bytes);
        }
    });
}

/// An empty buffer of at least `capacity` bytes: a recycled one when there is one.
fn message_buffer(capacity: usize) -> Vec<u8> {
    let spare = SPARE
        .try_with(|spare| spare.try_borrow_mut().ok().and_then(|mut s| s.pop()))
        .ok()
        .flatten();
    match spare {
        Some(mut buffer) => {
            buffer.reserve(capacity);
            buffer
        }
        None => Vec::with_capacity(capacity),
    }
}

/// How many ignored directory entries [`IgnoredEntries`] names as examples.
const IGNORED_EXAMPLES: usize = 3;

/// How an mbox reader undoes the quoting of body lines that begin with `From `.
///
/// See the [module documentation](self) for the variants and their trade-offs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FromQuoting {
    /// mboxrd: a line matching `>+From ` loses one `>`.
    #[default]
    Mboxrd,
    /// mboxo: a line beginning with exactly `>From ` loses its `>`.
    Mboxo,
    /// No unquoting: lines are returned as stored.
    None,
}

/// Options shared by every message source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxOptions {
    /// The largest message accepted, in bytes (after mbox unquoting). A larger message is an
    /// [`MailboxError::TooLarge`] item and is never held in memory as a whole.
    pub max_message_size: usize,
    /// How mbox From_ quoting is undone.
    pub from_quoting: FromQuoting,
}

impl Default for MailboxOptions {
    fn default() -> Self {
        MailboxOptions {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            from_quoting: FromQuoting::default(),
        }
    }
}

impl MailboxOptions {
    /// These options with another maximum message size in bytes.
    #[must_use]
    pub fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// These options with another mbox From_ unquoting rule.
    #[must_use]
    pub fn with_from_quoting(mut self, quoting: FromQuoting) -> Self {
        self.from_quoting = quoting;
        self
    }
}

/// Where the bytes come from: a file or standard input.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Standard input (written `-` on the command line).
    Stdin,
    /// A file.
    Path(PathBuf),
}

impl Origin {
    /// The file, if this is not standard input.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Origin::Stdin => None,
            Origin::Path(p) => Some(p),
        }
    }
}

impl fmt::Display for Origin {
    /// `<stdin>`, or the path with [`escape_path`]: two different files never print alike.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Stdin => f.write_str("<stdin>"),
            Origin::Path(p) => f.write_str(&escape_path(p)),
        }
    }
}

/// A path as text that names exactly one path: UTF-8 is kept, and every byte that is not
/// UTF-8 or is an ASCII control character is written `\xNN`, with `\` itself written `\\`. So
/// `a\xff` (the byte 0xFF) and `a\\xff` (a backslash, then `xff`) differ, where a lossy conversion
/// would print both, or two different invalid names, as U+FFFD.
///
/// ```
/// use mailstamp::mailbox::escape_path;
/// use std::path::Path;
///
/// assert_eq!(escape_path(Path::new("cur/1.eml")), "cur/1.eml");
/// assert_eq!(escape_path(Path::new("tab\there")), "tab\\x09here");
/// assert_eq!(escape_path(Path::new("back\\slash")), "back\\\\slash");
/// ```
pub fn escape_path(path: &Path) -> Cow<'_, str> {
    if let Some(text) = path.to_str()
        && !text.chars().any(|c| c == '\\' || c.is_ascii_control())
    {
        return Cow::Borrowed(text);
    }
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    Cow::Owned(out)
}

/// Where a message starts inside an mbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MboxLocation {
    /// 1-based index of the message in the mbox (the n-th From_ line).
    pub index: u64,
    /// 1-based line number of the message's From_ line.
    pub line: u64,
    /// Byte offset of the message's From_ line from the start of the file.
    pub offset: u64,
}

/// Where a message (or an error) comes from.
///
/// `Display` gives `FILE` or `FILE: message N (line L, byte B)`; as JSON (serde) it is
/// `{"file": FILE}` plus `"index"`, `"line"` and `"offset"` for an mbox message, with `FILE`
/// written `-` for standard input and non-UTF-8 path bytes replaced by U+FFFD.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    /// The file (or standard input).
    pub origin: Origin,
    /// For a message of an mbox, where it starts.
    pub mbox: Option<MboxLocation>,
}

impl Position {
    /// A whole file (or standard input).
    pub fn file(origin: Origin) -> Self {
        Position { origin, mbox: None }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.mbox {
            None => write!(f, "{}", self.origin),
            Some(at) => write!(
                f,
                "{}: message {} (line {}, byte {})",
                self.origin, at.index, at.line, at.offset
            ),
        }
    }
}

impl Serialize for Position {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = if self.mbox.is_some() { 4 } else { 1 };
        let mut map = serializer.serialize_map(Some(len))?;
        match &self.origin {
            Origin::Stdin => map.serialize_entry("file", "-")?,
            Origin::Path(p) => map.serialize_entry("file", &escape_path(p))?,
        }
        if let Some(at) = &self.mbox {
            map.serialize_entry("index", &at.index)?;
            map.serialize_entry("line", &at.line)?;
            map.serialize_entry("offset", &at.offset)?;
        }
        map.end()
    }
}

/// One message read from a source: where it comes from and its raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailItem {
    /// Where the message comes from.
    pub source: Position,
    /// The message as stored (for an mbox: without its From_ line and separating blank line,
    /// with From_ quoting undone). Line endings are those of the input.
    pub bytes: Vec<u8>,
}

/// Why a message (or a source) could not be read.
///
/// Every variant names the file; mbox variants also give the message position or the byte
/// offset. [`MailboxError::position`] gives the [`Position`] to print beside the error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailboxError {
    /// A file or directory could not be opened or listed.
    #[error("{}: cannot open: {source}", position.origin)]
    Open {
        /// The file or directory.
        position: Position,
        /// The operating system's reason.
        source: io::Error,
    },
    /// Reading failed part-way. In an mbox this ends the iteration (the rest of the stream cannot
    /// be trusted); in a directory the next file is read.
    #[error("{position}: read error at byte {offset}: {source}")]
    Read {
        /// The message being read (for an mbox before the first From_ line: the file).
        position: Position,
        /// Byte offset in the file where reading failed.
        offset: u64,
        /// The operating system's reason.
        source: io::Error,
    },
    /// A message is larger than [`MailboxOptions::max_message_size`]. It was not kept; for an
    /// mbox, reading resumes at the next From_ line.
    #[error(
        "{position}: message of {size} bytes is larger than the limit of {limit} bytes; skipped"
    )]
    TooLarge {
        /// The message.
        position: Position,
        /// Its size in bytes (for an mbox, after unquoting).
        size: u64,
        /// The limit in force.
        limit: usize,
    },
    /// An mbox has bytes before its first From_ line (RFC 4155 §2: the file must begin with
    /// one). They belong to no message and were not verified.
    #[error(
        "{}: {bytes} bytes in lines 1-{lines} come before the first \"From \" line and belong \
         to no message{}",
        position.origin,
        if *.found_from_line { "" } else { " (no \"From \" line at all: is this an mbox file?)" }
    )]
    BeforeFirstFromLine {
        /// The file.
        position: Position,
        /// How many bytes precede the first From_ line.
        bytes: u64,
        /// How many lines precede the first From_ line.
        lines: u64,
        /// Whether a From_ line follows (false: the whole file is this garbage).
        found_from_line: bool,
    },
    /// A file of a maildir or directory (or a single message file) is empty: there is no
    /// message to check, as for one file given alone.
    #[error("{}: the file is empty: there is no message to read", position.origin)]
    Empty {
        /// The file.
        position: Position,
    },
    /// A maildir path has neither a `cur/` nor a `new/` subdirectory.
    #[error("{}: not a maildir: it has neither a cur/ nor a new/ subdirectory", position.origin)]
    NotMaildir {
        /// The directory.
        position: Position,
    },
}

impl MailboxError {
    /// The message, file or directory the error is about.
    pub fn position(&self) -> &Position {
        match self {
            MailboxError::Open { position, .. }
            | MailboxError::Read { position, .. }
            | MailboxError::TooLarge { position, .. }
            | MailboxError::BeforeFirstFromLine { position, .. }
            | MailboxError::Empty { position }
            | MailboxError::NotMaildir { position } => position,
        }
    }
}

/// Directory entries that were not read as messages, reported once by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoredEntries {
    /// How many entries were ignored.
    pub count: usize,
    /// The first few of them (at most three), in listing order.
    pub examples: Vec<PathBuf>,
}

impl IgnoredEntries {
    fn add(&mut self, path: PathBuf) {
        self.count = self.count.saturating_add(1);
        if self.examples.len() < IGNORED_EXAMPLES {
            self.examples.push(path);
        }
    }

    /// True when nothing was ignored.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl fmt::Display for IgnoredEntries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.count == 1 { "entry" } else { "entries" };
        write!(
            f,
            "ignored {} directory {plural} that are not messages",
            self.count
        )?;
        for (i, p) in self.examples.iter().enumerate() {
            let sep = if i == 0 { " (e.g. " } else { ", " };
            write!(f, "{sep}{}", p.display())?;
        }
        if !self.examples.is_empty() {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// What to read messages from (the command line's `--mbox`, `--maildir`, `DIR`, `FILE`, `-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// One message: a file or standard input.
    Message(Origin),
    /// An mbox: a file or standard input.
    Mbox(Origin),
    /// A maildir folder (the directory holding `cur/` and `new/`).
    Maildir(PathBuf),
    /// A directory of `.eml` files.
    EmlDir(PathBuf),
}

impl Input {
    /// The input a positional command-line argument names: `-` is one message on standard
    /// input, a directory is a directory of `.eml` files, anything else is one message file.
    pub fn from_argument(arg: &Path) -> Self {
        if arg.as_os_str() == "-" {
            Input::Message(Origin::Stdin)
        } else if arg.is_dir() {
            Input::EmlDir(arg.to_path_buf())
        } else {
            Input::Message(Origin::Path(arg.to_path_buf()))
        }
    }
}

/// Any message source, as one iterator type.
///
/// ```no_run
/// use mailstamp::mailbox::{Input, MailboxOptions, Messages};
///
/// let messages = Messages::open(&Input::Maildir("Mail/inbox".into()), MailboxOptions::default())?;
/// if !messages.ignored().is_empty() {
///     eprintln!("{}", messages.ignored());
/// }
/// for item in messages {
///     match item {
///         Ok(mail) => println!("{}: {} bytes", mail.source, mail.bytes.len()),
///         Err(e) => eprintln!("error: {e}"),
///     }
/// }
/// # Ok::<(), mailstamp::mailbox::MailboxError>(())
/// ```
#[derive(Debug)]
pub struct Messages {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Mbox(Box<Mbox<Box<dyn BufRead + Send>>>),
    Files(FileList),
    Stdin(Option<MailboxOptions>),
}

impl Messages {
    /// Opens a source. Errors here concern the source as a whole (an mbox that cannot be opened,
    /// a directory that cannot be listed, a maildir without `cur/` and `new/`); errors about
    /// single messages come later as `Err` items.
    pub fn open(input: &Input, options: MailboxOptions) -> Result<Self, MailboxError> {
        let inner = match input {
            Input::Message(Origin::Stdin) => Inner::Stdin(Some(options)),
            Input::Message(Origin::Path(p)) => Inner::Files(FileList::single(p.clone(), options)),
            Input::Mbox(Origin::Stdin) => {
                let reader: Box<dyn BufRead + Send> =
                    Box::new(BufReader::with_capacity(READ_BUFFER, io::stdin()));
                Inner::Mbox(Box::new(Mbox::new(reader, Origin::Stdin, options)))
            }
            Input::Mbox(Origin::Path(p)) => {
                let file = File::open(p).map_err(|source| MailboxError::Open {
                    position: Position::file(Origin::Path(p.clone())),
                    source,
                })?;
                let reader: Box<dyn BufRead + Send> =
                    Box::new(BufReader::with_capacity(READ_BUFFER, file));
                Inner::Mbox(Box::new(Mbox::new(
                    reader,
                    Origin::Path(p.clone()),
                    options,
                )))
            }
            Input::Maildir(dir) => Inner::Files(FileList::maildir(dir, options)?),
            Input::EmlDir(dir) => Inner::Files(FileList::eml_dir(dir, options)?),
        };
        Ok(Messages { inner })
    }

    /// The directory entries skipped because they are not messages (empty for files and
    /// standard input). Report it once, e.g. before or after the run.
    pub fn ignored(&self) -> &IgnoredEntries {
        static NONE: IgnoredEntries = IgnoredEntries {
            count: 0,
            examples: Vec::new(),
        };
        match &self.inner {
            Inner::Files(list) => &list.ignored,
            Inner::Mbox(_) | Inner::Stdin(_) => &NONE,
        }
    }
}

impl Iterator for Messages {
    type Item = Result<MailItem, MailboxError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Mbox(m) => m.next(),
            Inner::Files(l) => l.next(),
            Inner::Stdin(options) => {
                let options = options.take()?;
                Some(read_whole(io::stdin().lock(), Origin::Stdin, None, options))
            }
        }
    }
}

impl FusedIterator for Messages {}

/// Reads one whole message from `reader`, refusing more than `options.max_message_size` bytes.
/// `size_hint` (a file's length from its metadata) sizes the buffer and lets an over-size file
/// be refused without reading it.
fn read_whole<R: Read>(
    reader: R,
    origin: Origin,
    size_hint: Option<u64>,
    options: MailboxOptions,
) -> Result<MailItem, MailboxError> {
    let limit = options.max_message_size;
    let position = Position::file(origin);
    let limit_u64 = u64::try_from(limit).unwrap_or(u64::MAX);
    if let Some(size) = size_hint.filter(|&s| s > limit_u64) {
        return Err(MailboxError::TooLarge {
            position,
            size,
            limit,
        });
    }
    let initial = size_hint
        .and_then(|s| usize::try_from(s).ok())
        .unwrap_or(0)
        .min(limit)
        .saturating_add(1);
    let mut bytes = Vec::with_capacity(initial);
    let mut limited = reader.take(limit_u64.saturating_add(1));
    if let Err(source) = limited.read_to_end(&mut bytes) {
        let offset = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        return Err(MailboxError::Read {
            position,
            offset,
            source,
        });
    }
    if bytes.len() > limit {
        // The file grew after its metadata was read, or it is a stream: count the rest to
        // report the size, without keeping it.
        let mut reader = limited.into_inner();
        let rest = io::copy(&mut reader, &mut io::sink()).unwrap_or(0);
        let size = u64::try_from(bytes.len())
            .unwrap_or(u64::MAX)
            .saturating_add(rest);
        return Err(MailboxError::TooLarge {
            position,
            size,
            limit,
        });
    }
    if bytes.is_empty() {
        return Err(MailboxError::Empty { position });
    }
    Ok(MailItem {
        source: position,
        bytes,
    })
}

/// The messages of a list of files: a maildir, a directory of `.eml` files or one file.
///
/// The list is made when the source is opened; each file is read when its turn comes.
#[derive(Debug)]
pub struct FileList {
    files: std::vec::IntoIter<PathBuf>,
    ignored: IgnoredEntries,
    options: MailboxOptions,
}

impl FileList {
    /// One message file.
    pub fn single(path: PathBuf, options: MailboxOptions) -> Self {
        FileList {
            files: vec![path].into_iter(),
            ignored: IgnoredEntries::default(),
            options,
        }
    }

    /// The messages of a maildir folder: `cur/` and `new/` together, sorted by file name.
    pub fn maildir(dir: &Path, options: MailboxOptions) -> Result<Self, MailboxError> {
        let mut named: Vec<(OsString, u8, PathBuf)> = Vec::new();
        let mut ignored = IgnoredEntries::default();
        let mut found = false;
        for (rank, sub) in [(0u8, "cur"), (1u8, "new")] {
            let subdir = dir.join(sub);
            if !subdir.is_dir() {
                continue;
            }
            found = true;
            for (name, path, is_file) in list_dir(&subdir)? {
                if is_file && !name.as_encoded_bytes().starts_with(b".") {
                    named.push((name, rank, path));
                } else {
                    ignored.add(path);
                }
            }
        }
        if !found {
            return Err(MailboxError::NotMaildir {
                position: Position::file(Origin::Path(dir.to_path_buf())),
            });
        }
        named.sort();
        Ok(FileList {
            files: named
                .into_iter()
                .map(|(_, _, p)| p)
                .collect::<Vec<_>>()
                .into_iter(),
            ignored,
            options,
        })
    }

    /// The `.eml` files of a directory (extension `eml` in any ASCII case), sorted by file name.
    pub fn eml_dir(dir: &Path, options: MailboxOptions) -> Result<Self, MailboxError> {
        let mut named: Vec<(OsString, PathBuf)> = Vec::new();
        let mut ignored = IgnoredEntries::default();
        for (name, path, is_file) in list_dir(dir)? {
            let is_eml = path
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("eml"));
            if is_file && is_eml {
                named.push((name, path));
            } else {
                ignored.add(path);
            }
        }
        named.sort();
        Ok(FileList {
            files: named
                .into_iter()
                .map(|(_, p)| p)
                .collect::<Vec<_>>()
                .into_iter(),
            ignored,
            options,
        })
    }

    /// The entries that are not messages.
    pub fn ignored(&self) -> &IgnoredEntries {
        &self.ignored
    }
}

/// Lists a directory: (file name, path, is a regular file (symbolic links followed)), in the
/// order the system returns them.
fn list_dir(dir: &Path) -> Result<Vec<(OsString, PathBuf, bool)>, MailboxError> {
    let open_error = |source| MailboxError::Open {
        position: Position::file(Origin::Path(dir.to_path_buf())),
        source,
    };
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(open_error)? {
        let entry = entry.map_err(open_error)?;
        let path = entry.path();
        let is_file = match entry.file_type() {
            Ok(t) if t.is_symlink() => path.is_file(),
            Ok(t) => t.is_file(),
            Err(_) => false,
        };
        out.push((entry.file_name(), path, is_file));
    }
    Ok(out)
}

impl Iterator for FileList {
    type Item = Result<MailItem, MailboxError>;

    fn next(&mut self) -> Option<Self::Item> {
        let path = self.files.next()?;
        let origin = Origin::Path(path.clone());
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(source) => {
                return Some(Err(MailboxError::Open {
                    position: Position::file(origin),
                    source,
                }));
            }
        };
        let size = file.metadata().ok().map(|m| m.len());
        Some(read_whole(file, origin, size, self.options))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.files.size_hint()
    }
}

impl FusedIterator for FileList {}

/// The messages of an mbox, read line by line from any [`BufRead`].
///
/// See the [module documentation](self) for the format rules. Between two calls to `next` the
/// reader keeps only one line buffer of [`LINE_HEAD`] bytes (see
/// [`Mbox::buffered_capacity`]); each message is handed over as it is completed.
pub struct Mbox<R> {
    reader: R,
    origin: Origin,
    options: MailboxOptions,
    /// Bytes consumed so far.
    offset: u64,
    /// Lines consumed so far.
    line: u64,
    /// From_ lines seen so far.
    index: u64,
    /// The From_ line that starts the next message, already consumed.
    pending: Option<MboxLocation>,
    /// Whether the bytes before the first From_ line have been looked at.
    started: bool,
    /// Set after the end of the input or a read error.
    done: bool,
    /// Length of the last message read: the first allocation for the next one (messages of
    /// one mbox tend to be alike), so that a message is not built by a dozen reallocations.
    last_len: usize,
    /// The first bytes of the current line.
    head: Vec<u8>,
    /// Finds where a line that needs the careful path starts ([`plain_run`]).
    special_line: SpecialLine,
}

impl<R> fmt::Debug for Mbox<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mbox")
            .field("origin", &self.origin)
            .field("offset", &self.offset)
            .field("line", &self.line)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl Mbox<BufReader<File>> {
    /// Opens an mbox file.
    pub fn open(path: &Path, options: MailboxOptions) -> Result<Self, MailboxError> {
        let origin = Origin::Path(path.to_path_buf());
        match File::open(path) {
            Ok(file) => Ok(Mbox::new(
                BufReader::with_capacity(READ_BUFFER, file),
                origin,
                options,
            )),
            Err(source) => Err(MailboxError::Open {
                position: Position::file(origin),
                source,
            }),
        }
    }
}

/// What [`Mbox::read_head`] found.
enum Head {
    /// End of input.
    Eof,
    /// A line (or its first [`LINE_HEAD`] bytes) is in `head`; `complete` says whether `head`
    /// holds the whole line.
    Line {
        /// Byte offset of the line.
        start: u64,
        /// Whether the line ends within `head` (with its newline, or at the end of input).
        complete: bool,
    },
}

impl<R: BufRead> Mbox<R> {
    /// An mbox read from `reader`; `origin` names it in positions and errors.
    pub fn new(reader: R, origin: Origin, options: MailboxOptions) -> Self {
        Mbox {
            reader,
            origin,
            options,
            offset: 0,
            line: 0,
            index: 0,
            pending: None,
            started: false,
            done: false,
            last_len: 0,
            head: Vec::with_capacity(LINE_HEAD),
            special_line: SpecialLine::new(),
        }
    }

    /// Heap bytes this reader holds between messages, apart from the reader `R` itself: the
    /// capacity of its line buffer. A diagnostic for tests of bounded memory; it never grows
    /// beyond [`LINE_HEAD`] (messages are built in fresh buffers that are handed over).
    pub fn buffered_capacity(&self) -> usize {
        self.head.capacity()
    }

    fn read_error(&mut self, position: Position, source: io::Error) -> MailboxError {
        self.done = true;
        MailboxError::Read {
            position,
            offset: self.offset,
            source,
        }
    }

    /// Reads the start of the next line into `head`.
    fn read_head(&mut self) -> io::Result<Head> {
        self.head.clear();
        let start = self.offset;
        let n = read_line_part(&mut self.reader, &mut self.head, LINE_HEAD)?;
        if n == 0 {
            return Ok(Head::Eof);
        }
        self.offset = self.offset.saturating_add(count(n));
        self.line = self.line.saturating_add(1);
        let complete = self.head.last() == Some(&b'\n') || n < LINE_HEAD;
        Ok(Head::Line { start, complete })
    }

    /// Consumes the rest of the current line without keeping it; returns its length.
    fn skip_rest(&mut self) -> io::Result<u64> {
        let n = skip_line(&mut self.reader)?;
        self.offset = self.offset.saturating_add(n);
        Ok(n)
    }

    /// Whether `head` is a From_ line (RFC 4155 §2).
    fn head_is_from_line(&self) -> bool {
        self.head.starts_with(b"From ")
    }

    /// Marks the From_ line in `head`, starting at `start`, as the start of the next message.
    fn set_pending(&mut self, start: u64) {
        self.index = self.index.saturating_add(1);
        self.pending = Some(MboxLocation {
            index: self.index,
            line: self.line,
            offset: start,
        });
    }

    /// Consumes everything before the first From_ line; returns the error item reporting it,
    /// if it was more than empty lines.
    fn skip_prefix(&mut self) -> Result<Option<MailboxError>, MailboxError> {
        let mut bytes: u64 = 0;
        let mut lines: u64 = 0;
        let mut blank_only = true;
        loop {
            let head = match self.read_head() {
                Ok(h) => h,
                Err(e) => return Err(self.read_error(Position::file(self.origin.clone()), e)),
            };
            let Head::Line { start, complete } = head else {
                break;
            };
            if self.head_is_from_line() {
                if !complete && let Err(e) = self.skip_rest() {
                    return Err(self.read_error(Position::file(self.origin.clone()), e));
                }
                self.set_pending(start);
                break;
            }
            lines = lines.saturating_add(1);
            blank_only &= is_blank_line(&self.head);
            bytes = bytes.saturating_add(count(self.head.len()));
            if !complete {
                match self.skip_rest() {
                    Ok(n) => bytes = bytes.saturating_add(n),
                    Err(e) => {
                        return Err(self.read_error(Position::file(self.origin.clone()), e));
                    }
                }
            }
        }
        if blank_only {
            return Ok(None);
        }
        Ok(Some(MailboxError::BeforeFirstFromLine {
            position: Position::file(self.origin.clone()),
            bytes,
            lines,
            found_from_line: self.pending.is_some(),
        }))
    }

    /// How many leading bytes of the line in `head` are From_ quoting to remove.
    fn quote_len(&self) -> usize {
        let quotes = self.head.iter().take_while(|&&b| b == b'>').count();
        let rest = self.head.get(quotes..).unwrap_or_default();
        let quoted = match self.options.from_quoting {
            FromQuoting::Mboxrd => quotes >= 1 && rest.starts_with(b"From "),
            FromQuoting::Mboxo => quotes == 1 && rest.starts_with(b"From "),
            FromQuoting::None => false,
        };
        usize::from(quoted)
    }

    /// The fast path of [`Mbox::read_message`], called at the start of a line: appends to
    /// `bytes`, straight from the reader's buffer and without the line-by-line copy through
    /// `head`, every following whole line that can be neither a From_ line nor a quoted one
    /// (it starts with neither `F` nor `>`) and fits in `room`. It stops, still at the start of
    /// a line, at the first line that needs the careful path: one that may be a From_ line or
    /// quoted, one that does not end within the buffer, one that would pass `room`, or the end
    /// of input. Accounts `offset`, `line`, `size` and `last_blank` as that path does.
    fn take_plain_lines(
        &mut self,
        bytes: &mut Vec<u8>,
        room: usize,
        size: &mut u64,
        last_blank: &mut usize,
    ) -> io::Result<()> {
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let allowed = room.saturating_sub(bytes.len());
            // Only whole lines that end within the allowance are taken.
            let window = available
                .get(..available.len().min(allowed))
                .unwrap_or(available);
            let (taken, stopped) = plain_run(window, &self.special_line);
            if taken == 0 {
                return Ok(());
            }
            // Not at the end of the buffer: at a line that needs the careful path.
            let careful = stopped || taken < available.len();
            let run = available.get(..taken).unwrap_or_default();
            let lines = count(count_newlines(run));
            let blank = last_line_blank_len(run);
            bytes.extend_from_slice(run);
            self.reader.consume(taken);
            self.offset = self.offset.saturating_add(count(taken));
            self.line = self.line.saturating_add(lines);
            *size = size.saturating_add(count(taken));
            *last_blank = blank;
            if careful {
                return Ok(());
            }
        }
    }

    /// Reads the message whose From_ line was at `at`, up to the next From_ line or the end.
    fn read_message(&mut self, at: MboxLocation) -> Result<MailItem, MailboxError> {
        let position = Position {
            origin: self.origin.clone(),
            mbox: Some(at),
        };
        let limit = self.options.max_message_size;
        // Room for the separating blank line, which is removed at the end.
        let room = limit.saturating_add(2);
        let guess = self.last_len.saturating_add(self.last_len / 4).min(room);
        let mut bytes: Vec<u8> = message_buffer(guess);
        let mut size: u64 = 0;
        let mut over = false;
        let mut last_blank: usize = 0;
        loop {
            if !over
                && let Err(e) = self.take_plain_lines(&mut bytes, room, &mut size, &mut last_blank)
            {
                return Err(self.read_error(position, e));
            }
            let head = match self.read_head() {
                Ok(h) => h,
                Err(e) => return Err(self.read_error(position, e)),
            };
            let Head::Line { start, complete } = head else {
                self.done = true;
                break;
            };
            if self.head_is_from_line() {
                if !complete && let Err(e) = self.skip_rest() {
                    return Err(self.read_error(position, e));
                }
                self.set_pending(start);
                break;
            }
            let skip = self.quote_len();
            let content = self.head.get(skip..).unwrap_or_default();
            size = size.saturating_add(count(content.len()));
            last_blank = if complete && is_blank_line(content) {
                content.len()
            } else {
                0
            };
            if !over {
                if bytes.len().saturating_add(content.len()) > room {
                    over = true;
                    bytes = Vec::new();
                } else {
                    bytes.extend_from_slice(content);
                }
            }
            if complete {
                continue;
            }
            // The rest of a long line.
            if !over {
                let allowed = room.saturating_add(1).saturating_sub(bytes.len());
                match read_line_part(&mut self.reader, &mut bytes, allowed) {
                    Ok(n) => {
                        self.offset = self.offset.saturating_add(count(n));
                        size = size.saturating_add(count(n));
                    }
                    Err(e) => return Err(self.read_error(position, e)),
                }
                if bytes.len() > room {
                    over = true;
                    bytes = Vec::new();
                } else {
                    // The line ended within the allowance.
                    continue;
                }
            }
            match self.skip_rest() {
                Ok(n) => size = size.saturating_add(n),
                Err(e) => return Err(self.read_error(position, e)),
            }
        }
        // The blank line that separates messages is not part of the message.
        size = size.saturating_sub(count(last_blank));
        if !over {
            bytes.truncate(bytes.len().saturating_sub(last_blank));
        }
        if over || bytes.len() > limit {
            return Err(MailboxError::TooLarge {
                position,
                size,
                limit,
            });
        }
        self.last_len = bytes.len();
        Ok(MailItem {
            source: position,
            bytes,
        })
    }
}

impl<R: BufRead> Iterator for Mbox<R> {
    type Item = Result<MailItem, MailboxError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if !self.started {
            self.started = true;
            match self.skip_prefix() {
                Ok(Some(report)) => return Some(Err(report)),
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
        }
        let Some(at) = self.pending.take() else {
            self.done = true;
            return None;
        };
        Some(self.read_message(at))
    }
}

impl<R: BufRead> FusedIterator for Mbox<R> {}

/// The searchers for the starts of lines that may be From_ lines or quoted ones: a newline
/// followed by `F` or by `>`.
struct SpecialLine {
    from: memchr::memmem::Finder<'static>,
    quoted: memchr::memmem::Finder<'static>,
}

impl SpecialLine {
    fn new() -> Self {
        SpecialLine {
            from: memchr::memmem::Finder::new(b"\nF").into_owned(),
            quoted: memchr::memmem::Finder::new(b"\n>").into_owned(),
        }
    }
}

/// The run of whole plain lines at the start of `window` (which starts at the start of a
/// line): lines that start with neither `F` nor `>` (so can be neither a From_ line nor a
/// quoted one) and end with a newline inside `window`. Returns the run's length and whether
/// it stopped at a line that starts with `F` or `>`; a run that stops short of the end of
/// `window` for no such line stopped at a line that does not end inside it.
///
/// One vector search for each kind of line start, instead of one newline search per line:
/// mail lines are short (about 50 bytes in the benchmark corpus).
fn plain_run(window: &[u8], special: &SpecialLine) -> (usize, bool) {
    if matches!(window.first(), None | Some(b'F' | b'>')) {
        return (0, !window.is_empty());
    }
    // Both kinds of line start are looked for chunk by chunk, so that a run costs its own
    // length and one chunk, whatever follows it. (Looking for each kind in the whole window
    // made every run that stops early pay for the rest of the window: quadratic on `>` lines
    // close together and no `F` line after them.) A chunk reaches one byte into the next, so
    // a two-byte pattern across their border is found in the first.
    let mut start = 0;
    while start < window.len() {
        let next = start.saturating_add(PLAIN_CHUNK).min(window.len());
        let chunk = window
            .get(start..next.saturating_add(1).min(window.len()))
            .unwrap_or_default();
        let from = special.from.find(chunk);
        let quoted = special.quoted.find(chunk);
        if let Some(at) = from.into_iter().chain(quoted).min() {
            // Just after the newline that ends the last plain line: every line before it is
            // whole.
            return (start.saturating_add(at).saturating_add(1), true);
        }
        start = next;
    }
    // Up to the last newline: the rest is a line that does not end inside the window.
    let whole = memchr::memrchr(b'\n', window).map_or(0, |i| i.saturating_add(1));
    (whole, false)
}

/// How much of the window [`plain_run`] searches at a time.
const PLAIN_CHUNK: usize = 4096;

/// How many newlines `bytes` holds, counted in blocks the compiler turns into vector code.
fn count_newlines(bytes: &[u8]) -> usize {
    const BLOCK: usize = 128;
    let mut blocks = bytes.chunks_exact(BLOCK);
    let mut n = 0usize;
    for block in &mut blocks {
        // At most BLOCK (< 256) per block: a byte counter cannot overflow.
        let in_block = block
            .iter()
            .fold(0u8, |acc, &b| acc.wrapping_add(u8::from(b == b'\n')));
        n = n.saturating_add(usize::from(in_block));
    }
    n.saturating_add(blocks.remainder().iter().filter(|&&b| b == b'\n').count())
}

/// The length of the last line of `run` (whole lines, so it ends with a newline) if it is
/// blank (`\n` or `\r\n` after the previous newline or the start), else 0.
fn last_line_blank_len(run: &[u8]) -> usize {
    match run {
        [b'\n'] | [.., b'\n', b'\n'] => 1,
        [b'\r', b'\n'] | [.., b'\n', b'\r', b'\n'] => 2,
        _ => 0,
    }
}

/// `n` as a byte count.
fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// True for `\n` and `\r\n`.
fn is_blank_line(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

/// Appends the current line of `reader` to `out`, up to and including its `\n`, stopping early
/// at the end of input or after `limit` bytes. Returns how many bytes were consumed (and
/// appended).
fn read_line_part<R: BufRead + ?Sized>(
    reader: &mut R,
    out: &mut Vec<u8>,
    limit: usize,
) -> io::Result<usize> {
    let mut total = 0usize;
    while total < limit {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        let window = available
            .get(..available.len().min(limit - total))
            .unwrap_or(available);
        let (take, found) = match memchr::memchr(b'\n', window) {
            Some(i) => (i.saturating_add(1), true),
            None => (window.len(), false),
        };
        out.extend_from_slice(window.get(..take).unwrap_or(window));
        reader.consume(take);
        total = total.saturating_add(take);
        if found {
            break;
        }
    }
    Ok(total)
}

/// Consumes the current line of `reader` up to and including its `\n` (or the end of input)
/// without keeping it. Returns how many bytes were consumed.
fn skip_line<R: BufRead + ?Sized>(reader: &mut R) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(total);
        }
        let (take, found) = match memchr::memchr(b'\n', available) {
            Some(i) => (i.saturating_add(1), true),
            None => (available.len(), false),
        };
        reader.consume(take);
        total = total.saturating_add(count(take));
        if found {
            return Ok(total);
        }
    }
}

/// Writes messages as an mboxrd file (the inverse of reading with [`FromQuoting::Mboxrd`]).
///
/// Each message gets a From_ line `From SENDER Thu Jan  1 00:00:00 1970` (mailstamp never
/// interprets the From_ line beyond its first five bytes), every line matching `>*From ` gets one
/// more `>`, a final newline is added if missing, and a blank line follows. Lines keep their
/// endings; the From_ line and the added newlines use the message's first line ending (CRLF or
/// LF). Used by tests and by benchmarks that need an mbox.
#[derive(Debug)]
pub struct MboxWriter<W> {
    inner: W,
}

impl<W: Write> MboxWriter<W> {
    /// A writer appending to `inner`.
    pub fn new(inner: W) -> Self {
        MboxWriter { inner }
    }

    /// Appends one message; `sender` is written in its From_ line (use `MAILER-DAEMON` when
    /// unknown; it must not contain spaces or line breaks, which are replaced by `_`).
    pub fn write_message(&mut self, sender: &str, message: &[u8]) -> io::Result<()> {
        let crlf = match message.iter().position(|&b| b == b'\n') {
            Some(i) => i > 0 && message.get(i - 1) == Some(&b'\r'),
            None => false,
        };
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let sender: String = sender
            .chars()
            .map(|c| if c.is_whitespace() { '_' } else { c })
            .collect();
        let sender = if sender.is_empty() {
            "MAILER-DAEMON"
        } else {
            &sender
        };
        write!(self.inner, "From {sender} Thu Jan  1 00:00:00 1970")?;
        self.inner.write_all(eol)?;
        let mut rest = message;
        while !rest.is_empty() {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| i.saturating_add(1));
            let (line, tail) = rest.split_at_checked(end).unwrap_or((rest, &[]));
            let quotes = line.iter().take_while(|&&b| b == b'>').count();
            if line.get(quotes..).is_some_and(|l| l.starts_with(b"From ")) {
                self.inner.write_all(b">")?;
            }
            self.inner.write_all(line)?;
            rest = tail;
        }
        if !message.is_empty() && message.last() != Some(&b'\n') {
            self.inner.write_all(eol)?;
        }
        self.inner.write_all(eol)
    }

    /// Flushes and returns the inner writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}

#[cfg(test)]
mod tests;
