//! Unit tests of the message sources.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory under the system temporary directory, removed on drop (the crate has no
/// `tempfile` dev-dependency).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "mailstamp-mailbox-{}-{tag}-{n}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn file(&self, relative: &str, contents: &[u8]) -> PathBuf {
        let path = self.0.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn read_mbox(data: &[u8], options: MailboxOptions) -> Vec<Result<MailItem, MailboxError>> {
    Mbox::new(data, Origin::Path("test.mbox".into()), options).collect()
}

fn ok_bytes(items: &[Result<MailItem, MailboxError>]) -> Vec<&[u8]> {
    items
        .iter()
        .map(|i| i.as_ref().unwrap().bytes.as_slice())
        .collect()
}

fn location(item: &Result<MailItem, MailboxError>) -> MboxLocation {
    match item {
        Ok(m) => m.source.mbox.unwrap(),
        Err(e) => e.position().mbox.unwrap(),
    }
}

const THREE: &[u8] = b"From a@example.org Mon Jan  5 10:00:00 2026\n\
Subject: one\n\
\n\
body one\n\
\n\
From b@example.org Mon Jan  5 10:00:01 2026\n\
Subject: two\n\
\n\
body two\n\
\n\
From c@example.org Mon Jan  5 10:00:02 2026\n\
Subject: three\n\
\n\
body three\n\
\n";

#[test]
fn rfc4155_three_messages_with_positions() {
    let items = read_mbox(THREE, MailboxOptions::default());
    assert_eq!(
        ok_bytes(&items),
        [
            &b"Subject: one\n\nbody one\n"[..],
            b"Subject: two\n\nbody two\n",
            b"Subject: three\n\nbody three\n",
        ]
    );
    let second_offset = THREE.windows(6).position(|w| w == b"From b").unwrap();
    let third_offset = THREE.windows(6).position(|w| w == b"From c").unwrap();
    assert_eq!(
        items.iter().map(location).collect::<Vec<_>>(),
        [
            MboxLocation {
                index: 1,
                line: 1,
                offset: 0
            },
            MboxLocation {
                index: 2,
                line: 6,
                offset: second_offset as u64
            },
            MboxLocation {
                index: 3,
                line: 11,
                offset: third_offset as u64
            },
        ]
    );
    let item = items[1].as_ref().unwrap();
    assert_eq!(item.source.origin, Origin::Path("test.mbox".into()));
    assert_eq!(
        item.source.to_string(),
        format!("test.mbox: message 2 (line 6, byte {second_offset})")
    );
}

#[test]
fn rfc4155_crlf_file_keeps_crlf_and_drops_separator() {
    let data = String::from_utf8(THREE.to_vec())
        .unwrap()
        .replace('\n', "\r\n");
    let items = read_mbox(data.as_bytes(), MailboxOptions::default());
    assert_eq!(
        ok_bytes(&items),
        [
            &b"Subject: one\r\n\r\nbody one\r\n"[..],
            b"Subject: two\r\n\r\nbody two\r\n",
            b"Subject: three\r\n\r\nbody three\r\n",
        ]
    );
    let second_offset = data.find("From b").unwrap() as u64;
    assert_eq!(location(&items[1]).offset, second_offset);
    assert_eq!(location(&items[1]).line, 6);
}

#[test]
fn rfc4155_only_one_separator_line_is_removed() {
    let data = b"From a\nA: 1\n\nbody\n\n\n\nFrom b\nB: 2\n\nx\n";
    let items = read_mbox(data, MailboxOptions::default());
    assert_eq!(
        ok_bytes(&items),
        [&b"A: 1\n\nbody\n\n\n"[..], b"B: 2\n\nx\n"]
    );
}

#[test]
fn rfc4155_from_line_without_separating_blank_line() {
    let data = b"From a\nA: 1\n\nbody\nFrom b\nB: 2\n\nx";
    let items = read_mbox(data, MailboxOptions::default());
    assert_eq!(ok_bytes(&items), [&b"A: 1\n\nbody\n"[..], b"B: 2\n\nx"]);
}

#[test]
fn mboxrd_unquoting() {
    let data = b"From a\nS: 1\n\n>From here\n>>From there\n>>>From far\n> From no\nFrom  x\n";
    let items = read_mbox(data, MailboxOptions::default());
    // "From  x" (two spaces) is still a From_ line: RFC 4155 only asks for "From ".
    assert_eq!(
        ok_bytes(&items),
        [
            &b"S: 1\n\nFrom here\n>From there\n>>From far\n> From no\n"[..],
            b""
        ]
    );
}

#[test]
fn mboxo_unquoting() {
    let data = b"From a\nS: 1\n\n>From here\n>>From there\n";
    let options = MailboxOptions::default().with_from_quoting(FromQuoting::Mboxo);
    let items = read_mbox(data, options);
    assert_eq!(
        ok_bytes(&items),
        [&b"S: 1\n\nFrom here\n>>From there\n"[..]]
    );
}

#[test]
fn no_unquoting() {
    let data = b"From a\nS: 1\n\n>From here\n>>From there\n";
    let options = MailboxOptions::default().with_from_quoting(FromQuoting::None);
    let items = read_mbox(data, options);
    assert_eq!(
        ok_bytes(&items),
        [&b"S: 1\n\n>From here\n>>From there\n"[..]]
    );
}

#[test]
fn final_message_without_trailing_newline() {
    let data = b"From a\nS: 1\n\none\n\nFrom b\nS: 2\n\ntruncated mid-li";
    let items = read_mbox(data, MailboxOptions::default());
    assert_eq!(
        ok_bytes(&items),
        [&b"S: 1\n\none\n"[..], b"S: 2\n\ntruncated mid-li"]
    );
    let crlf = b"From a\r\nS: 1\r\n\r\nend\r";
    let items = read_mbox(crlf, MailboxOptions::default());
    assert_eq!(ok_bytes(&items), [&b"S: 1\r\n\r\nend\r"[..]]);
}

#[test]
fn empty_file_and_blank_file_have_no_messages() {
    assert!(read_mbox(b"", MailboxOptions::default()).is_empty());
    assert!(read_mbox(b"\n\r\n\n", MailboxOptions::default()).is_empty());
}

#[test]
fn leading_blank_lines_are_not_reported() {
    let items = read_mbox(b"\n\nFrom a\nS: 1\n", MailboxOptions::default());
    assert_eq!(ok_bytes(&items), [&b"S: 1\n"[..]]);
    assert_eq!(
        location(&items[0]),
        MboxLocation {
            index: 1,
            line: 3,
            offset: 2
        }
    );
}

#[test]
fn rfc4155_garbage_before_first_from_line_is_an_error_item() {
    let data = b"garbage line\nmore\nFrom a\nS: 1\n\nx\n";
    let items = read_mbox(data, MailboxOptions::default());
    assert_eq!(items.len(), 2);
    match &items[0] {
        Err(MailboxError::BeforeFirstFromLine {
            position,
            bytes,
            lines,
            found_from_line,
        }) => {
            assert_eq!(position, &Position::file(Origin::Path("test.mbox".into())));
            assert_eq!((*bytes, *lines, *found_from_line), (18, 2, true));
        }
        other => panic!("unexpected {other:?}"),
    }
    let message = items[0].as_ref().unwrap_err().to_string();
    assert!(
        message.starts_with("test.mbox: 18 bytes in lines 1-2"),
        "{message}"
    );
    assert_eq!(items[1].as_ref().unwrap().bytes, b"S: 1\n\nx\n");
    assert_eq!(
        location(&items[1]),
        MboxLocation {
            index: 1,
            line: 3,
            offset: 18
        }
    );
}

#[test]
fn a_file_without_from_lines_is_one_error_item() {
    let data = b"Subject: a single message\r\n\r\nnot an mbox\r\n";
    let items = read_mbox(data, MailboxOptions::default());
    assert_eq!(items.len(), 1);
    let err = items[0].as_ref().unwrap_err();
    assert!(matches!(
        err,
        MailboxError::BeforeFirstFromLine {
            bytes: 42,
            lines: 3,
            found_from_line: false,
            ..
        }
    ));
    assert!(err.to_string().contains("is this an mbox file?"), "{err}");
}

#[test]
fn oversize_message_is_reported_and_reading_resynchronises() {
    let big_body = "x".repeat(70) + "\n";
    let data = format!(
        "From a\nS: 1\n\nsmall\n\nFrom b\nS: 2\n\n{}\nFrom c\nS: 3\n\nsmall\n",
        big_body.repeat(20)
    );
    let options = MailboxOptions::default().with_max_message_size(100);
    let items = read_mbox(data.as_bytes(), options);
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().bytes, b"S: 1\n\nsmall\n");
    match &items[1] {
        Err(MailboxError::TooLarge {
            position,
            size,
            limit,
        }) => {
            assert_eq!(position.mbox.unwrap().index, 2);
            assert_eq!(*size, 6 + 71 * 20);
            assert_eq!(*limit, 100);
        }
        other => panic!("unexpected {other:?}"),
    }
    let err = items[1].as_ref().unwrap_err().to_string();
    assert!(
        err.starts_with("test.mbox: message 2 (line 6, byte 20): message of 1426 bytes"),
        "{err}"
    );
    assert_eq!(items[2].as_ref().unwrap().bytes, b"S: 3\n\nsmall\n");
    assert_eq!(location(&items[2]).index, 3);
}

#[test]
fn oversize_single_long_line_is_reported_and_reading_resynchronises() {
    let line = "y".repeat(10 * LINE_HEAD);
    let data = format!("From a\nS: 1\n\n{line}\nFrom b\nS: 2\n\n{line}");
    let options = MailboxOptions::default().with_max_message_size(4 * LINE_HEAD);
    let items = read_mbox(data.as_bytes(), options);
    assert_eq!(items.len(), 2);
    for (n, item) in items.iter().enumerate() {
        match item {
            Err(MailboxError::TooLarge { position, size, .. }) => {
                assert_eq!(position.mbox.unwrap().index, n as u64 + 1);
                let newline = if n == 0 { 1 } else { 0 };
                assert_eq!(*size, 6 + 10 * LINE_HEAD as u64 + newline);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn long_lines_under_the_limit_are_kept_whole() {
    let line = "z".repeat(3 * LINE_HEAD + 17);
    let quoted = format!(">From {}", "q".repeat(2 * LINE_HEAD));
    let data = format!("From a\nS: 1\n\n{line}\n{quoted}\n\nFrom {line}\nS: 2\n\n{line}");
    let items = read_mbox(data.as_bytes(), MailboxOptions::default());
    assert_eq!(
        ok_bytes(&items),
        [
            format!("S: 1\n\n{line}\n{}\n", &quoted[1..]).as_bytes(),
            format!("S: 2\n\n{line}").as_bytes()
        ]
    );
    // A long From_ line counts as one line, and so do the long lines before it.
    assert_eq!(location(&items[1]).line, 7);
    let offset = data.find("\nFrom z").unwrap() as u64 + 1;
    assert_eq!(location(&items[1]).offset, offset);
}

#[test]
fn message_of_exactly_the_limit_is_accepted() {
    let message = b"S: 1\n\n0123456789\n";
    let mut data = b"From a\n".to_vec();
    data.extend_from_slice(message);
    data.extend_from_slice(b"\n");
    let options = MailboxOptions::default().with_max_message_size(message.len());
    let items = read_mbox(&data, options);
    assert_eq!(ok_bytes(&items), [&message[..]]);
    let options = MailboxOptions::default().with_max_message_size(message.len() - 1);
    let items = read_mbox(&data, options);
    assert!(matches!(
        items[0],
        Err(MailboxError::TooLarge { size: 17, .. })
    ));
}

#[test]
fn writer_round_trips_with_mboxrd_reader() {
    let messages: [&[u8]; 4] = [
        b"From: a@example.org\r\n\r\nFrom the start\r\n>From quoted\r\n",
        b"From: b@example.org\n\nno final newline",
        b"",
        b"S: x\n\n>>>From deep\n\n\n",
    ];
    let mut writer = MboxWriter::new(Vec::new());
    for m in messages {
        writer.write_message("sender@example.org", m).unwrap();
    }
    let data = writer.into_inner().unwrap();
    assert!(data.starts_with(b"From sender@example.org Thu Jan  1 00:00:00 1970\r\n"));
    let items = read_mbox(&data, MailboxOptions::default());
    assert_eq!(
        ok_bytes(&items),
        [
            messages[0],
            b"From: b@example.org\n\nno final newline\n",
            b"",
            messages[3]
        ]
    );
}

/// A reader that fails after a few bytes.
struct FailingReader {
    data: &'static [u8],
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.data.len()).min(7);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn read_error_names_file_and_offset_and_ends_iteration() {
    let reader = BufReader::new(FailingReader {
        data: b"From a\nS: 1\n\nFrom b\nS: 2\n",
    });
    let items: Vec<_> = Mbox::new(
        reader,
        Origin::Path("x.mbox".into()),
        MailboxOptions::default(),
    )
    .collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().bytes, b"S: 1\n");
    match &items[1] {
        Err(MailboxError::Read {
            position, offset, ..
        }) => {
            assert_eq!(position.mbox.unwrap().index, 2);
            assert_eq!(*offset, 25);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        items[1].as_ref().unwrap_err().to_string(),
        "x.mbox: message 2 (line 4, byte 13): read error at byte 25: disk on fire"
    );
}

/// Streams a generated mbox of more than 50 MB with a 64 KiB limit and checks that every item
/// respects the limit and that the reader holds nothing but its line buffer between messages.
#[test]
fn fifty_megabyte_mbox_streams_with_bounded_memory() {
    const LIMIT: usize = 64 * 1024;
    let dir = TempDir::new("big");
    let path = dir.0.join("big.mbox");
    let mut writer = MboxWriter::new(io::BufWriter::new(File::create(&path).unwrap()));
    let line = "The quick brown fox jumps over the lazy dog; From time to time.\r\n";
    let mut written = 0usize;
    let mut expected = 0u64;
    let mut n = 0u64;
    while written < 50 * 1024 * 1024 {
        n += 1;
        // Every 97th message is over the limit, the others between 1 and 33 KB.
        let lines = if n.is_multiple_of(97) {
            1200
        } else {
            15 + (n * 7919 % 500) as usize
        };
        let mut message = format!("Message-ID: <{n}@example.org>\r\nSubject: {n}\r\n\r\n");
        for i in 0..lines {
            if i % 50 == 0 {
                message.push_str("From the bottom of the heart\r\n");
            }
            message.push_str(line);
        }
        written += message.len();
        expected += 1;
        writer
            .write_message("bulk@example.org", message.as_bytes())
            .unwrap();
    }
    writer.into_inner().unwrap();
    let options = MailboxOptions::default().with_max_message_size(LIMIT);
    let mut mbox = Mbox::open(&path, options).unwrap();
    let (mut ok, mut too_large, mut total) = (0u64, 0u64, 0u64);
    while let Some(item) = mbox.next() {
        total += 1;
        assert!(mbox.buffered_capacity() <= LINE_HEAD, "line buffer grew");
        match item {
            Ok(m) => {
                ok += 1;
                assert!(m.bytes.len() <= LIMIT);
                // Buffers grow by doubling, from at most the limit plus a line.
                assert!(m.bytes.capacity() <= 2 * (LIMIT + 2 + LINE_HEAD));
                assert_eq!(m.source.mbox.unwrap().index, total);
                let id = format!("Message-ID: <{total}@example.org>\r\n");
                assert!(m.bytes.starts_with(id.as_bytes()));
                assert!(!m.bytes.windows(7).any(|w| w == b"\n>From "));
            }
            Err(MailboxError::TooLarge { position, size, .. }) => {
                too_large += 1;
                assert_eq!(position.mbox.unwrap().index % 97, 0);
                assert!(size > LIMIT as u64);
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(total, expected);
    assert_eq!(too_large, expected / 97);
    assert_eq!(ok + too_large, expected);
}

#[test]
fn maildir_cur_and_new_sorted_by_name_tmp_ignored() {
    let dir = TempDir::new("maildir");
    dir.file("cur/1700000002.M2P1.host:2,S", b"S: b\n\n");
    dir.file("new/1700000001.M1P1.host", b"S: a\n\n");
    dir.file("new/1700000003.M3P1.host", b"S: c\n\n");
    dir.file("cur/.hidden", b"not a message");
    dir.file("tmp/1700000000.M0P1.host", b"being delivered");
    fs::create_dir_all(dir.0.join("cur/subdir")).unwrap();
    let messages =
        Messages::open(&Input::Maildir(dir.0.clone()), MailboxOptions::default()).unwrap();
    assert_eq!(messages.ignored().count, 2);
    let items: Vec<_> = messages.map(Result::unwrap).collect();
    let bodies: Vec<_> = items.iter().map(|m| m.bytes.as_slice()).collect();
    assert_eq!(bodies, [&b"S: a\n\n"[..], b"S: b\n\n", b"S: c\n\n"]);
    assert_eq!(
        items[1].source,
        Position::file(Origin::Path(dir.0.join("cur/1700000002.M2P1.host:2,S")))
    );
}

#[test]
fn maildir_with_only_new_is_accepted_and_plain_dir_is_not() {
    let dir = TempDir::new("maildir-new");
    dir.file("new/1", b"S: 1\n\n");
    let items: Vec<_> = Messages::open(&Input::Maildir(dir.0.clone()), MailboxOptions::default())
        .unwrap()
        .collect();
    assert_eq!(items.len(), 1);
    let plain = TempDir::new("not-maildir");
    plain.file("a.eml", b"S: 1\n\n");
    let err =
        Messages::open(&Input::Maildir(plain.0.clone()), MailboxOptions::default()).unwrap_err();
    assert!(matches!(err, MailboxError::NotMaildir { .. }));
    assert!(
        err.to_string().contains("neither a cur/ nor a new/"),
        "{err}"
    );
}

#[test]
fn eml_directory_sorted_others_counted() {
    let dir = TempDir::new("eml");
    dir.file("b.eml", b"S: b\r\n\r\n");
    dir.file("a.EML", b"S: a\r\n\r\n");
    dir.file("c.eml", &[b'x'; 200]);
    dir.file("notes.txt", b"not mail");
    dir.file("eml", b"no extension");
    fs::create_dir_all(dir.0.join("sub.eml")).unwrap();
    let options = MailboxOptions::default().with_max_message_size(100);
    let messages = Messages::open(&Input::EmlDir(dir.0.clone()), options).unwrap();
    let ignored = messages.ignored().clone();
    assert_eq!(ignored.count, 3);
    assert_eq!(ignored.examples.len(), 3);
    assert!(
        ignored
            .to_string()
            .starts_with("ignored 3 directory entries that are not messages (e.g. ")
    );
    let items: Vec<_> = messages.collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().bytes, b"S: a\r\n\r\n");
    assert_eq!(items[1].as_ref().unwrap().bytes, b"S: b\r\n\r\n");
    match &items[2] {
        Err(MailboxError::TooLarge {
            position,
            size: 200,
            limit: 100,
        }) => {
            assert_eq!(position.origin, Origin::Path(dir.0.join("c.eml")));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn single_file_and_missing_files() {
    let dir = TempDir::new("single");
    let path = dir.file("one.eml", b"S: 1\n\nbody");
    let items: Vec<_> = Messages::open(&Input::from_argument(&path), MailboxOptions::default())
        .unwrap()
        .collect();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap().bytes, b"S: 1\n\nbody");

    let missing = dir.0.join("missing.eml");
    let items: Vec<_> = Messages::open(&Input::from_argument(&missing), MailboxOptions::default())
        .unwrap()
        .collect();
    assert!(matches!(&items[..], [Err(MailboxError::Open { .. })]));
    assert!(
        items[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("missing.eml: cannot open")
    );

    let err = Messages::open(
        &Input::Mbox(Origin::Path(missing.clone())),
        MailboxOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, MailboxError::Open { .. }));
    let err = Messages::open(&Input::EmlDir(missing), MailboxOptions::default()).unwrap_err();
    assert!(matches!(err, MailboxError::Open { .. }));
}

#[test]
fn input_from_argument() {
    let dir = TempDir::new("arg");
    assert_eq!(
        Input::from_argument(Path::new("-")),
        Input::Message(Origin::Stdin)
    );
    assert_eq!(Input::from_argument(&dir.0), Input::EmlDir(dir.0.clone()));
    let file = dir.0.join("x");
    assert_eq!(
        Input::from_argument(&file),
        Input::Message(Origin::Path(file.clone()))
    );
}

#[test]
fn messages_reads_an_mbox_file() {
    let dir = TempDir::new("mbox");
    let path = dir.file("in.mbox", THREE);
    let messages =
        Messages::open(&Input::Mbox(Origin::Path(path)), MailboxOptions::default()).unwrap();
    assert!(messages.ignored().is_empty());
    assert_eq!(messages.map(Result::unwrap).count(), 3);
}

#[test]
fn position_display_for_files_and_stdin() {
    assert_eq!(Position::file(Origin::Stdin).to_string(), "<stdin>");
    assert_eq!(
        Position::file(Origin::Path("m/a.eml".into())).to_string(),
        "m/a.eml"
    );
}

#[test]
fn recycled_buffers_are_reused_on_their_thread_and_huge_ones_are_freed() {
    std::thread::spawn(|| {
        let mut first = Mbox::new(
            std::io::Cursor::new(b"From a Thu Jan  1 00:00:00 2026\nSubject: 1\n\nbody\n".to_vec()),
            Origin::Stdin,
            MailboxOptions::default(),
        );
        let item = first.next().unwrap().unwrap();
        assert_eq!(item.bytes, b"Subject: 1\n\nbody\n");
        let pointer = item.bytes.as_ptr();
        recycle(item.bytes);
        let mut second = Mbox::new(
            std::io::Cursor::new(b"From b Thu Jan  1 00:00:00 2026\nSubject: 2\n\nhi\n".to_vec()),
            Origin::Stdin,
            MailboxOptions::default(),
        );
        let item = second.next().unwrap().unwrap();
        // The same allocation, emptied and refilled.
        assert_eq!(item.bytes, b"Subject: 2\n\nhi\n");
        assert_eq!(item.bytes.as_ptr(), pointer);
        recycle(Vec::with_capacity(SPARE_MAX_CAPACITY + 1));
        // Not kept: the pool of this thread is empty again.
        assert_eq!(message_buffer(0).capacity(), 0);
    })
    .join()
    .unwrap();
}

/// An mbox with lines of every kind the plain-line scan stops at or runs over: CRLF and LF
/// lines, blank lines of both kinds, lines starting with `F` and `>` (quoted and not), long
/// lines, a final message without a newline.
fn mixed_mbox() -> Vec<u8> {
    let long = "x".repeat(300);
    let mut data = Vec::new();
    for i in 0..6 {
        data.extend_from_slice(
            format!("From s{i}@example.org Mon Jan  5 10:00:00 2026\n").as_bytes(),
        );
        data.extend_from_slice(b"From: a@example.org\r\nSubject: s\r\n\r\n");
        data.extend_from_slice(
            format!("line {i}\n>From quoted\nFrom: not a From_ line\n").as_bytes(),
        );
        data.extend_from_slice(format!("{long}\r\n\r\n\n>>From deep\nFinal\n").as_bytes());
        data.extend_from_slice(b"\r\nplain\n\n");
    }
    data.extend_from_slice(b"From last@example.org Mon Jan  5 10:00:00 2026\nS: x\n\nno newline");
    data
}

#[test]
fn buffer_boundaries_do_not_change_messages_or_positions() {
    let data = mixed_mbox();
    let whole = read_mbox(&data, MailboxOptions::default());
    assert_eq!(whole.len(), 7);
    let summary = |items: &[Result<MailItem, MailboxError>]| {
        items
            .iter()
            .map(|i| (location(i), i.as_ref().unwrap().bytes.clone()))
            .collect::<Vec<_>>()
    };
    let want = summary(&whole);
    for capacity in [1, 2, 3, 7, 16, 64, 129, 1000] {
        for limit in [usize::MAX, 400] {
            let options = MailboxOptions::default().with_max_message_size(limit);
            let reader = std::io::BufReader::with_capacity(capacity, data.as_slice());
            let items: Vec<_> = Mbox::new(reader, Origin::Stdin, options).collect();
            let expected: Vec<_> = read_mbox(&data, options);
            assert_eq!(
                items.len(),
                expected.len(),
                "capacity {capacity}, limit {limit}"
            );
            for (got, want) in items.iter().zip(&expected) {
                assert_eq!(location(got), location(want), "capacity {capacity}");
                match (got, want) {
                    (Ok(g), Ok(w)) => assert_eq!(g.bytes, w.bytes, "capacity {capacity}"),
                    (
                        Err(MailboxError::TooLarge { size: g, .. }),
                        Err(MailboxError::TooLarge { size: w, .. }),
                    ) => {
                        assert_eq!(g, w, "capacity {capacity}");
                    }
                    other => panic!("capacity {capacity}, limit {limit}: {other:?}"),
                }
            }
            if limit == usize::MAX {
                assert_eq!(summary(&items), want, "capacity {capacity}");
            }
        }
    }
    // Quoting undone, the separating blank line dropped, CRLF kept.
    let first = &whole[0].as_ref().unwrap().bytes;
    assert!(first.starts_with(b"From: a@example.org\r\n"));
    assert!(first.ends_with(b"From deep\nFinal\n\r\nplain\n"));
    assert!(
        first
            .windows(b"\n>From deep".len())
            .any(|w| w == b"\n>From deep")
    );
    assert_eq!(location(&whole[1]).line, 16);
}

#[test]
fn plain_runs_stop_at_the_first_special_line_across_chunk_borders() {
    let special = SpecialLine::new();
    // The reference: up to the first line that starts with `F` or `>`, else to the last
    // newline.
    let reference = |w: &[u8]| -> (usize, bool) {
        if matches!(w.first(), None | Some(b'F' | b'>')) {
            return (0, !w.is_empty());
        }
        match w.windows(2).position(|p| p == b"\nF" || p == b"\n>") {
            Some(at) => (at + 1, true),
            None => (
                w.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1),
                false,
            ),
        }
    };
    for len in [
        PLAIN_CHUNK - 2,
        PLAIN_CHUNK,
        PLAIN_CHUNK + 3,
        3 * PLAIN_CHUNK + 5,
    ] {
        for newline in (0..len).filter(|i| i % PLAIN_CHUNK < 3 || i % PLAIN_CHUNK > PLAIN_CHUNK - 3)
        {
            for (first, second) in [(b'F', b'>'), (b'>', b'F')] {
                let mut w = vec![b'a'; len];
                for i in (7..len).step_by(50) {
                    w[i] = b'\n';
                }
                if let Some(place) = w.get_mut(newline) {
                    *place = b'\n';
                }
                if let Some(place) = w.get_mut(newline + 1) {
                    *place = first;
                }
                if let Some(place) = w.get_mut(newline + PLAIN_CHUNK + 2) {
                    *place = second;
                }
                if let Some(place) = w.get_mut(newline + PLAIN_CHUNK + 1) {
                    *place = b'\n';
                }
                w[0] = b'a';
                assert_eq!(
                    plain_run(&w, &special),
                    reference(&w),
                    "len {len}, newline at {newline}"
                );
            }
        }
    }
}

#[test]
fn quoted_lines_close_together_are_read_in_one_pass() {
    // Before, each run between two `>` lines searched the rest of the window for an `F` line:
    // this message took time in its line count times its size.
    let mut data = b"From a@example.org Mon Jan  5 10:00:00 2026\nS: x\n\n".to_vec();
    for _ in 0..250_000 {
        data.extend_from_slice(b"a\n>\n");
    }
    data.extend_from_slice(&[b'z'; 100_000]);
    data.extend_from_slice(b"\n");
    let items = read_mbox(&data, MailboxOptions::default());
    assert_eq!(items.len(), 1);
    let bytes = &items[0].as_ref().unwrap().bytes;
    assert_eq!(bytes.len(), b"S: x\n\n".len() + 250_000 * 4 + 100_001);
}

#[test]
fn newline_count_and_blank_last_line_match_the_line_by_line_reading() {
    let data = mixed_mbox();
    for end in 0..data.len() {
        let run = &data[..end];
        let naive = run.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(super::count_newlines(run), naive, "end {end}");
        if run.ends_with(b"\n") {
            let last = run[..run.len() - 1]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(run, |i| &run[i + 1..]);
            let blank = if super::is_blank_line(last) {
                last.len()
            } else {
                0
            };
            assert_eq!(super::last_line_blank_len(run), blank, "end {end}");
        }
    }
}
